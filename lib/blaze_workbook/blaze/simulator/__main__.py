"""``python -m blaze_workbook.blaze.simulator [options]`` is ``blaze-workbook simulate [options]``."""

from __future__ import annotations

import sys

from ...cli import app

if __name__ == "__main__":
    app(args=["simulate", *sys.argv[1:]], prog_name="blaze-workbook")
