"""Autograde on a Dask cluster: the kit's grading processes, run by Dask workers anywhere.

``python -m cnnkit.scale.parallel autograde --scheduler tcp://host:8786`` (or ``--dask`` for a
``distributed.LocalCluster`` on this machine) sends every submission to the cluster as one
task. Workers need this repository's requirements installed, and nothing else of it:

- a worker plugin (``InstallKit``, pickled by value, so a worker without cnnkit can load it)
  brings the course bundle (nbgrader_config.py, cnnkit, source/, release/) and the gradebook
  snapshot to every worker, present and future, once per batch; it unpacks the kit into
  the worker's own directory and puts it on the worker's sys.path;
- each task (a closure, so that the scheduler, which has no cnnkit either, can unpickle it)
  calls ``cnnkit.scale.parallel.grade_on_dask_worker`` with one submission (bytes):
  each worker thread keeps one long-lived grading process, which enforces the per-submission
  timeout and is replaced when it is killed or dies;
- outcomes come back as bytes and this process (the client) is the only writer of the
  gradebook, exactly as with the local pool.

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

import cloudpickle
from distributed import Client, LocalCluster, WorkerPlugin, as_completed

PLUGIN_NAME = "cnnkit-autograde"


def run(students, course, bundle, snapshot, timeout, args, stop):
    """Grade students on the cluster; yields outcomes as they finish (failures as outcomes too)."""
    from cnnkit.scale import parallel  # this module, even when the command runs as __main__

    cluster = None if args.scheduler else local_cluster(args.workers)
    client = Client(args.scheduler or cluster, timeout="60s")
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
                outcome = parallel.failure(futures[future], parallel.ERROR, f"Dask: {type(error).__name__}: {error}")
            yield outcome
            if stop.is_set():
                client.cancel(list(futures))
                return
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def local_cluster(workers):
    """A LocalCluster of single-threaded worker processes (default: one per core)."""
    count = workers or len(os.sched_getaffinity(0))
    return LocalCluster(
        n_workers=count, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=logging.ERROR
    )


def install_kit(client, bundle, snapshot):
    """Register InstallKit on the cluster; its class and code travel by value (cloudpickle)."""
    module = sys.modules[__name__]
    cloudpickle.register_pickle_by_value(module)
    try:
        client.register_plugin(InstallKit(bundle, snapshot), name=PLUGIN_NAME)
    finally:
        cloudpickle.unregister_pickle_by_value(module)


def task_function():
    """The task: cnnkit.scale.parallel.grade_on_dask_worker, as the worker imports it (from InstallKit's kit).

    A local function, so the task graph travels by value (distributed falls back to cloudpickle
    for what pickle cannot name): the scheduler unpickles the graph and has no cnnkit at all.
    """

    def grade(job, timeout, bundle_digest, snapshot_digest):
        from cnnkit.scale.parallel import grade_on_dask_worker

        return grade_on_dask_worker(job, timeout, bundle_digest, snapshot_digest)

    return grade


class InstallKit(WorkerPlugin):
    """On each worker: the course bundle and gradebook snapshot as files, cnnkit importable.

    Runs inside the worker, so it uses the standard library only. Files go to
    <worker local directory>/cnnkit-grading/ (a name that cannot be imported as a package:
    the worker's directory is on its sys.path).
    """

    def __init__(self, bundle, snapshot):
        self.bundle, self.snapshot = bundle, snapshot

    def setup(self, worker):
        base = os.path.join(worker.local_directory, "cnnkit-grading")
        os.makedirs(base, exist_ok=True)
        bundle_path = write_once(os.path.join(base, f"course-{self.bundle[0]}.tar.gz"), self.bundle[1])
        write_once(os.path.join(base, f"gradebook-{self.snapshot[0]}.db"), self.snapshot[1])
        use_kit(os.path.join(base, f"kit-{self.bundle[0]}"), bundle_path)


def write_once(path, data):
    """Write data to path atomically unless it is there already."""
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
        stale = sys.modules.get("cnnkit.scale.parallel")
        if stale is not None:
            stale._close_graders()
        for name in [n for n in sys.modules if n == "cnnkit" or n.startswith("cnnkit.")]:
            del sys.modules[name]
    if kit_dir in sys.path:
        sys.path.remove(kit_dir)
    sys.path.insert(0, kit_dir)
