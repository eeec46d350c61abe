"""How every record file of the kit is written: ``write_record(path, data)``.

Records are written where a student's files may be (an autograded folder holds what their kernel
left, the exchange is shared), so a link planted under a record's name must be replaced, never
written through; and a reader must see the old record or the new one, never half of one. So the
data goes into a new file beside it (created with O_EXCL | O_NOFOLLOW), which is then renamed over it.
"""

import os
import threading
from pathlib import Path

DEFAULT_MODE = 0o644


def write_record(path, data, mode=None):
    """Write data (str, as UTF-8, or bytes) to path through a new file and a rename; returns path.

    mode: the file's exact mode (whatever the umask); None: 0644 as the umask allows.
    """
    path = Path(path)
    partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, mode or DEFAULT_MODE)
    if mode is not None:
        os.fchmod(descriptor, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data.encode() if isinstance(data, str) else data)
    os.replace(partial, path)
    return path
