"""Everything a submission crosses before grading reads it.

- ``exchange``: submissions as they arrive in nbgrader's exchange: inbound names, one private snapshot
  of each (no link followed, within limits), the server's official time, and the policy's verdict on it;
  read by the hub's grading service and by collect alike.
- ``collect``: nbgrader collect from the exchange, bringing in per student the submission the course's
  policy makes official (the grading service's ledger, or the same rule applied to the inbound folders).
- ``zip_collect``, ``zip_owners``: nbgrader zip_collect's extractor and collector plugins (LMS archives: limits, no
  links or special bits, each file attributed to its uploader, ids validated).
- ``admit``: the gate every submission folder passes at the start of every autograde batch: the
  assignment's notebooks, nbgrader's records (validated) and the extra files the instructor allows (never
  one a browser runs or Python imports), within size limits; the rest refused with the reason.
- ``quarantine``: where the refused entries go: one bounded set per student, under inert names, made
  without recursion. ``names``: names shown safely in logs and notes; which names a browser runs.
- ``safe_release_feedback``: nbgrader release_feedback, each student on their own, never through a link.

The notebook itself is rebuilt on the release's cells inside autograde (cnnkit.grading.rebuild).
"""
