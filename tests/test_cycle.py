"""The personalization cycle end to end, on the embedded model with tiny sizes (docs/cycle.md):
service memory -> `alignx build --db` -> `alignx train --method ica --lora` -> `alignx serve --model <adapter>`
-> a personalized chat answer, and `alignx eval` on the built test split. Deleting a user through the service
removes them from the next build."""

import json

import httpx
import pytest
from conftest import ADMIN, auth, make_direction, serve_in_thread
from typer.testing import CliRunner

from alignx.cli import app
from alignx.dataset.builder import in_test_split
from alignx.records import load_records
from alignx.serve import ServeConfig, create_app
from alignx.serve.chat import load_chat

pytest.importorskip("trl")
runner = CliRunner()
HUMOR = 73
POSTS = ["How do I keep a houseplant alive?", "Any tips for a first 5k run?", "How should I spend a rainy Sunday?",
         "What should I cook for friends tonight?", "How do I stop procrastinating?", "Best way to learn chess?"]


def post_behaviour(url: str, name: str, pole: float) -> tuple[str, dict]:
    """A user who comments and chooses on every post: jokes (pole 1) or plain advice (pole 0)."""
    user = httpx.post(f"{url}/v1/users", json={"name": name}, headers=auth(ADMIN)).json()
    key = auth(user["api_key"])
    base = f"{url}/v1/users/{user['user_id']}"
    funny, plain = "Ha, step one: bribe it with compliments.", "Water it weekly and give it bright, indirect light."
    for i, post in enumerate(POSTS):
        ask = {"prompt": post, "comment": (funny if pole else plain) + f" ({i})"}
        assert httpx.post(f"{base}/content", json=ask, headers=key).status_code == 201
        joke, advice = f"A joke about it ({i}), then the answer.", f"The answer ({i}), plainly."
        chosen, rejected = (joke, advice) if pole else (advice, joke)
        feedback = {"prompt": post, "chosen": chosen, "rejected": rejected,
                    "direction": make_direction(d73=pole)}
        assert httpx.post(f"{base}/feedback", json=feedback, headers=key).status_code == 201
    assert httpx.post(f"{base}/demographic", json={"text": f"{name}, who {'loves' if pole else 'avoids'} jokes."},
                      headers=key).status_code == 201
    return user["user_id"], key


@pytest.mark.slow
def test_memory_becomes_a_dataset_trains_an_adapter_that_serves_and_evaluates(tmp_path):
    db = f"sqlite:///{tmp_path / 'memory.db'}"
    with serve_in_thread(create_app(ServeConfig(db=db, admin_token=ADMIN, chat=False))) as url:
        users = {name: post_behaviour(url, name, float(i % 2)) for i, name in enumerate(
            ["ada", "bo", "cy", "di", "ed", "flo"])}
        gone, gone_key = users.pop("flo")
        assert httpx.delete(f"{url}/v1/users/{gone}", headers=auth(ADMIN)).status_code == 200

    # User ids are random, so pick the split seed that puts users on both sides.
    ids = [user_id for user_id, _ in users.values()]
    seed = next(s for s in range(1000) if 0 < sum(in_test_split(u, s, 0.4) for u in ids) < len(ids))
    data = tmp_path / "data"
    built = runner.invoke(app, ["build", "--db", db, "--output", str(data), "--test-fraction", "0.4",
                                "--seed", str(seed)])
    assert built.exit_code == 0, built.output
    train, test = load_records(data / "train.jsonl"), load_records(data / "test.jsonl")
    in_train = {r.extra["user_id"] for r in train}
    in_test = {r.extra["user_id"] for r in test}
    assert in_train and in_test and not in_train & in_test
    assert in_train | in_test == {user_id for user_id, _ in users.values()}  # the deleted user is in no build
    assert len(train) + len(test) == len(users) * len(POSTS)
    for record in train + test:
        assert record.direction is not None and record.demographic and record.ugc and record.pairs
        assert all(item.prompt != record.prompt for item in (*record.ugc, *record.pairs))

    adapter = tmp_path / "adapter"
    trained = runner.invoke(app, ["train", "--method", "ica", "--data", str(data), "--split", "train", "--lora",
                                  "--max-steps", "2", "--grad-accum", "1", "--max-length", "1024",
                                  "--output", str(adapter)])
    assert trained.exit_code == 0, trained.output

    config = ServeConfig(db=db, admin_token=ADMIN, model=str(adapter), max_tokens=8)
    with serve_in_thread(create_app(config, chat=load_chat(config)), timeout=120) as url:
        user_id, key = users["ada"]
        answer = httpx.post(f"{url}/v1/chat/completions", headers=key, timeout=120, json={
            "model": "default", "messages": [{"role": "user", "content": "Any tips for a first 10k run?"}]})
        assert answer.status_code == 200, answer.text
        assert answer.json()["choices"][0]["message"]["content"].strip()
        assert str(adapter) in httpx.get(f"{url}/healthz").json()["chat"]

    report = tmp_path / "report.json"
    evaluated = runner.invoke(app, ["eval", "--data", str(data), "--split", "test", "--model", str(adapter),
                                    "--persona", "all", "--reference", "base", "--limit", "4",
                                    "--output", str(report), "--no-progress"])
    assert evaluated.exit_code == 0, evaluated.output
    result = json.loads(report.read_text())
    assert result["n"] == min(4, len(test)) and 0.0 <= result["accuracy"] <= 1.0
