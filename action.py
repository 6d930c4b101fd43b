"""The action's entry point: ``python3 action.py gh <mode> ...`` runs TTFB Lab from this
checkout of the action, without installing it (its dependencies come from the hash-pinned
``requirements/action.txt``), and without putting the action on ``PYTHONPATH``, which the
measured jobs would inherit."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bot.cli import main

if __name__ == "__main__":
    sys.exit(main())
