"""Autograde on a Dask cluster: the kit's grading processes, run by Dask workers anywhere.

``python -m cnnkit autograde --scheduler tls://host:8786`` (or ``--dask`` for a
``distributed.LocalCluster`` on this machine) runs the grading engine's jobs (cnnkit.scale.engine)
on the cluster (``ClusterRunner``), one task per submission, sent as soon as the engine has it.
Workers need this repository's requirements installed, and nothing else of it:

- a worker plugin (``InstallKit``, pickled by value, so a worker without cnnkit can load it)
  brings the course bundle (nbgrader_config.py, cnnkit, source/, release/) and the gradebook
  snapshot to every worker, present and future, again whenever a job needs a newer one; it
  unpacks the kit into the worker's own directory and puts it on the worker's sys.path;
- each task (a closure, so that the scheduler, which has no cnnkit either, can unpickle it)
  calls ``cnnkit.scale.dask.grade_on_worker`` with one submission (bytes), from the kit
  InstallKit unpacked: each worker thread keeps one long-lived grading process
  (cnnkit.scale.pool.grade_here), which enforces the per-submission timeout and is replaced
  when it is killed or dies;
- outcomes come back as bytes and the client (the coordinator) is the only writer of the
  gradebook, exactly as with the local pool.

This module depends on the pool and the outcome only; the coordinator imports it and hands the
runner to the engine.
Parallelism is the cluster's: one grading process per worker thread. Start workers with
``--nthreads 1 --nworkers <cores>`` (more threads per worker also work: each thread has its
own grading process).
"""

import logging
import os
import shutil
import sys
import tarfile
import threading
import uuid
from pathlib import Path

import cloudpickle
from distributed import Client, LocalCluster, WorkerPlugin, get_worker

from cnnkit import compat
from cnnkit.compat import forget_package
from cnnkit.records.outcomes import ERROR, failure
from cnnkit.scale.pool import grade_here

PLUGIN_NAME = "cnnkit-autograde"
KIT_FOLDER = "cnnkit-grading"  # in a worker's local directory; not importable as a package name
POOL_MODULE = "cnnkit.scale.pool"  # where a worker's grading processes of an earlier kit are kept


class ClusterRunner:
    """The grading engine's jobs (cnnkit.scale.engine) run as Dask tasks, each finished one handed back.

    scheduler: an address, or None for a LocalCluster of `workers` processes; security: Dask's Security
    the client connects with (cnnkit.scale.tls; the coordinator checked the address), and for a
    LocalCluster the one all its processes use.
    """

    def __init__(self, scheduler, workers, security=None):
        self.scheduler, self.workers, self.security = scheduler, workers, security
        self.cluster = self.client = None
        self.installed = None  # (bundle digest, snapshot digest) InstallKit put on the workers
        self.futures = set()
        self.thread = None

    def start(self, engine):
        self.cluster = None if self.scheduler else local_cluster(self.workers, self.security)
        self.client = Client(self.scheduler or self.cluster, security=self.security, timeout="60s")
        self.thread = threading.Thread(target=self._serve, args=(engine,), daemon=True, name="dask-runner")
        self.thread.start()

    def _serve(self, engine):
        """Send each job to the cluster as it comes; its outcome goes back to the engine when its task ends."""
        grade = task_function()
        while not engine.stopped.is_set():
            work = engine.next_work()
            if work is not None:
                self._send(engine, grade, work)

    def _send(self, engine, grade, work):
        snapshot_digest = work.payload["snapshot_digest"]
        try:
            self._install(engine.bundle, snapshot_digest, work.payload["snapshot"])
            future = self.client.submit(
                grade,
                {**work.payload, "snapshot": None},
                engine.timeout,
                engine.bundle[0],
                snapshot_digest,
                key=f"autograde-{work.job.student}-{uuid.uuid4().hex[:8]}",
                pure=False,
            )
        except Exception as error:  # the cluster refused the job: that submission only
            engine.hand_back(work.job, failure(work.job.student, ERROR, f"Dask: {type(error).__name__}: {error}"))
            return
        self.futures.add(future)
        future.add_done_callback(lambda done: self._finished(engine, work.job, done))

    def _finished(self, engine, job, future):
        self.futures.discard(future)
        try:
            outcome = future.result()
        except Exception as error:  # a lost worker, a serialization problem: that submission only
            outcome = failure(job.student, ERROR, f"Dask: {type(error).__name__}: {error}")
        engine.hand_back(job, outcome)

    def _install(self, bundle, snapshot_digest, snapshot_path):
        """Put the course bundle and this gradebook snapshot on every worker (again only when one changed)."""
        if self.installed != (bundle[0], snapshot_digest):
            snapshot = (snapshot_digest, Path(snapshot_path).read_bytes())
            install_kit(self.client, (bundle[0], Path(bundle[1]).read_bytes()), snapshot)
            self.installed = (bundle[0], snapshot_digest)

    def refresh(self, engine):
        """Nothing to do: the next job installs the new bundle."""

    def close(self):
        if self.client is not None:
            if self.futures:
                self.client.cancel(list(self.futures))
            self.client.close()
        if self.cluster is not None:
            self.cluster.close()
        if self.thread is not None:
            self.thread.join(timeout=5)


def local_cluster(workers, security=None):
    """A LocalCluster of single-threaded worker processes (default: one per core), over TLS on loopback only.

    security: a Security with a certificate for every role (default: tls.local_security(), a
    throwaway self-signed one), so that another user of this machine cannot connect either.
    """
    from cnnkit.scale import tls

    count = workers or len(os.sched_getaffinity(0))
    return LocalCluster(
        n_workers=count,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        protocol="tls://",
        security=security or tls.local_security(),
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )


def install_kit(client, bundle, snapshot):
    """Register InstallKit on the cluster; its class and code travel by value (cloudpickle).

    So does compat's forget_package, which it calls: the worker may have no cnnkit, or an older one.
    """
    modules = [sys.modules[__name__], compat]
    for module in modules:
        cloudpickle.register_pickle_by_value(module)
    try:
        client.register_plugin(InstallKit(bundle, snapshot), name=PLUGIN_NAME)
    finally:
        for module in modules:
            cloudpickle.unregister_pickle_by_value(module)


def task_function():
    """The task: grade_on_worker, as the worker imports it (from InstallKit's kit).

    A local function, so the task graph travels by value (distributed falls back to cloudpickle
    for what pickle cannot name): the scheduler unpickles the graph and has no cnnkit at all.
    """

    def grade(job, timeout, bundle_digest, snapshot_digest):
        from cnnkit.scale.dask import grade_on_worker

        return grade_on_worker(job, timeout, bundle_digest, snapshot_digest)

    return grade


def grade_on_worker(job, timeout, bundle_digest, snapshot_digest):
    """A Dask task: grade job with the bundle and snapshot that InstallKit put on this worker."""
    base = Path(get_worker().local_directory) / KIT_FOLDER
    job = {**job, "snapshot": str(base / f"gradebook-{snapshot_digest}.db")}
    return grade_here(base / f"course-{bundle_digest}.tar.gz", base, job, timeout)


class InstallKit(WorkerPlugin):
    """On each worker: the course bundle and gradebook snapshot as files, cnnkit importable.

    Runs inside the worker, so it uses the standard library and what travels with it only.
    Files go to <worker local directory>/cnnkit-grading/ (a name that cannot be imported as a
    package: the worker's directory is on its sys.path).
    """

    def __init__(self, bundle, snapshot):
        self.bundle, self.snapshot = bundle, snapshot

    def setup(self, worker):
        base = os.path.join(worker.local_directory, KIT_FOLDER)
        os.makedirs(base, exist_ok=True)
        bundle_path = write_file_once(os.path.join(base, f"course-{self.bundle[0]}.tar.gz"), self.bundle[1])
        write_file_once(os.path.join(base, f"gradebook-{self.snapshot[0]}.db"), self.snapshot[1])
        use_kit(os.path.join(base, f"kit-{self.bundle[0]}"), bundle_path)


def write_file_once(path, data):
    """Write data to path atomically unless it is there already (transport.write_once, standard library only)."""
    if not os.path.exists(path):
        temporary = f"{path}.{os.getpid()}.{uuid.uuid4().hex}"
        with open(temporary, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    return path


def use_kit(kit_dir, bundle_path):
    """Make this worker import cnnkit from the bundle (forgetting a kit of an earlier batch)."""
    if not os.path.isdir(kit_dir):
        unpacked = f"{kit_dir}.{os.getpid()}.{uuid.uuid4().hex}"
        with tarfile.open(bundle_path) as tar:
            members = [m for m in tar.getmembers() if m.name == "cnnkit" or m.name.startswith("cnnkit/")]
            tar.extractall(unpacked, members=members, filter="data")
        try:
            os.rename(unpacked, kit_dir)
        except OSError:  # another worker process was first: use theirs
            shutil.rmtree(unpacked, ignore_errors=True)
    loaded = sys.modules.get("cnnkit")
    if loaded is not None and not (getattr(loaded, "__file__", None) or "").startswith(kit_dir + os.sep):
        stale = sys.modules.get(POOL_MODULE)
        if stale is not None:
            stale.close_thread_graders()
        forget_package("cnnkit")
    if kit_dir in sys.path:
        sys.path.remove(kit_dir)
    sys.path.insert(0, kit_dir)
