"""What people receive from a graded batch.

- ``scores``: per-cell and per-part scores read back from the gradebook; the score table.
- ``export``: grades.csv (nbgrader export plugin, core and optional apart).
- ``lms``, ``roster``: Canvas and Moodle grade imports; the class roster with LMS ids.
- ``run_summary``: one line per submission after autograde (graded, not graded and why).
- ``report``: the instructor report (HTML, charts, CSV).
"""
