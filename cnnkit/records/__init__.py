"""The kit's hand-off records: what one step writes and another reads, each defined in one module.

A record's name (its file name or MIME type), its format (type hints), its writer and its reader live
in one module, so that a reader cannot drift from its writer and no other module spells the name.
Nothing here imports another part of the kit: every part may hand records to any other.

- ``result``: the checker's result record (RESULT_MIME), one per case, written in the student's kernel;
  read back, bounded and rebuilt, before the verdict trusts any of it.
- ``verdict``: a check cell's verdict (VERDICT_MIME), written by VerifyResults outside the kernel.
- ``probe``: the integrity probe (PROBE_MIME): the code it runs in the kernel after the last cell, and
  its reader.
- ``integrity``: the integrity record beside each autograded notebook: the flags for the instructor.
- ``marker``: the marker of an autograded folder whose grading finished.
- ``outcomes``: what grading one submission produced (``Outcome``), the batch's log and its outcomes
  file (the statuses, why a submission was not graded).
- ``admission``: what the admission gate refused from a submission, and why (in its quarantine folder).
- ``packed``: a folder as bytes, as folders travel between processes and are kept in the ledger.
- ``writer``: how every record file is written (a link planted under its name is replaced, never
  written through).
"""
