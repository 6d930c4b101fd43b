"""Every rendered output against a golden file: the PR comment, the job summary and the
``compare`` text; ``measure``, ``select`` and ``bisect`` in the terminal, the release report and
the culprit note.

The comment, summary and text are rendered from a stored results document
(``tests/fixtures/results/regression.json``, written once by a scripted compare), so a golden
file changes when a view or a template does, never with the numbers a fresh bootstrap draws.
The other inputs are built here, deterministically, through the same code that builds them in
a run: ``summarize``, ``plan``, the bisect search with a scripted compare, ``release_json``.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from bot.bisect.bisect_doc import bisect_json
from bot.bisect.search import StepResult, bisect
from bot.gh.release_flow import release_json
from bot.model import Sample, Verdict
from bot.report.compare_view import render_comment, render_compare_text, render_summary
from bot.report.measure_view import render_measure
from bot.report.plan_view import plan_text
from bot.report.release_view import render_bisect_text, render_notification, render_release
from bot.selection.candidates import Change, ScenarioInfo
from bot.selection.plan import Learned, Settings, plan
from bot.stats.summary import summarize

from ..conftest import golden

COMMITS = [f"{i:x}" * 40 for i in range(10)]  # 000…, 111…, … 999…
SUBJECTS = {c: f"change {i}" for i, c in enumerate(COMMITS)}
CULPRIT = 6
RESULTS = Path(__file__).parents[1] / "fixtures" / "results"
CONTEXT = {
    "selection": "**Selection**\n- ran `command`: train.py (import)",
    "summary_url": "https://github.example/octo/lab/actions/runs/77",
    "rerun_by": "writer",
}


def stored(name: str) -> dict:
    """A results document of ``tests/fixtures/results/``, as the report job reads one."""
    return json.loads((RESULTS / f"{name}.json").read_text())


def test_comment_summary_and_text_of_a_stored_compare():
    doc = stored("regression")
    golden("comment_regression.md", render_comment(doc))
    golden("summary_regression.md", render_summary(doc, context=CONTEXT))
    golden("compare_regression.txt", render_compare_text(doc))


def sample(i: int, *, status: str = "ok") -> Sample:
    if status != "ok":
        return Sample(status, error="RuntimeError: CUDA error: out of memory")
    t = 2.0 + 0.01 * i
    phases = {
        "interpreter_ready": 0.03,
        "import_torch": 1.2 + 0.005 * i,
        "optimizer_created": 1.9 + 0.008 * i,
        "first_forward": t,
        "first_batch": t,
    }
    return Sample(
        "ok",
        ttfb_s=t,
        cpu_s=0.9 * t,
        peak_rss_mb=310.0,
        phases=phases,
        detected_by="forward",
        gc_s=0.40 + 0.01 * i,
        gc_collections=780 + i,
        gc_full=6,
    )


def test_measure_text():
    ok = summarize("ranker-cpu", [sample(i) for i in range(5)] + [sample(9, status="crashed")])
    skipped = summarize("ranker-gpu", [], skipped="needs 1 GPU(s); this machine has 0")
    evaluating = summarize("lm-eval-first", [evaluates_first(i) for i in range(3)])
    golden("measure.txt", render_measure([ok, skipped, evaluating]))


def evaluates_first(i: int) -> Sample:
    """A sample whose first training batch follows an evaluation of 40 forwards."""
    s = sample(i)
    phases = {
        **s.phases,
        "first_eval_forward": 2.0,
        "first_forward": 9.0 + i,
        "first_batch": 9.0 + i,
    }
    return replace(s, ttfb_s=9.0 + i, phases=phases, eval_forwards=40)


def test_select_text():
    a = ScenarioInfo("ranker-cpu", globs=("src/ranker/**",), est_seconds=5)
    b = ScenarioInfo("lm-cpu", est_seconds=8)
    g = ScenarioInfo("ranker-gpu", est_seconds=10, gpu=1, runner=("self-hosted", "gpu"))
    files = {
        "ranker-cpu": (frozenset({"src/common.py"}), frozenset({"data/a.csv"})),
        "lm-cpu": (frozenset({"src/common.py", "src/lm.py"}), frozenset()),
        "ranker-gpu": (frozenset({"src/common.py"}), frozenset()),
    }
    changes = [Change("src/common.py"), Change("src/new.py", "A"), Change("README.md")]
    p = plan(
        changes,
        [a, b, g],
        files,
        budget_cpu_s=5 * 42 + 1,
        budget_gpu_s=0,
        learned=Learned(paths={"ranker-cpu": {"src/common.py": (4, 2)}}),
        settings=Settings(explore=0.0),
    )
    golden("select.txt", plan_text(p))


def scripted(good: str, candidate: str, attempt: int) -> StepResult:
    """Each commit from the culprit on is 6% slower; the answers are exact."""
    a, b = COMMITS.index(good), COMMITS.index(candidate)
    delta = 6.0 * ((b >= CULPRIT) - (a >= CULPRIT))
    verdict = Verdict.REGRESSION if delta >= 2 else Verdict.NO_CHANGE
    return StepResult(verdict, delta, delta - 1.5, delta + 1.5, 0.001 if delta else 0.6, 20)


def bisect_doc() -> dict:
    result = bisect(COMMITS, scripted)
    return bisect_json(COMMITS, result, scenario="ranker-cpu", subjects=SUBJECTS)


def test_bisect_text():
    golden("bisect.txt", render_bisect_text(bisect_doc()))


def entry(name: str, verdict: str, reason: str, **fields: object) -> dict:
    """A results entry with every field a scenario must have; unmeasured unless ``fields``
    say otherwise."""
    unmeasured = {"delta_pct": None, "ci_low_pct": None, "ci_high_pct": None, "p_ttest": None}
    return {
        "name": name,
        "verdict": verdict,
        "reason": reason,
        "threshold_pct": 2.0,
        **unmeasured,
        "p_wilcoxon": None,
        "pairs": 0,
        "confirmed": None,
        "mde_pct": None,
        "base": {"median_s": None},
        "head": {"median_s": None},
        "phases": [],
        **fields,
    }


def test_release_report_and_culprit_note():
    finding = {
        "direction": 1,
        "kind": "segments",
        "endpoint": "segment:import_torch",
        "effect_pct": 6.0,
        "summary": "phases +6.0% of TTFB net",
    }
    scenario = entry(
        "ranker-cpu",
        "regression",
        "phases +6.0% of TTFB net; confirmed",
        skipped=None,
        delta_pct=6.1,
        ci_low_pct=4.0,
        ci_high_pct=8.2,
        p_ttest=0.0004,
        pairs=20,
        finding=finding,
    )
    skipped = entry(
        "ranker-gpu",
        "skipped",
        "needs 1 GPU(s)",
        skipped="needs 1 GPU(s) on runner [self-hosted, gpu]; this machine has 0",
    )
    compare_doc = {"scenarios": [scenario, skipped], "policy": {"alpha": 0.01}}
    b = bisect_doc()
    attribution = [
        {
            "scenario": "ranker-cpu",
            "commit": COMMITS[CULPRIT],
            "author": "bob",
            "where": "pull request #42",
            "created": True,
        }
    ]
    gate = {"state": "failure", "description": "TTFB gate failed: ranker-cpu (regression)"}
    doc = release_json(
        baseline=COMMITS[0],
        head=COMMITS[-1],
        compare_doc=compare_doc,
        bisects=[b],
        attribution=attribution,
        gate=gate,
    )
    golden("release.md", render_release(doc))
    note = render_notification(
        scenario="ranker-cpu",
        culprit=b["culprits"][0],
        author="bob",
        bisect_doc=b,
        release="release/1.5",
        run_url="https://github.example/octo/lab/actions/runs/77",
    )
    golden("culprit.md", note)


def test_durations_never_read_1000_ms():
    from bot.report.fmt import fmt_ds, fmt_s

    assert [fmt_s(x) for x in (0.0004, 0.25, 0.9994, 0.99995, 1.0, 12.345)] == [
        "0 ms",
        "250 ms",
        "999 ms",
        "1.00 s",
        "1.00 s",
        "12.35 s",
    ]
    assert [fmt_ds(x) for x in (-0.99996, 0.0002, 0.251)] == ["-1.00 s", "±0 ms", "+251 ms"]


def test_an_unconfirmed_finding_says_why_not_that_it_was_not_reproduced():
    """A CPU-work finding whose confirming counts never ran is not "not reproduced": the
    sentence gives the decision's own reason; one that ran and failed says so."""
    from bot.report.compare_view import sentence
    from bot.results import Results

    doc = stored("instructions")
    (s,) = doc["scenarios"]
    summary = "CPU work to first batch: +3.00% instructions (1+1 runs, spread 0.000%)"
    s.update(verdict="inconclusive", reason=f"{summary}; no confirmation count")
    (view,) = Results.from_json(doc).scenarios
    assert sentence(view).endswith(" — not confirmed: no confirmation count"), sentence(view)
    s.update(reason=f"{summary}; not reproduced (+0.01% in the confirming count)")
    (view,) = Results.from_json(doc).scenarios
    assert sentence(view).endswith(" — not reproduced by the confirmation run")
