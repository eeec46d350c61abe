"""How the cnnkit sandbox is made: its settings and limits, the bwrap command line, the working copy.

Standard library only, like the launcher (cnnkit/sandbox/launch.py) that imports it: jupyter_client
runs the launcher for every notebook as ``python -I``, which keeps the student-controlled working
directory, and the launcher's own folder, off ``sys.path``; the launcher loads this file by path.
The nbgrader side (cnnkit.sandbox) imports it too.

- ``Settings`` / ``Limits``: what the grader passes down in ``CNNKIT_*`` environment variables;
- ``bwrap_command``: new PID, network, IPC and UTS namespaces and an empty root holding only
  read-only binds of the system and the Python environment, the folder of the kernel's sockets, and
  size-limited tmpfs folders: ``/submission``, where the kernel works on a copy of the working copy,
  and a private ``/tmp``. The working copy itself is not mounted: the launcher hands its files over a
  socket (``COPY_IN``), so no host path of it shows in the sandbox's ``/proc/self/mountinfo``. A few
  lines of Python inside (``SHIM``) set the resource limits, drop to the sandbox user, copy the
  files in and exec the kernel;
- ``arguments_file``: bwrap reads that command line from a file descriptor (``--args``), so the
  sandbox's pid 1 shows no host path in ``/proc/1/cmdline``;
- ``check_workdir``: a working copy the launcher may hand to the sandbox (its clean-up: workcopy.py);
- ``probe``: whether a sandbox starts on this machine at all.
"""

import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field, fields
from pathlib import Path

ALLOW_ENV = "CNNKIT_ALLOW_UNSANDBOXED"  # "1": run unsandboxed (with a warning) when no sandbox can start
TCP_ENV = "CNNKIT_ALLOW_TCP_KERNEL"  # "1": serve a kernel on the TCP ports its connection file names
BWRAP_ENV = "CNNKIT_BWRAP"  # path of bwrap; default: found on PATH
UID_ENV = "CNNKIT_SANDBOX_UID"  # the unprivileged user (and group) student code runs as
LIMIT_ENV = "CNNKIT_SANDBOX_"  # + field name of Limits, upper case: CNNKIT_SANDBOX_MEMORY_MB, ...

# Inside the sandbox: the kernel's working folder, its connection file and the folder of its Unix sockets.
# The working folder has the same path in every sandbox: student code does not learn the grader's folders,
# and a kernel started ahead of time in an empty folder (cnnkit.grading.spare) shows the same
# paths in tracebacks as one started in the submission's folder. It is a tmpfs of bounded size holding a
# copy of the working copy, so nothing the kernel writes reaches the grader's disk.
WORKDIR = "/submission"
KERNEL_RUN = "/run/kernel"
# In KERNEL_RUN: the launcher's socket that hands out the working copy's files (a tar stream), to the
# sandbox's own processes only. The kernel copies them in when it starts, and a spare kernel again
# when it is taken over (its launcher's working folder has then become the submission's).
FILES_SOCKET = f"{KERNEL_RUN}/files"
KERNEL_CONNECTION = "/run/kernel.json"
MPLCONFIGDIR = "/tmp/.matplotlib"

# Files of /etc the interpreter and its libraries read; the rest of /etc stays out.
ETC_FILES = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "localtime", "alternatives", "fonts", "mime.types")
# A working directory holding one of these is a course folder, never one submission's copy.
COURSE_MARKERS = ("nbgrader_config.py", "gradebook.db")

REFUSAL = (
    "cnnkit refuses to run student code without a sandbox: {reason}.\n"
    "Install bubblewrap (Debian/Ubuntu: apt-get install -y bubblewrap) on a machine that allows namespaces "
    "(root, or unprivileged user namespaces enabled), or accept the risk explicitly: "
    f"{ALLOW_ENV}=1 nbgrader autograde ..., or sandbox.configure(required=False) in nbgrader_config.py."
)

# Runs first inside the sandbox (python -I -S -c SHIM SPEC KERNEL_ARGV...). The limits are set here,
# after bwrap created the namespaces (RLIMIT_NPROC: what the user runs already plus this sandbox's
# budget, Limits.rlimits). Under root, bwrap kept only CAP_SETUID/CAP_SETGID so that this can switch to the
# sandbox user: a process mapped to root is exempt from RLIMIT_NPROC. A new session leaves the
# kernel no controlling terminal to push keystrokes into (TIOCSTI).
# COPY_IN copies the working copy into the kernel's tmpfs, from the launcher's tar stream of its folders and
# regular files (cnnkit/sandbox/launch.py, pack_workdir).
COPY_IN = f"""
def copy_in():
    import os, shutil, socket, tarfile
    if os.getcwd() != {WORKDIR!r} or not os.path.exists({FILES_SOCKET!r}):
        return  # not in a sandbox (the explicit opt-out): the kernel works in the working copy itself
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect({FILES_SOCKET!r})
        with sock.makefile("rb") as stream, tarfile.open(fileobj=stream, mode="r|") as archive:
            for member in archive:
                target = os.path.join({WORKDIR!r}, member.name)
                if member.isdir():
                    os.makedirs(target, exist_ok=True)
                elif member.isfile():
                    with archive.extractfile(member) as source, open(target, "wb") as copy:
                        shutil.copyfileobj(source, copy)
"""
COPY_IN_CALL = f"exec({COPY_IN!r} + 'copy_in()', {{}})"  # what a spare kernel runs when taken over

SHIM = """
import json, os, resource, sys
os.setsid()
spec = json.loads(sys.argv[1])
for name, value in spec["rlimits"].items():
    resource.setrlimit(getattr(resource, name), (value, value))
if os.getuid() == 0:
    os.setgroups([])
    os.setgid(spec["uid"])
    os.setuid(spec["uid"])
with open("/proc/self/status") as status:
    capabilities = {line.split()[1] for line in status if line.startswith(("CapPrm", "CapEff", "CapAmb"))}
if 0 in (os.getuid(), os.geteuid(), os.getgid()) or capabilities != {"0000000000000000"}:
    sys.exit("cnnkit sandbox: could not drop privileges")
exec(spec["copy_in"] + "copy_in()", {})  # as the sandbox user: the copies are the student's own files
os.execv(sys.argv[2], sys.argv[2:])
"""

MB = 1 << 20


class SandboxError(Exception):
    """The sandbox cannot or must not be started (the message says why)."""


@dataclass(frozen=True)
class Limits:
    """Resource limits of every process in the sandbox (setrlimit), and the size of its private /tmp."""

    memory_mb: int = 2048  # address space of each process (RLIMIT_AS)
    # CPU time of each process (RLIMIT_CPU): cnnkit.grading.time_policy.SANDBOX_CPU_SECONDS, which this
    # stdlib-only module cannot import; nbgrader_config.py passes it down, and a test keeps the two equal.
    cpu_seconds: int = 300
    # Processes and threads the sandbox may start (RLIMIT_NPROC, on top of what its user already runs: see
    # rlimits); ipykernel needs about 10.
    processes: int = 64
    file_mb: int = 50  # largest file it can write (RLIMIT_FSIZE)
    open_files: int = 256  # RLIMIT_NOFILE
    tmp_mb: int = 256  # private /tmp and /dev/shm (tmpfs, in memory)
    workdir_mb: int = 256  # the kernel's working folder (tmpfs, in memory): what the submission can write there
    # The whole sandbox (every process in it, and its tmpfs files) through a control group (cgroup.py);
    # 0 turns one off. Where no control group can be made, the per-process limits above still hold.
    group_memory_mb: int = 2048
    group_processes: int = 128  # processes and threads

    @staticmethod
    def env_name(name):
        return LIMIT_ENV + name.upper()

    @classmethod
    def from_env(cls, environ=os.environ):
        """The defaults, overridden by CNNKIT_SANDBOX_<NAME> variables (see cnnkit.sandbox.configure)."""
        names = [f.name for f in fields(cls) if cls.env_name(f.name) in environ]
        return cls(**{name: int(environ[cls.env_name(name)]) for name in names})

    def rlimits(self, sandboxed=True, in_use=0):
        """resource.RLIMIT_* name -> value. Outside a sandbox RLIMIT_NPROC would count all the grader's processes.

        RLIMIT_NPROC counts every process and thread of the user, machine-wide, not this sandbox's: every
        sandbox started as root runs as the same sandbox user, and an unprivileged grader's sandboxes run as
        the grader. So the limit is what the user runs already (in_use: other sandboxes, spare kernels, the
        grader itself) plus this sandbox's own budget; a fixed limit let one busy grading process make the
        next kernel die at start ("Kernel died before replying to kernel_info"). The whole sandbox's hard
        bound is the control group's (group_processes), where one can be made.
        """
        limits = {
            "RLIMIT_AS": self.memory_mb * MB,
            "RLIMIT_CPU": self.cpu_seconds,
            "RLIMIT_FSIZE": self.file_mb * MB,
            "RLIMIT_NOFILE": self.open_files,
            "RLIMIT_CORE": 0,
        }
        if sandboxed:
            limits["RLIMIT_NPROC"] = in_use + self.processes
        return limits


@dataclass(frozen=True)
class Settings:
    """Everything that decides how a sandbox is started; read from the environment the grader passes down."""

    limits: Limits = field(default_factory=Limits)
    uid: int = 65534  # nobody/nogroup
    bwrap: str | None = None
    allow_unsandboxed: bool = False
    allow_tcp: bool = False  # the launcher refuses a kernel on TCP ports unless told otherwise (TCP_ENV)

    @classmethod
    def from_env(cls, environ=os.environ):
        bwrap = environ.get(BWRAP_ENV) or shutil.which("bwrap")
        return cls(
            limits=Limits.from_env(environ),
            uid=int(environ.get(UID_ENV, cls.uid)),
            bwrap=bwrap if bwrap and os.access(bwrap, os.X_OK) else None,
            allow_unsandboxed=environ.get(ALLOW_ENV, "") == "1",
            allow_tcp=environ.get(TCP_ENV, "") == "1",
        )

    @property
    def counted_uid(self):
        """The user whose processes RLIMIT_NPROC counts for this sandbox: the sandbox user under root (the
        shim switches to it), else the grader (its user namespace maps the grader's own uid)."""
        return self.uid if self.as_root else os.getuid()

    @property
    def as_root(self):
        """Started by root: bwrap runs privileged and the shim switches to the sandbox user itself."""
        return os.geteuid() == 0


# ---------------------------------------------------------------------------------------------
# The bwrap command line


class Mounts:
    """bwrap's filesystem options in order, creating (mode 0755) the parent directories each one needs.

    bwrap would create missing parents itself, but with the host directory's mode (``/root`` is 0700),
    which the sandbox user could not traverse.
    """

    def __init__(self):
        self.args = []
        self.dirs = {"/"}

    def add(self, option, *params, dest, modifiers=()):
        """Add `option params dest`; modifiers (--perms, --size) apply to this option only."""
        for parent in reversed(Path(dest).parents):
            if str(parent) not in self.dirs:
                self.args += ["--perms", "0755", "--dir", str(parent)]
                self.dirs.add(str(parent))
        self.args += [*modifiers, option, *params, dest]
        self.dirs.add(dest)


def python_roots():
    """The directories of the interpreter and environment the kernel runs in: the venv and its base Python.

    Bound read-only at the paths the kernel knows them by; /usr is bound already.
    """
    candidates = {sys.prefix, sys.exec_prefix, sys.base_prefix, sys.base_exec_prefix}
    candidates.add(str(Path(sys.executable).resolve().parent.parent))
    roots = {os.path.abspath(path) for path in candidates}
    return sorted(root for root in roots if not any(inside(root, other) for other in roots | {"/usr"} if other != root))


def inside(path, directory):
    """Whether path is directory or below it (both absolute)."""
    return os.path.commonpath([path, directory]) == directory


def check_workdir(workdir, roots):
    """Refuse to hand the sandbox the files of a directory that is not one submission's working copy."""
    found = [name for name in COURSE_MARKERS if (workdir / name).exists()]
    if workdir == Path("/") or workdir == Path.home() or found:
        raise SandboxError(f"{workdir} looks like a course or home folder ({', '.join(found) or 'top level'})")
    for root in roots:
        if inside(str(workdir), root) or inside(root, str(workdir)):
            raise SandboxError(f"{workdir} overlaps the Python environment {root}, which the sandbox sees")


def system_mounts(mounts, limits):
    """The system: /usr and its top-level links, a few /etc files, /proc, /dev, private /tmp and /dev/shm."""
    mounts.add("--ro-bind", "/usr", dest="/usr")
    for name in ("bin", "sbin", "lib", "lib32", "lib64", "libx32"):
        path = Path("/", name)
        if path.is_symlink():
            mounts.add("--symlink", os.readlink(path), dest=str(path))
        elif path.is_dir():
            mounts.add("--ro-bind", str(path), dest=str(path))
    for name in ETC_FILES:
        if Path("/etc", name).exists():
            mounts.add("--ro-bind", f"/etc/{name}", dest=f"/etc/{name}")
    mounts.add("--proc", dest="/proc")
    mounts.add("--dev", dest="/dev")
    tmpfs = ["--perms", "1777", "--size", str(limits.tmp_mb * MB)]
    mounts.add("--tmpfs", dest="/dev/shm", modifiers=tmpfs)
    mounts.add("--tmpfs", dest="/tmp", modifiers=tmpfs)


def identity_options(settings):
    """Who the sandbox runs as. Root: privileged bwrap, only the two capabilities the shim needs to switch user.

    Anyone else: a user namespace where the grader's uid appears as the sandbox uid, no nested namespaces.
    """
    if settings.as_root:
        return ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    uid = str(settings.uid)
    return ["--unshare-user", "--uid", uid, "--gid", uid, "--disable-userns"]


def sandbox_env():
    """The kernel's whole environment: nothing of the grader's but nbgrader's own NBGRADER_* flags."""
    env = {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/tmp",
        "TMPDIR": "/tmp",
        "USER": "student",
        "LOGNAME": "student",
        "LANG": "C.UTF-8",
        "IPYTHONDIR": "/tmp/.ipython",
        "MPLCONFIGDIR": MPLCONFIGDIR,
        "XDG_CACHE_HOME": "/tmp/.cache",
        "XDG_CONFIG_HOME": "/tmp/.config",
        "PYTHONDONTWRITEBYTECODE": "1",
        # The kernel's parent really is pid 1 (bwrap's init): ipykernel then skips its parent poller and banner.
        "JPY_PARENT_PID": "1",
        # One BLAS thread: threads count against RLIMIT_NPROC, and grading needs no parallel BLAS.
        "OPENBLAS_NUM_THREADS": "1",
        "OMP_NUM_THREADS": "1",
        "MKL_NUM_THREADS": "1",
    }
    env.update({name: value for name, value in os.environ.items() if name.startswith("NBGRADER_")})
    return env


def identity_files(uid):
    """/etc/passwd and /etc/group for the sandbox: root and the student, nobody else from the host."""
    passwd = f"root:x:0:0:root:/root:/usr/sbin/nologin\nstudent:x:{uid}:{uid}:student code:/tmp:/usr/sbin/nologin\n"
    return {"/etc/passwd": passwd.encode(), "/etc/group": f"root:x:0:\nstudent:x:{uid}:\n".encode()}


def matplotlib_seed():
    """The grader's matplotlib font list, as a file for the sandbox's (empty) matplotlib cache; {} if none.

    Without it every kernel scans the fonts again on its first matplotlib import (about half a second).
    """
    home = Path.home()
    cache_dirs = [
        os.environ.get("MPLCONFIGDIR"),
        Path(os.environ.get("XDG_CACHE_HOME") or home / ".cache", "matplotlib"),
    ]
    found = [path for folder in cache_dirs if folder for path in Path(folder).glob("fontlist-v*.json")]
    if not found:
        return {}
    newest = max(found, key=lambda path: path.stat().st_mtime)
    return {f"{MPLCONFIGDIR}/{newest.name}": newest.read_bytes()}


def tasks_of(uid):
    """Processes and threads running under the real uid, machine-wide: what RLIMIT_NPROC counts."""
    count = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"/proc/{entry.name}/status") as status:
                fields = dict(line.split(":", 1) for line in status if ":" in line)
            if int(fields["Uid"].split()[0]) == uid:
                count += int(fields["Threads"])
        except (OSError, KeyError, ValueError):  # gone meanwhile, or not a process we can read
            continue
    return count


def bwrap_command(settings, sockets, files, argv):
    """The full bwrap command running argv (absolute interpreter path first) in WORKDIR.

    sockets: the host folder of the kernel's Unix sockets, bound at KERNEL_RUN. files: sandbox path ->
    (fd holding its contents, writable). Read-only files are bound; writable ones are copies in the
    private /tmp.
    """
    mounts = Mounts()
    system_mounts(mounts, settings.limits)
    for root in python_roots():
        mounts.add("--ro-bind", root, dest=root)
    for dest, (fd, writable) in files.items():
        if not writable:
            mounts.add("--ro-bind-data", str(fd), dest=dest, modifiers=["--perms", "0444"])
            continue
        parent = str(Path(dest).parent)
        if parent not in mounts.dirs:
            mounts.add("--dir", dest=parent, modifiers=["--perms", "1777"])
        mounts.add("--file", str(fd), dest=dest, modifiers=["--perms", "0666"])
    mounts.add("--bind", str(sockets), dest=KERNEL_RUN)
    mounts.add("--tmpfs", dest=WORKDIR, modifiers=["--perms", "0777", "--size", str(settings.limits.workdir_mb * MB)])
    namespaces = ["--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try"]
    env = [arg for name, value in sandbox_env().items() for arg in ("--setenv", name, value)]
    rlimits = settings.limits.rlimits(in_use=tasks_of(settings.counted_uid))
    spec = json.dumps({"rlimits": rlimits, "uid": settings.uid, "copy_in": COPY_IN})
    return [
        settings.bwrap,
        *namespaces,
        "--hostname",
        "sandbox",
        # Killed with its parent (this launcher). No --new-session: the shim calls setsid() itself, so that
        # the kernel's session holds what it started and not bwrap's init (pid 1).
        "--die-with-parent",
        *identity_options(settings),
        *mounts.args,
        "--chdir",
        WORKDIR,
        "--clearenv",
        *env,
        "--",
        sys.executable,
        "-I",
        "-S",
        "-c",
        SHIM,
        spec,
        *argv,
    ]


@contextlib.contextmanager
def arguments_file(command):
    """(short command, fd): bwrap reading its options from an in-memory file (``--args FD``).

    bwrap's own command line is what the sandbox sees as ``/proc/1/cmdline``; this keeps the host
    paths of the bind mounts out of it. The command after ``--`` stays on the command line (bwrap
    reads only options from the file). Pass fd to the child (pass_fds).
    """
    split = command.index("--")
    fd = os.memfd_create("bwrap-args")
    try:
        os.write(fd, b"".join(arg.encode() + b"\0" for arg in command[1:split]))
        os.lseek(fd, 0, os.SEEK_SET)
        yield [command[0], "--args", str(fd), *command[split:]], fd
    finally:
        os.close(fd)


def sandbox_files(settings, connection=None):
    """The files the launcher writes into the sandbox: sandbox path -> (contents, writable)."""
    files = {path: (data, False) for path, data in identity_files(settings.uid).items()}
    if connection is not None:
        files[KERNEL_CONNECTION] = (json.dumps(connection).encode(), False)
    files.update({path: (data, True) for path, data in matplotlib_seed().items()})
    return files


@contextlib.contextmanager
def memory_files(files):
    """Each file's contents in an in-memory file, rewound for bwrap to read; yields path -> (fd, writable)."""
    fds = {}
    try:
        for dest, (data, writable) in files.items():
            fd = os.memfd_create(Path(dest).name)
            fds[dest] = (fd, writable)
            with open(fd, "wb", closefd=False) as handle:
                handle.write(data)
            os.lseek(fd, 0, os.SEEK_SET)
        yield fds
    finally:
        for fd, _ in fds.values():
            os.close(fd)


# ---------------------------------------------------------------------------------------------
# Does a sandbox start here?


def probe(settings):
    """None if a sandbox starts on this machine with these settings; otherwise why not."""
    if settings.bwrap is None:
        return f"bwrap (bubblewrap) was not found ({BWRAP_ENV}={os.environ.get(BWRAP_ENV, 'unset')}, PATH)"
    with tempfile.TemporaryDirectory(prefix="cnnkit-probe-") as sockets:
        if settings.as_root:  # the sandbox user must be able to use it, as the launcher's
            os.chown(sockets, settings.uid, settings.uid)
        with memory_files(sandbox_files(settings)) as fds:
            command = bwrap_command(settings, sockets, fds, [sys.executable, "-c", "import numpy"])
            with arguments_file(command) as (short, args_fd):
                passed = [args_fd, *(fd for fd, _ in fds.values())]
                result = subprocess.run(short, pass_fds=passed, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        return f"bwrap could not start a sandbox here: {result.stderr.strip() or result.returncode}"
    return None
