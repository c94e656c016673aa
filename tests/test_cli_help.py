"""`photosearch --help` and `photosearch CMD --help`: each command's text comes from its module."""

from __future__ import annotations

import re

import pytest

from photosearch.cli import COMMANDS, main
from photosearch.core.library.store import INTEGRITY_CHECK_DAYS


def help_text(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == 0
    return capsys.readouterr().out


def test_every_command_is_listed_with_its_summary_and_has_its_own_help(capsys):
    listing = help_text(capsys)
    names = [module.__name__.rsplit(".", 1)[1].removesuffix("_cmd") for module in COMMANDS]
    for name in names:
        line = next(line for line in listing.splitlines() if line.split()[:1] == [name])
        summary = line.split(None, 1)[1]
        assert summary and not summary.endswith("."), line
        own = help_text(capsys, name)
        assert own.startswith(f"usage: photosearch {name} "), own
        assert not re.search(r"\{\w+\}", own), own  # no placeholder left unfilled


def test_descriptions_and_epilog_read_as_written(capsys):
    watch = " ".join(help_text(capsys, "watch").split())
    assert f"Every {INTEGRITY_CHECK_DAYS} days it checks the whole database file" in watch
    search = help_text(capsys, "search")
    assert "Find photos that match words, although nobody labelled them.\n" in search
    assert "\n  dog + snow           + combines terms\n" in search  # laid out verbatim
    assert "--after DATE" in search and "--debias" in search and "-k K" in search
