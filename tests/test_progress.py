"""alignx.progress: the one progress bar, on stderr, silent when disabled."""

from alignx.progress import ProgressBar


def test_a_disabled_bar_counts_and_prints_nothing(capsys):
    with ProgressBar("scoring", 4, unit="tok", enabled=False) as bar:
        bar.advance(3, work=120)
        bar.note("loss 0.1")
    assert (bar.completed, bar.work) == (3, 120)
    assert capsys.readouterr() == ("", "")


def test_an_enabled_bar_writes_to_stderr_only(capsys):
    with ProgressBar("judging", 2, unit="items", completed=1) as bar:
        bar.advance()
    out, err = capsys.readouterr()
    assert out == "" and "judging" in err and "2/2" in err and "items/s" in err
