"""The console the report and status tables print on."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console

# Logs and CI consoles are no terminals; rich would wrap every table at 80 columns (or at a
# COLUMNS some parent process exported) there.
NOT_A_TTY_WIDTH = 200


def table_console() -> Console:
    from rich.console import Console

    return Console(width=None if sys.stdout.isatty() else NOT_A_TTY_WIDTH)
