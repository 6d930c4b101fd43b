"""The command table: every command module is listed, under its own name, and a run of one
command imports that command alone."""

from __future__ import annotations

import subprocess
import sys

from bot import cli

from ..conftest import REPO


def test_every_command_module_is_listed_under_its_own_name():
    found = sorted(p.name[: -len("_cmd.py")] for p in (REPO / "bot" / "cli").glob("*_cmd.py"))
    assert sorted(cli.NAMES) == found
    assert all(name == cli.command(name).NAME for name in cli.NAMES)


def test_the_full_parser_has_every_command_and_a_named_one_has_it_alone():
    def commands(argv: list[str]) -> list[str]:
        parser = cli.build_parser(argv)
        (sub,) = [a for a in parser._actions if a.dest == "cmd"]
        return list(sub.choices)

    assert commands(["--help"]) == list(cli.NAMES)
    assert commands(["no-such-command"]) == list(cli.NAMES)
    assert commands(["compare", "--help"]) == ["compare"]


def test_a_compare_does_not_import_the_github_layer():
    code = (
        "import sys; from bot.cli import build_parser; build_parser(['compare', '--', 'x']); "
        "print(sorted(m for m in sys.modules if m == 'github' or m.startswith('bot.gh')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]", out
