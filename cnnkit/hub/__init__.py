"""The course on JupyterHub (docs/hub.md, docs/grading-on-submit.md). Two parts:

- the deployment (``make hub``): ``deploy`` prepares the machine (groups, the exchange, the course
  directory, each role's Jupyter config), ``launch`` starts the proxy and the hub, ``layout`` says
  where everything is and who owns it, ``unix`` the accounts and their rights, ``accounts`` the class's
  accounts, ``jupyterhub_config`` the hub's own configuration;
- the grading service (``python -m cnnkit.hub.service``, run by the hub): ``service`` is its command
  (the loop, the log, the web pages of ``site``); at each poll ``grader`` takes each new submission from
  the exchange (cnnkit.ingest.exchange), applies the course's policy (cnnkit.policy), grades it on the
  grading engine (cnnkit.scale.engine) and releases the student's feedback (``feedback``); ``status``
  shows each student their attempts, ``class_view`` the graders the class.

The hub's code is the top of the kit: nothing else imports it.
"""
