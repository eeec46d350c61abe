"""zip_collect's collector: SafeCollector says whose each extracted file is (cnnkit.ingest.zip_collect extracts).

nbgrader's FileNameCollectorPlugin (same `named_regexp`) that refuses an invalid student id, a file claiming
another student inside someone's upload (the first archive folder named `<id>_...`: a file belongs to its
uploader), and a second notebook for one student with no timestamp to choose by. Every refusal is logged as
"zip_collect refused <what>: <reason>", and the rest of the class is collected.
"""

import os
import re
from pathlib import Path
from typing import Optional

from nbgrader.plugins import FileNameCollectorPlugin
from traitlets import Unicode

from cnnkit.ingest.names import shown
from cnnkit.ingest.zip_collect import Refused, safe_parts

STUDENT_ID_PATTERN = r"(?![.-])[A-Za-z0-9._@-]{1,64}"
STUDENT_ID_RULE = "letters, digits, '.', '_', '-' or '@', 1 to 64 of them, not starting with '.' or '-'"


class SafeCollector(FileNameCollectorPlugin):
    """nbgrader's file-name collector, with student ids validated and files attributed to their uploader."""

    student_id_pattern = Unicode(STUDENT_ID_PATTERN, help="What a whole student id must match.").tag(config=True)
    uploader_regexp = Unicode(
        r"(?P<student_id>[^_]+)_", help="Matched at the start of an archive folder's name: whose upload it is."
    ).tag(config=True)

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.collected = {}  # (student id, file id) -> the file collected for it

    def collect(self, submitted_file: str) -> Optional[dict]:
        info = super().collect(submitted_file)
        if not info:
            return info
        reason = self.refusal(info, self.folders(submitted_file)) or self.duplicate(info, submitted_file)
        if reason:
            self.log.warning("zip_collect refused %s: %s", shown(submitted_file, 300), reason)
            return None
        return info

    def folders(self, submitted_file):
        """The folders between the extraction folder and the file (all of them when that is unknown)."""
        path = Path(submitted_file)
        root = self.extracted_root()
        if root is not None and root in path.parents:
            return path.relative_to(root).parts[:-1]
        return path.parts[:-1]

    def extracted_root(self):
        """The ZipCollectApp's extraction folder, from its public settings (None outside zip_collect)."""
        app = self.parent
        try:
            steps = dict(downloaded=app.downloaded_directory, collect_step=app.extracted_directory)
            structure = os.path.join(app.coursedir.root, app.collect_directory_structure)
            return Path(structure.format(assignment_id=app.coursedir.assignment_id, **steps))
        except AttributeError:
            return None

    def refusal(self, info, folders):
        """Why this file may not be collected as info says (None: it may)."""
        student = info["student_id"]
        if not self.valid_id(student):
            rule = STUDENT_ID_RULE if self.student_id_pattern == STUDENT_ID_PATTERN else self.student_id_pattern
            return f"{student!r} is not a valid student id ({rule})"
        try:
            safe_parts(info["file_id"])
        except Refused as why:
            return f"file id {info['file_id']!r}: {why}"
        uploader, where = self.uploader(folders)
        if uploader is not None and not self.valid_id(uploader):
            return f"it sits inside {where}, whose student id {uploader!r} is not valid"
        if uploader is not None and uploader != student:
            return (
                f"it claims student {student!r} but sits inside the upload of {uploader!r} ({where}); "
                "a file belongs to whoever uploaded it"
            )
        return None

    def valid_id(self, student):
        return re.fullmatch(self.student_id_pattern, student, flags=re.ASCII) is not None

    def uploader(self, folders):
        """(student id, folder) of the outermost archive folder at or below an archive that names a student."""
        inside_archive = False
        for index, name in enumerate(folders):
            inside_archive = inside_archive or any(name.endswith(ext) for ext in self.archive_suffixes())
            match = re.match(self.uploader_regexp, name) if inside_archive else None
            if match:
                return match.group("student_id"), "/".join(folders[: index + 1])
        return None, None

    def archive_suffixes(self):
        extractor = getattr(self.parent, "extractor_plugin_inst", None)
        return getattr(extractor, "zip_ext", None) or [".zip", ".gz"]

    def duplicate(self, info, submitted_file):
        """A second file for one student and file id, without timestamps to choose (stock: the whole run aborts)."""
        if info.get("timestamp"):
            return None
        key = (info["student_id"], info["file_id"])
        if key in self.collected:
            kept = self.collected[key]
            return f"a second {info['file_id']!r} for {info['student_id']!r} (kept {kept}); remove one and run again"
        self.collected[key] = "/".join([*self.folders(submitted_file), Path(submitted_file).name])
        return None
