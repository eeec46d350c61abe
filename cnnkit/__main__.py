"""python -m cnnkit <command>, and the `cnnkit` command pip installs (pyproject.toml): see cnnkit.cli."""

import sys

from cnnkit import compat


def run():
    """The command line, with jsonschema's slow imports skipped first (before nbformat or nbgrader load it)."""
    compat.skip_unused_slow_imports()
    from cnnkit.cli import main

    return main()


if __name__ == "__main__":
    sys.exit(run())
