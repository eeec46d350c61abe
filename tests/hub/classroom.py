"""A course set up as `make hub` sets it up, with real Unix accounts but no hub process: for the hostile-classmate tests.

cnnkit.hub.deploy prepares it in a throwaway root (its own groups, service account and course directory,
the shared exchange 1777, the course 2770), cnnkit.hub.accounts makes the students. Students run the hub
environment's own `nbgrader submit` as themselves, and plain file operations in their own exchange
folders; the grading service runs as the service account, as the hub runs it. Root is needed; CI runs as root.
"""

import os
import pwd
import re
import secrets
import subprocess
import tempfile
from pathlib import Path

import nbformat
import pytest

from cnnkit import course
from cnnkit.hub import accounts, deploy, unix
from cnnkit.hub.layout import HubLayout

NB = f"{course.ASSIGNMENT}.ipynb"


def require_root_and_environment():
    """Skip without root (the tests create Unix accounts); fail if the hub's environment was not built."""
    if os.geteuid() != 0:
        pytest.skip("these tests create Unix accounts: they run as root (CI does)")
    if not HubLayout().python.exists():
        pytest.fail(f"no hub environment at {HubLayout().env}: `make hub-env` builds it", pytrace=False)


class Classroom:
    """A prepared course (no hub running) and its student accounts, named <tag>-<role>."""

    def __init__(self, roles, policy_lines):
        self.tag = "hc" + secrets.token_hex(3)
        root = Path(tempfile.mkdtemp(prefix=f"cnnkit-{self.tag}-", dir="/tmp"))
        root.chmod(0o755)  # mkdtemp makes it 0700: students must reach the exchange below it
        self.layout = HubLayout(
            root=root,
            graders_group=f"{self.tag}-graders",
            students_group=f"{self.tag}-students",
            grader_user=f"{self.tag}-grader",
        )
        self.students = {role: f"{self.tag}-{role}" for role in roles}
        try:
            deploy.prepare(self.layout)
            self.add_policy(policy_lines)
            accounts.create(self.layout, [accounts.Account(name) for name in self.students.values()])
        except BaseException:
            self.remove()
            raise

    # ---- places
    @property
    def course_dir(self):
        return self.layout.course_dir

    @property
    def inbound(self):
        return self.layout.exchange / self.layout.course_id / "inbound"

    def home(self, role):
        return Path(pwd.getpwnam(self.students[role]).pw_dir)

    def submitted(self, role):
        return self.course_dir / "submitted" / self.students[role] / course.ASSIGNMENT

    def add_policy(self, lines):
        config = self.course_dir / "nbgrader_config.py"
        config.write_text(config.read_text() + "\n# The test's policy\n" + "\n".join(lines) + "\n")

    # ---- as a student
    def student_env(self):
        return {
            "PATH": f"{self.layout.env / 'bin'}:/usr/bin:/bin",
            "JUPYTER_CONFIG_PATH": str(self.layout.config_dir("student")),
            "LANG": "C.UTF-8",
        }

    def as_student(self, role, command, check=True):
        return unix.run_as(self.students[role], command, cwd=self.home(role), env=self.student_env(), check=check)

    def submit(self, role, nb, name=NB, extra=None, student=None):
        """The student writes nb (and extra {name: bytes}) into their assignment folder and runs `nbgrader submit`.

        Returns the submission's folder in the exchange, as submit reports it ("Destination: ..."): the one
        place a student learns the random part of their folder's name (they cannot list inbound).
        """
        folder = self.home(role) / course.ASSIGNMENT
        if folder.exists():
            subprocess.run(["rm", "-rf", str(folder)], check=True)
        folder.mkdir()
        nbformat.write(nb, str(folder / name))
        for extra_name, data in (extra or {}).items():
            (folder / extra_name).write_bytes(data)
        unix.chown_tree(folder, self.students[role], self.students[role])
        command = [self.layout.env / "bin" / "nbgrader", "submit", course.ASSIGNMENT]
        result = self.as_student(role, command + ([f"--student={student}"] if student else []))
        found = re.search(r"Destination: (.*)", result.stdout + result.stderr)
        assert found, result.stdout + result.stderr
        return Path(found.group(1).strip())

    def run_python_as(self, role, code, *args):
        """Plain Python, as the student (their own file operations); its CompletedProcess."""
        return self.as_student(role, [self.layout.python, "-c", code, *[str(arg) for arg in args]])

    def fetch_feedback(self, role):
        """nbgrader fetch_feedback as the student: {submission timestamp: page text}."""
        self.as_student(role, [self.layout.env / "bin" / "nbgrader", "fetch_feedback", course.ASSIGNMENT])
        folder = self.home(role) / course.ASSIGNMENT / "feedback"
        return {path.parent.name: path.read_text() for path in folder.glob("*/*.html")} if folder.exists() else {}

    # ---- as the grading service's account (the instructor's side)
    def as_grader(self, *command, timeout=900):
        return unix.run_as(
            self.layout.grader_user,
            [str(part) for part in command],
            cwd=self.course_dir,
            env=deploy.grader_env(self.layout),
            check=False,
            timeout=timeout,
        )

    def run_service_once(self):
        return self.as_grader(self.layout.python, "-m", "cnnkit.hub.service", "--course", self.course_dir, "--once")

    def service_log(self):
        return (self.course_dir / "logs" / "submit-service.log").read_bytes().decode("utf-8", "replace")

    def remove(self):
        """Delete the accounts, groups, service account and folders; fails when something is left."""
        accounts.remove(self.layout, delete_homes=True)  # throwaway accounts: nothing to keep
        # rm copes with the 1000-deep folder chain an attack leaves behind (shutil.rmtree recurses)
        subprocess.run(["rm", "-rf", "--one-file-system", str(self.layout.root)], check=False)
        deploy.remove(self.layout)
        leftovers = [name for name in [*self.students.values(), self.layout.grader_user] if unix.user_exists(name)]
        assert not leftovers, f"accounts left behind: {leftovers}"
        assert not self.layout.root.exists(), f"{self.layout.root} left behind"
