"""Grading a whole class fast, with the same results as stock ``nbgrader autograde`` (docs/parallel.md).

- ``engine``: the one grading engine (jobs in a queue, warm grading processes, each job's outcome as soon
  as it is done), used by `make autograde`, the hub's grading service and the Dask path. It is the
  package's public module: the hub imports nothing else of it.
- ``coordinator``: the `autograde` command: selects the submissions, submits them to the engine, writes
  the batch's log and outcomes file (cnnkit.records.outcomes), summarizes.
- ``course_start``: the course before grading starts (gradebook backup, admission, unfinished work
  cleared), and nbgrader's hooks that do the same for stock autograde (nbgrader_config.py).
- ``course_view``: the real course as stock nbgrader sees it: config, selection rules, recording.
- ``gradebook_writer``: reads what nbgrader wrote in a scratch gradebook, writes it into the real one.
- ``pool``: grading processes seen from outside (start, job, timeout, kill) and the local pool.
- ``worker``: inside a grading process: stock `nbgrader autograde` in a scratch course, per job.
- ``transport``: the course bundle and the gradebook snapshot as bytes (folders travel as
  cnnkit.records.packed bytes).
- ``cause``: why nbgrader failed on a submission (the exception, its step and cell), for the outcome.
- ``progress``: the progress bar. ``processes``: killing process trees, dying with the parent.
- ``dask``: the same grading processes on a Dask cluster; ``tls``: the cluster's certificates.

Imports go one way: coordinator -> engine -> course_view, pool, dask -> worker side (pool, transport);
nothing imports the coordinator but the command line.
"""
