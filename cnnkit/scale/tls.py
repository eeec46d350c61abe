"""Mutual TLS for the grading cluster: only machines holding the course's certificates can join or connect.

Whoever reaches a Dask scheduler can run code on every worker (``Client.run``), read what the kit
ships there (the course bundle with the master notebook and its hidden tests, other students'
submissions) and send back forged results. So the kit grades on a cluster only over TLS with
certificates signed by a CA of the course's own (Dask's ``distributed.security.Security``, which
makes both ends present a certificate and checks it against that CA), and refuses plain TCP
unless the scheduler is on loopback and the instructor opted in.

``python -m cnnkit cluster-certs DIR`` (``create``) writes, into DIR:

- ``ca.crt``: the cluster's CA certificate; every host gets it. Its private key is never written:
  nobody, the instructor included, can sign another certificate for this cluster afterwards.
  To rotate, run the command again (``--force``) and hand out the new files.
- ``scheduler.crt``/``.key``, ``worker.crt``/``.key``: for the scheduler host and every grading host
  (they both serve and connect: TLS server and client use).
- ``client.crt``/``.key``: for the course host running ``python -m cnnkit autograde`` (client use
  only, so a stolen client key cannot pose as the scheduler or a worker).

Dask does not check host names (the certificates name roles, not hosts) nor tell the roles apart
once connected: any holder of a key of this cluster is trusted like the instructor. Keys are
written mode 0600 (in a folder of mode 0700 when the command creates it).

This module also decides which scheduler addresses the kit connects to (``checked_address``) and
builds the client's Security (``client_security``); ``local_security`` is for ``--dask``.
"""

import datetime
import ipaddress
import os
import stat
import tempfile
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

DEFAULT_FOLDER = "cluster-certs"  # in the course root: the client's default (never shipped: not a COURSE_FILE)
FOLDER_VARIABLE = "CNNKIT_CLUSTER_CERTS"  # another default place for the client's files
DEFAULT_DAYS = 400  # a term or two; then run cluster-certs again
CA_FILE = "ca.crt"
ROLES = {  # role -> what its certificate may be used for (checked by OpenSSL as the extended key usage)
    "scheduler": (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH),
    "worker": (ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH),
    "client": (ExtendedKeyUsageOID.CLIENT_AUTH,),
}
LOOPBACK_NAMES = ("localhost",)
HOW_TO_MAKE = "python -m cnnkit cluster-certs DIR"


class ClusterError(Exception):
    """The kit will not talk to this cluster, or cannot write the certificates; the message says why and what to do."""


# ---- making the certificates ----


def create(folder, days=DEFAULT_DAYS, force=False):
    """Write a fresh CA and the scheduler, worker and client certificates and keys into folder; the paths written.

    Refuses to replace existing files unless force (a new CA locks out every host holding the old files).
    """
    folder = Path(folder)
    names = [CA_FILE, *(f"{role}.{kind}" for role in ROLES for kind in ("crt", "key"))]
    existing = [name for name in names if (folder / name).exists()]
    if existing and not force:
        raise ClusterError(
            f"{folder} already holds {', '.join(existing)}: pass --force to replace them "
            "(every host then needs the new files)"
        )
    if not folder.is_dir():  # a folder of its own, for the owner only; an existing one keeps its mode
        folder.mkdir(mode=0o700, parents=True)
        os.chmod(folder, 0o700)
    now = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=5)  # tolerate clock skew
    until = now + datetime.timedelta(days=days)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_cert = ca_certificate(ca_key, now, until)
    written = [write_file(folder / CA_FILE, pem(ca_cert), 0o644)]
    for role, usages in ROLES.items():
        key = ec.generate_private_key(ec.SECP256R1())
        cert = role_certificate(role, usages, key, ca_cert, ca_key, now, until)
        written.append(write_file(folder / f"{role}.crt", pem(cert), 0o644))
        written.append(write_file(folder / f"{role}.key", private_pem(key), 0o600))
    return written


def ca_certificate(key, now, until):
    """The cluster's self-signed CA: may sign end certificates only (path length 0)."""
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cnnkit"), common_name("grading cluster CA")])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(key_usage(cert_sign=True), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )


def role_certificate(role, usages, key, ca_cert, ca_key, now, until):
    """An end certificate for one role, signed by the CA, usable only as usages say (server and/or client)."""
    return (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "cnnkit"), common_name(role)]))
        .issuer_name(ca_cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(until)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(key_usage(cert_sign=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage(list(usages)), critical=False)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(f"cnnkit-{role}")]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )


def common_name(text):
    return x509.NameAttribute(NameOID.COMMON_NAME, f"cnnkit {text}")


def key_usage(cert_sign):
    """A CA signs certificates; an end certificate signs handshakes (ECDSA: digital signature only)."""
    return x509.KeyUsage(
        digital_signature=not cert_sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )


def pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def private_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_file(path, data, mode):
    """Write data atomically with mode from the first byte (a key is never readable by others, not even briefly)."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(descriptor, mode)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


# ---- using them: which addresses, which Security ----


def checked_address(address, allow_plain_tcp_on_loopback):
    """The scheme to use for address ("tls" or "tcp"), or ClusterError saying why the kit will not connect.

    Parsed as Dask parses it (no scheme means plain TCP). Plain TCP passes only to a loopback IP
    address or "localhost" and only with the opt-in; every other scheme is refused.
    """
    from distributed.comm.addressing import parse_address, parse_host_port

    scheme, location = parse_address(address)
    if scheme == "tls":
        return scheme
    if scheme != "tcp":
        raise ClusterError(f"{address}: the kit grades on a Dask cluster over tls:// only. {tls_advice()}")
    host = parse_host_port(location)[0]
    if not is_loopback(host):
        raise ClusterError(
            f"{address}: plain TCP to a scheduler that is not on a loopback address: anyone who reaches it "
            f"could run code on the workers, read the hidden tests and forge scores. {tls_advice()}"
        )
    if not allow_plain_tcp_on_loopback:
        raise ClusterError(
            f"{address}: plain TCP is refused (every user of this machine could connect to it). {tls_advice()} "
            "For a scheduler on a loopback address of a single-user machine, --allow-plain-tcp-on-loopback allows it."
        )
    return scheme


def tls_advice():
    return (
        f"Create certificates with `{HOW_TO_MAKE}`, start the scheduler and workers with them "
        "(docs/parallel.md) and pass --scheduler tls://HOST:8786."
    )


def is_loopback(host):
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a host name: what it resolves to can change, so it is not taken as loopback
        return False


def certs_folder(explicit, root):
    """Where the client's files are: --tls DIR, else $CNNKIT_CLUSTER_CERTS, else cluster-certs/ in the course root."""
    return Path(explicit or os.environ.get(FOLDER_VARIABLE) or Path(root) / DEFAULT_FOLDER)


def client_security(folder):
    """Dask's Security for the course host: the client certificate of folder, encryption required.

    Refuses (ClusterError) when a file is missing or the key is readable by anyone but its owner.
    """
    from distributed.security import Security

    folder = Path(folder)
    paths = {"ca": folder / CA_FILE, "cert": folder / "client.crt", "key": folder / "client.key"}
    missing = [str(path) for path in paths.values() if not path.is_file()]
    if missing:
        raise ClusterError(
            f"No client certificate for the cluster: {', '.join(missing)} missing. Create them with "
            f"`{HOW_TO_MAKE}` and pass --tls DIR (or set {FOLDER_VARIABLE}, or use {DEFAULT_FOLDER}/ in the course root)."
        )
    if stat.S_IMODE(paths["key"].stat().st_mode) & 0o077:
        raise ClusterError(f"{paths['key']} is readable by other users: chmod 600 {paths['key']}")
    return Security(
        require_encryption=True,
        tls_ca_file=str(paths["ca"]),
        tls_client_cert=str(paths["cert"]),
        tls_client_key=str(paths["key"]),
    )


def local_security():
    """For --dask: a throwaway self-signed certificate, in memory, for every process of the local cluster."""
    from distributed.security import Security

    return Security.temporary()
