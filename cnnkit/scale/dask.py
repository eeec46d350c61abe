"""Autograde on a Dask cluster: the kit's grading processes, run by Dask workers anywhere.

``python -m cnnkit autograde --scheduler tcp://host:8786`` (or ``--dask`` for a
``distributed.LocalCluster`` on this machine) sends every submission to the cluster as one
task. Workers need this repository's requirements installed, and nothing else of it:

- a worker plugin (``InstallKit``, pickled by value, so a worker without cnnkit can load it)
  brings the course bundle (nbgrader_config.py, cnnkit, source/, release/) and the gradebook
  snapshot to every worker, present and future, once per batch; it unpacks the kit into
  the worker's own directory and puts it on the worker's sys.path;
- each task (a closure, so that the scheduler, which has no cnnkit either, can unpickle it)
  calls ``cnnkit.scale.dask.grade_on_worker`` with one submission (bytes), from the kit
  InstallKit unpacked: each worker thread keeps one long-lived grading process
  (cnnkit.scale.pool.grade_here), which enforces the per-submission timeout and is replaced
  when it is killed or dies;
- outcomes come back as bytes and the client (the coordinator) is the only writer of the
  gradebook, exactly as with the local pool.

This module depends on the pool, the transport and the outcome only; the coordinator imports it.
Parallelism is the cluster's: one grading process per worker thread. Start workers with
``--nthreads 1 --nworkers <cores>`` (more threads per worker also work: each thread has its
own grading process).
"""

import logging
import os
import shutil
import sys
import tarfile
import uuid
from pathlib import Path

import cloudpickle
from distributed import Client, LocalCluster, WorkerPlugin, as_completed, get_worker

from cnnkit import compat
from cnnkit.compat import forget_package
from cnnkit.scale.outcome import ERROR, failure
from cnnkit.scale.pool import grade_here

PLUGIN_NAME = "cnnkit-autograde"
KIT_FOLDER = "cnnkit-grading"  # in a worker's local directory; not importable as a package name
POOL_MODULE = "cnnkit.scale.pool"  # where a worker's grading processes of an earlier kit are kept


def run(students, course, bundle, snapshot, timeout, args, stop, security=None):
    """Grade students on the cluster; yields outcomes as they finish (failures as outcomes too).

    course: a cnnkit.scale.course_view.Course (makes the jobs); bundle and snapshot: (digest, bytes);
    args.scheduler (an address, or None for a LocalCluster of args.workers processes); stop: an Event;
    security: Dask's Security the client connects with (cnnkit.scale.tls; the coordinator checked the
    address), and for a LocalCluster the one all its processes use.
    """
    cluster = None if args.scheduler else local_cluster(args.workers, security)
    client = Client(args.scheduler or cluster, security=security, timeout="60s")
    try:
        install_kit(client, bundle, snapshot)
        grade = task_function()
        futures = {
            client.submit(
                grade,
                course.job(student, None),
                timeout,
                bundle[0],
                snapshot[0],
                key=f"autograde-{student}-{uuid.uuid4().hex[:8]}",
                pure=False,
            ): student
            for student in students
        }
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except Exception as error:  # a lost worker, a serialization problem: that submission only
                outcome = failure(futures[future], ERROR, f"Dask: {type(error).__name__}: {error}")
            yield outcome
            if stop.is_set():
                client.cancel(list(futures))
                return
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


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
