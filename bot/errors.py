"""Typed errors. ``cli.main`` prints ``error: <message>`` for any of them and exits 2."""

from __future__ import annotations


class TTFBError(Exception):
    """Base class of every error a user can cause: the message is one line naming the culprit."""


class ScenarioError(TTFBError):
    """A scenario file is missing, malformed, or fails validation."""


class ConfigError(TTFBError):
    """A training config or shrink rule cannot be applied."""


class GitError(TTFBError):
    """A git revision is missing or a git command failed."""


class ResultsError(TTFBError):
    """A results/samples file is malformed, too large, or of an unknown version."""


class GitHubError(TTFBError):
    """The GitHub API refused a request or kept failing after bounded retries."""


class UsageError(TTFBError):
    """Bad command-line arguments that argparse itself cannot catch."""
