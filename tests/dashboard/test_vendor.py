"""The vendored chart library is exactly the npm release its README names.

The hashes live in one place, ``bot/dashboard/static/vendor/README.md``; this test reads them
from there, so a file changed by hand (or a new version copied in without its provenance)
fails here rather than shipping silently."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from bot.dashboard import site

VENDOR = Path(site.__file__).resolve().parent / "static" / "vendor"


def recorded_hashes() -> dict[str, str]:
    """``file name -> sha256`` from the README's provenance table."""
    text = (VENDOR / "README.md").read_text()
    return dict(
        re.findall(r"^\| `([^`]+)` \(= `package/[^`]+`\) sha256 \| `([0-9a-f]{64})` \|", text, re.M)
    )


def test_every_vendored_file_has_a_recorded_hash_and_matches_it():
    hashes = recorded_hashes()
    shipped = {p.name for p in VENDOR.iterdir() if p.name != "README.md"}
    assert shipped == set(hashes), "every vendored file needs its line in vendor/README.md"
    for name, want in hashes.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == want, name


def test_the_version_the_pages_name_is_the_one_vendored():
    head = (VENDOR / "uPlot.iife.min.js").read_text()[:200]
    assert f"(v{site.UPLOT_VERSION})" in head
    assert f"uPlot {site.UPLOT_VERSION}" in (VENDOR / "README.md").read_text()
    assert "MIT" in (VENDOR / "LICENSE").read_text()
