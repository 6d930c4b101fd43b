"""Files a comparison leaves behind: ``results.json``, ``comment.md``, ``summary.md``, plots."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..atomic import write_text_atomic
from ..results import Results
from ..store.versioned import write_json
from . import plots
from .compare_view import as_results, render_comment, render_summary
from .flame import render_html
from .profile_view import flame_file, flame_graph


def write_compare_outputs(doc: Results | Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """Write the results document, the PR comment, the job summary, one plot per scenario and
    a differential flame graph per profiled scenario."""
    results = as_results(doc)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "results.json", out / "comment.md", out / "summary.md"]
    write_json(written[0], results.to_json())
    write_text_atomic(written[1], render_comment(results))
    write_text_atomic(written[2], render_summary(results))
    written.extend(plots.write_plots(results, out))
    written.extend(write_flame_graphs(results, out))
    return written


def write_flame_graphs(doc: Results | Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """A differential flame graph per profiled scenario, drawn from the document's call trees
    (data, escaped), so the report job can publish pages it rendered itself."""
    results = as_results(doc)
    out = Path(out_dir)
    written = []
    for s in results.scenarios:
        graph = flame_graph(s, base=results.base.label, head=results.head.label)
        if graph is not None:
            out.mkdir(parents=True, exist_ok=True)
            written.append(out / flame_file(s.name))
            write_text_atomic(written[-1], render_html(graph))
    return written


def exit_code(doc: Results | Mapping[str, Any], *, gate: bool) -> int:
    """0, or 1 in gate mode when any scenario regressed (confirmed) or is broken."""
    if gate and any(s.verdict.fails_gate for s in as_results(doc).scenarios):
        return 1
    return 0
