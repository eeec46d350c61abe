"""`make hub-accounts`: Unix accounts that log in to the course hub, and their names in the gradebook.

    sudo .venv/bin/python -m cnnkit.hub.accounts demo                  # instructor, ta, student1..3
    sudo .venv/bin/python -m cnnkit.hub.accounts roster roster.csv [--grader alice --grader bob]
    sudo .venv/bin/python -m cnnkit.hub.accounts remove [--yes] [--delete-homes]   # every account this made, no other

A real class loads its roster (the file `python -m cnnkit roster` reads: id, first_name, last_name, ...):
one account per student id, the same names in the gradebook, so the formgrader lists people. Graders
(instructor, TAs) join the graders' group. Passwords are generated, printed once and kept in
<root>/hub/passwords.csv (root only). An account that exists already is put in the course's group and
otherwise left alone (its password too), and is never removed by `remove`: only the accounts this
module created are listed in <root>/hub/accounts.json.

`remove` asks first (`--yes` does not; without a terminal the answer is no), and keeps what the homes
held: each is archived to <root>/hub/home-archives/<name>-<time>.tar.gz (root only) before the account
and its home go, unless `--delete-homes` says to delete them with everything in them. A home holds the
student's work and fetched feedback, and perhaps an instructor's exports: nothing of it is lost by
default. The archive stores links as links (never what they point to) and FIFOs and devices as entries
(never read), and leaves out sockets and any single file over 1 GiB (named on the terminal): a student's
home is theirs to fill, and removing accounts must not hang on a sparse file of a terabyte.
"""

import argparse
import csv
import datetime
import io
import json
import os
import pwd
import re
import secrets
import sys
import tarfile
from dataclasses import dataclass
from pathlib import Path

from cnnkit.hub import deploy, unix
from cnnkit.hub.layout import HubLayout
from cnnkit.results import roster

# useradd's rule on Debian, lowercase only: a student id outside it cannot be a login name.
UNIX_NAME = re.compile(r"[a-z_][a-z0-9_-]{0,31}")
MANIFEST = "accounts.json"
PASSWORDS = "passwords.csv"
ARCHIVES = "home-archives"  # under <root>/hub: each removed account's home, as a .tar.gz
ARCHIVED_FILE_LIMIT = 1 << 30  # bytes: a larger file is left out of a home's archive


@dataclass
class Account:
    name: str
    first_name: str | None = None
    last_name: str | None = None
    role: str = "student"  # or "grader"
    email: str | None = None


DEMO = [
    Account("instructor", "Irene", "Instructor", "grader"),
    Account("ta", "Theo", "Assistant", "grader"),
    Account("student1", "Ada", "Lovelace"),
    Account("student2", "Alan", "Turing"),
    Account("student3", "Grace", "Hopper"),
]


def from_roster(path, graders=()):
    """Accounts for every student of a roster file (checked by the kit's roster reader) plus the graders."""
    rows = roster.read_roster(path)
    students = [Account(row["id"], row["first_name"], row["last_name"], email=row["email"]) for row in rows]
    return students + [Account(name, role="grader") for name in graders]


def bad_names(accounts):
    return [account.name for account in accounts if not UNIX_NAME.fullmatch(account.name)]


# ---------------------------------------------------------------- the manifest of what was created


def manifest_path(layout):
    return layout.state / MANIFEST


def created_accounts(layout):
    path = manifest_path(layout)
    return json.loads(path.read_text()) if path.exists() else {}


def record(layout, created):
    layout.state.mkdir(parents=True, exist_ok=True)
    manifest_path(layout).write_text(json.dumps(created, indent=2) + "\n")


# ---------------------------------------------------------------- creating and removing


def group_of(layout, account):
    return layout.graders_group if account.role == "grader" else layout.students_group


def create(layout, accounts, passwords=None):
    """Create the accounts (passwords: name -> password, generated when missing); name -> password of new ones."""
    unix.require_root("creating accounts")
    problems = bad_names(accounts)
    if problems:
        raise SystemExit(f"not usable as Unix login names (lowercase letters, digits, '_', '-'): {problems}")
    passwords = dict(passwords or {})
    created, new = created_accounts(layout), {}
    for account in accounts:
        group = group_of(layout, account)
        if unix.user_exists(account.name):
            if account.name not in unix.group_members(group):
                unix.add_to_group(account.name, group)
            continue
        password = passwords.get(account.name) or secrets.token_urlsafe(9)
        comment = " ".join(part for part in (account.first_name, account.last_name) if part)
        unix.create_user(account.name, password, groups=[group], comment=comment)
        created[account.name], new[account.name] = account.role, password
        record(layout, created)  # after each one: an interrupted run still knows what to remove
    return new


def archive_folder(layout):
    return layout.state / ARCHIVES


def archive_home(layout, name):
    """The account's home as <root>/hub/home-archives/<name>-<time>.tar.gz (0600, in a 0700 folder), or None when
    it has no home folder; the files left out (over ARCHIVED_FILE_LIMIT) are printed."""
    home = Path(pwd.getpwnam(name).pw_dir)
    if home.is_symlink() or not home.is_dir():
        return None
    folder = archive_folder(layout)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder.chmod(0o700)
    path = folder / f"{name}-{datetime.datetime.now():%Y%m%d-%H%M%S}.tar.gz"
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(descriptor, "wb") as handle, tarfile.open(fileobj=handle, mode="w:gz") as archive:
        archive.add(home, arcname=name, filter=lambda member: kept_in_archive(name, member))
    return path


def kept_in_archive(name, member):
    """tarfile's filter: every member but a file over the limit (links are stored as links: tarfile's default)."""
    if member.isfile() and member.size > ARCHIVED_FILE_LIMIT:
        print(f"  left out of {name}'s archive: {member.name!r}, {member.size} bytes")
        return None
    return member


def remove(layout, names=None, delete_homes=False):
    """Delete the accounts this module created (all, or those named), each home archived first unless
    delete_homes; returns {name removed: its home's archive, or None}."""
    unix.require_root("removing accounts")
    created = created_accounts(layout)
    removed = {}
    for name in list(created if names is None else [name for name in names if name in created]):
        archive = None
        if unix.user_exists(name) and not delete_homes:
            unix.end_processes(pwd.getpwnam(name).pw_uid)  # nothing of theirs writes into the home meanwhile
            archive = archive_home(layout, name)
        unix.remove_user(name)
        del created[name]
        removed[name] = archive
        record(layout, created)
    return removed


def roster_csv(accounts):
    """The students of accounts as the kit's roster file (python -m cnnkit roster reads it)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(roster.COLUMNS)
    for account in accounts:
        if account.role == "student":
            cells = {"id": account.name, "first_name": account.first_name, "last_name": account.last_name}
            cells["email"] = account.email
            writer.writerow([cells.get(column) or "" for column in roster.COLUMNS])
    return out.getvalue()


def import_names(layout, accounts, roster_file=None):
    """Students' names into the course's gradebook, with the kit's roster command, as the service account.

    roster_file: a class's own roster (all its columns are imported); otherwise one made from accounts.
    """
    text = Path(roster_file).read_text() if roster_file else roster_csv(accounts)
    if text.count("\n") < 2:
        return  # no students
    # A file the service account can read: a pipe from root cannot be reopened as /dev/stdin after setuid.
    handover = layout.course_dir / ".hub-roster.csv"
    handover.write_text(text)
    unix.chown_tree(handover, layout.grader_user, layout.graders_group)
    db = f"sqlite:///{layout.course_dir}/gradebook.db"
    command = [layout.python, "-m", "cnnkit", "roster", handover, "--db", db]
    try:
        result = unix.run_as(
            layout.grader_user, command, cwd=layout.course_dir, env=deploy.grader_env(layout), check=False
        )
    finally:
        handover.unlink()
    if result.returncode != 0:
        raise SystemExit(f"importing the names into the gradebook failed:\n{result.stdout}{result.stderr}")


def save_passwords(layout, passwords):
    """Append the new passwords to <root>/hub/passwords.csv (root only) and print them."""
    if not passwords:
        print("No new accounts.")
        return
    path = layout.state / PASSWORDS
    with open(path, "a", newline="") as handle:
        path.chmod(0o600)
        csv.writer(handle).writerows(sorted(passwords.items()))
    print("New accounts (also in " + str(path) + "):")
    for name, password in sorted(passwords.items()):
        print(f"  {name:<16} {password}")


# ---------------------------------------------------------------- command line


def remove_when_confirmed(layout, yes, delete_homes):
    """`remove`: say what goes and ask (yes: do not), then remove; the exit code."""
    unix.require_root("removing accounts")
    names = sorted(created_accounts(layout))
    if not names:
        print(f"No accounts to remove: {manifest_path(layout)} lists none that hub-accounts created.")
        return 0
    if delete_homes:
        homes = "deleted with everything in them (their work, fetched feedback, any exports): no archive is kept"
    else:
        homes = f"archived first, one .tar.gz each in {archive_folder(layout)} (root only), then deleted"
    question = f"Remove {len(names)} accounts ({', '.join(names)})? Their homes are {homes}."
    if not (yes or deploy.confirmed(question)):
        print("Nothing removed (answer y, or pass --yes; --delete-homes to keep no archive).")
        return 1
    removed = remove(layout, delete_homes=delete_homes)
    print(f"Removed {len(removed)} accounts: {', '.join(removed) or '-'}")
    for name, archive in removed.items():
        print(f"  {name}: home {'archived to ' + str(archive) if archive else 'deleted'}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m cnnkit.hub.accounts", description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=HubLayout().root, help="the hub's folder (make hub's --root)")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="instructor, ta, student1..3, with names")
    from_file = sub.add_parser("roster", help="one account per student of a roster CSV")
    from_file.add_argument("file", type=Path)
    from_file.add_argument("--grader", action="append", default=[], help="an instructor's or TA's login name")
    removing = sub.add_parser("remove", help="delete every account this command created (asks first)")
    removing.add_argument("--yes", action="store_true", help="do not ask")
    removing.add_argument(
        "--delete-homes", action="store_true", help="delete the homes too, without archiving them first"
    )
    args = parser.parse_args(argv)

    layout = HubLayout.load(args.root)  # make hub (or --prepare-only) first: it writes the layout
    if args.command == "remove":
        return remove_when_confirmed(layout, args.yes, args.delete_homes)
    accounts = DEMO if args.command == "demo" else from_roster(args.file, args.grader)
    save_passwords(layout, create(layout, accounts))
    import_names(layout, accounts, None if args.command == "demo" else args.file)
    print(f"Names of {sum(a.role == 'student' for a in accounts)} students are in {layout.course_dir}/gradebook.db")
    return 0


if __name__ == "__main__":
    sys.exit(main())
