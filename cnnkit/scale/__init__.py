"""Grading a whole class fast, with the same results as stock ``nbgrader autograde`` (docs/parallel.md).

- ``coordinator``: the `autograde` command: selects, dispatches, records, summarizes (one writer).
- ``course_view``: the real course as stock nbgrader sees it: config, selection rules, recording.
- ``gradebook_writer``: reads what nbgrader wrote in a scratch gradebook, writes it into the real one.
- ``pool``: grading processes seen from outside (start, job, timeout, kill) and the local pool.
- ``worker``: inside a grading process: stock `nbgrader autograde` in a scratch course, per job.
- ``transport``: folders, the course bundle and the gradebook snapshot as bytes.
- ``outcome``: what grading one submission produced; the log and logs/autograde-outcomes.json.
- ``cause``: why nbgrader failed on a submission (the exception, its step and cell), for the outcome.
- ``progress``: the progress bar. ``processes``: killing process trees, dying with the parent.
- ``dask``: the same grading processes on a Dask cluster.

Imports go one way: coordinator -> course_view, pool, dask -> worker side (pool, transport,
outcome); nothing imports the coordinator but the command line.
"""
