"""The assignment's specification, read by everything else.

- ``parts``: which function is core and which optional; grade ids.
- ``reference``: the trusted implementations (never shipped to students).
- ``mistakes``: the known mistakes, each a model of a plausible slip, used to name a failure.
- ``notebook``: reading the master notebook, its solutions, and filling a release with answers.
- ``samples``: the sample submissions and the scores they must get.
- ``public_data``: builds public_cases.npz, what the student's self-check compares against.
"""
