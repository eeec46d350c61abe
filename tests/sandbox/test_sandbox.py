"""The sandbox: code in a submission, run by the real `nbgrader autograde`, reaches nothing it should not.

One autograde batch holds every attack, an honest student and a victim. The attacks sit in the
first solution cell, in front of the correct answer; every other answer is correct too.
"""

import hashlib
import json
import os
import re
import shutil
import socket
import stat
import sys
import threading
import time
import uuid
from pathlib import Path

import nbformat
import pytest

from cnnkit import course
from cnnkit.results import scores
from cnnkit.sandbox import bwrap, workcopy
from cnnkit.sandbox import launch as sandbox_launch
from cnnkit.spec import notebook, samples
from tests.support import clone_course, db_url, run_nbgrader

pytestmark = pytest.mark.slow(65)  # scheduled early, the longest first (tests/conftest.py)

DOCS = course.ROOT / "docs" / "security.md"
NOTEBOOK = f"{course.ASSIGNMENT}.ipynb"
FULL_MARKS = 150
# In the command line of every process the attacks start, to find survivors in /proc.
MARK = f"cnnkit-sandbox-test-{uuid.uuid4().hex[:8]}"
# Planted in files the sandbox must not read; none may show up in an attacker's outputs.
SECRET = f"cnnkit-secret-{uuid.uuid4().hex[:8]}"
SECRET_PATTERN = re.compile(r"cnnkit-secret-[0-9a-f]+|SQLite format 3")
SETTLE = 5  # seconds after autograde to look again for what the daemon would do
CELL_TIMEOUT = 20  # seconds (the course's 120 would make the sleeping submission slow)


def integration_block():
    """The nbgrader_config.py lines of docs/security.md (section Integration, first python block)."""
    section = DOCS.read_text().split("## Integration", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.DOTALL).group(1)


def sandboxed_course(released, target, extra_config=""):
    """A copy of the released course whose configuration runs student code in the sandbox (as documented).

    The configuration only changes how submissions run, not what generate_assignment made: a copy of
    conftest's released_course serves.
    """
    root = clone_course(released, target)
    config = root / "nbgrader_config.py"
    text = config.read_text()
    if "sandbox.KERNEL_NAME" not in text:
        text = f"{text}\n{integration_block()}"
    config.write_text(f"{text}\n{extra_config}")
    return root


def submit(root, student, attack="", extra=""):
    """A submission with every answer right, attack code first in the first solution cell."""
    answers = notebook.solutions()
    answers["zero_pad"] = f"{attack}\n\n{answers['zero_pad']}{extra}"
    samples.write_submission(root, student, notebook.fill_in(samples.release_notebook(), answers))


def plant_secrets(root):
    """Mark the files an attacker wants: the solution notebook and the trusted reference."""
    master = root / "source" / course.ASSIGNMENT / NOTEBOOK
    nb = nbformat.read(str(master), as_version=4)
    nb.cells[0].source = f"{SECRET}\n\n{nb.cells[0].source}"
    nbformat.write(nb, str(master))
    reference = root / "cnnkit" / "spec" / "reference.py"
    reference.write_text(f"# {SECRET}\n{reference.read_text()}")
    (root / "canary.txt").write_text("canary\n")


def read_attack(root, port):
    """Reads what it must not (absolute and relative paths), then tries the network."""
    home = next((p for p in (Path.home() / ".profile", Path.home() / ".bashrc") if p.exists()), None)
    targets = {
        "source": root / "source" / course.ASSIGNMENT / NOTEBOOK,
        "gradebook": root / "gradebook.db",
        "config": root / "nbgrader_config.py",
        "other-submitted": root / "submitted" / "alice" / course.ASSIGNMENT / NOTEBOOK,
        "other-autograded": root / "autograded" / "alice" / course.ASSIGNMENT / NOTEBOOK,
        "reference": root / "cnnkit" / "spec" / "reference.py",
        "rel-source": f"../../../source/{course.ASSIGNMENT}/{NOTEBOOK}",
        "rel-gradebook": "../../../gradebook.db",
        "rel-reference": "../../../cnnkit/spec/reference.py",
        "rel-other-submitted": f"../../../submitted/alice/{course.ASSIGNMENT}/{NOTEBOOK}",
        "rel-other-autograded": f"../../alice/{course.ASSIGNMENT}/{NOTEBOOK}",
        **({"home": home} if home else {}),
    }
    return f"""
import os, re, socket
print(f"IDENTITY uid={{os.getuid()}} host={{socket.gethostname()}}")
print("PID1", open("/proc/1/cmdline", "rb").read().replace(b"\\0", b" ").decode())
print("MOUNTS", open("/proc/self/mountinfo").read().replace("\\n", " | "))
for label, path in { ({k: str(v) for k, v in targets.items()})!r}.items():
    try:
        with open(path, "rb") as handle:
            data = handle.read().decode("latin-1")
        print("READ", label, re.findall(r"cnnkit-secret-[0-9a-f]+", data), data[:300])
    except OSError as error:
        print("BLOCKED", label, error)
for label, address in [("tcp-local", ("127.0.0.1", {port})), ("tcp-outside", ("1.1.1.1", 53))]:
    try:
        socket.create_connection(address, timeout=3).close()
        print("REACHED", label)
    except OSError as error:
        print("BLOCKED", label, error)
try:
    print("REACHED dns", socket.getaddrinfo("pypi.org", 443))
except OSError as error:
    print("BLOCKED dns", error)
"""


def write_targets(root):
    return {
        "course-root": root / "pwned.txt",
        "gradebook": root / "gradebook.db",
        "canary": root / "canary.txt",
        "source": root / "source" / course.ASSIGNMENT / "pwned.txt",
        "kit": root / "cnnkit" / "pwned.py",
        "other-autograded": root / "autograded" / "alice" / course.ASSIGNMENT / "pwned.txt",
        "venv": Path(sys.prefix) / f"{MARK}-pwned.txt",
        "relative": "../../../pwned-relative.txt",
    }


def write_attack(root):
    """Writes outside its folder, then plants a symlink and a FIFO for nbgrader's own writes to hit."""
    targets = {k: str(v) for k, v in write_targets(root).items()}
    canary = str(root / "canary.txt")
    return f"""
import os
for label, path in {targets!r}.items():
    try:
        with open(path, "a") as handle:
            handle.write("PWNED")
        print("WROTE", label)
    except OSError as error:
        print("BLOCKED", label, error)
for path in ("own-output.txt", "/tmp/{MARK}-private.txt"):
    with open(path, "w") as handle:
        handle.write("allowed")
os.symlink({canary!r}, "planted-link")
os.remove("{NOTEBOOK}")
os.symlink({canary!r}, "{NOTEBOOK}")
os.mkfifo("planted-fifo")
print("PLANTED")
"""


def process_attack(root):
    """A double-forked daemon striking every half second, 20 GB of memory, a bounded fork bomb, a 1 GB file."""
    strike = [str(root / "gradebook.db"), f"/tmp/{MARK}-daemon.txt", "daemon-was-here.txt"]
    daemon = f"# {MARK}-daemon\nimport time\nfor _ in range(120):\n    time.sleep(0.5)\n    for path in {strike!r}:\n"
    daemon += "        try:\n            open(path, 'ab').write(b'x')\n        except OSError:\n            pass\n"
    return f"""
import os, sys
import numpy as np
pid = os.fork()
if pid == 0:
    try:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", {daemon!r}])
    finally:
        os._exit(0)
os.waitpid(pid, 0)
print("DAEMON started")
try:
    hog = np.empty(20 * 2**30, dtype=np.uint8)
    print("ALLOCATED 20 GB")
except MemoryError as error:
    print("BLOCKED memory", error)
children = 0
for _ in range(300):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        try:
            os.execv("/bin/sh", ["sh", "-c", "sleep 60", "{MARK}-fork"])
        finally:
            os._exit(1)
    children += 1
print("FORKED", children)
megabytes = 0
try:
    with open("big.bin", "wb", buffering=0) as handle:
        for _ in range(1024):
            handle.write(bytes(2**20))
            megabytes += 1
    print("WROTE 1 GB")
except OSError as error:
    print("BLOCKED file after", megabytes, "MB", error)
"""


GROUP_MEMORY_MB = 600  # this batch's limit on a whole sandbox (the default is larger)
WORKDIR_MB = bwrap.Limits().workdir_mb


def group_attack():
    """Fills its working folder, then 12 processes of 80 MB each: within every per-process limit, over the whole."""
    return """
import os, time
written = 0
try:
    for number in range(100):
        with open(f"fill-{number}.bin", "wb", buffering=0) as handle:
            for _ in range(40):
                handle.write(bytes(2**20))
                written += 1
    print("WROTE", written, "MB")
except OSError as error:
    print("BLOCKED disk after", written, "MB", error)
for number in range(100):
    if os.path.exists(f"fill-{number}.bin"):
        os.remove(f"fill-{number}.bin")
children = []
for _ in range(12):
    pid = os.fork()
    if pid == 0:
        block = bytearray(80 * 2**20)
        for offset in range(0, len(block), 4096):
            block[offset] = 1
        time.sleep(60)
        os._exit(0)
    children.append(pid)
time.sleep(5)
alive = sum(1 for pid in children if os.waitpid(pid, os.WNOHANG) == (0, 0))
print("ALIVE", alive, "of", len(children))
"""


def tcp_owner(local):
    """The uid owning the TCP socket whose local address is local ((ip, port) on IPv4), or None if it is gone."""
    ip, port = local
    wanted = f"{socket.inet_aton(ip)[::-1].hex().upper()}:{port:04X}"
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        if fields[1] == wanted:
            return int(fields[7])
    return None


class Listener:
    """A TCP server on 127.0.0.1 that counts the connections it gets from the sandbox's uid.

    Other tests scan every listening port of the machine as their own accounts (tests/kernel_scanner.py):
    a connection whose client socket is owned by another uid is theirs, not the sandbox's. A connection
    whose client is already gone cannot be told apart, and counts.
    """

    def __init__(self, sandbox_uid):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.2)
        self.port = self.server.getsockname()[1]
        self.sandbox_uid = sandbox_uid
        self.connections = 0
        self.running = True
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        while self.running:
            try:
                connection, peer = self.server.accept()
            except TimeoutError:
                continue
            if tcp_owner(peer) in (self.sandbox_uid, None):
                self.connections += 1
            connection.close()

    def stop(self):
        self.running = False
        self.thread.join()
        self.server.close()


def survivors():
    """Processes anywhere on the machine whose command line carries this run's mark."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes() if entry.name.isdigit() else b""
        except OSError:
            continue
        if MARK.encode() in cmdline:
            found.append(cmdline.replace(b"\0", b" ").decode())
    return found


def fingerprint(path):
    return hashlib.sha256(path.read_bytes()).hexdigest(), stat.S_IMODE(path.stat().st_mode)


def total(root, student):
    cells = scores.cell_scores(db_url(root), student)
    return sum(cells.values()) if cells else None


def graded(root, student):
    return root / "autograded" / student / course.ASSIGNMENT / NOTEBOOK


def printed(root, student):
    """The lines the graded notebook of student printed (stream outputs)."""
    nb = nbformat.read(str(graded(root, student)), as_version=4)
    streams = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == "stream"]
    return [line for output in streams for line in output.text.splitlines()]


def starting(printed_lines, prefix):
    return [line for line in printed_lines if line.startswith(prefix)]


ATTACKERS = ("attack-read", "attack-write", "attack-process", "attack-sleep", "attack-group")


@pytest.fixture(scope="module")
def batch(released_course, tmp_path_factory):
    """The sandboxed course after one autograde batch and its feedback, with what was observed around it."""
    config = f"c.Execute.timeout = {CELL_TIMEOUT}\nsandbox.configure(group_memory_mb={GROUP_MEMORY_MB})\n"
    root = sandboxed_course(released_course, tmp_path_factory.mktemp("sandbox") / "course", config)
    plant_secrets(root)
    listener = Listener(bwrap.Settings.from_env().uid)
    submit(root, "alice", extra=f"\n# {SECRET}\n")
    submit(root, "good")
    submit(root, "attack-read", read_attack(root, listener.port))
    submit(root, "attack-write", write_attack(root))
    submit(root, "attack-process", process_attack(root))
    submit(root, "attack-sleep", extra="\nimport time\n\ntime.sleep(10**6)\n")
    submit(root, "attack-group", group_attack())
    canary = fingerprint(root / "canary.txt")
    started = time.monotonic()
    autograde = run_nbgrader(root, "autograde", course.ASSIGNMENT, check=False)
    finished = time.monotonic()
    left_at_once = survivors()
    feedback = run_nbgrader(root, "generate_feedback", course.ASSIGNMENT, check=False)
    listener.stop()
    yield {
        "root": root,
        "autograde": autograde,
        "feedback": feedback,
        "seconds": finished - started,
        "graded_at": finished,
        "survivors": left_at_once,
        "connections": listener.connections,
        "canary": canary,
        "gradebook": fingerprint(root / "gradebook.db"),
        "totals": {s: total(root, s) for s in ("alice", "good", *ATTACKERS)},
    }
    # Only a broken sandbox leaves these; the tests have failed then, but the machine stays clean.
    for escaped in (write_targets(root)["venv"], Path(f"/tmp/{MARK}-private.txt"), Path(f"/tmp/{MARK}-daemon.txt")):
        escaped.unlink(missing_ok=True)


def test_batch_completes_and_correct_work_gets_full_marks(batch):
    """Does an honest submission still get 150 in the sandbox, next to the attacks?"""
    assert batch["autograde"].returncode == 0, batch["autograde"].stderr[-3000:]
    assert batch["feedback"].returncode == 0, batch["feedback"].stderr[-3000:]
    assert batch["totals"]["good"] == FULL_MARKS
    assert batch["totals"]["alice"] == FULL_MARKS
    for student in ATTACKERS:
        assert graded(batch["root"], student).is_file()


def test_kernel_is_the_sandbox(batch):
    """Is the configured kernel the one autograde launched (whatever the notebook's kernelspec says)?"""
    uid = bwrap.Settings.from_env().uid  # 65534 unless the test run gives each worker its own (conftest)
    assert uid != os.geteuid() and f"IDENTITY uid={uid} host=sandbox" in printed(batch["root"], "attack-read")


def test_nothing_of_the_course_is_readable(batch):
    lines = printed(batch["root"], "attack-read")
    assert not starting(lines, "READ"), starting(lines, "READ")
    assert len(starting(lines, "BLOCKED")) >= 11 + 3
    for student in ATTACKERS:
        graded_json = graded(batch["root"], student).read_text()
        html = (batch["root"] / "feedback" / student / course.ASSIGNMENT / f"{course.ASSIGNMENT}.html").read_text()
        assert not SECRET_PATTERN.search(graded_json), student
        assert not SECRET_PATTERN.search(html), student


def test_no_network(batch):
    lines = printed(batch["root"], "attack-read")
    assert not starting(lines, "REACHED"), starting(lines, "REACHED")
    blocked = [line.split()[1] for line in starting(lines, "BLOCKED tcp") + starting(lines, "BLOCKED dns")]
    assert blocked == ["tcp-local", "tcp-outside", "dns"]
    assert batch["connections"] == 0


def test_writes_stay_in_the_working_copy(batch):
    root = batch["root"]
    mine = graded(root, "attack-write").parent
    lines = printed(root, "attack-write")
    assert not starting(lines, "WROTE"), starting(lines, "WROTE")
    assert len(starting(lines, "BLOCKED")) == len(write_targets(root))
    for label, path in write_targets(root).items():
        if label not in ("gradebook", "canary"):
            assert not (mine / path).resolve().exists(), label
    assert fingerprint(root / "canary.txt") == batch["canary"]
    # The write succeeded in the kernel's own working folder (a tmpfs): the grader's copy never saw it.
    assert not (mine / "own-output.txt").exists()
    assert not any("own-output.txt" in flag["where"] for flag in flags_of(batch["root"], "attack-write"))
    assert not Path(f"/tmp/{MARK}-private.txt").exists()  # its /tmp was private


def test_planted_symlink_and_fifo_are_removed_before_nbgrader_writes(batch):
    mine = graded(batch["root"], "attack-write")
    assert "PLANTED" in printed(batch["root"], "attack-write")
    assert not mine.is_symlink() and mine.is_file()
    assert not os.path.lexists(mine.parent / "planted-link")
    assert not os.path.lexists(mine.parent / "planted-fifo")
    assert fingerprint(batch["root"] / "canary.txt") == batch["canary"]
    # The working copy belongs to the grader (the sandbox only ever had a copy of it).
    assert {path.lstat().st_uid for path in mine.parent.rglob("*")} == {os.geteuid()}


def test_a_hung_cell_is_interrupted_and_grading_goes_on(batch):
    """Do interrupts reach the kernel through the relay (the kernelspec asks for interrupt messages)?"""
    assert batch["totals"]["attack-sleep"] == FULL_MARKS
    nb = nbformat.read(str(graded(batch["root"], "attack-sleep")), as_version=4)
    errors = [
        o.ename for cell in nb.cells if cell.cell_type == "code" for o in cell.outputs if o.output_type == "error"
    ]
    assert errors and errors[0] in ("KeyboardInterrupt", "CellTimeoutError"), errors


def test_validate_runs_in_the_sandbox(batch):
    """nbgrader validate starts the same kernel: this notebook passes only inside the sandbox."""
    folder = batch["root"] / "validation" / course.ASSIGNMENT
    shutil.copytree(batch["root"] / "release" / course.ASSIGNMENT, folder)
    answers = notebook.solutions()
    uid = bwrap.Settings.from_env().uid
    check = f'import os, socket\nassert (os.getuid(), socket.gethostname()) == ({uid}, "sandbox"), "not sandboxed"\n'
    answers["zero_pad"] = check + answers["zero_pad"]
    nbformat.write(notebook.fill_in(samples.release_notebook(), answers), str(folder / NOTEBOOK))
    result = run_nbgrader(batch["root"], "validate", str(folder / NOTEBOOK))
    assert "Success! Your notebook passes all the tests." in result.stdout, result.stdout[-2000:]


def test_resource_limits(batch):
    lines = printed(batch["root"], "attack-process")
    limits = bwrap.Limits()
    assert starting(lines, "BLOCKED memory"), "20 GB were allocated"
    forked = int(starting(lines, "FORKED")[0].split()[1])
    assert 0 < forked < limits.processes
    assert starting(lines, "BLOCKED file after"), "a 1 GB file was written"
    written = int(starting(lines, "BLOCKED file after")[0].split()[3])
    assert written <= limits.file_mb
    assert not (graded(batch["root"], "attack-process").parent / "big.bin").exists()  # removed after the notebook


def flags_of(root, student):
    """The integrity flags of a student's autograded submission."""
    return json.loads((graded(root, student).parent / "integrity.json").read_text())["flags"]


def test_no_process_outlives_its_notebook(batch):
    """Nothing the submissions started runs after autograde, and the daemon never strikes."""
    assert "DAEMON started" in printed(batch["root"], "attack-process")
    assert batch["survivors"] == []
    time.sleep(max(0.0, batch["graded_at"] + SETTLE - time.monotonic()))
    assert survivors() == []
    assert fingerprint(batch["root"] / "gradebook.db") == batch["gradebook"]
    assert {student: total(batch["root"], student) for student in batch["totals"]} == batch["totals"]
    assert not Path(f"/tmp/{MARK}-daemon.txt").exists()
    # It wrote into its own working folder (the kernel's tmpfs), which the grader's copy never sees.
    trace = graded(batch["root"], "attack-process").parent / "daemon-was-here.txt"
    assert not trace.exists()


def test_autograde_refuses_without_a_sandbox_unless_told_otherwise(released_course, tmp_path):
    root = sandboxed_course(released_course, tmp_path / "course")
    submit(root, "good")
    missing = {"CNNKIT_BWRAP": str(tmp_path / "no-bwrap")}
    refused = run_nbgrader(root, "autograde", course.ASSIGNMENT, check=False, env=missing)
    assert refused.returncode != 0
    assert "refuses to run student code without a sandbox" in refused.stderr
    assert "CNNKIT_ALLOW_UNSANDBOXED=1" in refused.stderr
    assert not (root / "autograded" / "good").exists()
    allowed = run_nbgrader(root, "autograde", course.ASSIGNMENT, env={**missing, "CNNKIT_ALLOW_UNSANDBOXED": "1"})
    assert "WITHOUT a sandbox" in allowed.stderr
    assert total(root, "good") == FULL_MARKS


def test_clean_up_removes_links_and_special_files(tmp_path):
    work = tmp_path / "work"
    (work / "sub").mkdir(parents=True)
    (work / "kept.txt").write_text("kept")
    (work / "link").symlink_to(tmp_path)
    (work / "sub" / "link").symlink_to("/etc/passwd")
    os.mkfifo(work / "fifo")
    removed = workcopy.sanitize_workdir(work)
    assert sorted(Path(p).relative_to(work).as_posix() for p in removed) == ["fifo", "link", "sub/link"]
    assert sorted(p.name for p in work.rglob("*")) == ["kept.txt", "sub"]


def test_launcher_refuses_a_course_folder(tmp_path):
    (tmp_path / "gradebook.db").write_text("")
    with pytest.raises(bwrap.SandboxError, match="course"):
        bwrap.check_workdir(tmp_path, bwrap.python_roots())
    with pytest.raises(bwrap.SandboxError, match="overlaps"):
        bwrap.check_workdir(Path(bwrap.python_roots()[0]), bwrap.python_roots())


def test_relay_never_follows_a_planted_symlink(tmp_path):
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(tmp_path / "real"))
    server.listen()
    (tmp_path / "k-1").symlink_to(tmp_path / "real")
    dir_fd = os.open(tmp_path, os.O_PATH | os.O_DIRECTORY)
    try:
        sandbox_launch.connect_kernel_socket(dir_fd, "real").close()
        with pytest.raises(ConnectionRefusedError):
            sandbox_launch.connect_kernel_socket(dir_fd, "k-1")
    finally:
        os.close(dir_fd)
        server.close()


def test_pid_1_shows_no_host_path(batch):
    """bwrap reads its options from a file: /proc/1/cmdline names no folder of the course."""
    line = starting(printed(batch["root"], "attack-read"), "PID1")[0]
    assert "--args" in line
    assert str(batch["root"]) not in line and "/autograded/" not in line and "/run/kernel" not in line


def test_mountinfo_shows_no_folder_of_the_course(batch):
    """The working copy is handed in as a copy, not bound: its host path shows nowhere in the kernel's mountinfo."""
    line = starting(printed(batch["root"], "attack-read"), "MOUNTS")[0]
    assert " /run/kernel " in line  # the table is there
    for word in (str(batch["root"]), "/autograded/", "attack-read", "/run/submission"):
        assert word not in line, (word, line)


def test_the_working_folder_is_bounded(batch):
    """Its working folder is a tmpfs of workdir_mb: writing stops there, and nothing reached the grader's disk."""
    lines = printed(batch["root"], "attack-group")
    blocked = starting(lines, "BLOCKED disk after")
    assert blocked, lines
    assert int(blocked[0].split()[3]) <= WORKDIR_MB
    assert not list(graded(batch["root"], "attack-group").parent.glob("fill-*"))


def test_many_processes_cannot_take_the_machine_s_memory(batch):
    """12 x 80 MB, each within its own limits, over the whole sandbox's 600 MB: killed inside its group.

    The batch goes on, the honest students beside it keep full marks, the attacker is still graded,
    and its integrity record and the run's log say which limit it hit.
    """
    assert batch["totals"]["alice"] == batch["totals"]["good"] == FULL_MARKS
    assert batch["totals"]["attack-group"] is not None
    reasons = [flag["reason"] for flag in flags_of(batch["root"], "attack-group")]
    assert any(f"more than {GROUP_MEMORY_MB} MB of memory" in reason for reason in reasons), reasons
    assert "attack-group" in batch["autograde"].stderr and "sandbox's limit" in batch["autograde"].stderr
    for student in ("alice", "good", "attack-read", "attack-write"):
        assert not any("sandbox's limit" in flag["reason"] for flag in flags_of(batch["root"], student)), student
