"""zip_collect's extractor: SafeExtractor unpacks what the LMS delivered (its collector: cnnkit.ingest.zip_owners).

Stock `nbgrader zip_collect` trusts archives and the names in them: an archive nested in mallory's upload
holding `bob_..._cnn_step_by_step.ipynb` became bob's submission, setuid bits survived extraction as root,
a student id of `..` wrote outside submitted/, a 1 KB zip bomb grew to 268 MB, and one corrupt entry or
one duplicate notebook aborted the whole class.

SafeExtractor: each archive (zip, tar, tar.gz/bz2/xz) is unpacked into a folder named exactly like it, and
an archive inside it likewise, within its uploader's folder, up to `max_depth` deep. Only regular files
(0644) and folders (0755) are created: no links, no special files or bits, no absolute or `..` names, no
names with control characters, no path through more than `max_folders` folders (nbgrader's own walk over
the extracted files recurses once per folder), and no file a browser runs as a page or a script (.html,
.svg, .js ...: the extraction folder is inside the course, where the formgrader serves files).
Limits per archive, nested content included (`max_total_bytes`, `max_files`; `max_file_bytes` per file)
are checked on declared sizes first and on real bytes while writing, so a lying header gains nothing.

SafeCollector: nbgrader's FileNameCollectorPlugin (same `named_regexp`) that refuses an invalid student id,
a file claiming another student inside someone's upload (the first archive folder named `<id>_...`: a
file belongs to its uploader), and a second notebook for one student with no timestamp to choose by.

Every refusal is logged as "zip_collect refused <what>: <reason>", and the rest of the class is collected.
"""

import bz2
import gzip
import lzma
import os
import re
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections import namedtuple
from contextlib import contextmanager
from pathlib import Path

from nbgrader.plugins import ExtractorPlugin
from traitlets import Int

from cnnkit.ingest.names import browser_type, shown

FILE_MODE = 0o644
DIR_MODE = 0o755
CHUNK = 64 * 1024
MiB = 2**20
TAR_HEADER_ALLOWANCE = 4096  # bytes of headers (pax, long names) a tar stream may add per entry
TAR_HEADER_LIMIT = 64 * 1024  # tarfile reads a pax or long-name header whole into memory
TAR_HEADER_TYPES = (b"x", b"g", b"X", b"L", b"K")  # pax (extended, global, Solaris), GNU long name and long link
FILE, DIR = "file", "folder"
COMPRESSED_TAR = ((b"\x1f\x8b", gzip.open), (b"BZh", bz2.open), (b"\xfd7zXZ\x00", lzma.open))


class Refused(Exception):
    """One entry is not extracted; the message is the reason logged."""


class RefusedArchive(Refused):
    """The archive being extracted is refused as a whole (a limit of the archive, or it is unreadable)."""


# ---------------------------------------------------------------- limits


class Budget:
    """Bytes and entries one archive may still unpack; what it spends is spent by every archive around it too."""

    def __init__(self, label, total_bytes, files, parent=None):
        self.label, self.total_bytes, self.files, self.parent = label, total_bytes, files, parent
        self.used_bytes = self.used_files = 0

    def chain(self):
        return [self, *(self.parent.chain() if self.parent else ())]

    def charge(self, nbytes=0, files=0):
        """Spend, or raise RefusedArchive naming the archive whose limit would be crossed."""
        for budget in self.chain():
            if budget.used_files + files > budget.files:
                raise RefusedArchive(f"more than {budget.files} entries in {budget.label} (the max_files limit)")
            if budget.used_bytes + nbytes > budget.total_bytes:
                raise RefusedArchive(
                    f"more than {budget.total_bytes} bytes in total in {budget.label} (the max_total_bytes limit)"
                )
        for budget in self.chain():
            budget.used_bytes += nbytes
            budget.used_files += files

    def give_back(self):
        """Return to the archives around this one what it spent (its files were removed)."""
        for budget in self.chain()[1:]:
            budget.used_bytes -= self.used_bytes
            budget.used_files -= self.used_files


class BoundedReader:
    """A read-only stream that raises RefusedArchive once more than `limit` bytes were read from it."""

    def __init__(self, raw, limit):
        self.raw, self.limit, self.read_so_far = raw, limit, 0

    def read(self, size=-1):
        data = self.raw.read(CHUNK if size is None or size < 0 else min(size, CHUNK))
        self.read_so_far += len(data)
        if self.read_so_far > self.limit:
            raise RefusedArchive(f"its decompressed stream runs past {self.limit} bytes")
        return data


def copy_bounded(source, out, declared, file_limit, budget):
    """Copy source to out, counting real bytes against the declared size, the per-file limit and the budget."""
    written = 0
    while chunk := source.read(CHUNK):
        written += len(chunk)
        if written > file_limit:
            raise Refused(f"expands past the per-file limit of {file_limit} bytes")
        if written > declared:
            raise Refused(f"expands past the {declared} bytes its header declares")
        budget.charge(nbytes=len(chunk))
        out.write(chunk)
    return written


# ---------------------------------------------------------------- names and entries


def safe_parts(name):
    """The path components of an archive entry's name, or Refused when it could land outside its folder."""
    if "\\" in name or "\0" in name:
        raise Refused("a backslash or NUL in its name")
    if not name.isprintable():
        raise Refused("a control character or bytes that are not text in its name")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        raise Refused("an absolute path")
    parts = tuple(part for part in name.split("/") if part not in ("", "."))
    if ".." in parts:
        raise Refused("a '..' component in its name (it would be written outside its upload)")
    if not parts:
        raise Refused("an empty name")
    return parts


# One entry of an archive: its name, FILE, DIR or the reason it is refused, its declared size, how to read it.
Member = namedtuple("Member", "name kind size open")


LINK_REFUSAL = "a symbolic link (links are never created or followed)"
SPECIAL_REFUSAL = "not a regular file or folder (a device, FIFO or socket)"


def zip_kind(info):
    mode = info.external_attr >> 16 if info.create_system == 3 else 0
    if info.flag_bits & 0x1:
        return "encrypted"
    if stat.S_ISLNK(mode):
        return LINK_REFUSAL
    if stat.S_IFMT(mode) not in (0, stat.S_IFREG, stat.S_IFDIR):
        return SPECIAL_REFUSAL
    return DIR if info.is_dir() or stat.S_ISDIR(mode) else FILE


def tar_kind(member):
    if member.issym():
        return LINK_REFUSAL
    if member.islnk():
        return "a hard link (links are never created or followed)"
    if member.issparse():
        return "a sparse file"
    if member.isdir():
        return DIR
    return FILE if member.isreg() else SPECIAL_REFUSAL


def zip_members(zf, file_count, total_bytes):
    """The zip's entries, after checking the count and sizes its central directory declares."""
    infos = zf.infolist()
    if len(infos) > file_count:
        raise RefusedArchive(f"{len(infos)} entries, more than the max_files limit of {file_count}")
    declared = sum(info.file_size for info in infos)
    if declared > total_bytes:
        raise RefusedArchive(f"declares {declared} bytes in total, over the max_total_bytes limit of {total_bytes}")
    for info in infos:
        yield Member(info.filename, zip_kind(info), info.file_size, lambda info=info: zf.open(info))


class BoundedTarInfo(tarfile.TarInfo):
    """tarfile's header record, refusing a pax or long-name header larger than TAR_HEADER_LIMIT."""

    @classmethod
    def frombuf(cls, buf, encoding, errors):
        info = super().frombuf(buf, encoding, errors)
        if info.type in TAR_HEADER_TYPES and info.size > TAR_HEADER_LIMIT:
            raise RefusedArchive(f"a tar header record of {info.size} bytes (at most {TAR_HEADER_LIMIT})")
        return info


def tar_members(tf):
    for member in tf:
        yield Member(member.name, tar_kind(member), member.size, lambda member=member: tf.extractfile(member))


@contextmanager
def archive_members(path, file_count, total_bytes):
    """Iterate over a zip's or tar's entries; a tar is read as a stream bounded by the limits."""
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            yield zip_members(zf, file_count, total_bytes)
        return
    with open(path, "rb") as probe:
        magic = probe.read(6)
    opener = next((opener for prefix, opener in COMPRESSED_TAR if magic.startswith(prefix)), open)
    with opener(path, "rb") as raw:
        bounded = BoundedReader(raw, total_bytes + TAR_HEADER_ALLOWANCE * file_count)
        try:
            tf = tarfile.open(fileobj=bounded, mode="r|", tarinfo=BoundedTarInfo)
        except tarfile.ReadError as error:
            raise RefusedArchive(f"not a zip or tar archive ({error})") from None
        with tf:
            yield tar_members(tf)


# ---------------------------------------------------------------- writing


def make_folders(top, parts):
    """top/parts..., each created 0755 if missing; Refused if a component exists and is not a real folder."""
    folder = Path(top)
    for part in parts:
        folder = folder / part
        try:
            os.mkdir(folder, DIR_MODE)
        except FileExistsError:
            pass
        if not stat.S_ISDIR(os.lstat(folder).st_mode):
            raise Refused(f"its path goes through {part!r}, which is not a folder")
        os.chmod(folder, DIR_MODE)
    return folder


@contextmanager
def new_file(path):
    """A new regular file opened for writing, mode 0644, never through a link; removed if writing fails."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    try:
        descriptor = os.open(path, flags, FILE_MODE)
    except FileExistsError:
        raise Refused("a second entry with the same name") from None
    try:
        with os.fdopen(descriptor, "wb") as out:
            os.fchmod(out.fileno(), FILE_MODE)
            yield out
    except BaseException:
        os.unlink(path)
        raise


def files_and_links(top, max_folders):
    """Every file and link (also to a folder) under top, without following links or recursing.

    A folder max_folders deep is not entered: it is returned like a file (the caller refuses it).
    """
    top = Path(top)
    pending = [top]
    while pending:
        folder = pending.pop()
        with os.scandir(folder) as entries:
            for entry in entries:
                path = Path(entry.path)
                if entry.is_dir(follow_symlinks=False) and len(path.relative_to(top).parts) < max_folders:
                    pending.append(path)
                else:
                    yield path


class SafeExtractor(ExtractorPlugin):
    """Unpack every upload with limits, without links or special bits, each inside a folder named like it."""

    max_total_bytes = Int(1024 * MiB, help="Bytes one archive may unpack, nested archives included.").tag(config=True)
    max_files = Int(10_000, help="Entries one archive may hold, nested archives included.").tag(config=True)
    max_file_bytes = Int(50 * MiB, help="Largest file extracted (declared and real size).").tag(config=True)
    max_depth = Int(3, help="Deepest archive: 1 in the archive folder, 2 inside one of those...").tag(config=True)
    max_folders = Int(
        16, help="Most folders an entry's path may go through, in an archive or in the archive folder."
    ).tag(config=True)

    def extract(self, archive_path, extracted_path):
        """Extract or copy every file of archive_path into extracted_path (nbgrader calls this once)."""
        self.refusals = 0
        uploads = sorted(files_and_links(archive_path, self.max_folders))
        if not uploads:
            self.log.warning("No files found in directory: %s", archive_path)
            return
        self.scratch = Path(tempfile.mkdtemp(prefix=".scratch-", dir=extracted_path))
        try:
            for upload in uploads:
                relative = upload.relative_to(archive_path)
                folder = make_folders(extracted_path, relative.parts[:-1])
                self.take_upload(upload, folder, shown(str(relative), 300))
        finally:
            shutil.rmtree(self.scratch)
        self.log.info("zip_collect: %d refusals while extracting (each logged above with its reason)", self.refusals)

    def take_upload(self, upload, folder, label):
        """One file from the archive folder: an archive is extracted, anything else copied."""
        info = os.lstat(upload)
        if stat.S_ISDIR(info.st_mode):
            self.refuse(label, f"a folder {self.max_folders} folders deep, not entered (the max_folders limit)")
        elif not stat.S_ISREG(info.st_mode):
            self.refuse(label, "not a regular file (links in the archive folder are not followed)")
        elif self.is_archive(upload.name):
            self.extract_archive(upload, folder / upload.name, label, depth=1, parent=None)
        elif browser_type(upload.name):
            self.refuse(label, f"a file a browser would run as a page or a script ({browser_type(upload.name)})")
        else:
            self.log.info("Copying %s", label)
            try:
                with open(upload, "rb", opener=lambda p, f: os.open(p, f | os.O_NOFOLLOW)) as source:
                    with new_file(folder / upload.name) as out:
                        budget = Budget(label, self.max_file_bytes, 1)
                        copy_bounded(source, out, info.st_size, self.max_file_bytes, budget)
            except (Refused, OSError) as why:
                self.refuse(label, str(why))

    def is_archive(self, name):
        return any(name.endswith(ext) for ext in self.zip_ext)

    def refuse(self, what, reason):
        self.refusals += 1
        self.log.warning("zip_collect refused %s: %s", what, reason)

    def extract_archive(self, source, folder, label, depth, parent):
        """Unpack source into folder (named like it); on a refusal, remove what it wrote and log why."""
        if depth > self.max_depth:
            self.refuse(
                f"archive {label}", f"nested {depth} archives deep, more than the max_depth limit of {self.max_depth}"
            )
            return
        budget = Budget(label, self.max_total_bytes, self.max_files, parent)
        self.log.info("Extracting %s", label)
        try:
            make_folders(folder.parent, [folder.name])
            nested = self.unpack(source, folder, label, budget)
        except Exception as error:  # a broken or hostile archive must not stop the class
            shutil.rmtree(folder, ignore_errors=True)
            budget.give_back()
            reason = str(error) if isinstance(error, Refused) else f"unreadable ({type(error).__name__}: {error})"
            self.refuse(f"archive {label}", reason)
            return
        for inner in nested:
            self.extract_nested(inner, f"{label}/{inner.relative_to(folder)}", depth + 1, budget)

    def extract_nested(self, inner, label, depth, parent):
        """An archive found inside an upload: moved aside, then unpacked where it was, in a folder named like it."""
        descriptor, aside = tempfile.mkstemp(dir=self.scratch)
        os.close(descriptor)
        aside = Path(aside)
        os.replace(inner, aside)
        try:
            self.extract_archive(aside, inner, label, depth, parent)
        finally:
            aside.unlink()

    def unpack(self, source, folder, label, budget):
        """Write the archive's entries under folder; returns the archives found among them, to unpack next."""
        nested = []
        with archive_members(source, self.max_files, self.max_total_bytes) as members:
            for member in members:
                budget.charge(files=1)
                try:
                    path = self.write_member(member, folder, budget)
                except RefusedArchive:
                    raise
                except (Refused, OSError) as why:
                    self.refuse(f"{label} entry {member.name!r}", str(why))
                    continue
                if path is not None and self.is_archive(path.name):
                    nested.append(path)
        return nested

    def write_member(self, member, folder, budget):
        """Create one entry (a file or a folder) under folder; returns the file's path (None for a folder)."""
        if member.kind not in (FILE, DIR):
            raise Refused(member.kind)
        parts = safe_parts(member.name)
        if len(parts) > self.max_folders + (member.kind == FILE):
            raise Refused(f"more than {self.max_folders} folders deep (the max_folders limit)")
        if member.kind == FILE and browser_type(parts[-1]):
            raise Refused(f"a file a browser would run as a page or a script ({browser_type(parts[-1])})")
        if member.kind == DIR:
            make_folders(folder, parts)
            return None
        if member.size > self.max_file_bytes:
            raise Refused(f"declares {member.size} bytes, over the per-file limit of {self.max_file_bytes} bytes")
        target = make_folders(folder, parts[:-1]) / parts[-1]
        with new_file(target) as out:
            try:
                with member.open() as source:
                    copy_bounded(source, out, member.size, self.max_file_bytes, budget)
            except (Refused, OSError):
                raise
            except Exception as error:  # zipfile's Bad CRC (a lying header), zlib errors...
                raise Refused(f"unreadable ({type(error).__name__}: {error})") from None
        return target
