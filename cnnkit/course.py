"""Where the course's files are, and THE loader of the checker module (cnn_checks.py).

The checker is loaded by path, never imported by name, so the grader never picks up a student's copy. It is
loaded on first use only: importing any module of the kit runs none of it (tests/spec/test_checker_loader.py).
"""

import functools
import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ASSIGNMENT = "cnn_step_by_step"
SOURCE = ROOT / "source" / ASSIGNMENT
RELEASE = ROOT / "release" / ASSIGNMENT
MASTER = SOURCE / f"{ASSIGNMENT}.ipynb"
CHECKS_FILE = SOURCE / "cnn_checks.py"
PUBLIC_DATA = SOURCE / "public_cases.npz"
LOGS = ROOT / "logs"


def gradebook_url(root=ROOT):
    """The SQLAlchemy URL of the course's gradebook (nbgrader's default place for it)."""
    return f"sqlite:///{Path(root) / 'gradebook.db'}"


def load_checks(path=CHECKS_FILE, fresh=False):
    """The checker module at path (default: the instructor's copy in source/), loaded under a private name.

    Loaded once per path and cached; fresh=True gives a new copy with its own state (the kit's in-process
    grading plays a student's kernel with it, cnnkit.grading.offline). The grader never imports the
    student's copy: it reads the one in source/.
    """
    path = Path(path).resolve()
    return _execute(path) if fresh else _cached(path)


@functools.cache
def _cached(path):
    return _execute(path)


def _execute(path):
    spec = importlib.util.spec_from_file_location("cnnkit_checks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
