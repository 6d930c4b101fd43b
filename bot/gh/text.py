"""Text from untrusted places (artifacts, payloads, the measured code's output) on its way
into the Actions log and commit statuses: it must not become a workflow command (``::error
…``, ``::add-mask::``) or a status description with a line break."""

from __future__ import annotations


def log_safe(text: str) -> str:
    """Text for the Actions log that cannot be a workflow command: the runner reads a command
    from a line that starts with ``::`` (spaces first allowed), so such a line gets a leading
    zero-width space; a CR, which could start a line of its own, becomes a line break."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(
        ("\u200b" + line) if line.lstrip().startswith("::") else line for line in lines
    )


def one_line(text: str, limit: int = 140) -> str:
    """A status description: one line, no control characters, at most ``limit`` characters."""
    flat = "".join(c if c.isprintable() else " " for c in text)
    return " ".join(flat.split())[:limit]
