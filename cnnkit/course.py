"""Where the course's files are, and the trusted copy of the checker module."""

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


def load_checks():
    """The instructor's cnn_checks.py, loaded in the grading process under a private name.

    The grader never imports the student's copy: it reads the one in source/.
    """
    spec = importlib.util.spec_from_file_location("cnnkit_trusted_checks", CHECKS_FILE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
