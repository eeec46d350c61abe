"""The cnnkit-sandbox kernel's launcher: ipykernel inside a bubblewrap sandbox.

jupyter_client starts it through the kernelspec ``cnnkit/sandbox/kernels/cnnkit-sandbox``, as
``python -I launch.py -f CONNECTION_FILE [kernel arguments]``, in the notebook's working copy and
with the grader's rights. It

1. refuses a connection file on TCP ports (every account on the machine can connect to those, and
   IOPub needs no key), unless told otherwise (``CNNKIT_ALLOW_TCP_KERNEL=1``), and a working directory
   that looks like a course folder rather than one submission's copy;
2. starts the kernel under ``bwrap`` (the sandbox itself: cnnkit/sandbox/bwrap.py);
3. relays the kernel's five channels: jupyter_client connects to the Unix sockets named by the
   connection file (in a private folder: cnnkit.compat.kernel_manager_class), the kernel, which has
   no network at all, listens on Unix sockets in a folder of its own, bound into the sandbox. Only
   the process that started this launcher (the one holding the kernel's manager and clients) is
   relayed, at most ``MAX_CONNECTIONS`` at a time per channel: the kernel's open files are never
   exhausted by connections of others;
4. hands the sandbox the working copy's files, over a socket beside the kernel's (``Files``), to the
   sandbox's own processes only: the working copy itself is never mounted in the sandbox;
5. when the kernel ends, is told to stop (SIGTERM: how the kit stops a kernel, cnnkit.compat.kernel_manager_class),
   or the grader dies: kills the sandbox (every process in it: they share its PID namespace), then cleans
   up: its socket folder, the whole-sandbox cgroup's report (the limits it hit) and the cgroup itself.
   A stop that comes while it is still starting is handled the same way.

Standard library only: it starts for every notebook, and ``-I`` keeps the student-controlled
working directory off ``sys.path`` (and this file's folder too: ``sibling`` loads bwrap.py by
path). cnnkit.sandbox holds the nbgrader side.
"""

import argparse
import asyncio
import contextlib
import importlib.util
import json
import os
import resource
import signal
import socket
import stat
import struct
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path


def sibling(name):
    """The module in this file's folder named name, loaded by path (run as a script, the folder is not on sys.path)."""
    spec = importlib.util.spec_from_file_location(f"cnnkit_sandbox_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __package__:  # imported as cnnkit.sandbox.launch: one bwrap module for the whole kit
    from cnnkit.sandbox import bwrap, cgroup, socketdir
else:  # run by the kernelspec
    bwrap, cgroup, socketdir = sibling("bwrap"), sibling("cgroup"), sibling("socketdir")

# On the host: /tmp/cnnkit-kernel-<pid>-<random>/ (0700, the grader's), holding SOCKETS, the folder of the
# kernel's sockets that is bound on bwrap.KERNEL_RUN (the sandbox user's: the kernel creates them there).
RUNDIR_PREFIX = "cnnkit-kernel-"
SOCKETS = "sockets"
CHANNELS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")
STOPPED = 128 + signal.SIGTERM  # the exit code of a launcher told to stop before its kernel started
# Connections relayed at a time per channel, and to the files socket. jupyter_client needs one or two per
# channel (a client, and the manager's own on control); each costs the kernel one of its open files.
MAX_CONNECTIONS = 8
TCP_REFUSAL = (
    "cnnkit sandbox: refusing to serve the kernel on TCP ports: every account on this machine could connect "
    'to them and read what it runs. Start it with transport "ipc" (the kit\'s kernel manager, '
    'cnnkit.compat.kernel_manager_class, does; for a Jupyter server: c.KernelManager.transport = "ipc"), '
    f"or accept the risk explicitly: {bwrap.TCP_ENV}=1."
)


# ---------------------------------------------------------------------------------------------
# Who is connecting


def peer_pid(writer):
    """The process id of the peer of a Unix socket connection (its credentials when it connected)."""
    ucred = "3i"  # pid, uid, gid
    credentials = writer.get_extra_info("socket").getsockopt(
        socket.SOL_SOCKET, socket.SO_PEERCRED, struct.calcsize(ucred)
    )
    return struct.unpack(ucred, credentials)[0]


def parent_of(pid):
    """The parent's process id, from /proc/<pid>/stat (its name, in parentheses, may hold anything); 0 if gone."""
    try:
        stat_line = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat_line.rsplit(")", 1)[1].split()[1])


def descends_from(pid, ancestor):
    """Whether process pid is ancestor or one of its descendants."""
    while pid > 1:
        if pid == ancestor:
            return True
        pid = parent_of(pid)
    return False


# ---------------------------------------------------------------------------------------------
# The channel relay and the files


def connect_kernel_socket(dir_fd, name):
    """A connected Unix socket to the kernel's socket `name`, never following a symlink planted there."""
    path_fd = os.open(name, os.O_PATH | os.O_NOFOLLOW, dir_fd=dir_fd)
    try:
        if not stat.S_ISSOCK(os.fstat(path_fd).st_mode):
            raise ConnectionRefusedError(f"{name} is not a socket")
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            # Connecting through the O_PATH descriptor reaches exactly the inode checked above.
            sock.connect(f"/proc/self/fd/{path_fd}")
        except OSError:
            sock.close()
            raise
        sock.setblocking(False)
        return sock
    finally:
        os.close(path_fd)


async def pump(reader, writer):
    """Copy bytes one way until either end closes, then close the other end too."""
    # A peer going away (the kernel exiting, the client disconnecting) just ends the copy.
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(1 << 16):
            writer.write(data)
            await writer.drain()
    writer.close()


def pack_workdir():
    """This process's working folder (the working copy) as a tar file: its folders and regular files only.

    Never follows a link. Modes are plain (0755, 0644) and owners dropped: the sandbox user owns its copies.
    """
    archive_file = tempfile.TemporaryFile()
    with tarfile.open(fileobj=archive_file, mode="w") as archive:
        for folder, dirs, files in os.walk("."):
            for name in sorted(dirs) + sorted(files):
                path = os.path.join(folder, name)
                info = archive.gettarinfo(path, arcname=os.path.normpath(path))  # lstat: a link stays a link
                if not (info.isdir() or info.isfile()):
                    continue
                info.mode = 0o755 if info.isdir() else 0o644
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                with open(path, "rb") if info.isfile() else contextlib.nullcontext() as content:
                    archive.addfile(info, content)
    archive_file.seek(0)
    return archive_file


class Relay:
    """Serves the endpoints of the connection file and forwards each connection to the kernel's Unix socket.

    Also serves the working copy's files to the sandbox (bwrap.FILES_SOCKET). Who may connect: the
    process that started this launcher on the channels, the sandbox's own processes on the files
    socket; at most MAX_CONNECTIONS at a time on each. Anyone else's connection is closed at once.
    """

    def __init__(self, info, dir_fd, files_path):
        self.info = info
        self.dir_fd = dir_fd
        self.files_path = files_path
        self.client = os.getppid()  # jupyter_client's process: it started us, and its clients connect
        self.servers = []
        self.connections = set()
        self.open = {}  # channel -> connections being relayed
        self.kernel = None  # the bwrap process, once started: connections wait for the kernel while it lives
        self.started = asyncio.Event()  # set once self.kernel is

    async def start(self):
        for channel in CHANNELS:
            port = self.info[channel]
            handler = self.accepting(channel, self.forward, f"k-{port}")
            if self.info.get("transport", "tcp") == "tcp":
                server = await asyncio.start_server(handler, self.info["ip"], port)
            else:
                server = await asyncio.start_unix_server(handler, f"{self.info['ip']}-{port}")
            self.servers.append(server)
        self.servers.append(await asyncio.start_unix_server(self.accepting("files", self.send_files), self.files_path))
        os.chmod(self.files_path, 0o666)  # for the sandbox user; the folder keeps everyone else out

    def kernel_started(self, process):
        self.kernel = process
        self.started.set()

    def accepting(self, channel, serve, *args):
        """The server's connection callback: serves an admitted connection in a task of ours (close() ends it)."""

        async def accept(reader, writer):
            if not await self.admits(channel, writer):
                writer.close()
                return
            self.open[channel] = self.open.get(channel, 0) + 1
            task = asyncio.create_task(serve(*args, reader, writer))
            self.connections.add(task)
            task.add_done_callback(ended)

        def ended(task):
            self.connections.discard(task)
            self.open[channel] -= 1

        return accept

    async def admits(self, channel, writer):
        """Whether this connection may be served: the right process, and a free place on its channel."""
        if self.open.get(channel, 0) >= MAX_CONNECTIONS:
            return False
        if channel == "files":
            await self.started.wait()
            return descends_from(peer_pid(writer), self.kernel.pid)
        # Over TCP (the explicit opt-in) the peer cannot be told: only the cap holds.
        return self.info.get("transport", "tcp") == "tcp" or peer_pid(writer) == self.client

    async def forward(self, name, reader, writer):
        sock = await self.kernel_socket(name)
        if sock is None:
            writer.close()
            return
        kernel_reader, kernel_writer = await asyncio.open_unix_connection(sock=sock)
        await asyncio.gather(pump(reader, kernel_writer), pump(kernel_reader, writer))

    async def send_files(self, reader, writer):
        """The working copy, as it is now, as a tar stream (its read in a thread: the relay goes on meanwhile)."""
        with contextlib.suppress(ConnectionError), await asyncio.to_thread(pack_workdir) as archive:
            while chunk := archive.read(1 << 16):
                writer.write(chunk)
                await writer.drain()
        writer.close()

    async def kernel_socket(self, name):
        """Wait until the kernel listens on `name` (it starts after the client connects); None if it died."""
        while self.kernel is None or self.kernel.returncode is None:
            try:
                return connect_kernel_socket(self.dir_fd, name)
            except (FileNotFoundError, ConnectionRefusedError):
                await asyncio.sleep(0.02)
        return None

    async def close(self):
        for server in self.servers:
            server.close()
        for task in self.connections:
            task.cancel()
        await asyncio.gather(*self.connections, return_exceptions=True)


# ---------------------------------------------------------------------------------------------
# Running


def kernel_argv(extra):
    """ipykernel, reading the sandbox's connection file; extra: what jupyter_client appended."""
    return [sys.executable, "-m", "ipykernel_launcher", "-f", bwrap.KERNEL_CONNECTION, *extra]


def kill(process):
    """SIGKILL bwrap: with it go its PID namespace and every process in the sandbox."""
    if process.returncode is None:
        process.kill()


def stop_signals():
    """An event set when the launcher is told to stop: SIGTERM (jupyter_client stopping the kernel) or SIGHUP.

    Installed before the launcher makes anything that needs cleaning up: from then on a stop, however
    early, ends in the clean-up of run_sandboxed, never in the signal's default death. Interrupts arrive
    as messages (interrupt_mode "message"): a stray SIGINT must not end the relay.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, stop.set)
    loop.add_signal_handler(signal.SIGINT, lambda: None)
    return stop


async def supervise(process, stop):
    """The kernel's exit code. Kills the sandbox when the launcher is told to stop or the grader process dies."""
    parent = os.getppid()
    exited = asyncio.ensure_future(process.wait())
    stopped = asyncio.ensure_future(stop.wait())
    try:
        while not exited.done():
            waiting = {exited} if stopped.done() else {exited, stopped}  # once told, only the exit is awaited
            await asyncio.wait(waiting, timeout=1, return_when=asyncio.FIRST_COMPLETED)
            if stop.is_set() or os.getppid() != parent:
                kill(process)
        return exited.result()
    finally:
        stopped.cancel()


def whole_sandbox_group(settings):
    """The control group holding the whole sandbox (cgroup.py), or None; why not goes to the grader's log."""
    limits = settings.limits
    group, why_not = cgroup.open_group(f"kernel-{os.getpid()}", limits.group_memory_mb, limits.group_processes)
    if why_not:
        print(f"cnnkit sandbox: {why_not}", file=sys.stderr)
    return group


async def start_kernel(settings, sockets, files, extra, group):
    """bwrap with the kernel in it, inside group (if any); its arguments travel in a file (bwrap --args)."""
    with bwrap.memory_files(files) as fds:
        command = bwrap.bwrap_command(settings, sockets, fds, kernel_argv(extra))
        with bwrap.arguments_file(command) as (short, args_fd):
            return await asyncio.create_subprocess_exec(
                *short,
                pass_fds=[args_fd, *(fd for fd, _ in fds.values())],
                stdin=subprocess.DEVNULL,
                preexec_fn=group.join if group else None,  # before exec: every process of the sandbox is in it
            )


async def run_sandboxed(settings, info, connection_file, extra):
    """Run the kernel in the sandbox until it exits."""
    stop = stop_signals()
    kernel_info = {**info, "transport": "ipc", "ip": f"{bwrap.KERNEL_RUN}/k"}
    files = bwrap.sandbox_files(settings, connection=kernel_info)
    group = whole_sandbox_group(settings)
    with socketdir.temporary(RUNDIR_PREFIX) as rundir:
        sockets = rundir / SOCKETS
        sockets.mkdir(mode=0o700)
        if settings.as_root:
            os.chown(sockets, settings.uid, settings.uid)  # the kernel, as the sandbox user, creates its sockets there
        dir_fd = os.open(sockets, os.O_PATH | os.O_DIRECTORY)
        relay = Relay(info, dir_fd, sockets / Path(bwrap.FILES_SOCKET).name)
        try:
            await relay.start()
            if stop.is_set():  # told to stop before the kernel started: it never starts
                return STOPPED
            relay.kernel_started(await start_kernel(settings, sockets, files, extra, group))
            return await supervise(relay.kernel, stop)
        finally:
            if relay.kernel is not None:
                kill(relay.kernel)
            await relay.close()
            os.close(dir_fd)
            if group is not None:
                cgroup.write_report(connection_file, group.limits_hit(), settings.limits)
                group.close()


def run_unsandboxed(settings, connection_file, extra):
    """The explicit opt-out: the stock kernel, with the limits that make sense outside a sandbox."""
    print(f"cnnkit sandbox: WARNING: running student code WITHOUT a sandbox ({bwrap.ALLOW_ENV}=1)", file=sys.stderr)
    for name, value in settings.limits.rlimits(sandboxed=False).items():
        resource.setrlimit(getattr(resource, name), (value, value))
    os.execv(sys.executable, [sys.executable, "-m", "ipykernel_launcher", "-f", connection_file, *extra])


def parse_args(argv):
    parser = argparse.ArgumentParser(description="Start ipykernel in the cnnkit sandbox.")
    parser.add_argument("-f", dest="connection_file", required=True)
    return parser.parse_known_args(argv)


def main(argv=None):
    """The kernel's exit code; refuses (exit message) a kernel on TCP, or when no sandbox starts and no opt-out was given."""
    args, extra = parse_args(argv)
    settings = bwrap.Settings.from_env()
    info = json.loads(Path(args.connection_file).read_text())
    if info.get("transport", "tcp") == "tcp" and not settings.allow_tcp:
        sys.exit(TCP_REFUSAL)
    reason = None
    if settings.bwrap is None or settings.allow_unsandboxed:
        # Opting out only allows a fallback: the sandbox is still used wherever it starts.
        reason = bwrap.probe(settings)
    if reason:
        if settings.allow_unsandboxed:
            run_unsandboxed(settings, args.connection_file, extra)
        sys.exit(bwrap.REFUSAL.format(reason=reason))
    try:
        bwrap.check_workdir(Path.cwd(), bwrap.python_roots())
    except bwrap.SandboxError as error:
        sys.exit(f"cnnkit sandbox: refusing to start: {error}")
    return asyncio.run(run_sandboxed(settings, info, args.connection_file, extra))


if __name__ == "__main__":
    sys.exit(main())
