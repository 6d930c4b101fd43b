"""``python -m bot.cli``."""

import sys

from . import main

sys.exit(main())
