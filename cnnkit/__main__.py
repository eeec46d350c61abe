"""python -m cnnkit <command>: see cnnkit.cli."""

import sys

from cnnkit import compat

compat.skip_unused_slow_imports()  # before anything imports jsonschema (nbformat, nbgrader)

from cnnkit.cli import main  # noqa: E402

sys.exit(main())
