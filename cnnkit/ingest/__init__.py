"""Everything a submission crosses before grading reads it.

- ``zip_collect``, ``zip_owners``: nbgrader zip_collect's extractor and collector plugins (LMS archives: limits, no
  links or special bits, each file attributed to its uploader, ids validated).
- ``collect``: nbgrader collect from the exchange, copying links as links (never their targets).
- ``admit``: the gate every submission folder passes at the start of every autograde batch: regular
  files only, nothing importable, none of the kit's record names, size limits; the rest moved to
  quarantine/ with the reason.

The notebook itself is rebuilt on the release's cells inside autograde (cnnkit.grading.rebuild).
"""
