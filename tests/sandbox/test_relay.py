"""Who reaches a sandboxed kernel, in-process: the launcher's relay, its files socket, the kit's kernel manager.

No sandbox is started: a plain Unix socket server stands in for the kernel. The real thing, with two
Unix accounts, is test_kernel_reach.py.
"""

import asyncio
import io
import json
import os
import stat
import subprocess
import sys
import tarfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from traitlets.config import Config

from cnnkit import compat
from cnnkit.sandbox import bwrap, launch, socketdir

# A process of the same account that did not start the kernel: connects, says hello, prints what it got.
STRANGER = """
import socket, sys
sock = socket.socket(socket.AF_UNIX)
sock.connect(sys.argv[1])
sock.settimeout(10)
try:
    sock.sendall(b"hello")
    print(sock.recv(100))
except ConnectionError:  # closed before "hello" went, or with it unread
    print(b"")
"""
# A process in the sandbox at start-up: reads the files socket's tar stream, prints the names in it.
COPY_IN = """
import socket, sys, tarfile
sock = socket.socket(socket.AF_UNIX)
sock.connect(sys.argv[1])
with sock.makefile("rb") as stream, tarfile.open(fileobj=stream, mode="r|") as archive:
    print(sorted(member.name for member in archive))
"""


async def echo(reader, writer):
    ECHOING.add(asyncio.current_task())
    while data := await reader.read(100):
        writer.write(data)
        await writer.drain()
    writer.close()


ECHOING = set()  # the stand-in kernel's connections, ended with the test


async def end_echoing():
    for task in ECHOING:
        task.cancel()
    await asyncio.gather(*ECHOING, return_exceptions=True)
    ECHOING.clear()


@pytest.fixture
def relay(tmp_path):
    """A started relay whose "kernel" echoes on its shell socket; the test process plays jupyter_client."""
    sockets = tmp_path / "sockets"
    sockets.mkdir()
    info = {"transport": "ipc", "ip": str(tmp_path / "client")}
    info.update({channel: number for number, channel in enumerate(launch.CHANNELS, 1)})
    dir_fd = os.open(sockets, os.O_PATH | os.O_DIRECTORY)

    async def started():
        kernel = await asyncio.start_unix_server(echo, sockets / f"k-{info['shell_port']}")
        relay = launch.Relay(info, dir_fd, sockets / "files")
        relay.client = os.getpid()
        await relay.start()
        return relay, kernel

    loop = asyncio.new_event_loop()
    relay, kernel = loop.run_until_complete(started())
    relay.shell = f"{info['ip']}-{info['shell_port']}"
    yield relay, loop
    loop.run_until_complete(relay.close())
    kernel.close()
    loop.run_until_complete(end_echoing())
    loop.close()
    os.close(dir_fd)


async def round_trip(path, data=b"ping"):
    """What comes back for data over a new connection to path (b"" when the relay closed it)."""
    reader, writer = await asyncio.open_unix_connection(path)
    try:
        writer.write(data)
        await writer.drain()
        return await asyncio.wait_for(reader.read(100), 10)
    except ConnectionResetError:  # closed with data unread
        return b""
    finally:
        writer.close()


def stranger(path):
    """What a process that did not start the kernel receives: it starts as our child, so it is not our parent."""
    result = subprocess.run([sys.executable, "-c", STRANGER, path], capture_output=True, text=True, timeout=30)
    return result.stdout.strip()


def test_the_relay_serves_the_process_that_started_the_kernel(relay):
    relay, loop = relay
    assert loop.run_until_complete(round_trip(relay.shell)) == b"ping"


def test_any_other_process_is_closed_on_at_once_even_of_the_same_account(relay):
    relay, loop = relay
    answer = loop.run_until_complete(asyncio.to_thread(stranger, relay.shell))
    assert answer == "b''"
    assert loop.run_until_complete(round_trip(relay.shell)) == b"ping"  # the rightful client still is served


def test_at_most_max_connections_per_channel(relay):
    relay, loop = relay

    async def flood():
        held = [await asyncio.open_unix_connection(relay.shell) for _ in range(launch.MAX_CONNECTIONS)]
        for _reader, writer in held:
            writer.write(b"x")
        answers = [await asyncio.wait_for(reader.read(1), 10) for reader, _writer in held]
        extra = await round_trip(relay.shell)
        for _reader, writer in held:
            writer.close()
        return answers, extra

    answers, extra = loop.run_until_complete(flood())
    assert answers == [b"x"] * launch.MAX_CONNECTIONS and extra == b""


def test_the_files_go_to_the_sandbox_s_processes_only(relay, tmp_path, monkeypatch):
    relay, loop = relay
    (tmp_path / "work").mkdir()
    (tmp_path / "work" / "notebook.ipynb").write_text("{}")
    monkeypatch.chdir(tmp_path / "work")  # the launcher's working folder: the working copy
    files = str(tmp_path / "sockets" / "files")
    assert stat.S_IMODE(os.stat(files).st_mode) == 0o666  # the sandbox user may connect; the folder keeps others out
    inside = subprocess.Popen([sys.executable, "-c", COPY_IN, files], stdout=subprocess.PIPE, text=True)
    relay.kernel_started(SimpleNamespace(pid=inside.pid, returncode=None))  # it stands for bwrap
    output = loop.run_until_complete(asyncio.to_thread(inside.communicate, timeout=30))[0]
    assert output.strip() == "['notebook.ipynb']"
    assert loop.run_until_complete(round_trip(files)) == b""  # this process is not in the "sandbox"


def test_the_working_copy_is_packed_without_links_or_special_files(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    (tmp_path / "notebook.ipynb").write_text("{}")
    (tmp_path / "sub" / "data.npz").write_bytes(b"\0" * 10)
    (tmp_path / "secret-link").symlink_to("/etc/passwd")
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "notebook.ipynb").chmod(0o600)
    monkeypatch.chdir(tmp_path)
    with launch.pack_workdir() as packed, tarfile.open(fileobj=io.BytesIO(packed.read())) as archive:
        members = {member.name: member for member in archive.getmembers()}
    assert sorted(members) == ["notebook.ipynb", "sub", "sub/data.npz"]
    assert {name: oct(member.mode) for name, member in members.items()} == {
        "notebook.ipynb": "0o644",
        "sub": "0o755",
        "sub/data.npz": "0o644",
    }
    assert all(member.uid == 0 and member.uname == "" for member in members.values())


def test_the_launcher_refuses_a_kernel_on_tcp_ports(tmp_path, monkeypatch):
    connection = tmp_path / "kernel.json"
    connection.write_text(json.dumps({"transport": "tcp", "ip": "127.0.0.1", "shell_port": 1234}))
    monkeypatch.delenv(bwrap.TCP_ENV, raising=False)
    with pytest.raises(SystemExit) as refused:
        launch.main(["-f", str(connection)])
    assert "refusing to serve the kernel on TCP ports" in str(refused.value)
    assert 'transport "ipc"' in str(refused.value) and bwrap.TCP_ENV in str(refused.value)


def test_the_kit_s_kernel_manager_keeps_its_kernel_on_private_unix_sockets():
    """Whatever the configuration asks for: ipc, in a fresh 0700 folder of ours in /tmp, gone with the kernel."""
    shared = "/tmp/one-connection-file-for-all.json"
    config = Config({"KernelManager": {"transport": "tcp", "ip": "127.0.0.1", "connection_file": shared}})
    manager = compat.kernel_manager_class()(config=config)
    folder = Path(manager.ip).parent
    info = os.stat(folder)
    assert manager.transport == "ipc" and manager.ip == str(folder / "k") and manager.connection_file == ""
    assert folder.parent == Path(socketdir.BASE) and folder.name.startswith(f"{compat.IPC_PREFIX}{os.getpid()}-")
    assert (stat.S_IMODE(info.st_mode), info.st_uid) == (0o700, os.geteuid())
    # The longest socket path, k-5 (and more, should stale files push the numbers up), fits a Unix socket's 107 bytes.
    assert len(f"{manager.ip}-99") < 100
    asyncio.run(manager.cleanup_resources())
    assert not folder.exists()


def test_folders_of_killed_processes_are_removed(tmp_path, monkeypatch):
    monkeypatch.setattr(socketdir, "BASE", str(tmp_path))
    dead = tmp_path / f"{launch.RUNDIR_PREFIX}{2**22 + 1}-abc"  # above any pid_max
    alive = tmp_path / f"{launch.RUNDIR_PREFIX}{os.getpid()}-abc"
    for folder in (dead, alive):
        (folder / "sockets").mkdir(parents=True)
    made = socketdir.make(launch.RUNDIR_PREFIX)
    assert not dead.exists() and alive.exists() and made.parent == tmp_path
