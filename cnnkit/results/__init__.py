"""What people receive from a graded batch.

- ``totals``: the one place scores are summed per part, maxima taken and the late penalty applied.
- ``scores``: per-cell and per-part scores read back from the gradebook; the score table.
- ``export``: grades.csv (nbgrader export plugin, core and optional apart).
- ``lms``, ``roster``: Canvas and Moodle grade imports; the class roster with LMS ids.
- ``outcomes``: reads logs/autograde-outcomes.json (why a submission was not graded).
- ``run_summary``: one record per submission after autograde (graded, not graded and why), and its lines.
- ``report``: the instructor report (HTML, charts, CSV), a subpackage.
- ``csv_cells``: every CSV cell the kit writes, neutralised against formula injection (OWASP).
"""
