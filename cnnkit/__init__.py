"""cnnkit: the course kit's own package. The tree reads as the design:

- ``cnnkit.spec``: the assignment's specification: per function, its arguments, outputs, cache,
  cases, reference and known mistakes; the master notebook and the sample submissions made from it.
- ``cnnkit.grading``: the steps that run inside nbgrader's autograde (contained execution, verify,
  scrub, integrity), the batch's backup and markers, the time policy, and the one compat module
  that holds every call into nbgrader's or Jupyter's private API.
- ``cnnkit.sandbox``: the bubblewrap kernel that runs student code.
- ``cnnkit.scale``: grading a class fast: coordinator, grading processes, transport, the gradebook
  writer, Dask.
- ``cnnkit.results``: what people receive: score tables, grades.csv and LMS exports, the roster,
  the run summary and the instructor report.
- ``cnnkit.cli``: the one command line, ``python -m cnnkit <command>``; the Makefile wraps it.

``cnnkit.course`` says where the course's files are.
"""
