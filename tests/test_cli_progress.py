"""`photosearch index`'s progress on stderr: drawn by tqdm when asked, cleared at the end, and
never mixed into the command's own output."""

from __future__ import annotations

from helpers import copy_sample

from photosearch.cli import main


def _last_line(stream: str) -> str:
    return stream.replace("\r", "\n").rstrip(" ").split("\n")[-1]


def test_forced_progress_shows_the_embedding_bar_and_clears_it(tmp_path, capsys):
    folder = tmp_path / "photos"
    copy_sample(folder, ["dog", "pizza"], per_class=10)
    assert main(["index", str(folder), "--db", str(tmp_path / "lib.db"), "--progress"]) == 0
    captured = capsys.readouterr()
    assert "embedding" in captured.err and "photos/s" in captured.err
    assert "/20" in captured.err  # the bar knows how many photos there are to embed
    assert _last_line(captured.err) == ""  # the bar's line is wiped when the run ends
    assert captured.out.startswith("added 20,") and "embedding" not in captured.out


def test_no_bar_when_stderr_is_not_a_terminal(tmp_path, capsys):
    folder = tmp_path / "photos"
    copy_sample(folder, ["dog"], per_class=4)
    assert main(["index", str(folder), "--db", str(tmp_path / "lib.db"), "--json"]) == 0
    assert "embedding" not in capsys.readouterr().err
