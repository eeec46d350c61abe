"""Unix accounts, groups and permissions for the course hub: thin wrappers over the system's own tools.

Accounts are made with useradd/groupadd and passwords set with chpasswd (so PAM, which the hub logs in
with, sees exactly what `login` would); everything here needs root.
"""

import grp
import os
import pwd
import signal
import subprocess
import time
from pathlib import Path


class NotRoot(SystemExit):
    pass


def require_root(what):
    """Stop with a message saying why root is needed, unless running as root."""
    if os.geteuid() != 0:
        raise NotRoot(f"{what} needs root (it creates Unix accounts and runs servers as them): run it with sudo.")


def user_exists(name):
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True


def group_exists(name):
    try:
        grp.getgrnam(name)
    except KeyError:
        return False
    return True


def group_members(name):
    """The user names in a Unix group (its supplementary members), or an empty set if there is no such group."""
    try:
        return set(grp.getgrnam(name).gr_mem)
    except KeyError:
        return set()


def ensure_group(name, system=False):
    """Create the group unless it exists; True if it was created."""
    if group_exists(name):
        return False
    subprocess.run(["groupadd", *(["--system"] if system else []), name], check=True)
    return True


def create_user(name, password=None, groups=(), comment="", system=False, home=None):
    """A Unix account with a home folder only it can read; a password if given (PAM login), else none."""
    command = ["useradd", "--create-home", "--shell", "/usr/sbin/nologin" if system else "/bin/bash"]
    if system:
        command.append("--system")
    if home:
        command += ["--home-dir", str(home)]
    if groups:
        command += ["--groups", ",".join(groups)]
    if comment:
        command += ["--comment", comment]
    subprocess.run([*command, name], check=True)
    os.chmod(pwd.getpwnam(name).pw_dir, 0o700)
    if password:
        set_password(name, password)


def set_password(name, password):
    subprocess.run(["chpasswd"], input=f"{name}:{password}\n", text=True, check=True)


def add_to_group(name, group):
    subprocess.run(["usermod", "--append", "--groups", group, name], check=True)


def remove_user(name):
    """Delete the account and its home; its processes are ended first (userdel refuses otherwise)."""
    if not user_exists(name):
        return False
    end_processes(pwd.getpwnam(name).pw_uid)
    result = subprocess.run(["userdel", "--remove", name], check=False, capture_output=True, text=True)
    # userdel says "mail spool not found" and exits 12 for accounts without mail: the account is gone all the same.
    if user_exists(name):
        raise RuntimeError(f"userdel {name} failed: {result.stderr.strip()}")
    return True


def end_processes(uid, timeout=10):
    """SIGKILL every process of uid until /proc lists none: a killed process stays listed until its parent has
    reaped it, and userdel refuses while one is (it happened when a test's hub had just stopped)."""
    deadline = time.monotonic() + timeout
    while (pids := pids_of(uid)) and time.monotonic() < deadline:
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # ended meanwhile
        time.sleep(0.1)


def pids_of(uid):
    """The ids of the live processes running as uid (read from /proc)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if entry.stat().st_uid == uid:
                    found.append(int(entry.name))
            except OSError:
                continue  # ended while we looked
    return found


def remove_group(name):
    if group_exists(name):
        subprocess.run(["groupdel", name], check=False)


def ids(user):
    entry = pwd.getpwnam(user)
    return entry.pw_uid, entry.pw_gid


def chown_tree(path, user, group):
    """Give path and everything under it to user:group (links themselves, never what they point to)."""
    uid, gid = pwd.getpwnam(user).pw_uid, grp.getgrnam(group).gr_gid
    os.lchown(path, uid, gid)
    for folder, dirs, files in os.walk(path):
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, gid)


def share_with_group(path):
    """Folders 2770 (new files inherit the group), files 0660 (0770 if executable): the group, nobody else."""
    for folder, _dirs, files in os.walk(path):
        os.chmod(folder, 0o2770)
        for name in files:
            target = Path(folder) / name
            if not target.is_symlink():
                os.chmod(target, 0o770 if os.access(target, os.X_OK) else 0o660)


def run_as(user, command, cwd=None, env=None, check=True, **kwargs):
    """Run command as user, with that user's groups and HOME; stdout and stderr captured as text."""
    entry = pwd.getpwnam(user)
    groups = os.getgrouplist(user, entry.pw_gid)
    environment = {**(env or os.environ), "HOME": entry.pw_dir, "USER": user, "LOGNAME": user}
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=environment,
        user=entry.pw_uid,
        group=entry.pw_gid,
        extra_groups=groups,
        capture_output=True,
        text=True,
        check=check,
        **kwargs,
    )


def can_run(user, command):
    """True if user can run command (every folder on the way readable and searchable by them)."""
    try:
        return run_as(user, command, cwd="/", check=False, timeout=120).returncode == 0
    except (OSError, subprocess.SubprocessError):
        return False
