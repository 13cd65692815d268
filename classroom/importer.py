"""Import student notebooks into nbgrader's layout: ``python -m classroom import SOURCE [--assignment A]``.

Every accepted notebook is copied (never executed, never parsed beyond a JSON validity note) to

    <course>/submitted/<student>/<assignment>/<assignment>.ipynb

whatever its original file name; an existing, different copy there is replaced after it is kept under
``<course>/backups/<date-time>/submitted/...`` (the summary says where).

SOURCE is a folder or a ``.zip`` file. Paths inside it (relative, ``/``-separated) are read as:

==========================================================  =============================================
path                                                        student, assignment
==========================================================  =============================================
``<student>/<assignment>/<file>.ipynb``                     the folder names (with ``--assignment A``,
                                                            other assignments are skipped)
``<student>/<file>.ipynb``                                  the folder name; ``--assignment``, else
                                                            inferred from ``<file>``
``<name>_<userid>_<submissionid>_<file>.ipynb``             Canvas download; ``<name>``; ``--assignment``,
``<name>_LATE_<userid>_<submissionid>_<file>.ipynb``        else inferred from ``<file>``; LATE is noted
``<Full Name>_<id>_assignsubmission_file_/<...>/<file>.ipynb``  Moodle download; ``<Full Name>``;
``<Full Name>_<id>_assignsubmission_file_<file>.ipynb``     ``--assignment``, else inferred from ``<file>``
==========================================================  =============================================

A zip (or folder) whose entries all sit under one wrapping folder holding Canvas or Moodle entries is
read as if the wrapper were not there.

Student ids are sanitized to ``[a-z0-9_-]``: accents dropped, lower case, spaces and other characters
become ``_`` ("José O'Neil" -> ``jose_o_neil``), the same whether the zip marks its names as UTF-8 or
not (:func:`zip_name`) and whether the accents are composed or not. When two different LMS users
sanitize to the same id, each gets its LMS id appended (``jose_o_neil_1234``) and the summary says so;
when an id already holds submissions imported under another name, the summary warns
(``submitted/<student>/source_names.json`` keeps the names each id was imported from).

The assignment is inferred from a file name when the name contains exactly one known assignment
(a folder under ``<course>/notebooks/``), as its full name (``01_softmax``) or its topic
(``softmax``); case, spaces and punctuation are ignored (``01 Softmax (2).ipynb`` matches). A name
matching two assignments is skipped as ambiguous, unless one match lies inside the other (the longer wins).

Skipped and reported: files that are not ``.ipynb``; Jupyter checkpoint copies and ``__MACOSX``/hidden
files; symbolic links; encrypted entries; notebooks larger than ``MAX_NOTEBOOK_BYTES``; paths that
match no layout or no assignment. Refused and reported: entries with an absolute path, a drive letter
or a ``..`` component (zip-slip). The target path is built only from sanitized names and checked to be
inside ``<course>/submitted/``; nothing is ever extracted by name.

When a student has several notebooks for one assignment, the newest (file modification time, for a
zip the entry's stored time; ties broken by the larger path) is imported and the others are reported.

One bad entry never stops the others: anything that goes wrong while listing, reading, classifying,
checking or writing one entry (an unreadable file or folder, a corrupt zip member, a full disk...) is
reported for that entry, with the reason, and the import goes on. A notebook that is not valid JSON
(empty, not UTF-8, malformed, nested too deeply to parse) is imported all the same and reported as
invalid with the reason; grading then marks it failed.
"""
from __future__ import annotations

import calendar
import json
import os
import re
import stat
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Callable

from graders.layout import RELEASE, SUBMITTED, Course

from .files import write_atomic
from .results import IMPORT_FLAGS

LATE_FLAG = "submitted late (Canvas LATE mark)"

MAX_NOTEBOOK_BYTES = 64 * 1024 * 1024

CANVAS = re.compile(r"^(?P<name>.+?)_(?:(?P<late>LATE)_)?(?P<uid>\d+)_(?P<sid>\d+)_(?P<file>.+)$")
MOODLE_DIR = re.compile(r"^(?P<name>.+)_(?P<uid>\d+)_assignsubmission_[a-z]+_?$")
MOODLE_FILE = re.compile(r"^(?P<name>.+?)_(?P<uid>\d+)_assignsubmission_file_(?P<file>.+)$")
ASSIGNMENT_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def sanitize_student(name: str) -> str:
    """A student id in ``[a-z0-9_-]`` from any name: ``"José O'Neil"`` -> ``"jose_o_neil"``; ``""`` stays ``""``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    s = re.sub(r"[^a-z0-9_-]+", "_", ascii_name.lower())
    return re.sub(r"_{2,}", "_", s).strip("_-")


def _squash(text: str) -> str:
    """Lower case, runs of non-alphanumerics -> one ``_``, for matching file names against assignments."""
    return "_" + re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_") + "_"


def known_assignments(course: Path) -> list[str]:
    """Assignment names: the folders under ``<course>/notebooks/``, sorted."""
    folder = Course(course).step_dir(RELEASE)
    if not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_dir() and ASSIGNMENT_NAME.match(p.name))


def infer_assignment(filename: str, assignments: list[str]) -> str | None:
    """The one known assignment ``filename`` names (full name or topic, punctuation-insensitive), else None.

    A match inside a longer match is ignored (``optimizers`` in ``optimizers_advanced_v2.ipynb`` when
    ``optimizers_advanced`` is also an assignment); two separate matches are ambiguous (None)."""
    stem = _squash(PurePosixPath(filename).stem)
    matched: dict[str, str] = {}
    for a in assignments:
        keys = {_squash(a)}
        if "_" in a:
            keys.add(_squash(a.split("_", 1)[1]))      # "01_softmax" -> "softmax"
        hits = [k for k in keys if k in stem]
        if hits:
            matched[a] = max(hits, key=len)
    best = [a for a, k in matched.items()
            if not any(k != k2 and k in k2 for a2, k2 in matched.items() if a2 != a)]
    return best[0] if len(best) == 1 else None


@dataclass
class _Entry:
    path: str                          # relative, "/"-separated, as in the source
    mtime: float
    read: Callable[[], bytes]          # the content, at most MAX_NOTEBOOK_BYTES + 1 bytes


@dataclass
class _Candidate:
    entry: _Entry
    student: str
    assignment: str
    identity: tuple                    # who the LMS says this is: ("canvas", name, uid), ("folder", name)...
    lms_id: str = ""
    late: bool = False


class ImportResult(list):
    """The imported notebooks, a list of ``(student, assignment, target_path)`` sorted by assignment,
    then student; with what else happened:

    - ``skipped``: ``(source_path, reason)`` for every file not imported (not a notebook, no layout...);
    - ``refused``: ``(source_path, reason)`` for unsafe entries (absolute, ``..``: zip-slip);
    - ``duplicates``: ``(student, assignment, kept_path, [dropped_paths])``;
    - ``renamed``: ``(student_id, reason)`` where an id was disambiguated;
    - ``late``: ``(student, assignment)`` marked LATE by Canvas;
    - ``invalid``: target paths whose content is not valid JSON (imported; grading will mark them failed);
      ``invalid_reasons`` maps each of them to why (empty file, not UTF-8, nested too deeply...).
    """

    def __init__(self):
        super().__init__()
        self.skipped: list[tuple[str, str]] = []
        self.refused: list[tuple[str, str]] = []
        self.duplicates: list[tuple[str, str, str, list[str]]] = []
        self.renamed: list[tuple[str, str]] = []
        self.late: list[tuple[str, str]] = []
        self.invalid: list[Path] = []
        self.invalid_reasons: dict[Path, str] = {}
        self.kept: list[tuple[Path, Path]] = []      # (replaced submission, where its old copy is kept)

    def summary(self) -> str:
        """A few lines for the terminal: counts per assignment, then every skipped/refused/duplicate item."""
        per: dict[str, int] = {}
        for _, a, _ in self:
            per[a] = per.get(a, 0) + 1
        students = len({s for s, _, _ in self})
        counts = ", ".join(f"{a}: {n}" for a, n in sorted(per.items()))
        lines = [f"imported {len(self)} notebook(s) for {students} student(s)" + (f" ({counts})" if counts else "")]
        for path, reason in self.refused:
            lines.append(f"  refused {path}: {reason}")
        for path, reason in self.skipped:
            lines.append(f"  skipped {path}: {reason}")
        for student, a, kept, dropped in self.duplicates:
            lines.append(f"  {student} has {len(dropped) + 1} notebooks for {a}: kept the newest {kept}, "
                         f"ignored {', '.join(dropped)}")
        for student, reason in self.renamed:
            lines.append(f"  student id {student}: {reason}")
        for student, a in self.late:
            lines.append(f"  {student} {LATE_FLAG.replace('submitted', f'submitted {a}', 1)}")
        for target, backup in self.kept:
            lines.append(f"  {target} replaced: the previous copy is kept in {backup}")
        for path in self.invalid:
            why = self.invalid_reasons.get(path)
            lines.append(f"  {path} is not valid notebook JSON{f' ({why})' if why else ''} "
                         "(imported; grading will report it)")
        return "\n".join(lines)


def _unsafe(path: str) -> str:
    """Why an archive path is unsafe to use, or "" if it is a plain relative path."""
    p = path.replace("\\", "/")
    if p.startswith("/") or re.match(r"^[A-Za-z]:", p):
        return "absolute path (zip-slip): refused"
    if any(part == ".." for part in p.split("/")):
        return "path leaves the archive with '..' (zip-slip): refused"
    if "\x00" in p:
        return "NUL byte in path: refused"
    return ""


def _file_reader(path: Path) -> Callable[[], bytes]:
    def read() -> bytes:
        with open(path, "rb") as f:
            return f.read(MAX_NOTEBOOK_BYTES + 1)
    return read


def _problem(err: BaseException) -> str:
    """``"PermissionError: ..."``, one line, at most 200 characters: a reason for the summary."""
    try:
        text = " ".join(f"{type(err).__name__}: {err}".split())
    except Exception:  # noqa: BLE001 - an exception whose message cannot be built
        text = type(err).__name__
    return text if len(text) <= 200 else text[:200] + "..."


def _zip_entries(source: Path, result: ImportResult) -> list[_Entry]:
    entries = []
    try:
        zf = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise ValueError(f"{source}: not a readable zip file ({_problem(e)})") from e
    with zf:
        for info in zf.infolist():
            try:
                if info.is_dir():
                    continue
                why = _unsafe(info.filename)
                if why:
                    result.refused.append((info.filename, why))
                    continue
                if stat.S_ISLNK(info.external_attr >> 16):
                    result.skipped.append((info.filename, "symbolic link"))
                    continue
                if info.flag_bits & 0x1:
                    result.skipped.append((info.filename, "encrypted entry"))
                    continue
                mtime = float(calendar.timegm(info.date_time + (0, 0, 0)))   # only the order matters
                entries.append(_Entry(zip_name(info).replace("\\", "/"), mtime, _zip_reader(source, info)))
            except Exception as e:  # noqa: BLE001 - one bad entry must not stop the others
                result.skipped.append((info.filename, f"zip entry could not be listed: {_problem(e)}"))
    return entries


def zip_name(info: zipfile.ZipInfo) -> str:
    """An entry's name as its author wrote it. A zip entry without the UTF-8 flag (bit 11) is decoded
    by Python as code page 437, but most tools (macOS Archive Utility, Windows since 10, LMS exports)
    write UTF-8 without setting the flag: such a name that is valid UTF-8 is read as UTF-8, so that
    "José" is the same student whatever tool made the zip; true code page 437 names stay as they are."""
    name = info.filename
    if info.flag_bits & 0x800:
        return name
    try:
        return name.encode("cp437").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return name


def _zip_reader(source: Path, info: zipfile.ZipInfo) -> Callable[[], bytes]:
    def read() -> bytes:
        with zipfile.ZipFile(source) as zf, zf.open(info) as f:
            return f.read(MAX_NOTEBOOK_BYTES + 1)
    return read


def _folder_entries(source: Path, result: ImportResult) -> list[_Entry]:
    entries = []

    def unreadable(err: OSError) -> None:      # os.walk would silently leave such a folder out
        where = Path(err.filename) if err.filename else source
        rel = where.relative_to(source).as_posix() if where.is_relative_to(source) else str(where)
        result.skipped.append((rel + "/", f"folder could not be read: {_problem(err)}"))

    for dirpath, dirnames, filenames in os.walk(source, onerror=unreadable, followlinks=False):
        dirnames.sort()
        for name in sorted(filenames + [d for d in dirnames if (Path(dirpath) / d).is_symlink()]):
            full = Path(dirpath) / name
            rel = full.relative_to(source).as_posix()
            try:
                if full.is_symlink():
                    result.skipped.append((rel, "symbolic link"))
                    continue
                if not full.is_file():
                    continue
                entries.append(_Entry(rel, full.stat().st_mtime, _file_reader(full)))
            except Exception as e:  # noqa: BLE001 - one bad file must not stop the others
                result.skipped.append((rel, f"could not be read: {_problem(e)}"))
    return entries


def _lms_name(parts: list[str]) -> bool:
    return bool(parts) and ((len(parts) == 1 and (CANVAS.match(parts[0]) or MOODLE_FILE.match(parts[0])))
                            or MOODLE_DIR.match(parts[0]) is not None)


def _strip_wrapper(entries: list[_Entry]) -> None:
    """Drop one folder that wraps every entry when what is inside it is a Canvas/Moodle download."""
    entries = [e for e in entries if not e.path.startswith("__MACOSX/")]
    notebooks = [e for e in entries if e.path.lower().endswith(".ipynb")]
    tops = {e.path.split("/", 1)[0] for e in entries}
    if len(tops) != 1 or not notebooks or any("/" not in e.path for e in entries):
        return
    if all(_lms_name(e.path.split("/")[1:]) for e in notebooks):
        for e in entries:
            e.path = e.path.split("/", 1)[1]


def _classify(entry: _Entry, assignment: str | None, assignments: list[str],
              result: ImportResult) -> _Candidate | None:
    parts = entry.path.split("/")
    name = parts[-1]
    if any(p == "__MACOSX" or p == ".ipynb_checkpoints" or p.startswith(".") for p in parts):
        result.skipped.append((entry.path, "hidden file, macOS metadata or Jupyter checkpoint"))
        return None
    if not name.lower().endswith(".ipynb"):
        result.skipped.append((entry.path, "not a notebook (.ipynb)"))
        return None

    def pick(filename: str) -> str | None:
        if assignment:
            return assignment
        found = infer_assignment(filename, assignments)
        if not found:
            result.skipped.append((entry.path, "no known assignment in the file name "
                                   f"({', '.join(assignments) or 'no folders under notebooks/'}); use --assignment"))
        return found

    def candidate(raw_name: str, filename: str, identity: tuple, lms_id: str = "", late: bool = False):
        a = pick(filename)
        if a is None:
            return None
        student = sanitize_student(raw_name) or (f"student_{lms_id}" if lms_id else "")
        if not student:
            result.skipped.append((entry.path, "no usable student name"))
            return None
        return _Candidate(entry, student, a, identity, lms_id, late)

    moodle_dir = MOODLE_DIR.match(parts[0]) if len(parts) > 1 else None
    if moodle_dir:
        return candidate(moodle_dir["name"], name, ("moodle", moodle_dir["name"], moodle_dir["uid"]),
                         moodle_dir["uid"])
    if len(parts) == 1:
        m = MOODLE_FILE.match(name)
        if m:
            return candidate(m["name"], m["file"], ("moodle", m["name"], m["uid"]), m["uid"])
        m = CANVAS.match(name)
        if m:
            return candidate(m["name"], m["file"], ("canvas", m["name"], m["uid"]), m["uid"], bool(m["late"]))
        result.skipped.append((entry.path, "top-level notebook without a Canvas/Moodle name: "
                               "put it in a <student>/ folder"))
        return None
    if len(parts) == 2:
        return candidate(parts[0], name, ("folder", parts[0]))
    if len(parts) == 3:
        folder_assignment = parts[1]
        if not ASSIGNMENT_NAME.match(folder_assignment):
            result.skipped.append((entry.path, f"assignment folder {folder_assignment!r} is not a valid name"))
            return None
        if assignment and folder_assignment != assignment:
            result.skipped.append((entry.path, f"for assignment {folder_assignment}, not {assignment}"))
            return None
        if assignments and folder_assignment not in assignments:
            result.skipped.append((entry.path, f"unknown assignment {folder_assignment} (not under notebooks/)"))
            return None
        student = sanitize_student(parts[0])
        if not student:
            result.skipped.append((entry.path, "no usable student name"))
            return None
        return _Candidate(entry, student, folder_assignment, ("folder", parts[0]))
    result.skipped.append((entry.path, "unrecognised layout (expected <student>/<assignment>/<file>.ipynb, "
                           "<student>/<file>.ipynb or a Canvas/Moodle download)"))
    return None


def _disambiguate(candidates: list[_Candidate], result: ImportResult) -> None:
    """Two LMS users with the same sanitized name get their LMS id appended."""
    by_id: dict[str, set[tuple]] = {}
    for c in candidates:
        by_id.setdefault(c.student, set()).add(c.identity)
    for student, identities in sorted(by_id.items()):
        lms = {i for i in identities if i[0] != "folder"}
        if len(identities) > 1 and len(lms) == len(identities):
            for c in candidates:
                if c.student == student:
                    c.student = f"{student}_{c.lms_id}"
            result.renamed.append((student, f"{len(identities)} different LMS users share this name; "
                                   f"their LMS id was appended"))
        elif len(identities) > 1:
            names = ", ".join(sorted(i[1] for i in identities))
            result.renamed.append((student, f"several source names map to it ({names}); treated as one student"))


SOURCE_NAMES = "source_names.json"     # submitted/<student>/source_names.json: the names that map to the id


def _earlier_names(candidates: list[_Candidate], course: Course, result: ImportResult) -> None:
    """Warn when a student id already holds submissions imported under another source name (two people
    whose names sanitize alike, across two imports), and record the names each id was imported from."""
    names: dict[str, set[str]] = {}
    for c in candidates:
        names.setdefault(c.student, set()).add(unicodedata.normalize("NFC", c.identity[1]))
    for student, new in sorted(names.items()):
        record = course.step_dir(SUBMITTED) / student / SOURCE_NAMES
        try:
            old = set(json.loads(record.read_text(encoding="utf-8"))) if record.is_file() else set()
        except (OSError, ValueError, TypeError):
            old = set()
        if old and not new <= old:
            result.renamed.append((student, f"already holds submissions imported as {', '.join(sorted(old))}; "
                                   f"now also {', '.join(sorted(new - old))}: the same person? (if not, "
                                   "rename one folder under submitted/)"))
        try:
            write_atomic(record, json.dumps(sorted(old | new), ensure_ascii=False) + "\n")
        except OSError:
            pass


def import_submissions(source, course, assignment: str | None = None) -> ImportResult:
    """Copy the notebooks in ``source`` (a folder or a ``.zip``) into
    ``<course>/submitted/<student>/<assignment>/<assignment>.ipynb`` (layouts: see the module docstring).

    ``assignment``: put every notebook under this assignment (required for ``<student>/<file>.ipynb``
    and LMS files whose name names no known assignment). Returns an :class:`ImportResult`: the list of
    ``(student, assignment, target_path)`` imported, plus what was skipped, refused and de-duplicated;
    ``result.summary()`` is the text the command prints. Raises ``FileNotFoundError`` for a missing
    source and ``ValueError`` for a source that is neither a folder nor a zip, or an ``assignment``
    that is not a valid name or (when ``<course>/notebooks/`` has assignments) not one of them.
    """
    source, course = Path(source), Path(course)
    if assignment is not None and not ASSIGNMENT_NAME.match(assignment):
        raise ValueError(f"invalid assignment name {assignment!r}: use letters, digits, '_' and '-'")
    result = ImportResult()
    if source.is_dir():
        entries = _folder_entries(source, result)
    elif source.is_file() and zipfile.is_zipfile(source):
        entries = _zip_entries(source, result)
    elif not source.exists():
        raise FileNotFoundError(f"{source}: no such file or folder")
    else:
        raise ValueError(f"{source}: neither a folder nor a zip file")
    assignments = known_assignments(course)
    if assignment is not None and assignments and assignment not in assignments:
        raise ValueError(f"unknown assignment {assignment!r}: not a folder under {course / 'notebooks'} "
                         f"({', '.join(assignments)})")
    _strip_wrapper(entries)
    candidates = []
    for e in entries:
        try:
            c = _classify(e, assignment, assignments, result)
        except Exception as err:  # noqa: BLE001 - one odd name must not stop the others
            result.skipped.append((e.path, f"could not be classified: {_problem(err)}"))
            continue
        if c:
            candidates.append(c)
    _disambiguate(candidates, result)
    _earlier_names(candidates, Course(course), result)

    groups: dict[tuple[str, str], list[_Candidate]] = {}
    for c in candidates:
        groups.setdefault((c.assignment, c.student), []).append(c)
    layout = Course(course)
    submitted = layout.step_dir(SUBMITTED).resolve()
    for (a, student), group in sorted(groups.items()):
        group.sort(key=lambda c: (c.entry.mtime, c.entry.path), reverse=True)
        try:
            _import_one(student, a, group, submitted, result)
        except Exception as e:  # noqa: BLE001 - one bad submission must not stop the others
            result.skipped.append((group[0].entry.path, f"not imported: {_problem(e)}"))
    return result


def _import_one(student: str, a: str, group: list[_Candidate], submitted: Path, result: ImportResult) -> None:
    """Import the newest of one student's notebooks for assignment ``a`` (``group``, newest first) and
    record in ``result`` what happened; whatever fails is recorded as skipped, with the reason."""
    chosen = group[0]
    try:
        data = chosen.entry.read()
    except Exception as e:  # noqa: BLE001 - unreadable file, corrupt zip member (bad CRC), ...
        result.skipped.append((chosen.entry.path, f"could not be read: {_problem(e)}"))
        return
    if len(data) > MAX_NOTEBOOK_BYTES:
        result.skipped.append((chosen.entry.path, f"larger than {MAX_NOTEBOOK_BYTES // 2**20} MiB"))
        return
    if len(group) > 1:
        result.duplicates.append((student, a, chosen.entry.path, [c.entry.path for c in group[1:]]))
    target = Course(submitted.parent).submitted(student, a)
    if not target.resolve().is_relative_to(submitted):    # names are sanitized; belt and braces
        result.refused.append((chosen.entry.path, "target outside submitted/: refused"))
        return
    invalid = notebook_json_problem(data)
    try:
        old = target.read_bytes() if target.is_file() else None
        if old is not None and old != data:
            course = Course(submitted.parent)
            backup = course.keep({target: old}, "Submissions replaced by `python -m classroom import`.")
            result.kept.append((target, backup / target.relative_to(submitted.parent)))
        write_atomic(target, data)
    except Exception as e:  # noqa: BLE001 - full disk, permissions, a file where a folder should be...
        result.skipped.append((chosen.entry.path, f"could not be written to {target}: {_problem(e)}"))
        return
    if invalid:
        result.invalid.append(target)
        result.invalid_reasons[target] = invalid
    notes = target.with_name(IMPORT_FLAGS)     # what the LMS said, for export and report
    if chosen.late:
        result.late.append((student, a))
        write_atomic(notes, json.dumps([LATE_FLAG]) + "\n")
    else:
        notes.unlink(missing_ok=True)
    result.append((student, a, target))


def notebook_json_problem(data: bytes) -> str:
    """Why ``data`` is not valid notebook JSON ("" when it parses). Never raises: JSON nested deeper than
    the parser's recursion bound (``[[[[...]]]]``) is reported, not propagated as RecursionError."""
    if not data:
        return "empty file (0 bytes)"
    try:
        json.loads(data.decode("utf-8"))
    except UnicodeDecodeError as e:
        return f"not UTF-8 text (byte {e.start})"
    except RecursionError:
        return "not a valid notebook (nested too deeply)"
    except MemoryError:
        return "not a valid notebook (too large to check)"
    except ValueError as e:
        return "not valid JSON: " + " ".join(str(e).split())[:120]
    except Exception as e:  # noqa: BLE001 - whatever else the parser raises is the file's fault
        return f"not a valid notebook ({_problem(e)})"
    return ""
