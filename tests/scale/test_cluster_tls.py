"""The grading cluster admits only the instructor's machines (issue 11, class 13): mutual TLS.

Attacks: a client on the network without the cluster's certificate (plain TCP, TLS with no
certificate, TLS with a certificate of another CA) tries to reach the scheduler, which would let
it run code on every worker; rogue workers try to join, which would give them the shipped course
(hidden tests) and let them forge results; the kit is pointed at a plain TCP address. A real
scheduler and two real workers (the dask command line, over TLS on loopback) grade the samples
while the rogue workers try to join, and the samples keep exactly their stock scores.

The certificates come from the kit's own `python -m cnnkit cluster-certs`; the checks of the
certificates themselves (chain, key usage, file modes) run in-process with Dask's own TLS
contexts, handshaking through memory.
"""

import argparse
import io
import os
import shutil
import socket
import ssl
import stat
import subprocess
import sys
import tarfile
import time

import psutil
import pytest
from cryptography import x509
from distributed import Client
from distributed.security import Security

from cnnkit import cli, course
from cnnkit.results import scores
from cnnkit.scale import coordinator, tls
from cnnkit.scale.transport import course_bundle
from cnnkit.spec import samples
from tests.scale.test_parallel import DaskCluster, wait_until_gone
from tests.support import BIN, clone_course, db_url

ROLES = ("scheduler", "worker", "client")
REFUSED = (OSError, TimeoutError, ssl.SSLError)  # how distributed says "could not connect"


def make_certs(folder, *extra):
    """`python -m cnnkit cluster-certs folder`, the instructor's command; returns the folder."""
    result = subprocess.run(
        [sys.executable, "-m", "cnnkit", "cluster-certs", str(folder), *extra],
        cwd=course.ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return folder


def security(folder, role="client"):
    """Dask's Security for one role, from a folder cluster-certs wrote."""
    return Security(
        require_encryption=True,
        tls_ca_file=str(folder / "ca.crt"),
        **{f"tls_{role}_cert": str(folder / f"{role}.crt"), f"tls_{role}_key": str(folder / f"{role}.key")},
    )


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    return make_certs(tmp_path_factory.mktemp("certs") / "cluster-certs")


@pytest.fixture(scope="module")
def other_ca(tmp_path_factory):
    """A complete set of another CA, as an attacker could make with the same command."""
    folder = tmp_path_factory.mktemp("other") / "cluster-certs"
    tls.create(folder)
    return folder


# ---- the certificates, in-process ----


def handshake(server_context, client_context):
    """A TLS handshake between two contexts through memory, then one byte each way; raises ssl.SSLError."""
    server_in, server_out, client_in, client_out = (ssl.MemoryBIO() for _ in range(4))
    server = server_context.wrap_bio(server_in, server_out, server_side=True)
    client = client_context.wrap_bio(client_in, client_out, server_side=False, server_hostname="scheduler")
    pending = {"server": server.do_handshake, "client": client.do_handshake}
    for _ in range(20):
        for name, step in list(pending.items()):
            try:
                step()
                del pending[name]
            except ssl.SSLWantReadError:
                pass
            client_in.write(server_out.read())
            server_in.write(client_out.read())
        if not pending:
            break
    client.write(b"x")
    server_in.write(client_out.read())
    assert server.read(1) == b"x"  # TLS 1.3: a rejected client certificate shows up here
    server.write(b"y")
    client_in.write(server_out.read())
    assert client.read(1) == b"y"


def listening(folder, role):
    return security(folder, role).get_listen_args(role)["ssl_context"]


def connecting(folder, role):
    return security(folder, role).get_connection_args(role)["ssl_context"]


def test_every_certificate_chains_to_the_cluster_ca_and_no_ca_key_is_kept(certs):
    ca = x509.load_pem_x509_certificate((certs / "ca.crt").read_bytes())
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    for role in ROLES:
        cert = x509.load_pem_x509_certificate((certs / f"{role}.crt").read_bytes())
        cert.verify_directly_issued_by(ca)
        assert not cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert sorted(p.name for p in certs.iterdir()) == sorted(
        ["ca.crt", *(f"{role}.{kind}" for role in ROLES for kind in ("crt", "key"))]
    )


def test_private_keys_are_readable_by_their_owner_only(certs):
    assert stat.S_IMODE(certs.stat().st_mode) == 0o700
    for role in ROLES:
        assert stat.S_IMODE((certs / f"{role}.key").stat().st_mode) == 0o600
        assert stat.S_IMODE((certs / f"{role}.crt").stat().st_mode) == 0o644


def test_the_cluster_s_own_roles_handshake_with_dask_s_contexts(certs):
    handshake(listening(certs, "scheduler"), connecting(certs, "client"))
    handshake(listening(certs, "scheduler"), connecting(certs, "worker"))
    handshake(listening(certs, "worker"), connecting(certs, "scheduler"))
    handshake(listening(certs, "worker"), connecting(certs, "worker"))


def test_a_certificate_of_another_ca_is_refused_either_way(certs, other_ca):
    with pytest.raises(ssl.SSLError):
        handshake(listening(certs, "scheduler"), connecting(other_ca, "client"))
    with pytest.raises(ssl.SSLError):
        handshake(listening(certs, "scheduler"), connecting(other_ca, "worker"))
    with pytest.raises(ssl.SSLError):  # a worker does not join a scheduler of another CA
        handshake(listening(other_ca, "scheduler"), connecting(certs, "worker"))


def test_a_self_signed_client_is_refused(certs):
    self_signed = Security.temporary().get_connection_args("client")["ssl_context"]
    with pytest.raises(ssl.SSLError):
        handshake(listening(certs, "scheduler"), self_signed)


def test_the_client_key_cannot_pose_as_the_scheduler(certs):
    """The course host's certificate is for connecting only: a stolen one cannot serve workers a fake scheduler."""
    client_as_server = Security(
        tls_ca_file=str(certs / "ca.crt"),
        tls_scheduler_cert=str(certs / "client.crt"),
        tls_scheduler_key=str(certs / "client.key"),
    ).get_listen_args("scheduler")["ssl_context"]
    with pytest.raises(ssl.SSLError):
        handshake(client_as_server, connecting(certs, "worker"))


def test_cluster_certs_does_not_overwrite_without_force(tmp_path, capsys):
    folder = tmp_path / "certs"
    assert cli.main(["cluster-certs", str(folder)]) == 0
    before = (folder / "client.crt").read_bytes()
    assert cli.main(["cluster-certs", str(folder)]) == 1
    assert "--force" in capsys.readouterr().err
    assert (folder / "client.crt").read_bytes() == before
    assert cli.main(["cluster-certs", str(folder), "--force"]) == 0
    assert (folder / "client.crt").read_bytes() != before
    assert stat.S_IMODE((folder / "client.key").stat().st_mode) == 0o600


def test_the_kit_s_client_refuses_a_key_others_can_read(certs, tmp_path):
    copy = shutil.copytree(certs, tmp_path / "copy")
    (copy / "client.key").chmod(0o644)
    with pytest.raises(tls.ClusterError, match="chmod 600"):
        tls.client_security(copy)
    with pytest.raises(tls.ClusterError, match="cluster-certs"):
        tls.client_security(tmp_path / "nothing-here")


ADDRESSES = {  # address -> (without the opt-in, with --allow-plain-tcp-on-loopback): the scheme used, or None: refused
    "tls://grader1.example.org:8786": ("tls", "tls"),
    "tls://10.1.2.3:8786": ("tls", "tls"),
    "tcp://127.0.0.1:8786": (None, "tcp"),
    "tcp://127.8.9.10:1": (None, "tcp"),
    "tcp://[::1]:8786": (None, "tcp"),
    "localhost:8786": (None, "tcp"),  # no scheme: Dask's default, plain TCP
    "127.0.0.1:8786": (None, "tcp"),
    "tcp://10.1.2.3:8786": (None, None),
    "tcp://grader1.example.org:8786": (None, None),  # a name may resolve anywhere
    "tcp://0.0.0.0:8786": (None, None),
    "tcp://[::]:1": (None, None),
    "ws://127.0.0.1:8786": (None, None),
}


@pytest.mark.parametrize("address", ADDRESSES)
def test_only_tls_passes_and_plain_tcp_only_on_loopback_with_the_opt_in(address):
    for allow, expected in zip((False, True), ADDRESSES[address]):
        if expected:
            assert tls.checked_address(address, allow_plain_tcp_on_loopback=allow) == expected
        else:
            with pytest.raises(tls.ClusterError, match="tls://"):
                tls.checked_address(address, allow_plain_tcp_on_loopback=allow)


def test_the_certificates_never_travel_with_the_course(tmp_path, certs):
    root = tmp_path / "course"
    shutil.copytree(course.ROOT / "cnnkit", root / "cnnkit", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(certs, root / "cluster-certs")
    with tarfile.open(fileobj=io.BytesIO(course_bundle(root)[1])) as bundle:
        assert not [name for name in bundle.getnames() if "cluster-certs" in name or name.endswith(".key")]


# ---- a real cluster over TLS on loopback ----


class TlsCluster(DaskCluster):
    """`dask scheduler` and two `dask worker`s started with the recipe of docs/parallel.md, on loopback."""

    def __init__(self, base, certs):
        super().__init__(base)
        self.certs = certs
        self.address = f"tls://127.0.0.1:{self.port}"
        self.env["DASK_DISTRIBUTED__COMM__REQUIRE_ENCRYPTION"] = "True"

    def tls_options(self, role, certs=None):
        certs = certs or self.certs
        paths = (certs / "ca.crt", certs / f"{role}.crt", certs / f"{role}.key")
        return [
            part
            for option, path in zip(("--tls-ca-file", "--tls-cert", "--tls-key"), paths)
            for part in (option, str(path))
        ]

    def start(self):
        """The scheduler and workers of docs/parallel.md's recipe, bound to loopback."""
        recipe = f"--protocol tls --host 127.0.0.1 --port {self.port} --dashboard-address 127.0.0.1:0".split()
        self.spawn("scheduler", "scheduler", *recipe, *self.tls_options("scheduler"))
        for index in (1, 2):
            self.spawn_worker(f"worker-{index}", self.address, self.tls_options("worker"))
        with Client(self.address, security=security(self.certs), timeout="60s") as client:
            client.wait_for_workers(2, timeout=90)

    def spawn_worker(self, name, address, options, *extra):
        local = str(self.base / name / "local")
        recipe = "--nthreads 1 --no-dashboard --dashboard-address 127.0.0.1:0 --host 127.0.0.1".split()
        self.spawn(name, "worker", address, *recipe, "--local-directory", local, *options, *extra)
        return self.processes[-1]

    def handshake_failures(self):
        """The scheduler's log lines for refused TLS handshakes, in order."""
        log = (self.base / "scheduler" / "log.txt").read_text(errors="replace")
        return [line for line in log.splitlines() if "TLS handshake failed" in line]

    def listening(self):
        """Every address a process of the cluster listens on."""
        found = set()
        for process in self.processes:
            parent = psutil.Process(process.pid)
            for member in (parent, *parent.children(recursive=True)):
                found |= {c.laddr.ip for c in member.net_connections(kind="inet") if c.status == psutil.CONN_LISTEN}
        return found

    def workers(self):
        with Client(self.address, security=security(self.certs), timeout="20s") as client:
            return client.scheduler_info()["workers"]


@pytest.fixture(scope="module")
def tls_cluster(tmp_path_factory, certs):
    cluster = TlsCluster(tmp_path_factory.mktemp("tls-dask"), certs)
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop()


def kit(root, *args, env=None):
    """`python -m cnnkit autograde ...` in the course; the CompletedProcess."""
    full_env = {k: v for k, v in os.environ.items() if k != "CNNKIT_CLUSTER_CERTS"}
    full_env["PATH"] = f"{BIN}{os.pathsep}{os.environ['PATH']}"
    return subprocess.run(
        [sys.executable, "-m", "cnnkit", "autograde", *args],
        cwd=root,
        env={**full_env, **(env or {})},
        capture_output=True,
        text=True,
        timeout=600,
    )


def sample_course(released_course, root, client_certs=None):
    """A course with the three samples submitted; the client's files in cluster-certs/ if given."""
    clone_course(released_course, root)
    samples.write_samples(root)
    if client_certs is not None:
        (root / "cluster-certs").mkdir(mode=0o700)
        for name in ("ca.crt", "client.crt", "client.key"):
            shutil.copy2(client_certs / name, root / "cluster-certs" / name)
    return root


def test_every_address_of_the_cluster_is_tls_on_loopback(tls_cluster):
    workers = tls_cluster.workers()
    assert len(workers) == 2
    for address, info in workers.items():
        assert address.startswith("tls://127.0.0.1:") and info["nanny"].startswith("tls://127.0.0.1:")
    assert tls_cluster.listening() == {"127.0.0.1"}  # comms and HTTP servers alike


def attacker_context(certs=None, role="client"):
    """A TLS client context that trusts any server, with the given certificate or none."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    if certs is not None:
        context.load_cert_chain(certs / f"{role}.crt", certs / f"{role}.key")
    return context


def refused_at_handshake(cluster, context):
    """Connect with context and say hello in Dask's framing; the scheduler's logged reason for refusing it.

    The attacker sees only a closed connection (or an alert, depending on timing); the scheduler's
    log says why: the reason is the check that stopped it, not a slow machine.
    """
    before = cluster.handshake_failures()
    with socket.create_connection(("127.0.0.1", cluster.port), timeout=30) as raw:
        try:
            with context.wrap_socket(raw) as tls_socket:
                tls_socket.sendall(b"\x00" * 16)
                assert tls_socket.recv(1) == b"", "the scheduler answered"
        except (ssl.SSLError, ConnectionError):
            pass
    deadline = time.monotonic() + 20
    while len(cluster.handshake_failures()) == len(before) and time.monotonic() < deadline:
        time.sleep(0.2)
    return "\n".join(cluster.handshake_failures()[len(before) :])


def test_a_client_without_the_cluster_s_certificate_is_refused(tls_cluster, other_ca, tmp_path):
    """At the TLS layer with the scheduler's own reason, then as an attacker would try it, with a Dask client."""
    self_signed = tmp_path / "self-signed"
    self_signed.mkdir()
    temporary = Security.temporary()
    (self_signed / "client.crt").write_text(temporary.tls_client_cert)
    (self_signed / "client.key").write_text(temporary.tls_client_key)
    assert "PEER_DID_NOT_RETURN_A_CERTIFICATE" in refused_at_handshake(tls_cluster, attacker_context())
    for certs, role in ((other_ca, "client"), (other_ca, "worker"), (self_signed, "client")):
        assert "CERTIFICATE_VERIFY_FAILED" in refused_at_handshake(tls_cluster, attacker_context(certs, role))
    with socket.create_connection(("127.0.0.1", tls_cluster.port), timeout=30) as plain:  # plain TCP, Dask's framing
        plain.sendall(b"\x00" * 16)
        try:
            assert plain.recv(1) == b""  # closed without a word
        except ConnectionResetError:
            pass
    with pytest.raises(REFUSED):
        with Client(tls_cluster.address, security=security(other_ca), timeout="3s") as client:
            client.run(os.getpid)  # what an attacker wants: code on every worker
    with pytest.raises(REFUSED):
        with Client(f"tcp://127.0.0.1:{tls_cluster.port}", timeout="3s") as client:
            client.run(os.getpid)
    assert len(tls_cluster.workers()) == 2  # the honest client gets in; the cluster is unharmed


def test_the_kit_grades_through_the_tls_cluster_while_rogue_workers_are_kept_out(
    tls_cluster, other_ca, released_course, tmp_path_factory
):
    """cluster-certs/ in the course root is the default place of the client's files."""
    root = sample_course(released_course, tmp_path_factory.mktemp("tls-course"), tls_cluster.certs)
    plain_address = tls_cluster.address.replace("tls://", "tcp://")
    failures = len(tls_cluster.handshake_failures())
    rogues = [
        tls_cluster.spawn_worker(
            "rogue-other-ca", tls_cluster.address, tls_cluster.tls_options("worker", other_ca), "--death-timeout", "15"
        ),
        tls_cluster.spawn_worker("rogue-plain", plain_address, [], "--death-timeout", "15"),
    ]
    result = kit(root, "--scheduler", tls_cluster.address)
    assert result.returncode == 0, result.stdout + result.stderr
    for student, (_, expected) in samples.SAMPLES.items():
        assert scores.cell_scores(db_url(root), student) == pytest.approx(expected), student
    for rogue in rogues:
        assert rogue.wait(timeout=60) != 0  # never admitted: it gave up
    assert len(tls_cluster.workers()) == 2
    assert len(tls_cluster.handshake_failures()) > failures  # kept out by TLS, not by chance
    for name in ("rogue-other-ca", "rogue-plain"):
        assert not list((tls_cluster.base / name / "local").rglob("course-*.tar.gz")), name  # no course reached it


def test_the_kit_refuses_plain_tcp_with_a_message_before_touching_anything(tls_cluster, released_course, tmp_path):
    root = sample_course(released_course, tmp_path / "course")
    started = time.perf_counter()
    result = kit(root, "--scheduler", f"tcp://127.0.0.1:{tls_cluster.port}")  # loopback, not opted in
    message = result.stdout + result.stderr
    assert result.returncode != 0 and "plain TCP is refused" in message, message
    assert "cluster-certs" in message and "--allow-plain-tcp-on-loopback" in message, message
    assert time.perf_counter() - started < 30  # refused before any connection attempt
    # Nothing was touched: no backup of the gradebook, no autograded folder.
    assert not (root / "backups").exists() and not (root / "autograded").exists()


def refusal(root, scheduler, **options):
    """What the coordinator says when it refuses a cluster (the first thing `autograde` decides), or None."""
    args = argparse.Namespace(dask=False, scheduler=scheduler, tls=None, allow_plain_tcp_on_loopback=False)
    try:
        coordinator.cluster_security(argparse.Namespace(**{**vars(args), **options}), root)
    except SystemExit as refused:
        return str(refused)
    return None


def test_the_coordinator_refuses_every_unsafe_cluster_address(certs, tmp_path, monkeypatch):
    monkeypatch.delenv(tls.FOLDER_VARIABLE, raising=False)
    assert "plain TCP" in refusal(tmp_path, "127.0.0.1:8786")  # Dask's default scheme is plain TCP
    assert "not on a loopback address" in refusal(tmp_path, "tcp://10.1.2.3:8786", allow_plain_tcp_on_loopback=True)
    assert "not on a loopback address" in refusal(tmp_path, "tcp://0.0.0.0:8786", allow_plain_tcp_on_loopback=True)
    assert "tls:// only" in refusal(tmp_path, "ws://127.0.0.1:8786")
    assert "No client certificate" in refusal(tmp_path, "tls://grader1:8786")  # no cluster-certs/ here
    assert refusal(tmp_path, "tcp://127.0.0.1:8786", allow_plain_tcp_on_loopback=True) is None
    assert refusal(tmp_path, "tls://grader1:8786", tls=certs) is None
    monkeypatch.setenv(tls.FOLDER_VARIABLE, str(certs))
    assert refusal(tmp_path, "tls://grader1:8786") is None


def test_the_local_dask_cluster_speaks_tls_on_loopback_only():
    from cnnkit.scale.dask import local_cluster

    with local_cluster(1) as cluster:
        assert cluster.scheduler_address.startswith("tls://127.0.0.1:")
        with Client(cluster, security=cluster.security, timeout="30s") as client:
            client.wait_for_workers(1, timeout=60)
            assert all(address.startswith("tls://127.0.0.1:") for address in client.scheduler_info()["workers"])
        with pytest.raises(REFUSED):
            with Client(cluster.scheduler_address.replace("tls://", "tcp://"), timeout="3s"):
                pass
        with pytest.raises(REFUSED):
            with Client(cluster.scheduler_address, security=Security.temporary(), timeout="3s"):
                pass


def test_no_process_of_the_cluster_is_left(tls_cluster):
    """Runs last: the fixture's processes stop, and none outlives them."""
    tls_cluster.stop()
    assert wait_until_gone([tls_cluster.base, tls_cluster.address]) == []
