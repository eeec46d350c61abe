"""Process lifetimes: a grading process and its kernels die together, and never outlive the coordinator."""

import os
import threading
import time


def kill_tree(pid):
    """SIGKILL pid and every process under it (kernels run in sessions of their own)."""
    import psutil  # a dependency of ipykernel, so present wherever grading runs; slow to import

    try:
        root = psutil.Process(pid)
        processes = [*root.children(recursive=True), root]
    except psutil.NoSuchProcess:
        return
    for process in processes:
        try:
            process.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(processes, timeout=10)


def watch_parent(interval=1.0):
    """Kill this process and its kernels when the process that started it is gone.

    A coordinator killed with SIGKILL cannot clean up; without this, its grading processes
    would finish their submission (or hang with it) as orphans.
    """
    parent = os.getppid()

    def watch():
        while os.getppid() == parent:
            time.sleep(interval)
        kill_tree(os.getpid())

    threading.Thread(target=watch, daemon=True, name="watch-parent").start()
