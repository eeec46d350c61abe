"""How a submission is taken from the exchange, judged in-process: names, the snapshot and its limits, the
server's time, the verdict, the copy into submitted/ (cnnkit.ingest.exchange)."""

import datetime
import os
import stat
import subprocess

import nbformat
import pytest
from traitlets.config import Config

from cnnkit.ingest import exchange
from cnnkit.policy import rules
from cnnkit.spec import samples

NB = "cnn_step_by_step.ipynb"
SECRET = "a1" * 64
NAME = "alice+cnn_step_by_step+2026-12-01 12:00:00.123456 UTC+AbCd_-EfGh12"


def policy(**settings):
    config = Config()
    config.SubmitPolicy.check_owner = False
    for name, value in settings.items():
        setattr(config.SubmitPolicy, name, value)
    return rules.load_policy(config)


def submission(folder, secret=SECRET, notebook=True):
    """A folder as nbgrader submit leaves it: the notebook, timestamp.txt, submission_secret.txt."""
    folder.mkdir(parents=True)
    if notebook:
        nbformat.write(samples.release_notebook(), str(folder / NB))
    (folder / "timestamp.txt").write_text("2000-01-01 00:00:00.000000 UTC")
    if secret is not None:
        (folder / "submission_secret.txt").write_bytes(secret if isinstance(secret, bytes) else secret.encode())
    return folder


def snapshot(tmp_path, name=NAME, limits=exchange.LIMITS):
    return exchange.take_snapshot(tmp_path / "inbound", name, tmp_path / "snapshot", limits)


# ---------------------------------------------------------------- names


def test_names_nbgrader_submit_makes_are_arrivals():
    arrival = exchange.parse_name(NAME.encode())
    assert (arrival.name, arrival.student, arrival.assignment) == (NAME, "alice", "cnn_step_by_step")
    assert exchange.parse_name(b"a.b@uni+cnn_step_by_step+2026-12-01 12:00:00.000001 UTC").student == "a.b@uni"


@pytest.mark.parametrize(
    "raw",
    [
        b"alice+cnn_step_by_step+2026-12-01 12:00:00 UTC+\xff\xfe\x80abcdefghi",  # not UTF-8
        b"alice+cnn_step_by_step+2026-12-01 12:00:00 UTC+abcdefghijkl\n2026-12-01 INFO bob: graded",  # a newline
        b"\x1b[2K\rbob+cnn_step_by_step+2026-12-01 12:00:00 UTC+abcdefghijkl",  # ANSI escapes in the id
        b"-rf+cnn_step_by_step+2026-12-01 12:00:00 UTC+abcdefghijkl",  # an id nobody can have
        b"alice+cnn_step_by_step",  # no timestamp
        b"alice+cnn_step_by_step+2026-12-01 12:00:00 UTC+abc$efghijkl",  # not nbgrader's random part
        b".alice+cnn_step_by_step+2026-12-01 12:00:00 UTC+abcdefghijkl",
        "alice+cnn_step_by_step+2026-12-01 12:00:00 UTC+abcdéfghijkl".encode(),
    ],
)
def test_any_other_name_is_a_stranger_shown_escaped(tmp_path, raw):
    assert exchange.parse_name(raw) is None
    (tmp_path / "inbound").mkdir()
    os.mkdir(os.path.join(os.fsencode(tmp_path / "inbound"), raw))
    found, strangers = exchange.arrivals(tmp_path / "inbound")
    assert found == [] and [stranger.raw for stranger in strangers] == [raw]
    shown = strangers[0].shown
    assert shown.isascii() and shown.isprintable(), shown
    assert strangers[0].key == exchange.Stranger(raw).key and strangers[0].key.startswith("unnamed-")


def test_printable_escapes_what_a_terminal_or_a_log_reader_would_act_on():
    text = "bob\n2026-12-01 INFO x: graded \x1b[2K\r é"
    shown = exchange.printable(text)
    assert "\n" not in shown and "\x1b" not in shown and "\r" not in shown and shown.isascii()
    assert shown == "bob\\x0a2026-12-01 INFO x: graded \\x1b[2K\\x0d \\xe9"
    assert exchange.printable(shown) == shown  # once is enough: a formatter may escape again
    assert exchange.printable(b"a\xffb") == "a\\xffb"
    assert exchange.printable("x" * 50, limit=10) == "x" * 10 + "..."


# ---------------------------------------------------------------- the snapshot


def test_the_snapshot_copies_regular_files_and_folders_and_follows_no_link(tmp_path):
    folder = submission(tmp_path / "inbound" / NAME)
    (folder / "data").mkdir()
    (folder / "data" / "table.csv").write_text("1,2")
    secret_elsewhere = tmp_path / "victim-secret.txt"
    secret_elsewhere.write_text("VICTIM")
    (folder / "link.txt").symlink_to(secret_elsewhere)
    (folder / "data" / "up").symlink_to(tmp_path)
    os.mkfifo(folder / "pipe")
    os.link(secret_elsewhere, folder / "hard.txt")
    (folder / "bad\nname.txt").write_text("x")
    taken = snapshot(tmp_path)
    copied = sorted(str(path.relative_to(taken.folder)) for path in taken.folder.rglob("*"))
    assert copied == sorted(["data", "data/table.csv", NB, "submission_secret.txt", "timestamp.txt"])
    notes = "\n".join(taken.left_out)
    for name, why in [
        ("link.txt", "symbolic link"),
        ("data/up", "symbolic link"),
        ("pipe", "FIFO"),
        ("hard.txt", "hard link"),
    ]:
        assert f"{name}: " in notes and why in notes, (name, notes)
    assert "not plain printable text" in notes
    assert taken.owner == os.getuid()
    assert stat.S_IMODE((taken.folder / NB).stat().st_mode) == 0o644


def test_a_file_another_account_owns_is_left_out(tmp_path):
    """Only a file the submission folder's owner made counts (one moved in from another student's folder does not)."""
    if os.geteuid() != 0:
        pytest.skip("giving a file to another account needs root (CI runs as root)")
    folder = submission(tmp_path / "inbound" / NAME)
    os.chown(folder / "submission_secret.txt", 12345, 12345)
    taken = snapshot(tmp_path)
    assert not (taken.folder / "submission_secret.txt").exists()
    assert taken.left_out == ("submission_secret.txt: it belongs to another account than the submission folder",)


def test_the_official_time_is_the_latest_ctime_in_the_folder_not_the_students_timestamp(tmp_path):
    folder = submission(tmp_path / "inbound" / NAME)
    nbformat.write(nbformat.v4.new_notebook(), str(folder / NB))  # rewritten in place after "submitting"
    latest = max(os.lstat(path).st_ctime_ns for path in [folder, *folder.iterdir()])
    taken = snapshot(tmp_path)
    assert taken.official_time == exchange.utc_from_ns(latest)
    assert taken.official_time.year > 2000  # the timestamp.txt written by hand counts for nothing
    assert nbformat.read(str(taken.folder / NB), as_version=4).cells == []  # the content at that time


def test_a_submission_that_changes_while_it_is_read_is_taken_later(tmp_path, monkeypatch):
    folder = submission(tmp_path / "inbound" / NAME)
    walks = []
    real_walk = exchange.walk

    def walk_then_write(*args, **kwargs):
        found = real_walk(*args, **kwargs)
        if not walks:
            (folder / NB).write_text("{}")  # the student writes between the copy and the check
        walks.append(found)
        return found

    monkeypatch.setattr(exchange, "walk", walk_then_write)
    with pytest.raises(exchange.StillChanging):
        snapshot(tmp_path)


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda folder: (folder.parent.mkdir(), folder.symlink_to(folder.parent)), "not a folder"),
        (lambda folder: (folder.parent.mkdir(), folder.write_text("x")), "not a folder"),
    ],
)
def test_an_entry_that_is_not_a_folder_is_refused_without_reading_through_it(tmp_path, make, words):
    make(tmp_path / "inbound" / NAME)
    with pytest.raises(exchange.Unreadable, match=words):
        snapshot(tmp_path)


def test_a_thousand_deep_folder_chain_is_refused_without_recursion(tmp_path, monkeypatch):
    folder = submission(tmp_path / "inbound" / NAME)
    monkeypatch.chdir(folder)
    for _ in range(1000):
        os.mkdir("d")
        os.chdir("d")
    try:
        with pytest.raises(exchange.Unreadable, match="nested more than 8 deep"):
            snapshot(tmp_path)
    finally:  # rm copes with the chain; pytest's own clean-up (shutil.rmtree) would recurse 1000 deep
        subprocess.run(["rm", "-rf", str(folder / "d")], check=True)


def test_many_entries_or_bytes_are_refused_before_they_are_all_copied(tmp_path):
    folder = submission(tmp_path / "inbound" / NAME)
    for index in range(30):
        (folder / f"note{index}.txt").write_bytes(b"x" * 1000)
    with pytest.raises(exchange.Unreadable, match="more than 20 files"):
        snapshot(tmp_path, limits=exchange.SnapshotLimits(entries=20))
    with pytest.raises(exchange.Unreadable, match="larger than"):
        exchange.take_snapshot(tmp_path / "inbound", NAME, tmp_path / "again", exchange.SnapshotLimits(bytes=100_000))
    assert len(list((tmp_path / "snapshot").iterdir())) <= 21


def test_a_folder_not_yet_complete_waits_unless_it_is_stale(tmp_path):
    submission(tmp_path / "inbound" / NAME, secret=None)
    (arrival,), _ = exchange.arrivals(tmp_path / "inbound")
    appeared = exchange.utc_from_ns(arrival.appeared_ns)
    assert not exchange.is_ready(tmp_path / "inbound", arrival, appeared + datetime.timedelta(seconds=10))
    assert exchange.is_ready(tmp_path / "inbound", arrival, appeared + exchange.STALE * 2)


# ---------------------------------------------------------------- the verdict


@pytest.mark.parametrize(
    "secret, notebook, words",
    [
        ("", True, "submission_secret.txt"),
        (b"\xff\xfe\x80x", True, "submission_secret.txt"),
        (None, True, "submission_secret.txt"),
        ("a1" * 600, True, "submission_secret.txt"),
        (SECRET, False, f"no notebook named {NB}"),
    ],
)
def test_what_cannot_be_graded_says_why(tmp_path, secret, notebook, words):
    submission(tmp_path / "inbound" / NAME, secret=secret, notebook=notebook)
    found = exchange.verdict(snapshot(tmp_path), "alice", NB, policy(), [])
    assert found.status == "failed" and words in found.reason


def test_the_policy_decides_on_the_servers_time(tmp_path):
    submission(tmp_path / "inbound" / NAME)
    taken = snapshot(tmp_path)
    assert exchange.verdict(taken, "alice", NB, policy(), []) == exchange.Verdict("accepted")
    assert exchange.secret_of(taken.folder) == SECRET
    spaced = policy(min_minutes_between_attempts=30)
    too_soon = exchange.verdict(taken, "alice", NB, spaced, [taken.official_time - datetime.timedelta(minutes=1)])
    assert too_soon.status == "refused" and "too soon" in too_soon.reason
    owned = rules.load_policy(Config())  # check_owner on: the folder is this test's account's
    assert exchange.verdict(taken, "alice", NB, owned, []).status == "refused"


def test_the_copy_in_submitted_carries_the_official_time(tmp_path):
    submission(tmp_path / "inbound" / NAME)
    taken = snapshot(tmp_path)
    copied = exchange.copy_to_submitted(taken.folder, tmp_path / "submitted" / "alice" / "x", taken.official_time)
    assert (copied / "timestamp.txt").read_text() == rules.nbgrader_timestamp(taken.official_time)
