"""Removing the hub's accounts asks first and keeps what their homes held, unless told otherwise (issue 19).

`make hub-accounts-remove` used to delete every account and home at once: the students' fetched feedback and
the instructor's grades.csv went with them. Real accounts here (useradd, through cnnkit.hub.accounts), with
throwaway names and groups; the command line is run as `make hub-accounts-remove` runs it.
"""

import os
import pwd
import secrets
import stat
import subprocess
import sys
import tarfile

import pytest

from cnnkit import course
from cnnkit.hub import accounts, unix
from cnnkit.hub.layout import HubLayout

pytestmark = pytest.mark.slow  # real accounts made and removed: scheduled early (tests/conftest.py)

FEEDBACK = "cnn_step_by_step/feedback/2026-12-01 12:00:00.000000 UTC/cnn_step_by_step.html"


@pytest.fixture
def hub_accounts(tmp_path):
    """A hub layout (not started) with an instructor and a student made by cnnkit.hub.accounts, each home holding
    their work: feedback, an export, a link to /etc/shadow, a FIFO, a sparse file of 2 GiB."""
    if os.geteuid() != 0:
        pytest.skip("these tests create Unix accounts: they run as root (CI does)")
    tag = "ar" + secrets.token_hex(3)
    layout = HubLayout(root=tmp_path / "hub", graders_group=f"{tag}-graders", students_group=f"{tag}-students")
    layout.state.mkdir(parents=True)
    layout.state.chmod(0o700)
    layout.save()
    people = [accounts.Account(f"{tag}-prof", role="grader"), accounts.Account(f"{tag}-stud")]
    names = [person.name for person in people]
    try:
        for group in (layout.graders_group, layout.students_group):
            unix.ensure_group(group)
        accounts.create(layout, people)
        for name in names:
            fill_home(name)
        yield layout, names
    finally:
        for name in names:
            unix.remove_user(name)
        for group in (layout.graders_group, layout.students_group):
            unix.remove_group(group)


def home_of(name):
    return pwd.getpwnam(name).pw_dir


def fill_home(name):
    home = home_of(name)
    page = os.path.join(home, FEEDBACK)
    os.makedirs(os.path.dirname(page))
    with open(page, "w") as handle:
        handle.write(f"<html>{name}'s feedback</html>")
    with open(os.path.join(home, "grades.csv"), "w") as handle:
        handle.write("student_id,score\nalice,54\n")
    os.symlink("/etc/shadow", os.path.join(home, "shadow"))
    os.mkfifo(os.path.join(home, "pipe"))
    with open(os.path.join(home, "huge.bin"), "w") as handle:
        handle.truncate(2 << 30)  # sparse: no disk used, but 2 GiB to read
    unix.chown_tree(home, name, name)


def remove_command(layout, *args, answer=None):
    """`python -m cnnkit.hub.accounts remove`, as the Makefile runs it; answer: what is typed (None: no terminal)."""
    command = [sys.executable, "-m", "cnnkit.hub.accounts", "--root", str(layout.root), "remove", *args]
    stdin = {"input": answer} if answer is not None else {"stdin": subprocess.DEVNULL}
    return subprocess.run(command, cwd=course.ROOT, capture_output=True, text=True, timeout=300, **stdin)


@pytest.mark.parametrize("answer", [None, "n\n", "\n"])
def test_removing_asks_and_without_a_yes_removes_nothing(hub_accounts, answer):
    layout, names = hub_accounts
    result = remove_command(layout, answer=answer)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Nothing removed" in result.stdout and "--yes" in result.stdout
    assert "Traceback" not in result.stderr
    assert all(unix.user_exists(name) for name in names)
    assert all(os.path.isfile(os.path.join(home_of(name), FEEDBACK)) for name in names)
    assert sorted(accounts.created_accounts(layout)) == sorted(names)


def test_a_yes_removes_the_accounts_and_keeps_each_home_as_a_root_only_archive(hub_accounts):
    layout, names = hub_accounts
    homes = {name: home_of(name) for name in names}
    result = remove_command(layout, answer="y\n")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "archived" in result.stdout and str(layout.state / accounts.ARCHIVES) in result.stdout
    assert not any(unix.user_exists(name) for name in names)
    assert not any(os.path.exists(home) for home in homes.values())
    folder = layout.state / accounts.ARCHIVES
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    for name in names:
        (archive,) = folder.glob(f"{name}-*.tar.gz")
        assert stat.S_IMODE(archive.stat().st_mode) == 0o600 and archive.stat().st_uid == 0
        with tarfile.open(archive) as opened:
            members = {member.name: member for member in opened.getmembers()}
            assert opened.extractfile(f"{name}/{FEEDBACK}").read() == f"<html>{name}'s feedback</html>".encode()
            assert opened.extractfile(f"{name}/grades.csv").read().startswith(b"student_id")
        link = members[f"{name}/shadow"]
        assert link.issym() and link.linkname == "/etc/shadow"  # the link, never what it points to
        assert members[f"{name}/pipe"].isfifo()
        assert f"{name}/huge.bin" not in members  # over the limit: left out, and said
        assert f"left out of {name}'s archive: '{name}/huge.bin', 2147483648 bytes" in result.stdout


def test_yes_and_delete_homes_removes_without_asking_and_keeps_nothing(hub_accounts):
    layout, names = hub_accounts
    homes = [home_of(name) for name in names]
    result = remove_command(layout, "--yes", "--delete-homes", answer=None)
    assert result.returncode == 0, result.stdout + result.stderr
    assert not any(unix.user_exists(name) for name in names)
    assert not any(os.path.exists(home) for home in homes)
    assert not (layout.state / accounts.ARCHIVES).exists()
    assert accounts.created_accounts(layout) == {}
