"""nbgrader's collect, without following the links a student left in the exchange.

Stock ``nbgrader collect`` copies each submission out of the exchange with ``shutil.copytree``, which
copies what a symbolic link points to: a student's link to the instructor's gradebook.db, or to
another student's notebook, would arrive in submitted/ as an ordinary file, its content copied by the
instructor's own permissions. ``LinkSafeCollect`` copies links as links (never their targets) and
leaves out FIFOs, sockets and devices; the admission gate (cnnkit.ingest.admit) then moves the links
aside before anything reads the submission. nbgrader_config.py selects it with
``c.ExchangeFactory.collect``.
"""

import os
import shutil
import stat

from nbgrader.exchange.default.collect import ExchangeCollect
from nbgrader.utils import ignore_patterns


class LinkSafeCollect(ExchangeCollect):
    """ExchangeCollect whose copy never dereferences a link (the rest is nbgrader's own)."""

    def do_copy(self, src, dest, log=None):
        if os.path.islink(src):
            self.log.error("Not collecting %s: the submission folder is a symbolic link", src)
            return
        size = sum(os.lstat(os.path.join(folder, name)).st_size for folder, _, names in os.walk(src) for name in names)
        if size > 1000 * self.coursedir.max_dir_size:
            self.log.error("Directory size is too big")
            raise RuntimeError(
                f"Directory size is too big. Size is {size}, maximum size is {1000 * self.coursedir.max_dir_size}"
            )
        skip = ignore_patterns(
            exclude=self.coursedir.ignore,
            include=self.coursedir.include,
            max_file_size=self.coursedir.max_file_size,
            log=self.log,
        )
        shutil.copytree(
            src, dest, symlinks=True, ignore=lambda folder, names: set(skip(folder, names)) | special(folder, names)
        )


def special(folder, names):
    """Names in folder that are neither regular files, folders nor links (FIFOs, sockets, devices)."""
    found = set()
    for name in names:
        mode = os.lstat(os.path.join(folder, name)).st_mode
        if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode)):
            found.add(name)
    return found
