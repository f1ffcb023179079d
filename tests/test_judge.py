"""alignx judge: the prompt and its parser, verdict arithmetic, the openai judge through the official client against a
scripted server on 127.0.0.1, generation-file checks, the cache, calibration, and the local judge on a tiny model."""

import json
import re
from collections import Counter

import pytest
from conftest import free_port, make_record
from fake_openai import MODEL, FakeServer, answer
from typer.testing import CliRunner

from alignx.judge.command import JudgeConfig, judge
from alignx.judge.prompt import judge_messages, parse_verdict
from alignx.judge.verdicts import combine, side_of, summarize

SPEC = f"openai:{MODEL}"
SHOWN = re.compile(r"\*\*\*Response A\*\*\*\n\n(.*)\n\n\*\*\*Response B\*\*\*\n\n(.*)\n\nWhich response", re.DOTALL)


def shown(body):
    """(post, Response A, Response B) of a judging request (the original question, not a correction)."""
    user = body["messages"][1]["content"]
    first, second = SHOWN.search(user).groups()
    return user.split("\n\n")[1], first, second


@pytest.fixture
def server():
    with FakeServer() as s:
        yield s


@pytest.fixture
def files(tmp_path):
    """write(n, b_records=None, b_data=None) -> (path A, path B): generation files over a data file of n records."""
    data = tmp_path / "data.jsonl"

    def write(n=4, *, b_keys=None, b_data=None):
        data.write_text("".join(json.dumps(make_record(i)) + "\n" for i in range(n)))
        paths = []
        for side, keys, source in (("a", range(n), str(data)), ("b", b_keys or range(n), b_data or str(data))):
            path = tmp_path / f"{side}.jsonl"
            path.write_text("".join(json.dumps({"key": f"k{i}", "record": i, "sample": 0, "prompt": f"rendered {i}",
                                                "response": f"{side.upper()}-response {i}", "tokens": 5 + i})
                                    + "\n" for i in keys))
            meta = {"settings": {"side": side}, "data": source, "split": None, "settings_hash": side * 8}
            (tmp_path / f"{side}.jsonl.meta.json").write_text(json.dumps(meta))
            paths.append(str(path))
        return paths

    return write


def config(tmp_path, url, **overrides):
    settings = dict(judge=SPEC, judge_url=url, judge_key_env="ALIGNX_TEST_JUDGE_KEY", cache=str(tmp_path / "c.sqlite"),
                    workers=2, retries=2, timeout=60.0, progress=False, bootstrap=200)  # bounds a hang
    return JudgeConfig(**{**settings, **overrides})


def test_the_prompt_shows_both_responses_and_the_parser_reads_only_a_b_or_tie():
    system, user = judge_messages("the post", "This user's preferences: Dislikes humor.", "first", "second")
    assert "exactly one word: A, B or tie" in system["content"]
    assert user["content"].index("the post") < user["content"].index("Dislikes humor") < \
        user["content"].index("first") < user["content"].index("second")
    for text, verdict in (("A", "A"), (" b\n", "B"), ("**A**", "A"), ("Response B.", "B"), ("It's a tie", "tie"),
                          ("Tie.", "tie"), ("A\nbecause it is shorter", "A"), ("Answer: B", "B")):
        assert parse_verdict(text) == verdict, text
    for text in ("I think A", "AB", "", "neither", "A or B"):
        assert parse_verdict(text) is None, text


def test_two_orders_make_one_outcome_and_a_flip_is_a_tie():
    assert side_of("A", "ab") == "a" and side_of("A", "ba") == "b" and side_of("B", "ba") == "a"
    assert side_of("tie", "ba") == "tie" and side_of(None, "ab") is None
    assert combine("a", "a") == "a" and combine("b", "b") == "b"
    assert combine("a", "b") == "tie" and combine("a", "tie") == "tie" and combine("tie", "tie") == "tie"
    assert combine("a", None) is None


def test_summary_arithmetic_on_hand_made_verdicts():
    # pairs: a wins consistently; b wins; position-A flip (tie); tie both; one order unread
    sides = [("a", "a"), ("b", "b"), ("a", "b"), ("tie", "tie"), ("a", None)]
    outcomes = [combine(*s) for s in sides]
    chars = [(10, 5), (10, 5), (3, 3), (4, 8), (1, 2)]
    s = summarize(outcomes, sides, groups=[0, 1, 2, 3, 4], chars=chars, tokens=[(2, 1)] * 4 + [(None, 1)],
                  rounds=500, seed=0)
    assert (s.n, s.wins, s.ties, s.losses, s.unread) == (4, 1, 2, 1, 1)
    assert s.win_rate == pytest.approx((1 + 0.5 * 2) / 4) and s.strict_win_rate == pytest.approx(0.25)
    assert s.position_consistency == pytest.approx(3 / 4)  # the flip is the one inconsistent pair
    # read ordered verdicts: 9; picking Response A: ab->a (3 times: pairs 0, 2, 4), ba->b (pairs 1, 2)
    assert s.first_position_rate == pytest.approx(5 / 9) and s.ordered_tie_rate == pytest.approx(2 / 9)
    assert s.longer_preferred == pytest.approx(1 / 2)  # a won being longer; b won being shorter
    assert s.mean_chars == {"a": 5.6, "b": 4.6} and s.mean_tokens == {"a": 2.0, "b": 1.0}
    assert s.ci95[0] <= s.win_rate <= s.ci95[1]


def test_openai_judge_both_orders_flips_re_asks_and_unparsed(server, files, tmp_path):
    a, b = files(4)
    asked = Counter()

    def respond(body):
        post, first, second = shown(body)
        number = int(re.search(r"Post number (\d)", post)[1])
        asked[(number, first)] += 1
        if number == 0:  # a consistent judge that prefers file A's response wherever it is shown
            return answer("A" if first.startswith("A-") else "**B**")
        if number == 1:  # a position-biased judge: always the first response
            return answer("A")
        if number == 2:  # unreadable once per order, then fine (prefers B)
            if len(body["messages"]) == 2:
                return answer("Both have merit.")
            return answer("B" if first.startswith("A-") else "A")
        return answer("I cannot decide between these.")  # number 3: never readable

    server.respond = respond
    report = judge(config(tmp_path, server.url, a=a, b=b))
    rows = {row["key"]: row for row in report["judgments"]}
    assert [rows[f"k{i}"]["outcome"] for i in range(4)] == ["a", "tie", "b", None]
    assert rows["k1"]["consistent"] is False and rows["k0"]["consistent"] is True
    assert rows["k2"]["orders"]["ab"]["answers"] == ["Both have merit.", "B"]
    unread = rows["k3"]["orders"]["ba"]
    assert unread["verdict"] is None and unread["error"].startswith("unparsed") and len(unread["answers"]) == 3
    # every pair went out in both orders, the responses swapped
    for i in range(4):
        assert asked[(i, f"A-response {i}")] >= 1 and asked[(i, f"B-response {i}")] >= 1
    first_request = server.requests[0]
    assert first_request["temperature"] == 0 and first_request["model"] == MODEL
    s = report["summary"]
    assert (s["n"], s["wins"], s["ties"], s["losses"], s["unread"]) == (3, 1, 1, 1, 1)
    assert s["position_consistency"] == pytest.approx(2 / 3)
    assert s["mean_tokens"] == {"a": 6.5, "b": 6.5}
    assert report["a"]["settings"] == {"side": "a"} and report["calibration"] == []
    assert "Preference" not in json.dumps(rows["k0"]["persona_source"])  # a source name, not the text
    assert rows["k0"]["persona_source"] == "direction"
    assert "This user's preferences:" in rows["k0"]["orders"]["ab"]["messages"][1]["content"]
    assert len(server.requests) == 2 + 2 + 4 + 6  # k0, k1 once per order; k2 twice per order; k3 three times

    # a rerun asks only what was never read (k3's two orders), and reads the rest from the cache
    before = len(server.requests)
    again = judge(config(tmp_path, server.url, a=a, b=b))
    assert len(server.requests) - before == 6
    assert again["timing"]["cached"] == 6 and again["summary"]["wins"] == 1


def test_a_cached_rerun_sends_no_request(server, files, tmp_path):
    a, b = files(3)
    server.default = answer("tie")
    first = judge(config(tmp_path, server.url, a=a, b=b))
    sent = len(server.requests)
    assert sent == 6 and first["summary"]["ties"] == 3
    second = judge(config(tmp_path, server.url, a=a, b=b))
    assert len(server.requests) == sent and second["timing"]["asked"] == 0
    assert second["summary"] == first["summary"]


def test_calibration_agrees_when_the_judge_picks_the_chosen_response_and_reports_carry_it(server, files, tmp_path):
    a, b = files(5)
    chosen = make_record(0)["chosen"]
    server.respond = lambda body: answer("A" if shown(body)[1] == chosen else "B")
    report = judge(config(tmp_path, server.url, calibrate=True, data=str(tmp_path / "data.jsonl")))
    s = report["summary"]
    assert report["mode"] == "calibration" and s["n"] == 5 and s["win_rate"] == 1.0
    assert s["position_consistency"] == 1.0 and s["first_position_rate"] == 0.5
    [stored] = report["calibration"]
    assert stored["agreement"] == 1.0 and stored["n"] == 5
    # a win-rate report of the same judge carries the calibration
    pairwise = judge(config(tmp_path, server.url, a=a, b=b))
    assert pairwise["calibration"][0]["agreement"] == 1.0


def test_cli_writes_the_report_and_prints_the_table(server, files, tmp_path):
    from alignx.cli import app

    a, b = files(2)
    server.default = answer("A")
    out = tmp_path / "report.json"
    args = ["judge", "--a", a, "--b", b, "--judge", SPEC, "--judge-url", server.url, "--cache",
            str(tmp_path / "c.sqlite"), "-o", str(out), "--no-progress"]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "win rate" in result.output and "no calibration" in result.output and f"report: {out}" in result.stdout
    report = json.loads(out.read_text())
    assert report["summary"]["ties"] == 2 and len(report["judgments"]) == 2
    asked = len(server.requests)
    again = CliRunner().invoke(app, args, env={"COLUMNS": "200"})  # the same options: resumed, nothing asked
    assert again.exit_code == 0 and f"resuming {out}" in again.stderr and len(server.requests) == asked
    assert json.loads(out.read_text())["summary"] == report["summary"]
    other = CliRunner().invoke(app, [*args, "--judge-persona", "pair"])
    assert other.exit_code == 2 and "made with other settings; pass --overwrite" in other.stderr


def with_prompts(path, responses):
    """Rewrite the generation file `path`: each row gets a prompt that shows a history, and the given response."""
    rows = [json.loads(line) for line in open(path)]
    history = "Patch kit, five minutes, then ride home slowly and carefully."
    for row, response in zip(rows, responses, strict=True):
        row["messages"] = [{"role": "system", "content": "Answer."},
                           {"role": "user", "content": f"*Chosen:* {history}\n**Post:** {row['prompt']}"}]
        row["response"] = response.format(history=history, post=row["prompt"])
    with open(path, "w") as f:
        f.write("".join(json.dumps(row) + "\n" for row in rows))


def test_the_report_gives_each_sides_copy_rate(server, files, tmp_path):
    from alignx.cli import app

    a, b = files(4)
    with_prompts(a, ["Sure: {history}", "Book early.", "{history}", "Pack light."])
    with_prompts(b, ["You asked: {post} Book early.", "Go.", "Stay.", "Walk."])  # repeating the post is no copy
    server.default = answer("A")
    report = judge(config(tmp_path, server.url, a=a, b=b))
    assert report["copy_rate"]["a"]["rate"] == 0.5 and report["copy_rate"]["a"]["n"] == 4
    low, high = report["copy_rate"]["a"]["ci95"]
    assert 0.0 <= low <= 0.5 <= high <= 1.0
    assert report["copy_rate"]["b"] == {"rate": 0.0, "ci95": [0.0, 0.0], "n": 4}
    result = CliRunner().invoke(app, ["judge", "--a", a, "--b", b, "--judge", SPEC, "--judge-url", server.url,
                                      "--cache", str(tmp_path / "c.sqlite"), "--no-progress"], env={"COLUMNS": "200"})
    assert result.exit_code == 0 and "copies a" in result.stdout and "0.500 (" in result.stdout
    assert "length toward pole" in result.stdout and "length a / b, concise" in result.stdout
    a, b = files(4)  # rows without their prompt: no copy figure
    assert judge(config(tmp_path, server.url, a=a, b=b))["copy_rate"]["a"] == {"rate": None, "ci95": None, "n": 0}


class AlwaysA:
    """A judge that answers "A" to everything, without a server."""

    spec, identity, stats = "fake:a", "judge:fake:a", Counter()

    def judge(self, chats):
        for i, _ in enumerate(chats):
            yield i, {"answers": ["A"], "verdict": "A", "error": None}

    def close(self):
        pass


def write_generation(path, data, responses, settings=None):
    path.write_text("".join(json.dumps({"key": f"k{i}", "record": i, "sample": 0, "prompt": f"post {i}",
                                        "response": text, "tokens": 1}) + "\n" for i, text in enumerate(responses)))
    meta = {"settings": settings or {"file": path.name}, "data": str(data), "split": None, "settings_hash": path.name}
    (path.parent / f"{path.name}.meta.json").write_text(json.dumps(meta))
    return str(path)


def test_length_moves_toward_each_users_pole_on_hand_made_files(tmp_path):
    """Records 0-1 concise users, 2-3 detailed, 4 neutral on dimension 16 (left out)."""
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(make_record(i, pole=pole)) + "\n"
                            for i, pole in enumerate([1.0, 1.0, 0.0, 0.0, 0.5])))
    short, long = "Book early.", "Book early, pack light, and pick one city to see well."  # 3 and 14 tokens
    a = write_generation(tmp_path / "a.jsonl", data, [short, short, long, short, short])
    b = write_generation(tmp_path / "b.jsonl", data, [long, long, short, long, long])
    report = judge(config(tmp_path, None, judge="local:unused", a=a, b=b), judge_backend=AlwaysA())
    length = report["attributes"]["length"]
    assert length["n"] == 4 and length["toward"] == 0.75 and length["ties"] == 0  # record 3 moves away
    assert length["poles"]["Concise communication style"] == {"n": 2, "mean_a": 3.0, "mean_b": 14.0}
    assert length["poles"]["Detailed communication style"] == {"n": 2, "mean_a": 8.5, "mean_b": 8.5}
    low, high = length["ci95"]
    assert 0.0 <= low <= 0.75 <= high <= 1.0
    swapped = judge(config(tmp_path, None, judge="local:unused", a=b, b=a), judge_backend=AlwaysA())
    assert swapped["attributes"]["length"]["toward"] == 0.25


@pytest.mark.parametrize("kind", ["keys", "data"])
def test_generation_files_over_different_records_are_one_line_exit_2(files, tmp_path, kind):
    from alignx.cli import app

    a, b = files(3, b_keys=[0, 1, 2, 3]) if kind == "keys" else files(3, b_data=str(tmp_path / "other.jsonl"))
    result = CliRunner().invoke(app, ["judge", "--a", a, "--b", b, "--judge", SPEC, "--judge-url", "http://127.0.0.1:9/v1",
                                      "--cache", str(tmp_path / "c.sqlite")])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and a in lines[0] and b in lines[0]


def test_an_unreachable_judge_is_one_line_exit_2(files, tmp_path):
    from alignx.cli import app

    a, b = files(2)
    result = CliRunner().invoke(app, ["judge", "--a", a, "--b", b, "--judge", SPEC, "--judge-url",
                                      f"http://127.0.0.1:{free_port()}/v1", "--retries", "0", "--cache",
                                      str(tmp_path / "c.sqlite")])
    assert result.exit_code == 2
    [line] = result.output.strip().splitlines()
    assert "cannot reach it" in line and SPEC in line


def test_options_that_cannot_work_are_refused():
    from alignx.errors import OptionError

    with pytest.raises(OptionError, match="give two generation files"):
        JudgeConfig(a="x.jsonl")
    with pytest.raises(OptionError, match="leave out the generation files"):
        JudgeConfig(a="x.jsonl", b="y.jsonl", calibrate=True, data="demo")
    with pytest.raises(OptionError, match="--judge 'gpt'"):
        JudgeConfig(calibrate=True, data="demo", judge="gpt")
    with pytest.raises(OptionError, match="--judge-persona"):
        JudgeConfig(calibrate=True, data="demo", judge_persona="everything")


def test_local_judge_on_a_tiny_model_gives_valid_deterministic_verdicts(tiny_model, files, tmp_path):
    from alignx.judge.backends import LocalJudge, answer_token_ids

    judge_model = LocalJudge.load(str(tiny_model), spec=f"local:{tiny_model}", batch_size=3)
    tokens = answer_token_ids(judge_model.loaded.tokenizer, judge_model.render([{"role": "user", "content": "x"}]))
    assert set(tokens) == {"A", "B", "tie"} and all(tokens.values())
    chats = [judge_messages(f"post {i}" + " long" * (i * 7), "This user's preferences: Dislikes humor.",
                            f"first {i}", f"second {i}") for i in range(5)]
    batched = dict(judge_model.judge(chats))
    judge_model.batch_size = 1
    alone = dict(judge_model.judge(chats))
    assert sorted(batched) == list(range(5))
    for i in range(5):
        assert batched[i]["verdict"] in ("A", "B", "tie") and batched[i]["verdict"] == alone[i]["verdict"]
        for word in ("A", "B", "tie"):
            assert batched[i]["logprobs"][word] == pytest.approx(alone[i]["logprobs"][word], abs=1e-3)

    a, b = files(3)
    cfg = JudgeConfig(a=a, b=b, judge=f"local:{tiny_model}", cache=str(tmp_path / "c.sqlite"), progress=False,
                      bootstrap=100)
    report = judge(cfg, judge_backend=judge_model)
    assert report["summary"]["n"] == 3 and report["summary"]["unread"] == 0
    assert report["judge"]["identity"].startswith(f"judge:local:{tiny_model}@")


def test_the_persona_the_judge_reads():
    from alignx.judge.pairs import persona_text
    from alignx.personas import PersonaError
    from alignx.records import Record
    from alignx.space import render_direction

    record = Record.from_dict(make_record(0))
    assert persona_text(record, "auto") == ("direction",
                                            f"This user's preferences: {render_direction(record.direction)}.")
    assert persona_text(record, "pair")[1].startswith("**This person has chosen or rejected comments")
    assert persona_text(record, "demo") == ("demo", record.demographic)
    soups = Record.from_dict({"prompt": "p", "chosen": "c", "rejected": "r", "ground_truth_persona": "A chef.",
                              "profile": "Likes food"})
    assert persona_text(soups, "auto") == ("ground truth", "A chef.")
    bare = Record.from_dict({"prompt": "p", "chosen": "c", "rejected": "r", "Pair-wise Comparative Feedback": [
        {"prompt": "q", "chosen": "x", "rejected": "y"}]})
    assert persona_text(bare, "auto")[0] == "pair"
    with pytest.raises(PersonaError, match=r"^data: record 3: --judge-persona profile: "):
        persona_text(bare, "profile", where="data: record 3")
    with pytest.raises(PersonaError, match="no ugc persona"):
        persona_text(bare, "ugc")


def test_a_generation_file_without_its_settings_file_is_refused(files, tmp_path):
    from alignx.errors import UserError

    a, b = files(2)
    (tmp_path / "b.jsonl.meta.json").unlink()
    with pytest.raises(UserError, match=r"b\.jsonl: no settings sidecar b\.jsonl\.meta\.json"):
        judge(config(tmp_path, "http://127.0.0.1:9/v1", a=a, b=b))


def test_a_cached_local_rerun_never_loads_the_model(tiny_model, files, tmp_path):
    from alignx.judge.backends import LocalJudge

    a, b = files(2)
    cfg = JudgeConfig(a=a, b=b, judge=f"local:{tiny_model}", cache=str(tmp_path / "c.sqlite"), progress=False,
                      bootstrap=100)
    first = judge(cfg, judge_backend=LocalJudge.load(str(tiny_model), spec=cfg.judge))
    rerun = LocalJudge.load(str(tiny_model), spec=cfg.judge)
    second = judge(cfg, judge_backend=rerun)
    assert rerun._loaded is None and second["timing"]["asked"] == 0 and second["summary"] == first["summary"]


# ---------------------------------------------------------------- reward:SPEC, the held-out evidence


def choice_rows(n, tag=""):
    return [{"prompt": f"Other post {k}?", "chosen": f"Short answer {k}{tag}.",
             "rejected": f"A long and winding answer number {k}{tag}, which goes on and on."} for k in range(n)]


def held_out_data(tmp_path, edit=None):
    """Four records with 4 PAIR choices each; `edit(record, choice index)` may rewrite a choice's texts."""
    from alignx.held_out import split_evidence
    from alignx.records import Record

    rows = []
    for i in range(4):
        row = {**make_record(i), "Pair-wise Comparative Feedback": choice_rows(4)}
        split = split_evidence(Record.from_dict(row))
        if edit:
            for k, pair in enumerate(row["Pair-wise Comparative Feedback"]):
                edit(pair, "shown" if k in split.shown else "held", k)
        rows.append(row)
    data = tmp_path / "data.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return data


def reward_verdicts(tmp_path, tiny_model, data, name):
    a = write_generation(tmp_path / "a.jsonl", data, ["Short.", "Book early.", "Go.", "Pack light, and go early."])
    b = write_generation(tmp_path / "b.jsonl", data, ["A long answer that goes on and on about it all."] * 4)
    report = judge(JudgeConfig(a=a, b=b, judge=f"reward:{tiny_model}", cache=str(tmp_path / f"{name}.sqlite"),
                               device="cpu", progress=False, bootstrap=50))
    return report, [(j["outcome"], j["orders"]["ab"]["rewards"]) for j in report["judgments"]]


def test_the_reward_judge_never_reads_the_shown_part(tiny_model, tmp_path):
    report, verdicts = reward_verdicts(tmp_path, tiny_model, held_out_data(tmp_path), "first")
    assert report["summary"]["n"] == 4 and report["summary"]["position_consistency"] == 1.0
    assert all(j["orders"]["ab"]["evidence"] == "pair" for j in report["judgments"])

    def edit_shown(pair, part, k):
        if part == "shown":
            pair["chosen"], pair["rejected"] = pair["rejected"] + " (edited)", "Something else entirely."

    _, after = reward_verdicts(tmp_path, tiny_model, held_out_data(tmp_path, edit_shown), "shown-edited")
    assert after == verdicts  # the same outcomes and the same rewards

    def edit_held(pair, part, k):
        if part == "held":
            pair["chosen"], pair["rejected"] = pair["rejected"], pair["chosen"]

    _, swapped = reward_verdicts(tmp_path, tiny_model, held_out_data(tmp_path, edit_held), "held-edited")
    assert [r for _, r in swapped] == [{"a": -r["a"], "b": -r["b"]} for _, r in verdicts]  # it reads the held-out


def test_reward_judge_calibration_reads_the_held_out_part_and_is_stored(tiny_model, tmp_path, monkeypatch):
    data = held_out_data(tmp_path)
    cache = str(tmp_path / "c.sqlite")
    report = judge(JudgeConfig(calibrate=True, data=str(data), judge=f"reward:{tiny_model}", cache=cache,
                               device="cpu", progress=False, bootstrap=50))
    assert report["mode"] == "calibration" and report["summary"]["n"] == 4
    assert report["judge"]["identity"].startswith("judge:reward:")
    [stored] = report["calibration"]
    assert stored["persona"] == "held-out evidence" and stored["agreement"] == report["summary"]["win_rate"]
    monkeypatch.setattr("alignx.eval.evaluator.load_scored", lambda *a, **k: pytest.fail("loaded the model"))
    again = judge(JudgeConfig(calibrate=True, data=str(data), judge=f"reward:{tiny_model}", cache=cache,
                              device="cpu", progress=False, bootstrap=50))
    assert again["timing"]["asked"] == 0 and again["summary"] == report["summary"]
    assert not any(j["orders"]["ab"]["cached"] for j in report["judgments"])
    assert all(j["orders"]["ab"]["cached"] for j in again["judgments"])


def test_the_reward_judge_on_the_command_line(tiny_model, tmp_path):
    from alignx.cli import app

    data = held_out_data(tmp_path)
    common = ["--judge", f"reward:{tiny_model}", "--cache", str(tmp_path / "c.sqlite"), "--device", "cpu",
              "--no-progress"]
    calibrated = CliRunner().invoke(app, ["judge", "--calibrate", "--data", str(data), *common])
    assert calibrated.exit_code == 0, calibrated.output
    assert "agreement" in calibrated.stdout and "persona held-out evidence" in calibrated.stdout
    a = write_generation(tmp_path / "a.jsonl", data, ["Short."] * 4, {"persona": "pair"})
    b = write_generation(tmp_path / "b.jsonl", data, ["A long answer that goes on and on about it all."] * 4,
                         {"persona": "none"})
    compared = CliRunner().invoke(app, ["judge", "--a", a, "--b", b, *common], env={"COLUMNS": "200"})
    assert compared.exit_code == 0, compared.output
    assert "win rate" in compared.stdout and "this judge agrees with the users' choices" in compared.stdout
    assert "a.jsonl was generated without --hold-out" in compared.stderr
    assert "b.jsonl" not in compared.stderr  # the universal answer saw no evidence at all


def test_a_strong_judge_runs_the_held_out_path_end_to_end(server, tiny_model, tmp_path):
    """The path of a user with a strong judge: answers generated with --hold-out (an untrained model: steered, the
    default) and universal ones, the openai judge calibrated on the users' own choices, then the comparison. The
    judge is shown only the held-out choices, never the ones the generator saw."""
    from alignx.cli import app
    from alignx.generation.steering import DEFAULT_WEIGHT

    def tag(pair, part, k):
        pair["chosen"], pair["rejected"] = f"The {part} chosen answer {k}.", f"The {part} rejected answer {k}."

    data = str(held_out_data(tmp_path, tag))
    model = ["--model", str(tiny_model), "--device", "cpu", "--max-new-tokens", "4", "--no-progress"]
    run = CliRunner()
    for persona, out in (("pair", "steered.jsonl"), ("none", "universal.jsonl")):
        hold_out = ["--hold-out"] if persona != "none" else []
        made = run.invoke(app, ["generate", "--data", data, "--persona", persona, *hold_out, *model,
                                "-o", str(tmp_path / out)])
        assert made.exit_code == 0, made.output
    assert json.loads((tmp_path / "steered.jsonl.meta.json").read_text())["settings"]["steer"] == DEFAULT_WEIGHT
    server.default = answer("A")
    judge_args = ["--judge", SPEC, "--judge-url", server.url, "--judge-persona", "held-out",
                  "--cache", str(tmp_path / "c.sqlite"), "--no-progress"]
    calibrated = run.invoke(app, ["judge", "--calibrate", "--data", data, *judge_args])
    assert calibrated.exit_code == 0, calibrated.output
    report_path = tmp_path / "report.json"
    compared = run.invoke(app, ["judge", "--a", str(tmp_path / "steered.jsonl"), "--b", str(tmp_path / "universal.jsonl"),
                                *judge_args, "-o", str(report_path)], env={"COLUMNS": "200"})
    assert compared.exit_code == 0, compared.output
    assert "this judge agrees with the users' choices" in compared.stdout
    report = json.loads(report_path.read_text())
    assert report["summary"]["n"] == 4 and report["copy_rate"]["a"]["n"] == 4
    prompts = [body["messages"][1]["content"] for body in server.requests]
    assert len(prompts) == 2 * 4 + 2 * 4  # calibration and comparison, both orders
    assert all("The held chosen answer" in p and "The shown" not in p for p in prompts)
