"""Edit a solution notebook as text, and turn the text back into the notebook.

The solution notebooks (``solutions/NN_topic/NN_topic.ipynb``) are the single source. Editing their
JSON by hand is error-prone, so this converts a notebook to a plain "percent" script and back:

    python -m authoring to-text solutions/01_softmax/01_softmax.ipynb /tmp/01.py
    ... edit /tmp/01.py ...
    python -m authoring to-ipynb /tmp/01.py solutions/01_softmax/01_softmax.ipynb
    python -m authoring build        # regenerate notebooks/ and graders/fixtures/

Cell headers (a line starting ``# %%``) say what nbgrader should make of the cell:

    # %% [markdown]                       explanation (Markdown, LaTeX)
    # %% setup                            the course set-up cell (read-only)
    # %% solution id=softmax              an answer cell: code between ### BEGIN/END SOLUTION
    # %% solution id=rel_err in-context   an answer that uses the notebook's state (its variables), so
                                          graders.reference.load skips it
    # %% test id=test_softmax points=2    an autograded test cell (read-only); may hold hidden tests
    # %% code                             a demo or experiment students may run and change

The text form is a working copy only; do not commit it.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

from graders.reference import IN_CONTEXT  # tag of answer cells that graders.reference.load skips

HEADER = re.compile(r"^# %%(.*)$")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def _nbgrader(kind: str, grade_id: str | None, points: float | None) -> dict | None:
    if kind == "setup":
        return {"grade": False, "grade_id": "setup", "locked": True, "schema_version": 3,
                "solution": False, "task": False}
    if kind == "solution":
        return {"grade": False, "grade_id": grade_id, "locked": False, "schema_version": 3,
                "solution": True, "task": False}
    if kind == "test":
        return {"grade": True, "grade_id": grade_id, "locked": True, "points": points,
                "schema_version": 3, "solution": False, "task": False}
    return None


def text_to_notebook(text: str) -> dict:
    cells, kind, meta, lines = [], None, {}, []

    def flush():
        if kind is None:
            return
        src = "\n".join(lines).strip("\n")
        if kind == "markdown":
            src = "\n".join(l[2:] if l.startswith("# ") else l[1:] if l.startswith("#") else l
                            for l in src.splitlines())
        grade_id = meta.get("id")
        nbg = _nbgrader(kind, grade_id, float(meta["points"]) if "points" in meta else None)
        cell_id = grade_id or (nbg and nbg["grade_id"]) or f"{kind}-{len(cells):02d}"
        metadata = {"nbgrader": nbg} if nbg else {}
        if "in-context" in meta:
            metadata["tags"] = [IN_CONTEXT]
        cell = {"cell_type": "markdown" if kind == "markdown" else "code", "id": cell_id,
                "metadata": metadata, "source": _split(src)}
        if cell["cell_type"] == "code":
            cell["execution_count"] = None
            cell["outputs"] = []
        cells.append(cell)

    for line in text.splitlines():
        m = HEADER.match(line)
        if m:
            flush()
            words = m.group(1).split()
            kind = "markdown" if words and words[0] == "[markdown]" else (words[0] if words else "code")
            if kind not in {"markdown", "setup", "solution", "test", "code"}:
                raise ValueError(f"unknown cell kind in header {line!r}")
            meta = dict(w.split("=", 1) if "=" in w else (w, "") for w in words[1:])
            lines = []
        else:
            lines.append(line)
    flush()
    ids = [c["id"] for c in cells]
    if len(ids) != len(set(ids)):
        raise ValueError(f"duplicate cell ids: {sorted(i for i in ids if ids.count(i) > 1)}")
    return {"cells": cells, "metadata": {"kernelspec": KERNELSPEC,
                                         "language_info": {"name": "python"}},
            "nbformat": 4, "nbformat_minor": 5}


def notebook_to_text(nb: dict) -> str:
    out = []
    for cell in nb["cells"]:
        src = "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]
        nbg = cell.get("metadata", {}).get("nbgrader")
        if cell["cell_type"] == "markdown":
            out.append("# %% [markdown]")
            out.append("\n".join(("# " + l) if l else "#" for l in src.splitlines()))
        elif nbg and nbg.get("grade_id") == "setup":
            out += ["# %% setup", src]
        elif nbg and nbg.get("solution"):
            flag = " in-context" if IN_CONTEXT in cell["metadata"].get("tags", []) else ""
            out += [f"# %% solution id={nbg['grade_id']}{flag}", src]
        elif nbg and nbg.get("grade"):
            points = nbg.get("points", 0)
            points = int(points) if float(points).is_integer() else points
            out += [f"# %% test id={nbg['grade_id']} points={points}", src]
        else:
            out += ["# %% code", src]
        out.append("")
    return "\n".join(out)


def _split(src: str) -> list[str]:
    lines = src.splitlines(keepends=True)
    return lines


def write_notebook(nb: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
