"""Untrusted text never becomes a workflow command, an extra output or a multi-line status."""

from __future__ import annotations

from bot.gh.context import write_outputs
from bot.gh.text import log_safe, one_line


def test_a_line_that_would_be_a_workflow_command_is_defused():
    text = "ranker-cpu: ok\n::error title=Security::GITHUB_TOKEN leaked\n  ::add-mask::x\rnext"
    lines = log_safe(text).split("\n")
    assert not any(line.lstrip().startswith("::") for line in lines)
    assert lines[0] == "ranker-cpu: ok" and lines[-1] == "next"
    assert "GITHUB_TOKEN leaked" in lines[1]  # defused, not hidden
    assert log_safe("head is 7.4% slower") == "head is 7.4% slower"


def test_a_status_description_is_one_short_line():
    assert one_line("regression in a\nb\r\tc" + "x" * 300) == ("regression in a b c" + "x" * 121)


def test_an_output_cannot_end_its_own_heredoc(tmp_path):
    out = tmp_path / "output"
    planted = "line\nTTFB_EOF\ninjected=1"
    write_outputs({"GITHUB_OUTPUT": str(out)}, {"matrix": planted, "count": "1"})
    text = out.read_text()
    head, _, rest = text.partition("\n")
    assert head.startswith("matrix<<ttfb_") and len(head) > len("matrix<<ttfb_") + 16
    delimiter = head.split("<<", 1)[1]
    body, _, tail = rest.partition(f"\n{delimiter}\n")
    assert body == planted and tail == "count=1\n"
