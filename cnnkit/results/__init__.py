"""What people receive from a graded batch. Totals come from the one scoring rule (cnnkit.spec.totals)
and what the batch left from the kit's records (cnnkit.records).

- ``scores``: per-cell and per-part scores read back from the gradebook; the score table.
- ``export``: grades.csv (nbgrader export plugin, core and optional apart).
- ``lms``, ``roster``: Canvas and Moodle grade imports; the class roster with LMS ids.
- ``run_summary``: one record per submission after autograde (graded, not graded and why), and its lines.
- ``report``: the instructor report (HTML, charts, CSV), a subpackage.
- ``csv_cells``: every CSV cell the kit writes, neutralised against formula injection (OWASP).
"""
