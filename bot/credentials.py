"""Credentials a CI job holds that code under test never needs.

Every process that runs the repository's code — measured samples, a shrink's validation — gets
its environment through ``scrubbed``: the GitHub token and the Actions runtime, cache and OIDC
credentials are removed unless a scenario keeps one explicitly (``pass_env``), and so are the
paths of TTFB Lab's own trusted state (the history, the dependency map, the environment
cache). On a release
branch the job holds a token that can write statuses and issues; a pull request's code runs in
the bench jobs: neither should see a credential.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

SCRUBBED = (
    "GITHUB_TOKEN",
    "GH_TOKEN",
    "ACTIONS_RUNTIME_TOKEN",
    "ACTIONS_RUNTIME_URL",
    "ACTIONS_RESULTS_URL",
    "ACTIONS_CACHE_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
)
# Where trusted state lives: measured code must not learn the paths (it could rewrite the
# history whose noise figures set every threshold, or the dependency map).
TRUSTED_PATHS = ("TTFB_LAB_DB", "TTFB_LAB_DEPMAP", "TTFB_LAB_CACHE")


def scrubbed(
    env: Mapping[str, str], *, keep: Iterable[str] = (), drop: Iterable[str] = ()
) -> dict[str, str]:
    """``env`` without the ``SCRUBBED`` credentials (except those in ``keep``), the
    ``TRUSTED_PATHS`` and ``drop``."""
    gone = (set(SCRUBBED) - set(keep)) | set(TRUSTED_PATHS) | set(drop)
    return {k: v for k, v in env.items() if k not in gone}
