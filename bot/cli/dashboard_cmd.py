"""``ttfb dashboard``: the history as a static site (overview, scenarios, comparisons, release)."""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from pathlib import Path

from .. import git
from ..dashboard import site
from ..store.versioned import write_json
from . import common
from .args import Common, option, register


def repo_url(explicit: str | None) -> str | None:
    """``--repo-url``, else ``$GITHUB_SERVER_URL/$GITHUB_REPOSITORY`` inside GitHub Actions."""
    if explicit:
        return explicit
    server, repo = os.environ.get("GITHUB_SERVER_URL"), os.environ.get("GITHUB_REPOSITORY")
    return f"{server.rstrip('/')}/{repo}" if server and repo else None


@dataclass(frozen=True, kw_only=True)
class Options(Common, common.Db):
    out: str = option("-o", "--out", required=True, metavar="DIR", help="where the site goes")
    last: int = option(
        "--last",
        type=common.positive_int,
        default=60,
        help="runs in the overview's trend sparklines (default 60)",
    )
    repo_url: str | None = option(
        "--repo-url",
        metavar="URL",
        help="https://github.com/OWNER/REPO for commit and diff links "
        "(default: from $GITHUB_SERVER_URL and $GITHUB_REPOSITORY)",
    )
    branch: str | None = option(
        "--branch",
        metavar="REF",
        help="the default branch, whose commits the scenario charts show first "
        "(default: origin/HEAD, else main or master)",
    )
    no_git: bool = option(
        "--no-git",
        default=False,
        action="store_true",
        help="do not read commit dates and messages from git",
    )
    title: str = option("--title", default="TTFB Lab", help="the site's name (default TTFB Lab)")


def run(args: Options) -> int:
    root = common.root(args)
    db = common.store(root, db=args).db_path
    out = Path(args.out)
    options = site.Options(
        last=args.last,
        repo_url=repo_url(args.repo_url),
        branch=args.branch,
        root=None if args.no_git else git.toplevel(root),
        title=args.title,
    )
    started = time.perf_counter()
    built = site.build(db, out, options)
    elapsed = time.perf_counter() - started
    print(
        f"wrote {built.out}: {built.series} scenario page(s), {built.reports} report(s), "
        f"{'a' if built.release else 'no'} release page; {built.files} files, "
        f"{built.bytes / 1e6:.1f} MB from {built.runs} run(s) in {elapsed:.1f} s"
    )
    print(f"open {built.out / 'index.html'}")
    if args.json:
        write_json(
            args.json,
            {
                "version": 1,
                "kind": "ttfb-dashboard",
                "out": str(built.out),
                "files": built.files,
                "bytes": built.bytes,
                "runs": built.runs,
                "series": built.series,
                "reports": built.reports,
                "release": built.release,
                "seconds": elapsed,
            },
        )
    return 0


NAME = "dashboard"
HELP = "write the history as a static site (HTML + JSON, opens from file:// and GitHub Pages)"
DESCRIPTION = """\
Write a self-contained static site from the history: an overview of every scenario × runner
(latest median TTFB, trend, last verdict, calibration), a page per scenario (median TTFB per
run with its 95% CI, phase segments stacked, CPU time), every comparison with its report, and
the last release suite. Commit dates and messages come from the git repository (--root)."""


def arguments(p: argparse.ArgumentParser) -> None:
    register(p, Options, run)
