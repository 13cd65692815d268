"""The README's instructor quick start works as written."""
import re
import shutil
import subprocess
import sys

from coursework import ROOT, make_course, perfect_submission, scores, submit, unactivated_env


def quickstart_commands():
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- instructor-quickstart -->\s*```bash\n(.*?)```", text, re.S).group(1)
    return [line.split("#")[0].strip() for line in block.splitlines() if line.split("#")[0].strip()]


def test_instructor_quickstart_works_as_written(tmp_path):
    course = make_course(tmp_path / "course")
    commands = quickstart_commands()
    assert [c.split()[3] for c in commands] == ["release", "import", "grade", "feedback", "export", "report"]
    env = unactivated_env()
    for command in commands:
        assert command.startswith("python -m classroom ")
        if " import " in command:  # the "collect" step: one student hands in a complete notebook
            release = course / "notebooks" / "01_softmax" / "01_softmax.ipynb"
            incoming = course / "incoming" / "alice" / "01_softmax" / "01_softmax.ipynb"
            incoming.parent.mkdir(parents=True)
            import json
            incoming.write_text(json.dumps(perfect_submission("01_softmax", release)))
        args = command.split()[1:]
        result = subprocess.run([sys.executable, *args], cwd=course, env=env, text=True, capture_output=True)
        assert result.returncode == 0, f"{command}\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
    score, max_score = scores(course, "01_softmax")["alice"]
    assert score == max_score > 0
    assert (course / "feedback" / "alice" / "01_softmax" / "01_softmax.html").is_file()
    csv = (course / "grades.csv").read_text().splitlines()
    assert csv[0].startswith("student,assignment,status") and any(row.startswith("alice,01_softmax,graded") for row in csv[1:])
    assert (course / "report" / "report.html").is_file()
