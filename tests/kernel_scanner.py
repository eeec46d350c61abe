"""A local account hunting for Jupyter kernels: run as a real Unix account by tests/kernel_reach.py.

    python -I -c "<this file>" snoop|flood

- ``snoop`` (another account): every listening TCP port (/proc/net/tcp, tcp6) and every Unix socket
  (/proc/net/unix, and socket files in the folders it can list under /tmp, /var/tmp, /dev/shm, /run
  and /home) is connected to, then subscribed to as a kernel's IOPub (a ZMQ SUB socket, no key needed);
  every message received is kept.
- ``flood`` (the grading account itself): up to FLOOD connections held to every listening TCP port and
  every Unix socket of /proc/net/unix that belongs to its own account.

It sweeps until its stdin closes, printing ``sweep N`` after each sweep, then prints one line
``REPORT <json>``. Standard library and pyzmq only: it runs from the hub's environment, which every
account can run.
"""

import json
import os
import resource
import socket
import stat
import sys
import threading

import zmq

FLOOD = 200  # connections held per socket
WALKED = ("/tmp", "/var/tmp", "/dev/shm", "/run", "/home")
LISTEN_STATE = "0A"  # TCP_LISTEN in /proc/net/tcp
ACCEPTING = 0x10000  # __SO_ACCEPTCON in /proc/net/unix: a listening socket


def ipv4(word):
    return socket.inet_ntop(socket.AF_INET, bytes.fromhex(word)[::-1])


def ipv6(words):
    raw = b"".join(bytes.fromhex(words[i : i + 8])[::-1] for i in range(0, 32, 8))
    return socket.inet_ntop(socket.AF_INET6, raw)


def listening_tcp():
    """(host to connect to, port, uid of the listener, socket inode) of every listening TCP socket."""
    found = []
    for table, decode, anywhere, loopback in (
        ("/proc/net/tcp", ipv4, "0.0.0.0", "127.0.0.1"),
        ("/proc/net/tcp6", ipv6, "::", "::1"),
    ):
        with open(table) as lines:
            for line in list(lines)[1:]:
                fields = line.split()
                if fields[3] != LISTEN_STATE:
                    continue
                address, port = fields[1].split(":")
                host = decode(address)
                found.append((loopback if host == anywhere else host, int(port, 16), int(fields[7]), fields[9]))
    return found


def unix_paths():
    """The filesystem paths of every listening Unix socket the kernel lists (abstract ones have none)."""
    paths = set()
    with open("/proc/net/unix") as lines:
        for line in list(lines)[1:]:
            fields = line.split()
            if len(fields) >= 8 and int(fields[3], 16) & ACCEPTING and fields[7].startswith("/"):
                paths.add(fields[7])
    return paths


def walked_sockets():
    """Socket files in the folders this account can list."""
    found = set()
    for top in WALKED:
        for folder, _dirs, files in os.walk(top, onerror=lambda error: None):
            for name in files:
                path = os.path.join(folder, name)
                try:
                    if stat.S_ISSOCK(os.lstat(path).st_mode):
                        found.add(path)
                except OSError:
                    continue
    return found


def owner(path):
    try:
        return os.lstat(path).st_uid
    except OSError:
        return None


def connect(target):
    """A connected socket to ("tcp", host, port) or ("unix", path); OSError if refused."""
    if target[0] == "tcp":
        return socket.create_connection(target[1:], timeout=2)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.settimeout(2)
    try:
        sock.connect(target[1])
    except OSError:
        sock.close()
        raise
    return sock


def endpoint(target):
    if target[0] == "tcp":
        host = f"[{target[1]}]" if ":" in target[1] else target[1]
        return f"tcp://{host}:{target[2]}"
    return f"ipc://{target[1]}"


def decode(frames):
    """(msg_type, content text) of a Jupyter message, or None if it is not one."""
    if b"<IDS|MSG>" not in frames:
        return None
    at = frames.index(b"<IDS|MSG>")
    try:
        header = json.loads(frames[at + 2])
        return header.get("msg_type"), frames[at + 5].decode("utf-8", "replace")[:4000]
    except (IndexError, ValueError):
        return None


class Snoop:
    """Connects to everything it finds and listens as IOPub subscribers."""

    def __init__(self):
        self.context = zmq.Context()
        self.poller = zmq.Poller()
        self.tried = {}  # target -> [owner uid or None, "connected" or the error's name]
        self.subscribed = {}  # SUB socket -> its target
        self.messages = []  # [target..., msg_type, text]

    def sweep(self):
        targets = {("tcp", host, port): uid for host, port, uid, _inode in listening_tcp()}
        targets.update({("unix", path): owner(path) for path in unix_paths() | walked_sockets()})
        for target, uid in targets.items():
            if target not in self.tried:
                self.tried[target] = [uid, self.subscribe(target)]
        for subscriber, _event in self.poller.poll(50):
            while True:
                try:
                    message = decode(subscriber.recv_multipart(zmq.NOBLOCK))
                except zmq.Again:
                    break
                if message:
                    self.messages.append([*self.subscribed[subscriber], *message])

    def subscribe(self, target):
        """Subscribe to everything target publishes, if it accepts a connection: "connected" or the error."""
        try:
            connect(target).close()
        except OSError as error:
            return type(error).__name__
        subscriber = self.context.socket(zmq.SUB)
        subscriber.setsockopt(zmq.SUBSCRIBE, b"")
        subscriber.connect(endpoint(target))
        self.poller.register(subscriber, zmq.POLLIN)
        self.subscribed[subscriber] = target
        return "connected"

    def report(self):
        return {
            "tried": [[*target, *outcome] for target, outcome in self.tried.items()],
            "messages": self.messages,
        }


class Flood:
    """Holds up to FLOOD connections to every socket of its own account."""

    def __init__(self):
        soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        self.uid = os.getuid()
        self.held = {}  # target -> [sockets]
        self.refused = {}  # target -> the error that ended its flood

    def sweep(self):
        targets = [("tcp", host, port) for host, port, uid, _inode in listening_tcp() if uid == self.uid]
        targets += [("unix", path) for path in unix_paths() if owner(path) == self.uid]
        for target in targets:
            held = self.held.setdefault(target, [])
            while len(held) < FLOOD and target not in self.refused:
                try:
                    held.append(connect(target))
                except OSError as error:
                    self.refused[target] = type(error).__name__
        threading.Event().wait(0.05)

    def report(self):
        """Per target: how many connections it accepted, and how many the other end had closed by the end."""
        lines = []
        for target, held in self.held.items():
            closed = 0
            for sock in held:
                sock.setblocking(False)
                try:
                    closed += sock.recv(1) == b""
                except BlockingIOError:
                    pass
                except OSError:
                    closed += 1
            lines.append([*target, len(held), closed, self.refused.get(target)])
        return {"flooded": lines}


def main(mode):
    hunter = Snoop() if mode == "snoop" else Flood()
    stop = threading.Event()
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    sweeps = 0
    while not stop.is_set():
        hunter.sweep()
        sweeps += 1
        print(f"sweep {sweeps}", flush=True)
    print("REPORT " + json.dumps(hunter.report()), flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
