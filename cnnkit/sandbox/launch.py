"""The cnnkit-sandbox kernel's launcher: ipykernel inside a bubblewrap sandbox.

jupyter_client starts it through the kernelspec ``cnnkit/sandbox/kernels/cnnkit-sandbox``, as
``python -I launch.py -f CONNECTION_FILE [kernel arguments]``, in the notebook's working copy and
with the grader's rights. It

1. refuses a working directory that looks like a course folder rather than one submission's copy;
2. starts the kernel under ``bwrap`` (the sandbox itself: cnnkit/sandbox/bwrap.py);
3. relays the kernel's five channels. jupyter_client connects to the TCP ports of the connection
   file as with any kernel; the kernel, which has no network at all, listens on Unix sockets in a
   private directory that is bind-mounted into the sandbox;
4. when the kernel ends, is told to stop, or the grader dies: kills the sandbox (every process
   in it: they share its PID namespace) and removes symlinks and special files from the working
   copy, so that nbgrader's later writes and chmods cannot be redirected outside it.

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
import shutil
import signal
import socket
import stat
import subprocess
import sys
import tempfile
from pathlib import Path


def sibling(name):
    """The module in this file's folder named name, loaded by path (run as a script, the folder is not on sys.path)."""
    spec = importlib.util.spec_from_file_location(f"cnnkit_sandbox_{name}", Path(__file__).with_name(f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


if __package__:  # imported as cnnkit.sandbox.launch: one bwrap module for the whole kit
    from cnnkit.sandbox import bwrap, cgroup, workcopy
else:  # run by the kernelspec
    bwrap, cgroup, workcopy = sibling("bwrap"), sibling("cgroup"), sibling("workcopy")

# On the host: the private directory of the kernel's sockets, bind-mounted on bwrap.KERNEL_RUN.
RUNDIR_PREFIX = "cnnkit-kernel-"
CHANNELS = ("shell_port", "iopub_port", "stdin_port", "control_port", "hb_port")


# ---------------------------------------------------------------------------------------------
# The channel relay


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


class Relay:
    """Serves the endpoints of the connection file and forwards each connection to the kernel's Unix socket."""

    def __init__(self, info, dir_fd):
        self.info = info
        self.dir_fd = dir_fd
        self.servers = []
        self.connections = set()
        self.kernel = None  # the bwrap process, once started: connections wait for the kernel while it lives

    async def start(self):
        for channel in CHANNELS:
            port = self.info[channel]
            handler = self.forwarder(port)
            if self.info.get("transport", "tcp") == "tcp":
                server = await asyncio.start_server(handler, self.info["ip"], port)
            else:
                server = await asyncio.start_unix_server(handler, f"{self.info['ip']}-{port}")
            self.servers.append(server)

    def forwarder(self, port):
        """The server's connection callback: relays in a task of ours, so that close() can end it quietly."""

        async def accept(reader, writer):
            task = asyncio.create_task(self.forward(f"k-{port}", reader, writer))
            self.connections.add(task)
            task.add_done_callback(self.connections.discard)

        return accept

    async def forward(self, name, reader, writer):
        sock = await self.kernel_socket(name)
        if sock is None:
            writer.close()
            return
        kernel_reader, kernel_writer = await asyncio.open_unix_connection(sock=sock)
        await asyncio.gather(pump(reader, kernel_writer), pump(kernel_reader, writer))

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


async def supervise(process):
    """The kernel's exit code. Stops it when jupyter_client terminates us or the grader process dies."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(signum, kill, process)
    # Interrupts arrive as messages (interrupt_mode "message"): a stray SIGINT must not end the relay.
    loop.add_signal_handler(signal.SIGINT, lambda: None)
    parent = os.getppid()
    while True:
        try:
            return await asyncio.wait_for(process.wait(), timeout=1)
        except TimeoutError:
            if os.getppid() != parent:
                kill(process)


def whole_sandbox_group(settings):
    """The control group holding the whole sandbox (cgroup.py), or None; why not goes to the grader's log."""
    limits = settings.limits
    group, why_not = cgroup.open_group(f"kernel-{os.getpid()}", limits.group_memory_mb, limits.group_processes)
    if why_not:
        print(f"cnnkit sandbox: {why_not}", file=sys.stderr)
    return group


async def start_kernel(settings, workdir, rundir, files, extra, group):
    """bwrap with the kernel in it, inside group (if any); its arguments travel in a file (bwrap --args)."""
    with bwrap.memory_files(files) as fds:
        command = bwrap.bwrap_command(settings, workdir, rundir, fds, kernel_argv(extra))
        with bwrap.arguments_file(command) as (short, args_fd):
            return await asyncio.create_subprocess_exec(
                *short,
                pass_fds=[args_fd, *(fd for fd, _ in fds.values())],
                stdin=subprocess.DEVNULL,
                preexec_fn=group.join if group else None,  # before exec: every process of the sandbox is in it
            )


async def run_sandboxed(settings, workdir, connection_file, extra):
    """Run the kernel in the sandbox until it exits; always clean the working copy afterwards."""
    info = json.loads(Path(connection_file).read_text())
    kernel_info = {**info, "transport": "ipc", "ip": f"{bwrap.KERNEL_RUN}/k"}
    files = bwrap.sandbox_files(settings, connection=kernel_info)
    remove_stale_rundirs()
    group = whole_sandbox_group(settings)
    with tempfile.TemporaryDirectory(prefix=f"{RUNDIR_PREFIX}{os.getpid()}-") as rundir:
        dir_fd = os.open(rundir, os.O_PATH | os.O_DIRECTORY)
        relay = Relay(info, dir_fd)
        try:
            if settings.as_root:
                workcopy.hand_over(Path(rundir), settings.uid)
                workcopy.hand_over(workdir, settings.uid)
            await relay.start()
            relay.kernel = await start_kernel(settings, workdir, rundir, files, extra, group)
            return await supervise(relay.kernel)
        finally:
            if relay.kernel is not None:
                kill(relay.kernel)
            await relay.close()
            os.close(dir_fd)
            workcopy.sanitize_workdir(workdir)
            if group is not None:
                cgroup.write_report(connection_file, group.limits_hit(), settings.limits)
                group.close()


def remove_stale_rundirs():
    """Remove the socket folders of launchers that were killed (SIGKILL leaves them no chance to clean up)."""
    for folder in Path(tempfile.gettempdir()).glob(f"{RUNDIR_PREFIX}*-*"):
        pid = folder.name.removeprefix(RUNDIR_PREFIX).split("-", 1)[0]
        if pid.isdigit() and not Path("/proc", pid).exists():
            # Another grader's folder may not be ours to remove; it is only litter.
            shutil.rmtree(folder, ignore_errors=True)


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
    """The kernel's exit code; refuses (exit message) when no sandbox starts and no opt-out was given."""
    args, extra = parse_args(argv)
    settings = bwrap.Settings.from_env()
    workdir = Path.cwd()
    reason = None
    if settings.bwrap is None or settings.allow_unsandboxed:
        # Opting out only allows a fallback: the sandbox is still used wherever it starts.
        reason = bwrap.probe(settings)
    if reason:
        if settings.allow_unsandboxed:
            run_unsandboxed(settings, args.connection_file, extra)
        sys.exit(bwrap.REFUSAL.format(reason=reason))
    try:
        bwrap.check_workdir(workdir, bwrap.python_roots())
    except bwrap.SandboxError as error:
        sys.exit(f"cnnkit sandbox: refusing to start: {error}")
    return asyncio.run(run_sandboxed(settings, workdir, args.connection_file, extra))


if __name__ == "__main__":
    sys.exit(main())
