"""Benchmark class grading: plain ``nbgrader autograde`` against ``python -m classroom grade`` with
``--jobs 1`` and ``--jobs 2`` (sandbox and trusted re-check included), on one generated class.

    python -m classroom.benchmark --students 20            # every notebook of the course
    python -m classroom.benchmark --students 20 --notebooks 01_softmax 02_activations

The class is generated from the real notebooks: a fixed mix of complete, blank and half-done
submissions (complete answers from the solution notebooks). Each of the three runs starts from the
same fresh copy of the class. Besides the times, each row shows the points awarded in all (the three
runs should agree) and, for ours, the results' statuses. This prints figures; it asserts nothing
about time.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from authoring.nbgrader import nbgrader_env
from graders.layout import Course

CHECKOUT = Course.checkout()
ROOT = CHECKOUT.root
KINDS = ["complete", "blank", "half", "complete", "complete"]  # the mix, by student number


def _answers(assignment: str) -> dict[str, str]:
    source = json.loads(CHECKOUT.source(assignment).read_text())
    out = {}
    for c in source["cells"]:
        nbg = c.get("metadata", {}).get("nbgrader", {})
        if nbg.get("solution"):
            src = "".join(c["source"])
            out[nbg["grade_id"]] = "\n".join(l for l in src.splitlines() if "### " not in l)
    return out


def make_class(course: Path, assignments: list[str], students: int) -> int:
    """A course folder with ``students`` submissions of every assignment; returns the notebook count."""
    for name in ("tnn_course.py", "utils", "graders", "datasets", "solutions", "authoring", "classroom"):
        (course / name).symlink_to(ROOT / name)
    (course / "nbgrader_config.py").write_text((ROOT / "nbgrader_config.py").read_text())
    shutil.copytree(CHECKOUT.step_dir("notebooks"), Course(course).step_dir("notebooks"))
    count = 0
    for a in assignments:
        answers = _answers(a)
        release = json.loads(Course(course).release(a).read_text())
        for i in range(students):
            kind = KINDS[i % len(KINDS)]
            nb = json.loads(json.dumps(release))
            filled = 0
            for cell in nb["cells"]:
                gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                if gid in answers and (kind == "complete" or (kind == "half" and filled % 2 == 0)):
                    cell["source"] = answers[gid]
                if gid in answers:
                    filled += 1
            target = Course(course).submitted(f"student{i:02d}", a)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(nb))
            count += 1
    return count


def run_plain(course: Path, assignments: list[str]) -> float:
    env = nbgrader_env()
    for a in assignments:
        subprocess.run([sys.executable, "-m", "nbgrader", "generate_assignment", a, "--force",
                        "--log-level=ERROR"], cwd=course, env=env, check=True, capture_output=True)
    start = time.perf_counter()
    for a in assignments:
        subprocess.run([sys.executable, "-m", "nbgrader", "autograde", a, "--force", "--log-level=ERROR"],
                       cwd=course, env=env, capture_output=True)
    return time.perf_counter() - start


def run_ours(course: Path, assignments: list[str], jobs: int) -> float:
    env = nbgrader_env()
    for a in assignments:  # registration is set-up, as for plain nbgrader
        subprocess.run([sys.executable, "-m", "classroom", "release", a], cwd=course, env=env, check=True,
                       capture_output=True)
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "classroom", "grade", *assignments, "--jobs", str(jobs)],
                          cwd=course, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        print(done.stdout[-2000:], done.stderr[-2000:])
    return elapsed


def plain_points(course: Path, assignments: list[str]) -> tuple[float, str]:
    """Total score in the gradebook after plain nbgrader, and how many notebooks it graded."""
    from nbgrader.api import Gradebook

    total, graded = 0.0, 0
    with Gradebook(f"sqlite:///{Course(course).gradebook}") as gb:
        for a in assignments:
            for sub in gb.assignment_submissions(a):
                total += sub.score
                graded += 1
    return total, f"{graded} in gradebook"


def our_points(course: Path, assignments: list[str]) -> tuple[float, str]:
    """Total score of our results, and their statuses."""
    from collections import Counter

    from .results import load_results

    results = load_results(course, assignments, with_missing=False)
    statuses = Counter(r.status for r in results)
    return sum(r.score or 0.0 for r in results), ", ".join(f"{n} {s}" for s, n in sorted(statuses.items()))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m classroom.benchmark", description=__doc__.split("\n\n")[0].replace("``", ""))  # plain text in a terminal
    parser.add_argument("--students", type=int, default=20)
    parser.add_argument("--notebooks", nargs="*", help="default: every notebook of the course")
    args = parser.parse_args(argv)
    assignments = args.notebooks or CHECKOUT.assignments()
    rows = []
    with tempfile.TemporaryDirectory(prefix="tnn-bench-") as tmp:
        for label, runner, points in [
                ("plain nbgrader autograde", lambda c: run_plain(c, assignments), plain_points),
                ("classroom grade --jobs 1", lambda c: run_ours(c, assignments, 1), our_points),
                ("classroom grade --jobs 2", lambda c: run_ours(c, assignments, 2), our_points)]:
            course = Path(tmp) / label.split()[0] / label.replace(" ", "_")
            course.mkdir(parents=True)
            n = make_class(course, assignments, args.students)
            print(f"running {label} on {n} notebooks ...", flush=True)
            seconds = runner(course)
            rows.append((label, n, seconds, *points(course, assignments)))
    base = rows[0][1] / rows[0][2]
    print(f"\n{args.students} students x {len(assignments)} notebooks ({', '.join(assignments)}), "
          f"{os.cpu_count()} cores")
    print(f"{'run':<28}{'notebooks':>10}{'wall time':>12}{'notebooks/s':>13}{'vs plain':>10}{'points':>9}  results")
    for label, n, seconds, total, statuses in rows:
        rate = n / seconds
        print(f"{label:<28}{n:>10}{seconds:>11.1f}s{rate:>13.3f}{rate / base:>9.2f}x{total:>9g}  {statuses}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
