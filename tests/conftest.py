import json

import pytest

N = 90


def make_direction(**poles: float) -> list[float]:
    d = [0.5] * N
    for key, value in poles.items():
        d[int(key.lstrip("d"))] = value
    return d


def make_record(i: int = 0, *, pole: float = 1.0) -> dict:
    """A small valid AlignX record (all persona parts present)."""
    d = make_direction(d16=pole)
    return {
        "prompt": f"Post number {i}: how should I plan a weekend trip?",
        "chosen": "Pick one city, book early, pack light.",
        "rejected": "There are many considerations to weigh carefully before planning any kind of trip at all.",
        "Preference Direction": d,
        "Demographic Information": "A busy nurse in her thirties who likes short answers.",
        "User-Generated Content": [
            {"prompt": "Best way to learn Spanish?", "comment": "Daily flashcards. Done.", "Preference Direction": d},
            {"prompt": "Is coffee bad for you?", "comment": "In moderation, no.", "Preference Direction": d},
        ],
        "Pair-wise Comparative Feedback": [
            {"prompt": "How to fix a flat tire?", "chosen": "Patch kit, five minutes.",
             "rejected": "First, let us consider the history of tires...", "Preference Direction": d},
        ],
    }


@pytest.fixture
def write_jsonl(tmp_path):
    def write(rows, name="data.jsonl"):
        path = tmp_path / name
        path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows))
        return path

    return write
