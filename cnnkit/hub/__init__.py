"""The course on JupyterHub (issue 13).

Two parts:

- the deployment: the hub's configuration, accounts, the shared exchange and who sees what
  (``make hub``, docs/hub.md);
- the grading service: a hub service that grades each new submission in the exchange with the
  kit's grader, applies the course's submission policy (attempts, deadline, late penalty,
  extensions) and releases the student's feedback.
"""
