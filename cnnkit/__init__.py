"""cnnkit: the course kit's own package. The tree reads as the design, in layers: a package imports only
packages below it (tests/test_layers.py keeps it so), from the bottom up:

- ``cnnkit.course`` (where the course's files are) and ``cnnkit.sandbox`` (the bubblewrap kernel that
  runs student code; standard library only);
- ``cnnkit.compat``: every call into a private API of nbgrader or Jupyter, checked at start;
- ``cnnkit.records``: the hand-off records (verdicts, result records, integrity flags, outcomes,
  admission notes, packed folders), each with its name, format, writer and reader in one module;
- ``cnnkit.spec``: the assignment's specification: the graded functions (``cnnkit.spec.functions``, one
  module each: part, reference, known mistakes, case keys), the master notebook, the sample submissions,
  the scoring rule; ``cnnkit.policy``: the submission policy
  (attempts, deadline, late penalty) and the grading service's ledger;
- ``cnnkit.ingest``: everything a submission crosses before grading reads it (the exchange, collect,
  zip_collect, the admission gate);
- ``cnnkit.grading``: the steps that run inside nbgrader's autograde (contained execution, verify,
  scrub, integrity, sanitize);
- ``cnnkit.scale``: the one grading engine (warm grading processes, a queue of jobs, Dask) and the
  `autograde` command;
- ``cnnkit.results``: what people receive: score tables, grades.csv and LMS exports, the roster,
  the run summary and the instructor report;
- ``cnnkit.hub``: the course on JupyterHub: the deployment and the grading service;
- ``cnnkit.cli``: the one command line, ``cnnkit <command>`` once installed (``pip install -e .``) or
  ``python -m cnnkit <command>``; the Makefile wraps it.
"""
