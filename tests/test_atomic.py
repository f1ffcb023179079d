"""atomic_write: whole or nothing, and the file modes a plain write would give."""

import os
import stat

import pytest

from alignx.atomic import atomic_write, write_json


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_file_and_folder_get_the_default_modes_less_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        with atomic_write(tmp_path / "report.json") as tmp:
            tmp.write_text("{}")
        with atomic_write(tmp_path / "model", directory=True) as tmp:
            (tmp / "weights").write_text("w")
    finally:
        os.umask(old)
    assert mode(tmp_path / "report.json") == 0o644 and mode(tmp_path / "model") == 0o755
    assert (tmp_path / "model" / "weights").read_text() == "w"


def test_replacing_keeps_the_old_mode_and_a_failure_keeps_the_old_file(tmp_path):
    target = tmp_path / "table.md"
    target.write_text("old")
    target.chmod(0o600)
    with atomic_write(target) as tmp:
        tmp.write_text("new")
    assert target.read_text() == "new" and mode(target) == 0o600
    with pytest.raises(RuntimeError), atomic_write(target) as tmp:
        tmp.write_text("half")
        raise RuntimeError("killed")
    assert target.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["table.md"]


def test_write_json_keeps_non_ascii_text_and_ends_with_a_newline(tmp_path):
    target = tmp_path / "out" / "report.json"
    write_json(target, {"profile": "Prefers a café — not tea"}, indent=2)
    text = target.read_text(encoding="utf-8")
    assert "café — not tea" in text and text.endswith("}\n") and '\n  "profile"' in text
