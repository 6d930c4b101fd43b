"""TTFB Lab on a corpus of real open-source training repositories, run as a new user would.

Each project of ``benchmarks/real_repos.yaml`` is cloned from a local mirror
(``<mirrors>/<owner>+<name>/repo``, a bare snapshot; nothing is fetched here) into the cache
directory, checked out at its pinned commit (files the snapshot lacks are left out of the
checkout with a sparse-checkout pattern, so every worktree of it can be made), prepared (the
manifest's ``prep``: synthetic stand-ins for data a network would fetch), and then, from its
working folder, with TTFB Lab's defaults:

- ``ttfb measure --runs 3 -- CMD``: TTFB median, what detected the first batch, an evaluation
  before training;
- ``ttfb shrink --auto -- CMD``, then ``ttfb measure --runs 3`` of the shrunk command: what
  changed and the TTFB speed-up; the shrunk command is also run once to completion
  (``--stop exit``, at most two minutes) for its whole-run time;
- ``ttfb compare --base PARENT --head COMMIT -- CMD``: the verdict and wall time, stopped by
  ``--budget-s`` at ``--limit-min`` (and killed three minutes later if still running);
- ``ttfb select --base PARENT --head COMMIT``: what it says; where it needs scenario files,
  again with a minimal scenario written into a scratch ``scenarios/`` folder of the cache.

Every failure is kept with its one-line error. Results are appended to
``out/bench/real_repos/results.jsonl`` as each step ends, and ``results.json`` (versioned) and
the table are written at the end; ``--from-log`` prints the table of a stopped run from the
log.

    .venv/bin/python benchmarks/real_repos.py --cache /tmp/ttfb-corpus [--only NAME,...]
        [--limit-min 15] [--mirrors /work/.mirror]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
MANIFEST = REPO / "benchmarks" / "real_repos.yaml"
OUT = REPO / "out" / "bench" / "real_repos"
VERSION = 1
WHOLE_S = 120  # the shrunk command's one run to completion stops here
TTFB = [str(Path(sys.executable).with_name("ttfb"))]
CHANGE = re.compile(r"(\S+): (.+?) → (\S+)  \(")  # "name: old → new  (why) [how]"
VERDICT = re.compile(r"^(REGRESSION|IMPROVEMENT|NO CHANGE|INCONCLUSIVE|BROKEN|SKIPPED)\b.*")


def sh(argv: list[str], *, cwd: Path, env: dict[str, str] | None = None, timeout: float = 3600):
    """Run ``argv``; (exit code or None on timeout, combined output, seconds)."""
    started = time.monotonic()
    try:
        proc = subprocess.run(
            argv,
            cwd=cwd,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=timeout,
            start_new_session=True,
        )
        code, out = proc.returncode, proc.stdout
    except subprocess.TimeoutExpired as exc:
        code, out = None, exc.stdout or b""
    return code, out.decode(errors="replace"), time.monotonic() - started


def one_line(text: str) -> str:
    """The line of ``text`` that says what went wrong, for a table cell."""
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    found = [line for line in lines if re.match(r"(error|failed|\w+(Error|Exception))\b", line)]
    return tidy((found or lines or ["(no output)"])[-1])


def tidy(error: object) -> str:
    """An error for a cell: without ttfb's "failed: ", a traceback tail cut to its exception."""
    line = re.sub(r"^(failed: )+", "", str(error))
    raised = re.findall(r"\b\w+(?:Error|Exception): [^|]*", line)
    return (f"{line.split(': ')[0]}: {raised[-1].strip()}" if raised else line)[:300]


def checkout(project: dict, mirrors: Path, cache: Path) -> Path:
    """Clone the mirror into the cache and check out the pinned commit, leaving out blobs the
    snapshot does not have (of the commit and of its base)."""
    owner, name = project["repository"].split("/")
    dest = cache / "src" / f"{owner}+{name}"
    if not dest.exists():
        source = mirrors / f"{owner}+{name}" / "repo"
        git(["clone", "--quiet", "--no-checkout", str(source), str(dest)], cache)
    missing = set()
    for rev in (project["commit"], project["base"]):
        tree = git(["ls-tree", "-r", rev], dest).splitlines()
        blobs = {line.split()[2]: line.split("\t", 1)[1] for line in tree if " blob " in line}
        check = subprocess.run(
            ["git", "cat-file", "--batch-check=%(objectname) %(objecttype)"],
            cwd=dest,
            input="\n".join(blobs),
            capture_output=True,
            text=True,
        ).stdout
        missing |= {blobs[line.split()[0]] for line in check.splitlines() if "missing" in line}
    patterns = ["/*", *(f"!/{path}" for path in sorted(missing))]
    git(["config", "core.sparseCheckout", str(bool(missing)).lower()], dest)
    (dest / ".git" / "info").mkdir(exist_ok=True)
    (dest / ".git" / "info" / "sparse-checkout").write_text("\n".join(patterns) + "\n")
    git(["checkout", "--quiet", "--force", "--detach", project["commit"]], dest)
    project["missing_from_snapshot"] = sorted(missing)
    return dest


def git(args: list[str], cwd: Path) -> str:
    return subprocess.run(
        ["git", *args], cwd=cwd, check=True, capture_output=True, text=True
    ).stdout


def interpreter(project: dict, cache: Path) -> Path:
    """The project's Python: this venv's, or an overlay venv under the cache that sees this
    venv through a .pth file and holds the manifest's extra packages."""
    packages = project.get("venv") or []
    if not packages:
        return Path(sys.executable)
    venv = cache / "venvs" / project["name"]
    python = venv / "bin" / "python"
    stamp = venv / "ttfb-corpus-packages.txt"
    if not (stamp.exists() and stamp.read_text() == "\n".join(packages)):
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        site = venv / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "site-packages"
        base = Path(sys.prefix) / site.relative_to(venv)
        (site / "ttfb-corpus-base.pth").write_text(f"{base}\n")
        code, out, _ = sh([str(python), "-m", "pip", "install", *packages], cwd=cache)
        if code != 0:
            raise RuntimeError(f"pip install {' '.join(packages)}: {one_line(out)}")
        stamp.write_text("\n".join(packages))
    torchrun = venv / "bin" / "torchrun"  # the console script pip writes for torch
    torchrun.write_text(
        f"#!{python}\nimport sys\nfrom torch.distributed.run import main\nsys.exit(main())\n"
    )
    torchrun.chmod(0o755)
    return python


def environment(project: dict, python: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["PATH"] = os.pathsep.join(
        [str(python.parent), str(Path(sys.executable).parent), env["PATH"]]
    )
    env.update({k: str(v) for k, v in (project.get("env") or {}).items()})
    return env


def measure(argv: list[str], where: Path, env: dict, python: Path, out: Path, *extra: str) -> dict:
    """``ttfb measure --runs 3`` (``extra`` after it): median TTFB, detection, evaluation."""
    out.unlink(missing_ok=True)
    cmd = [*TTFB, "measure", "--runs", "3", "--json", str(out), "--python", str(python), *extra]
    code, text, wall = sh([*cmd, "--", *argv], cwd=where, env=env)
    row: dict = {"exit": code, "wall_s": round(wall, 1), "output": text[-4000:]}
    samples = json.loads(out.read_text())["samples"] if out.exists() else []
    ok = [s["ttfb_s"] for s in samples if s["status"] == "ok"]
    row["statuses"] = [s["status"] for s in samples]
    row["ttfb_median_s"] = statistics.median(ok) if ok else None
    row["run_wall_median_s"] = statistics.median(s["wall_s"] for s in samples) if samples else None
    for label, pattern in (
        ("detected_by", "first batch detected by: "),
        ("evaluation", "evaluation before training: "),
    ):
        found = [line.split(pattern, 1)[1].strip() for line in text.splitlines() if pattern in line]
        row[label] = found[0] if found else None
    if not ok:
        row["error"] = one_line(text)
    return row


def run_project(project: dict, args: argparse.Namespace, log) -> dict:
    name = project["name"]
    cache: Path = args.cache
    data = cache / "data" / name
    data.mkdir(parents=True, exist_ok=True)
    result: dict = {
        k: project.get(k) for k in ("name", "repository", "commit", "base", "licence", "workdir")
    }
    started = time.monotonic()

    def step(key: str, value: dict) -> None:
        result[key] = value
        log({"project": name, "step": key, **value})
        print(
            f"{name}: {key}: {value.get('error') or value.get('summary') or 'done'}",
            file=sys.stderr,
        )

    try:
        root = checkout(project, args.mirrors, cache)
        python = interpreter(project, cache)
    except (subprocess.CalledProcessError, RuntimeError, OSError) as exc:
        detail = getattr(exc, "stderr", None) or str(exc)
        step("setup", {"error": one_line(str(detail))})
        return result
    result["missing_from_snapshot"] = project.get("missing_from_snapshot", [])
    result["python"] = str(python)
    where = root / project["workdir"]
    env = environment(project, python)
    argv = [str(a).replace("{DATA}", str(data)) for a in project["command"]]
    result["command"] = shlex.join(argv)
    code, text, wall = sh(
        ["bash", "-euo", "pipefail", "-c", project["prep"]],
        cwd=root,
        env={
            **env,
            "PY": str(python),
            "CHECKOUT": str(root),
            "WORKDIR": str(where),
            "DATA": str(data),
        },
    )
    step(
        "prep",
        {"exit": code, "wall_s": round(wall, 1), **({"error": one_line(text)} if code else {})},
    )
    if code != 0:
        return result
    scratch = OUT / "runs" / name
    scratch.mkdir(parents=True, exist_ok=True)

    step("measure", measure(argv, where, env, python, scratch / "measure.json"))

    code, text, wall = sh(
        [*TTFB, "shrink", "--auto", "--json", str(scratch / "shrink.json"), "--", *argv],
        cwd=where,
        env=env,
    )
    shrink: dict = {"exit": code, "wall_s": round(wall, 1), "output": text[-3000:]}
    if code == 0:
        report = json.loads((scratch / "shrink.json").read_text())
        shrink["command"] = report["command"]
        shrink["changes"] = [
            line.strip() for line in text.splitlines()[1:] if line.startswith("  ")
        ]
        shrink["changed"] = report["command"] != argv
    else:
        shrink["error"] = one_line(text)
    step("shrink", shrink)
    if shrink.get("changed"):
        shrunk = shrink["command"]
        step("measure_shrunk", measure(shrunk, where, env, python, scratch / "measure-shrunk.json"))
        once = ("--runs", "1", "--warmup", "0", "--stop", "exit", "--timeout", str(WHOLE_S))
        whole = measure(shrunk, where, env, python, scratch / "whole-shrunk.json", *once)
        step("whole_run_shrunk", whole)

    budget = args.limit_min * 60
    inputs = [arg for glob in project.get("inputs") or [] for arg in ("--input", glob)]
    pythons = ["--base-python", str(python), "--head-python", str(python)]
    cmd = [
        *TTFB,
        "compare",
        "--base",
        project["base"],
        "--head",
        project["commit"],
        "--budget-s",
        str(budget),
    ]
    cmd += [*inputs, *pythons, "--out-dir", str(scratch / "compare"), "--", *argv]
    code, text, wall = sh(cmd, cwd=where, env=env, timeout=budget + 180)
    verdicts = [m.group(0) for m in map(VERDICT.match, text.splitlines()) if m]
    compare = {"exit": code, "wall_s": round(wall, 1), "budget_s": budget, "output": text[-6000:]}
    compare["verdict"] = verdicts[0] if verdicts else None
    compare["killed_at_limit"] = code is None
    if not verdicts:
        compare["error"] = "killed at the limit" if code is None else one_line(text)
    step("compare", compare)

    sel = [*TTFB, "select", "--base", project["base"], "--head", project["commit"]]
    code, text, wall = sh([*sel, "--json", str(scratch / "plan.json")], cwd=where, env=env)
    select: dict = {"exit": code, "output": text[-3000:], "wall_s": round(wall, 1)}
    if code != 0 and "scenario" in text.lower():
        scenarios = cache / "scratch" / name / "scenarios"  # never the checkout's own folder
        scenarios.mkdir(parents=True, exist_ok=True)
        spec = {"name": name, "command": argv, "cwd": project["workdir"], "timeout_s": 900}
        if project.get("inputs"):
            spec["inputs"] = project["inputs"]
        (scenarios / f"{name}.yaml").write_text(yaml.safe_dump(spec, sort_keys=False))
        select["without_scenarios"] = one_line(text)
        code, text, wall = sh(
            [*sel, "--scenarios-dir", str(scenarios), "--json", str(scratch / "plan.json")],
            cwd=where,
            env=env,
        )
        select.update(
            exit=code, output=text[-3000:], wall_s=round(wall, 1), scratch_scenario=str(scenarios)
        )
    if code == 0:
        plan = json.loads((scratch / "plan.json").read_text())
        picked = [f"{s['scenario']} ({s['reason']})" for s in plan.get("selected", [])]
        skipped = [f"{s['scenario']}: {s['reason']}" for s in plan.get("skipped", [])]
        select["summary"] = "; ".join(picked or skipped) or "nothing selected"
    else:
        select["error"] = one_line(text)
    step("select", select)
    result["wall_s"] = round(time.monotonic() - started, 1)
    return result


def why(step: dict) -> str:
    """A failed step's error, read again from its output where that was kept."""
    return one_line(step["output"]) if step.get("output") else tidy(step.get("error"))


def seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f} s"


def row(r: dict) -> list[str]:
    """One table row; every cell comes from a run (or says which step failed)."""
    if "setup" in r or r.get("prep", {}).get("exit"):
        error = (r.get("setup") or r["prep"]).get("error")
        return [r["name"], f"setup failed: {error}", "", "", "", "", ""]
    m, s = r.get("measure", {}), r.get("shrink", {})
    ttfb = seconds(m.get("ttfb_median_s")) if m.get("ttfb_median_s") else f"failed: {why(m)}"
    detect = m.get("detected_by") or "—"
    evaluation = m.get("evaluation") or "none"
    if s.get("error"):
        shrunk = f"failed: {tidy(s['error'])}"
    elif not s.get("changed"):
        shrunk = "nothing changed"
    else:
        ms, whole = r.get("measure_shrunk", {}), r.get("whole_run_shrunk", {})
        made = [CHANGE.match(line) for line in s.get("changes", [])]
        changes = ", ".join(f"{m[1]} {m[2]} → {m[3]}" for m in made if m)
        if ms.get("ttfb_median_s"):
            ratio = (m.get("ttfb_median_s") or 0) / ms["ttfb_median_s"]
            how = f"{ratio:.1f}× faster" if ratio >= 1 else f"{1 / (ratio or 1):.1f}× slower"
            speed = f"TTFB {seconds(ms['ttfb_median_s'])}" + (f" ({how})" if ratio else "")
            if ms.get("detected_by") != m.get("detected_by"):
                speed += f", detected by {ms.get('detected_by')}"
        else:
            speed = f"shrunk run failed: {why(ms)}"
        if whole.get("statuses") == ["ok"]:
            run = f"whole run {seconds(whole['run_wall_median_s'])}"
        elif whole.get("statuses") == ["timeout"]:
            run = f"whole run > {WHOLE_S} s (stopped)"
        else:
            run = f"whole run failed: {why(whole)}"
        shrunk = f"{changes}; {speed}; {run}"
    c = r.get("compare", {})
    minutes = f"{c.get('wall_s', 0) / 60:.1f} min"
    verdict = (c.get("verdict") or "").split(" — ")[0].replace(" command: ", " ")
    verdict = re.sub(r"\s+", " ", verdict) or f"failed: {tidy(c.get('error'))}"
    if c.get("killed_at_limit"):
        verdict += f" (killed at the {c['budget_s'] // 60}-min limit)"
    sel = r.get("select", {})
    chosen = f"failed: {tidy(sel.get('error'))}"
    if sel.get("exit") == 0 and (OUT / "runs" / r["name"] / "plan.json").exists():
        plan = json.loads((OUT / "runs" / r["name"] / "plan.json").read_text())
        parts = [f"selected {s['scenario']} ({s['reason']})" for s in plan["selected"]]
        parts += [f"skipped {s['scenario']}: {s['reason']}" for s in plan["skipped"]]
        if plan.get("unmapped"):
            names = ", ".join(plan["unmapped"][:2]) + (", …" if len(plan["unmapped"]) > 2 else "")
            parts.append(f"{len(plan['unmapped'])} unmapped ({names})")
        chosen = "; ".join(parts)
    if sel.get("scratch_scenario"):
        chosen = f"{sel['without_scenarios'].split(': ')[-1]}; with a scratch scenario: {chosen}"
    return [r["name"], ttfb, detect, evaluation, shrunk, f"{verdict} — {minutes}", chosen]


def table(results: list[dict]) -> str:
    head = [
        "project",
        "TTFB (median of 3)",
        "detected by",
        "eval before training",
        "shrink --auto",
        "compare (wall)",
        "select",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in results:
        cells = [cell.replace("|", "\\|").replace("\n", " ") for cell in row(r)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def from_log(projects: list[dict]) -> list[dict]:
    """The results of the projects that ``results.jsonl`` has steps of, latest step wins (for a
    run that was stopped before it wrote ``results.json``)."""
    steps: dict[str, dict] = {}
    for line in (OUT / "results.jsonl").read_text().splitlines():
        record = json.loads(line)
        if record.get("version", 0) > VERSION:
            raise SystemExit(f"error: results.jsonl: version {record['version']} is newer")
        name, key = record.pop("project"), record.pop("step")
        steps.setdefault(name, {})[key] = record
    keys = ("name", "repository", "commit", "base", "licence", "workdir")
    return [
        {**{k: p.get(k) for k in keys}, **steps[p["name"]]} for p in projects if p["name"] in steps
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cache", type=Path, required=True, help="outside the project")
    parser.add_argument("--mirrors", type=Path, default=Path("/work/.mirror"))
    parser.add_argument("--only", help="comma-separated project names")
    parser.add_argument("--limit-min", type=float, default=15, help="per compare")
    parser.add_argument(
        "--from-log", action="store_true", help="only the table, from results.jsonl"
    )
    args = parser.parse_args()
    args.cache = args.cache.resolve()
    if args.cache.is_relative_to(REPO):
        raise SystemExit("error: --cache must be outside the project")
    manifest = yaml.safe_load(MANIFEST.read_text())
    projects = manifest["projects"]
    if args.only:
        wanted = args.only.split(",")
        unknown = set(wanted) - {p["name"] for p in projects}
        if unknown:
            raise SystemExit(f"error: --only: no project {', '.join(sorted(unknown))}")
        projects = [p for p in projects if p["name"] in wanted]
    if args.from_log:
        print(table(from_log(projects)))
        return
    OUT.mkdir(parents=True, exist_ok=True)
    args.cache.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    with open(OUT / "results.jsonl", "a") as jsonl:

        def log(record: dict) -> None:
            jsonl.write(json.dumps({"version": VERSION, **record}) + "\n")
            jsonl.flush()

        results = [run_project(p, args, log) for p in projects]
    took = time.monotonic() - started
    command = "benchmarks/real_repos.py " + shlex.join(sys.argv[1:])
    doc = {"version": VERSION, "command": command, "wall_s": round(took, 1), "projects": results}
    (OUT / "results.json").write_text(json.dumps(doc, indent=1) + "\n")
    print(table(results))
    print(f"\n{len(results)} projects in {took / 60:.1f} min; {OUT / 'results.json'}")


if __name__ == "__main__":
    main()
