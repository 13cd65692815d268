"""Instructor pipeline around grading: importing submissions (folders, Canvas/Moodle zips), the CSV export
and the HTML class report, on a fake course built in a temporary folder (no notebook is executed)."""
from __future__ import annotations

import csv
import io
import json
import os
import zipfile
from pathlib import Path

import pytest

from classroom import cli as classroom_cli
from classroom.export import export_csv
from classroom.importer import import_submissions, infer_assignment, sanitize_student
from classroom.report import class_report
from classroom.results import load_results
from coursework import notebook

ASSIGNMENTS = ["01_softmax", "02_activations"]
TOP_MESSAGE = "AssertionError: softmax of equal scores should be uniform, got [1. 0. 0.]"


@pytest.fixture
def course(tmp_path) -> Path:
    root = tmp_path / "course"
    for a in ASSIGNMENTS:
        (root / "notebooks" / a).mkdir(parents=True)
    (root / "nbgrader_config.py").write_text("c = get_config()\n")
    return root


def add(zf: zipfile.ZipFile, name: str, data: bytes, when=(2024, 3, 1, 12, 0, 0)) -> None:
    zf.writestr(zipfile.ZipInfo(name, date_time=when), data)


def lms_zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        add(zf, "smithjohn_1001_5001_01_softmax.ipynb", notebook("john v1"), (2024, 3, 1, 9, 0, 0))
        add(zf, "smithjohn_1001_5001_01_softmax-1.ipynb", notebook("john v2"), (2024, 3, 1, 10, 0, 0))
        add(zf, "doejane_LATE_1002_5002_01_Softmax.ipynb", notebook("jane"))
        add(zf, "smithjohn_1001_5001_notes.txt", b"not a notebook")
        add(zf, "leeann_1003_5004_homework.ipynb", notebook("no assignment in the name"))
        add(zf, "José Müller_77_assignsubmission_file_/Softmax final (2).ipynb", notebook("jose"))
        add(zf, "Ann Lee_78_assignsubmission_file_/02_activations.ipynb", notebook("ann"))
        add(zf, "Ann Lee_78_assignsubmission_file_/screenshot.png", b"\x89PNG")
        add(zf, "__MACOSX/._smithjohn_1001_5001_01_softmax.ipynb", b"\x00\x05")
        add(zf, "../evil.ipynb", notebook("evil"))
        add(zf, "a/../../evil2.ipynb", notebook("evil"))
        add(zf, "/tmp/evil3.ipynb", notebook("evil"))
    return path


# --- import ---------------------------------------------------------------------------------------

def test_sanitize_and_infer():
    assert sanitize_student("José O'Neil") == "jose_o_neil"
    assert sanitize_student("  Ann-Marie  SMITH ") == "ann-marie_smith"
    assert sanitize_student("../../etc") == "etc"
    assert infer_assignment("01_softmax-1.ipynb", ASSIGNMENTS) == "01_softmax"
    assert infer_assignment("Softmax final (2).ipynb", ASSIGNMENTS) == "01_softmax"
    assert infer_assignment("ACTIVATIONS.ipynb", ASSIGNMENTS) == "02_activations"
    assert infer_assignment("homework.ipynb", ASSIGNMENTS) is None
    assert infer_assignment("softmax_and_activations.ipynb", ASSIGNMENTS) is None     # ambiguous
    nested = ["06_optimizers", "10_optimizers_advanced"]
    assert infer_assignment("optimizers_advanced_v2.ipynb", nested) == "10_optimizers_advanced"
    assert infer_assignment("optimizers.ipynb", nested) == "06_optimizers"


def test_import_lms_zip(course, tmp_path):
    result = import_submissions(lms_zip(tmp_path / "canvas.zip"), course)
    got = sorted((s, a, p.relative_to(course).as_posix()) for s, a, p in result)
    assert got == [
        ("ann_lee", "02_activations", "submitted/ann_lee/02_activations/02_activations.ipynb"),
        ("doejane", "01_softmax", "submitted/doejane/01_softmax/01_softmax.ipynb"),
        ("jose_muller", "01_softmax", "submitted/jose_muller/01_softmax/01_softmax.ipynb"),
        ("smithjohn", "01_softmax", "submitted/smithjohn/01_softmax/01_softmax.ipynb"),
    ]
    # the newest of the duplicates is kept, and reported
    assert b"john v2" in (course / "submitted/smithjohn/01_softmax/01_softmax.ipynb").read_bytes()
    assert result.duplicates == [("smithjohn", "01_softmax", "smithjohn_1001_5001_01_softmax-1.ipynb",
                                  ["smithjohn_1001_5001_01_softmax.ipynb"])]
    assert result.late == [("doejane", "01_softmax")]
    skipped = dict(result.skipped)
    assert "not a notebook" in skipped["smithjohn_1001_5001_notes.txt"]
    assert "not a notebook" in skipped["Ann Lee_78_assignsubmission_file_/screenshot.png"]
    assert "no known assignment" in skipped["leeann_1003_5004_homework.ipynb"]
    assert "__MACOSX/._smithjohn_1001_5001_01_softmax.ipynb" in skipped

    summary = result.summary()
    assert summary.splitlines()[0] == "imported 4 notebook(s) for 4 student(s) (01_softmax: 3, 02_activations: 1)"
    for text in ("refused ../evil.ipynb", "skipped smithjohn_1001_5001_notes.txt", "kept the newest",
                 "doejane submitted 01_softmax late"):
        assert text in summary
    # only the four notebooks were written, with the LMS's notes beside them
    written = sorted(p.relative_to(course).as_posix() for p in (course / "submitted").rglob("*.ipynb"))
    assert written == [t for _, _, t in got]
    notes = sorted(p.relative_to(course).as_posix() for p in (course / "submitted").rglob("flags.json"))
    assert notes == ["submitted/doejane/01_softmax/flags.json"]


def test_import_refuses_zip_slip(course, tmp_path):
    result = import_submissions(lms_zip(tmp_path / "canvas.zip"), course)
    refused = dict(result.refused)
    assert set(refused) == {"../evil.ipynb", "a/../../evil2.ipynb", "/tmp/evil3.ipynb"}
    assert all("refused" in why for why in refused.values())
    assert not (tmp_path / "evil.ipynb").exists() and not (course / "evil.ipynb").exists()
    assert not (tmp_path / "evil2.ipynb").exists() and not Path("/tmp/evil3.ipynb").exists()
    assert not any(b"evil" in p.read_bytes() for p in course.rglob("*.ipynb"))


def test_import_wrapped_zip_and_name_clash(course, tmp_path):
    """A download zipped inside one folder; two Canvas users with the same name keep apart."""
    path = tmp_path / "wrapped.zip"
    with zipfile.ZipFile(path, "w") as zf:
        add(zf, "submissions/smithjohn_1001_5001_02_activations.ipynb", notebook("first john"))
        add(zf, "submissions/smithjohn_1009_5009_02_activations.ipynb", notebook("second john"))
    result = import_submissions(path, course)
    assert sorted(s for s, _, _ in result) == ["smithjohn_1001", "smithjohn_1009"]
    assert "LMS id was appended" in result.summary()


def test_import_folder(course, tmp_path):
    src = tmp_path / "collected"
    for rel, data in {"Alice/01_softmax/my work.ipynb": notebook("alice"),
                      "bob/02_activations/02_activations.ipynb": notebook("bob"),
                      "bob/01_softmax/.ipynb_checkpoints/01_softmax-checkpoint.ipynb": notebook("ckpt"),
                      "carol/01_softmax/answers.txt": b"text",
                      "carol/99_unknown/99_unknown.ipynb": notebook("carol")}.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(data)
    (src / "carol/01_softmax/link.ipynb").symlink_to("/etc/hostname")
    result = import_submissions(src, course)
    assert sorted((s, a) for s, a, _ in result) == [("alice", "01_softmax"), ("bob", "02_activations")]
    assert b"alice" in (course / "submitted/alice/01_softmax/01_softmax.ipynb").read_bytes()
    skipped = dict(result.skipped)
    assert skipped["carol/01_softmax/link.ipynb"] == "symbolic link"
    assert "not a notebook" in skipped["carol/01_softmax/answers.txt"]
    assert "unknown assignment" in skipped["carol/99_unknown/99_unknown.ipynb"]
    assert "checkpoint" in skipped["bob/01_softmax/.ipynb_checkpoints/01_softmax-checkpoint.ipynb"]

    # <student>/<file>.ipynb needs --assignment (or a file name that names one)
    flat = tmp_path / "flat"
    (flat / "dave").mkdir(parents=True)
    (flat / "dave" / "mine.ipynb").write_bytes(b"{not json")
    assert list(import_submissions(flat, course)) == []
    result = import_submissions(flat, course, assignment="02_activations")
    assert [(s, a) for s, a, _ in result] == [("dave", "02_activations")]
    assert result.invalid == [course / "submitted/dave/02_activations/02_activations.ipynb"]
    with pytest.raises(ValueError, match="invalid assignment name"):
        import_submissions(flat, course, assignment="../x")
    with pytest.raises(ValueError, match="unknown assignment '03_typo'"):
        import_submissions(flat, course, assignment="03_typo")


# --- results: export and report -------------------------------------------------------------------

def cell(grade_id, status, points=2.0, message=""):
    ok = status == "passed"
    return {"grade_id": grade_id, "points": points if ok else 0.0, "max_points": points,
            "in_kernel": ok or status == "needs review", "recheck": ok,
            "status": status, "message": message}


def write_results(course: Path) -> None:
    ids = ["test_softmax", "test_cross_entropy", "test_jacobian"]
    results = {
        ("01_softmax", "alice"): ("graded", "", [cell(g, "passed") for g in ids], []),
        ("01_softmax", "bob"): ("needs review", "1 cell disagrees with the trusted re-check",
                                [cell("test_softmax", "needs review",
                                      message="passed in the kernel but failed the trusted re-check"),
                                 cell("test_cross_entropy", "passed"), cell("test_jacobian", "passed")], []),
        ("01_softmax", "carol"): ("failed", "time limit (300 s) exceeded", [], []),
        ("01_softmax", "dave"): ("graded", "", [cell("test_softmax", "failed", message=TOP_MESSAGE),
                                                cell("test_cross_entropy", "passed"),
                                                cell("test_jacobian", "failed", message="NotImplementedError")],
                                 ["test cell test_softmax was edited: restored from the release"]),
        ("01_softmax", "erin"): ("graded", "", [cell("test_softmax", "failed", message=TOP_MESSAGE + "\n  more"),
                                                cell("test_cross_entropy", "failed", message="NotImplementedError"),
                                                cell("test_jacobian", "passed")], []),
        ("02_activations", "alice"): ("graded", "", [cell("test_relu", "passed", 3.0)], []),
    }
    for (a, s), (status, reason, cells, flags) in results.items():
        score = sum(c["points"] for c in cells)
        data = {"student": s, "assignment": a, "status": status, "reason": reason,
                "score": score, "max_score": 6.0 if a == "01_softmax" else 3.0, "flags": flags, "cells": cells}
        path = course / "grading" / a / f"{s}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))
    for s, a in [("alice", "01_softmax"), ("frank", "01_softmax"), ("bob", "01_softmax")]:
        (course / "submitted" / s / a).mkdir(parents=True, exist_ok=True)
    (course / "grading" / "02_activations" / "broken.json").write_text("{oops")


def test_export_csv(course, tmp_path):
    write_results(course)
    out = export_csv(course, tmp_path / "grades.csv")
    text = out.read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0] == ("student,assignment,status,reason,score,max_score,"
                                    "needs_review_cells,failed_cells,flags,manual_cells,comments")
    assert [(r["assignment"], r["student"], r["status"]) for r in rows] == [
        ("01_softmax", "alice", "graded"), ("01_softmax", "bob", "needs review"),
        ("01_softmax", "carol", "failed"), ("01_softmax", "dave", "graded"),
        ("01_softmax", "erin", "graded"), ("01_softmax", "frank", "failed"),
        ("02_activations", "alice", "graded"), ("02_activations", "broken", "failed")]
    by = {(r["assignment"], r["student"]): r for r in rows}
    assert by["01_softmax", "alice"]["score"] == "6" and by["01_softmax", "alice"]["max_score"] == "6"
    assert by["01_softmax", "bob"]["needs_review_cells"] == "test_softmax"
    assert by["01_softmax", "bob"]["reason"] == "1 cell disagrees with the trusted re-check"
    assert by["01_softmax", "carol"]["reason"] == "time limit (300 s) exceeded"
    assert by["01_softmax", "dave"]["failed_cells"] == "test_softmax;test_jacobian"
    assert by["01_softmax", "dave"]["flags"] == "test cell test_softmax was edited: restored from the release"
    assert by["01_softmax", "frank"]["reason"] == "not graded yet" and by["01_softmax", "frank"]["score"] == ""
    assert by["02_activations", "broken"]["reason"].startswith("result file unreadable")
    assert len(text.splitlines()) == len(rows) + 1                   # one line per row

    # same results -> byte-identical file, whatever the files' order or times on disk
    first = out.read_bytes()
    for p in (course / "grading").rglob("*.json"):
        os.utime(p, (1, 1))
    assert export_csv(course, tmp_path / "again.csv").read_bytes() == first
    assert export_csv(course, out).read_bytes() == first


def test_class_report(course, tmp_path):
    write_results(course)
    html_path = class_report(course, tmp_path / "report")
    assert html_path == tmp_path / "report" / "report.html"
    names = sorted(p.name for p in (tmp_path / "report").iterdir())
    assert names == ["01_softmax_exercises.png", "01_softmax_scores.png", "02_activations_exercises.png",
                     "02_activations_scores.png", "report.html"]
    for name in names[:-1]:
        data = (tmp_path / "report" / name).read_bytes()
        assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 5000, name
    page = html_path.read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 4
    assert "http://" not in page and "https://" not in page and "<script" not in page
    # the commonest failure of test_softmax: two students, counted on the message's first line
    assert f"<td>2</td><td>{TOP_MESSAGE}</td>" in page
    assert "<td>2</td><td>NotImplementedError</td>" not in page      # one per exercise, not pooled
    assert "<td>1</td><td>NotImplementedError</td>" in page
    counts = "<tr><td>6</td><td>3</td><td>1</td><td>1</td><td>1</td><td>2.8</td><td>2</td></tr>"
    assert counts in page        # submissions, graded, needs review, failed, not graded yet, mean, median
    attention = page.split("Submissions to look at")[1].split("<h2")[0]
    for student, why in [("bob", "needs review"), ("carol", "time limit (300 s) exceeded"),
                         ("dave", "test cell test_softmax was edited"), ("frank", "not graded yet")]:
        assert f"<td>{student}</td>" in attention and why in attention
    assert "<td>alice</td>" not in attention and "<td>erin</td>" not in attention

    again = class_report(course, tmp_path / "report2")
    assert again.read_bytes() == html_path.read_bytes()
    assert ((tmp_path / "report2" / "01_softmax_scores.png").read_bytes()
            == (tmp_path / "report" / "01_softmax_scores.png").read_bytes())


def test_top_failure_counts(course):
    """Messages are counted on their first line, per exercise, most common first."""
    from classroom.report import top_failures

    write_results(course)
    rows = [r for r in load_results(course) if r.assignment == "01_softmax"]
    top = top_failures(rows)
    assert top["test_softmax"][0] == (TOP_MESSAGE, 2)
    assert top["test_softmax"][1] == ("passed in the kernel but failed the trusted re-check", 1)


# --- command line ---------------------------------------------------------------------------------

def test_cli(course, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(course)

    def run(*argv):
        return classroom_cli.main(list(argv))

    assert run("import", str(lms_zip(tmp_path / "lms.zip"))) == 0
    assert "imported 4 notebook(s)" in capsys.readouterr().out
    assert (course / "submitted/doejane/01_softmax/01_softmax.ipynb").is_file()
    assert run("import", str(tmp_path / "missing.zip")) == 2

    write_results(course)
    assert run("export") == 0
    assert (course / "grades.csv").read_text().startswith("student,assignment,status")
    assert run("report") == 0
    assert (course / "report" / "report.html").is_file()
    assert "wrote" in capsys.readouterr().out


# --- the importer's names, the LMS's marks, replaced submissions, file modes ---------------------------

def _zip_with_name(path: Path, name: str, utf8_flag: bool) -> Path:
    """A zip with one entry called ``name``, its UTF-8 flag set or not (as tools that write UTF-8
    names without the flag do: macOS Archive Utility, many LMS exports)."""
    info = zipfile.ZipInfo(name, date_time=(2024, 3, 1, 12, 0, 0))
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr(info, notebook("x"))
    if not utf8_flag:   # Python always flags non-ASCII names: write the raw bytes without the flag
        raw = path.read_bytes()
        encoded = name.encode("utf-8")
        for header in (b"PK\x03\x04", b"PK\x01\x02"):
            at = raw.find(header)
            while at >= 0:
                flag_at = at + (6 if header == b"PK\x03\x04" else 8)
                flags = int.from_bytes(raw[flag_at:flag_at + 2], "little") & ~0x800
                raw = raw[:flag_at] + flags.to_bytes(2, "little") + raw[flag_at + 2:]
                at = raw.find(header, at + 4)
        assert raw.count(encoded) == 2
        path.write_bytes(raw)
        with zipfile.ZipFile(path) as zf:
            assert not zf.infolist()[0].flag_bits & 0x800
    return path


@pytest.mark.parametrize("layout", ["José O'Neil_77_assignsubmission_file_/01_softmax.ipynb",
                                    "joseoneil_LATE_1001_5001_01_softmax.ipynb".replace("joseoneil", "José O'Neil")])
def test_one_name_one_student_whatever_the_zip_flags(course, tmp_path, layout):
    """The same name gives the same student id from a zip with or without the UTF-8 flag, and with
    composed or decomposed accents (macOS writes NFD)."""
    import unicodedata

    ids = set()
    for i, (name, flag) in enumerate([(layout, True), (layout, False),
                                      (unicodedata.normalize("NFD", layout), False)]):
        result = import_submissions(_zip_with_name(tmp_path / f"{i}.zip", name, flag), course)
        assert len(result) == 1, result.summary()
        ids.add(result[0][0])
    assert ids == {"jose_o_neil"}
    assert "already holds" not in result.summary()


def test_import_warns_when_an_id_already_holds_another_name(course, tmp_path):
    first = tmp_path / "a"
    (first / "José O'Neil" / "01_softmax").mkdir(parents=True)
    (first / "José O'Neil" / "01_softmax" / "x.ipynb").write_bytes(notebook("one"))
    import_submissions(first, course)
    second = tmp_path / "b"
    (second / "Jose O Neil" / "01_softmax").mkdir(parents=True)
    (second / "Jose O Neil" / "01_softmax" / "x.ipynb").write_bytes(notebook("two"))
    summary = import_submissions(second, course).summary()
    assert "jose_o_neil: already holds submissions imported as José O'Neil; now also Jose O Neil" in summary


def test_reimport_keeps_the_replaced_submission(course, tmp_path):
    """A re-import replaces a different submission only after keeping it (and says where)."""
    src = tmp_path / "in" / "alice" / "01_softmax"
    src.mkdir(parents=True)
    (src / "a.ipynb").write_bytes(notebook("first"))
    import_submissions(tmp_path / "in", course)
    (src / "a.ipynb").write_bytes(notebook("second"))
    result = import_submissions(tmp_path / "in", course)
    assert len(result.kept) == 1
    target, backup = result.kept[0]
    assert b"second" in target.read_bytes() and b"first" in backup.read_bytes()
    assert backup.is_relative_to(course / "backups") and str(backup) in result.summary()
    assert not import_submissions(tmp_path / "in", course).kept     # the same file again: nothing to keep


def test_canvas_late_mark_reaches_the_csv_and_the_report(course, tmp_path):
    import_submissions(lms_zip(tmp_path / "canvas.zip"), course)
    rows = {(r["student"], r["assignment"]): r for r in csv.DictReader(io.StringIO(
        export_csv(course, tmp_path / "grades.csv").read_text(encoding="utf-8")))}
    assert rows["doejane", "01_softmax"]["flags"] == "submitted late (Canvas LATE mark)"
    assert rows["smithjohn", "01_softmax"]["flags"] == ""
    write_results(course)       # graded since: the mark stays, next to the grader's flags
    (course / "grading" / "01_softmax" / "doejane.json").write_text(json.dumps(
        {"status": "graded", "score": 2.0, "max_score": 2.0, "flags": ["restored a test cell"],
         "cells": [cell("test_softmax", "passed")]}))
    rows = {(r["student"], r["assignment"]): r for r in csv.DictReader(io.StringIO(
        export_csv(course, tmp_path / "grades.csv").read_text(encoding="utf-8")))}
    assert rows["doejane", "01_softmax"]["flags"] == "submitted late (Canvas LATE mark) | restored a test cell"
    page = class_report(course, tmp_path / "report").read_text(encoding="utf-8")
    attention = page.split("Submissions to look at")[1].split("<h2")[0]
    assert "<td>doejane</td>" in attention and "submitted late (Canvas LATE mark)" in attention
    # a later import without the mark clears it
    with zipfile.ZipFile(tmp_path / "again.zip", "w") as zf:
        add(zf, "doejane_1002_5002_01_Softmax.ipynb", notebook("jane again"))
    import_submissions(tmp_path / "again.zip", course)
    assert not (course / "submitted/doejane/01_softmax/flags.json").exists()


def test_written_files_follow_the_umask(tmp_path):
    """Feedback, autograded notebooks, CSV and report all go through write_atomic: the mode is what the
    umask gives a new file (a TA group or a web server can read feedback with umask 022 or 002)."""
    from classroom.files import write_atomic

    old = os.umask(0o002)
    try:
        write_atomic(tmp_path / "a" / "page.html", "x")
        os.umask(0o027)
        write_atomic(tmp_path / "b.html", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "a" / "page.html").stat().st_mode & 0o777 == 0o664
    assert (tmp_path / "b.html").stat().st_mode & 0o777 == 0o640
