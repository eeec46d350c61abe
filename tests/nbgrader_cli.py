"""The `nbgrader` command for the tests: nbgrader's own entry point, jsonschema's RFC 3987 grammars built on first use.

Importing nbgrader imports jsonschema, which imports the optional rfc3987-syntax package, which compiles
some 36 grammars at import: about 1.2 s of CPU of every `nbgrader` command (measured 2.1 s against 0.9 s
for the import), and the suite runs well over a hundred of them. The kit's stand-in
(cnnkit.compat.skip_unused_slow_imports, which `python -m cnnkit` and every grading process use too) builds
the one parser jsonschema calls when it is first called, and validates exactly as the package does
(tests/scale/test_compat_scale.py). Everything else is the real command: `nbgrader` runs
nbgrader.apps.nbgraderapp.main the same way.

compat.py is loaded from this checkout under a private name, so that the kit nbgrader_config.py imports is
still the course folder's own copy (some tests change it); it imports nothing but the standard library.
"""

import importlib.util
import sys
from pathlib import Path

del sys.path[0]  # this folder: the tests' packages (spec, sandbox, grading...) must not shadow anything
COMPAT = Path(__file__).resolve().parent.parent / "cnnkit" / "compat.py"
spec = importlib.util.spec_from_file_location("_tests_nbgrader_cli_compat", COMPAT)
compat = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compat)
compat.skip_unused_slow_imports()

from nbgrader.apps.nbgraderapp import main  # noqa: E402

sys.exit(main())
