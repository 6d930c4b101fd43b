"""Files a comparison leaves behind: ``results.json``, ``comment.md``, ``summary.md``, plots."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from . import plots, report, results

GATE_FAILS_ON = ("regression", "broken")


def write_compare_outputs(doc: Mapping[str, Any], out_dir: str | Path) -> list[Path]:
    """Write the results document, the PR comment, the job summary and one plot per scenario."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written = [out / "results.json", out / "comment.md", out / "summary.md"]
    results.write_json(written[0], doc)
    _write_text(written[1], report.render_comment(doc))
    _write_text(written[2], report.render_summary(doc))
    written.extend(plots.write_plots(doc, out))
    return written


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)


def exit_code(doc: Mapping[str, Any], *, gate: bool) -> int:
    """0, or 1 in gate mode when any scenario regressed (confirmed) or is broken."""
    if gate and any(s["verdict"] in GATE_FAILS_ON for s in doc["scenarios"]):
        return 1
    return 0
