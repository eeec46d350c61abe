"""Helpers shared by the tests: a throwaway copy of the course, and the real nbgrader command line."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from cnnkit import course

COURSE_FILES = ("source", "release", "nbgrader_config.py", "cnnkit")
BIN = Path(sys.executable).parent
NBGRADER_CLI = Path(__file__).resolve().parent / "nbgrader_cli.py"
IGNORED = shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints")


def copy_course(target):
    """A copy of the course (source, release, config, kit) with no generated state."""
    target.mkdir(parents=True, exist_ok=True)
    for name in COURSE_FILES:
        path = course.ROOT / name
        if path.is_dir():
            shutil.copytree(path, target / name, ignore=IGNORED)
        else:
            shutil.copy(path, target / name)
    return target


def clone_course(source, target):
    """A copy of a prepared course folder (e.g. conftest's released_course) at target; returns target.

    Copying a generated course takes milliseconds where `nbgrader generate_assignment` takes seconds.
    target may exist (tmp_path_factory.mktemp gives an empty folder) but must hold none of source's files.
    """
    shutil.copytree(source, target, ignore=IGNORED, dirs_exist_ok=True)
    return target


def run_nbgrader(root, *args, check=True, cwd=None, env=None):
    """Run the real nbgrader command line; returns the CompletedProcess (output as text).

    Through tests/nbgrader_cli.py: nbgrader's own entry point, without the 1.2 s of CPU per command that
    jsonschema's RFC 3987 grammars cost at import (it says why and how validation stays the same).
    """
    full_env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ['PATH']}", **(env or {})}
    result = subprocess.run(
        [sys.executable, str(NBGRADER_CLI), *args],
        cwd=cwd or root,
        env=full_env,
        capture_output=True,
        text=True,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def db_url(root):
    return f"sqlite:///{root / 'gradebook.db'}"
