"""HTML feedback for each student: ``python -m classroom feedback ASSIGNMENT``.

Built from nbgrader's executed notebooks (which never held hidden tests) with outputs cut, tracebacks
reduced to their message, and the verdict of every test cell on top. No hidden test code and no solution
code can appear: neither was ever in these notebooks (and any ``### BEGIN HIDDEN TESTS`` block is removed
all the same).

Every student is rendered in isolation; one student's notebook never stops or slows the others:

* **Bounded input.** Only what a feedback page needs is copied out of the executed notebook (cell
  sources, plain outputs; no metadata, no widget state, no scripts, no attachments), and every part is
  capped before nbconvert sees it (:class:`Limits`). What makes nbconvert slow, measured on this
  course's machine (nbconvert 7.17, mistune 3.4, pygments 2.20): markdown whose links or images never
  close (``[[[[``, ``![![``, ``[](``) or whose LaTeX delimiters never close (``\\\\[``, ``\\\\(``,
  ``\\begin{x}``, ``<![CDATA[``) costs time quadratic in the cell's size (20 KB: 1.5 s, 80 KB: 22 s,
  200 KB: 160 s), and so does nbconvert's ``strip_files_prefix`` on a long rendered line full of
  ``[``; headings and tables cost about 30 us per byte, syntax colouring of code 20 to 110 us per byte
  (200 KB of ``f"{``: 22 s), every output about 0.4 ms and every code cell about 3 ms. Deep nesting
  (``> > > >``, ``- - - -``, 200 KB) is cheap: mistune stops nesting at 6 levels. So each markdown
  cell is cut to ``markdown_cell`` characters and only the first ``markdown_total`` characters of
  markdown are rendered as markdown, the rest shown as escaped plain text; code is cut per cell and
  coloured up to ``code_highlighted`` characters, then shown plain; outputs are cut per output, per
  cell and in total; cells and images are capped. The worst notebook found then renders in 3 to 7 s.
  What was cut is said on the page and in :attr:`FeedbackResult.cut`.
* **A time limit.** Rendering runs in a separate worker process (one for the whole class, started
  again after a failure) that gets ``seconds`` per student and an address-space limit, and is killed
  past them. A process rather than ``SIGALRM``: the limit then holds whichever thread calls
  :func:`feedback` (signals reach the main thread only), for C code that never checks for signals,
  inside library code that catches broad exceptions (an alarm's exception can be swallowed there),
  and for memory as well as time; and a renderer killed half-way cannot leave nbconvert's, jinja's or
  the caller's state inconsistent. The cost: one interpreter start (about 1.3 s) per class and per
  student who timed out.
* **A fallback.** A student whose page cannot be rendered (time limit, memory, an unreadable or
  malformed executed notebook) gets a short plain page: the score table, escaped, and a sentence
  saying that the notebook could not be rendered. :func:`feedback` returns who fell back and why.
"""
from __future__ import annotations

import html
import json
import os
import queue
import re
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path

from graders.layout import Course
from graders.reference import strip_hidden_tests

ROOT = Path(__file__).resolve().parent.parent       # holds classroom/ and graders/: the worker's sys.path
HIDDEN_BEGIN = "### BEGIN HIDDEN TESTS"
MESSAGE_CHARS = 2_000                               # one test cell's message in the score table
STARTUP_SECONDS = 120.0                             # the worker's own start (imports nbconvert)


@dataclass(frozen=True)
class Limits:
    """What one student's feedback may cost. The course's own notebooks stay far below every cap
    (longest markdown cell 3.6 K characters, at most 21 K of markdown, 2.9 K and 23 K of code, 61 cells),
    and with these caps the worst notebook found renders in a few seconds (see the module docstring)."""
    seconds: float = 30.0               # rendering one student's page; the renderer is killed after
    memory_bytes: int = 3 * 2**30       # address space of the renderer process (Unix)
    notebook_bytes: int = 64 * 2**20    # a larger executed notebook is not read (as the importer's cap)
    cells: int = 500                    # cells shown (a code cell costs about 3 ms)
    markdown_cell: int = 10_000         # characters of one markdown cell (quadratic cases: 0.45 s)
    markdown_total: int = 60_000        # markdown rendered as markdown; past it, plain text
    code_cell: int = 10_000             # characters of one code cell
    code_highlighted: int = 40_000      # code with syntax colours; past it, plain text
    plain_total: int = 300_000          # characters shown as plain text; past it, cells are left out
    output: int = 10_000                # characters of one output's text (as grading cuts outputs)
    outputs_per_cell: int = 20
    outputs_count: int = 500            # outputs in all (one costs about 0.4 ms, even empty)
    outputs_total: int = 200_000        # characters of all outputs' text
    image_bytes: int = 2_000_000        # one image (base64), as grading
    images_total: int = 10_000_000


class FeedbackResult(list):
    """The feedback pages written (a list of paths), with what else happened:

    - ``fallback``: ``(student, reason)`` for every student who got the plain page instead of the notebook;
    - ``cut``: ``(student, [what was cut])`` for pages that show the notebook in part;
    - ``failed``: ``(student, reason)`` where no page could be written at all.
    """

    def __init__(self):
        super().__init__()
        self.fallback: list[tuple[str, str]] = []
        self.cut: list[tuple[str, list[str]]] = []
        self.failed: list[tuple[str, str]] = []
        self.notes: list[str] = []

    def summary(self, folder: Path | str = "feedback") -> str:
        lines = [f"wrote feedback for {len(self)} student(s) under {folder}"]
        for student, reason in self.fallback:
            lines.append(f"  {student}: plain page with the scores only, the notebook could not be rendered ({reason})")
        for student, what in self.cut:
            lines.append(f"  {student}: notebook shown in part ({'; '.join(what)})")
        for student, reason in self.failed:
            lines.append(f"  {student}: no feedback written ({reason})")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


class RenderError(Exception):
    """One student's page could not be rendered; the message says why (for the instructor's summary)."""


def feedback(course: Path, assignment: str, limits: Limits | None = None,
             reveal_answers: bool = False) -> FeedbackResult:
    """HTML feedback per student at ``feedback/<student>/<assignment>/<assignment>.html``, from nbgrader's
    executed notebooks (which never held hidden tests) with outputs cut, tracebacks reduced to their
    message, and the verdict of every test cell on top. No hidden test code and no solution code can
    appear. Each student is rendered under ``limits`` (time, memory, sizes); a student whose notebook
    cannot be rendered gets a plain page with the scores. Returns the pages written, with who fell back
    and why (see :class:`FeedbackResult`).

    Scores and the instructor's comments come from nbgrader's gradebook (see
    :mod:`classroom.results`). Messages are worded for a graded notebook (:func:`for_graded`): the
    checks' hints, which show the way to an answer, are left out unless ``reveal_answers`` (the
    instructor's choice, ``python -m classroom feedback A --reveal-answers``). Maths is typeset by a
    MathJax served next to the pages (``feedback/_mathjax/``, copied from the installed
    ``jupyter-server-mathjax``): nothing is loaded from the internet."""
    from .files import write_atomic
    from .results import load_results

    limits = limits or Limits()
    layout = Course(course)
    done = FeedbackResult()
    mathjax = install_mathjax(layout.step_dir("feedback"))
    if mathjax is None:
        done.notes.append("MathJax is not installed (pip install jupyter-server-mathjax): pages load it from "
                          "the internet to typeset maths")
    renderer = _Renderer(limits, reveal_answers, mathjax)
    try:
        for r in load_results(layout, [assignment], with_missing=False):
            s = r.student
            try:
                summary = _score_html(r, assignment, reveal_answers)
            except Exception:  # noqa: BLE001 - never expected; the page still says what it can
                summary = f"<p>{_esc(s)}: {r.score or 0!s} / {r.max_score or 0!s} points ({_esc(r.status)})</p>\n"
            try:
                src = layout.autograded(s, assignment)
                try:
                    page, cut = renderer.render(str(src) if src.is_file() else None, summary,
                                                f"Feedback: {assignment}, {s}")
                    if cut:
                        done.cut.append((s, cut))
                except RenderError as e:
                    page = _fallback_page(summary, assignment, s, str(e))
                    done.fallback.append((s, str(e)))
            except Exception as e:  # noqa: BLE001 - our own trouble with this student: the others go on
                reason = f"{type(e).__name__}: {str(e)[:200]}"
                page = _fallback_page(summary, assignment, s, reason)
                done.fallback.append((s, reason))
            out_path = layout.feedback(s, assignment)
            try:
                write_atomic(out_path, page.encode("utf-8", "replace"))
            except OSError as e:
                done.failed.append((s, f"{out_path}: {e}"))
                continue
            done.append(out_path)
    finally:
        renderer.close()
    return done


# ------------------------------------------------------------------------------- the score table
def _esc(text) -> str:
    """Escaped HTML on one line (line breaks as ``<br>``): inside an HTML block of a markdown cell, a
    blank line would end the block and hand the rest to the markdown parser."""
    return _escape_brackets(html.escape(str(text), quote=True)).replace("\r\n", "<br>").replace(
        "\n", "<br>").replace("\r", "<br>")


def _escape_brackets(escaped: str) -> str:
    """``[`` as ``&#91;``: nbconvert runs a regular expression over rendered markdown that scans from
    every ``[`` to the end of its line (``strip_files_prefix``), quadratic on a long line of them."""
    return escaped.replace("[", "&#91;")


def _score_html(r, assignment: str, reveal_answers: bool = False) -> str:
    """The verdict on top of every page (and all of the fallback page): escaped HTML, never markdown,
    without blank lines (so that, as a markdown cell, it is one HTML block that mistune passes through)."""
    status = _esc(r.status) + (f": {_esc(_cut(r.reason, MESSAGE_CHARS))}" if r.reason else "")
    rows = []
    for cell in r.cells:
        message = for_graded(cell.message, reveal_answers)
        msg = _esc(_cut(message, MESSAGE_CHARS)) if message else ""
        rows.append(f"<tr><td>{_esc(cell.grade_id)}</td><td>{cell.points:g} / {cell.max_points:g}</td>"
                    f"<td>{_esc(cell.status)}{(': ' + msg) if msg else ''}</td></tr>")
    flags = "".join(f"<li>{_esc(_cut(f, MESSAGE_CHARS))}</li>\n" for f in r.flags)
    comments = "".join(f"<li>{_esc(_cut(c, MESSAGE_CHARS))}</li>\n" for c in r.comments)
    return (f'<div class="jp-RenderedHTMLCommon">\n<h1>Feedback: {_esc(assignment)}, {_esc(r.student)}</h1>\n'
            f"<p><strong>{r.score or 0:g} / {r.max_score or 0:g} points</strong> ({status})</p>\n"
            "<table>\n<thead><tr><th>test</th><th>points</th><th>result</th></tr></thead>\n<tbody>\n"
            + "\n".join(rows) + "\n</tbody>\n</table>\n" + (f"<ul>\n{flags}</ul>\n" if flags else "")
            + (f"<h2>Comments from your instructor</h2>\n<ul>\n{comments}</ul>\n" if comments else "") + "</div>\n")


# ------------------------------------------------------------------------------- graded wording
# What the checks say to a student at work that makes no sense, or gives too much away, once the
# notebook is graded. A check marks the sentence that shows the way to an answer as its hint (the
# line "Hint: ..." that graders.checking.fail writes); every check's instruction to re-run a cell is
# one of the sentences below. Feedback drops both (hints stay when the instructor reveals answers).
HINT_PREFIX = "Hint:"
GRADED_WORDING = [
    (re.compile(r"replace `raise NotImplementedError\(\)` in its cell with your code, run that cell, then this "
                r"check again\."), "its cell still raised `NotImplementedError` in the graded notebook."),
    (re.compile(r"set it in the answer cell above this check, run that cell, then this check again\."),
     "it was still None in the graded notebook."),
    (re.compile(r"run the experiment cell above this check \(it uses your functions, so finish the exercises it "
                r"calls first\)\."), "the experiment cell above this check did not set it in the graded notebook "
                                     "(it uses your functions)."),
    (re.compile(r";? ?(?:its value|whether it is right) is graded when the notebook is graded\.?"), "."),
    (re.compile(r"[;,]?\s*(?:then )?run (?:that|this|the) cells?(?: above)? again[^.\n]*\.?"), "."),
    (re.compile(r"\s*Reread the question and the cells above it\."), ""),
]


def for_graded(text: str, reveal_answers: bool = False) -> str:
    """A check's message as a graded notebook's feedback says it: instructions to run a cell again
    reworded or left out, and the hint lines left out unless ``reveal_answers``."""
    if not text:
        return text
    lines = [line for line in str(text).split("\n")
             if reveal_answers or not line.lstrip().startswith(HINT_PREFIX)]
    text = "\n".join(lines)
    for pattern, replacement in GRADED_WORDING:
        text = pattern.sub(replacement, text)
    return text


MATHJAX_FOLDER = "_mathjax"        # feedback/_mathjax/ (no student id starts with "_")
MATHJAX_CONFIG = "TeX-AMS-MML_HTMLorMML-full,Safe,local/tnn_course"
# jupyter-server-mathjax ships the STIX-Web fonts only (MathJax would look for its TeX fonts first)
MATHJAX_LOCAL = ('MathJax.Hub.Config({"HTML-CSS": {availableFonts: ["STIX-Web"], preferredFont: "STIX-Web", '
                 'webFont: "STIX-Web", imageFont: null}});\n'
                 'MathJax.Ajax.loadComplete("[MathJax]/config/local/tnn_course.js");\n')


def install_mathjax(feedback_dir: Path) -> str | None:
    """Copy MathJax from the installed ``jupyter-server-mathjax`` package into
    ``feedback_dir/_mathjax/`` (once per version) and return the URL a page at
    ``feedback/<student>/<A>/<A>.html`` loads it by (relative: the pages work from any web server or
    folder that serves ``feedback/``, with no network). None when the package is not installed."""
    try:
        import jupyter_server_mathjax
        from importlib.metadata import version
    except ImportError:
        return None
    static = Path(jupyter_server_mathjax.__file__).parent / "static"
    if not (static / "MathJax.js").is_file():
        return None
    import shutil

    target = Path(feedback_dir) / MATHJAX_FOLDER
    stamp = f"jupyter-server-mathjax {version('jupyter-server-mathjax')}\n{MATHJAX_LOCAL}"
    marker = target / "VERSION.txt"
    if not (marker.is_file() and marker.read_text(encoding="utf-8") == stamp):
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(static, target)
        (target / "config" / "local").mkdir(parents=True, exist_ok=True)
        (target / "config" / "local" / "tnn_course.js").write_text(MATHJAX_LOCAL, encoding="utf-8")
        marker.write_text(stamp, encoding="utf-8")
    return f"../../{MATHJAX_FOLDER}/MathJax.js?config={MATHJAX_CONFIG}"


def _fallback_page(summary: str, assignment: str, student: str, reason: str) -> str:
    return ("<!DOCTYPE html>\n<html>\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>Feedback: {_esc(assignment)}, {_esc(student)}</title>\n</head>\n<body>\n{summary}"
            f"<p>Your notebook could not be rendered on this page ({_esc(reason)}). Your score and the "
            "result of every test are above.</p>\n</body>\n</html>\n")


def _cut(text: str, limit: int) -> str:
    text = str(text)
    return text if len(text) <= limit else text[:limit] + f"... [cut: {len(text):,} characters in all]"


# ------------------------------------------------------------------ the renderer (parent's side)
_WORKER = "import sys; sys.path.insert(0, {root!r}); from classroom.feedback import _serve; _serve()"


class _Renderer:
    """One worker process, fed one student at a time over a pipe (one JSON line each way); a student
    who takes longer than ``limits.seconds`` gets the worker killed, and the next one a fresh worker."""

    def __init__(self, limits: Limits, reveal_answers: bool = False, mathjax_url: str | None = None):
        self.limits = limits
        self.reveal_answers = reveal_answers
        self.mathjax_url = mathjax_url
        self.proc: subprocess.Popen | None = None
        self.replies: queue.Queue | None = None
        self.stderr = None
        self.broken = ""            # the worker cannot start: every student falls back at once

    def _start(self) -> None:
        env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
        self.stderr = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _WORKER.format(root=str(ROOT)), json.dumps(asdict(self.limits))],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.stderr, env=env)
        self.replies = queue.Queue()
        threading.Thread(target=_pump, args=(self.proc.stdout, self.replies), daemon=True).start()
        ready = self._reply(STARTUP_SECONDS, "starting")
        if ready.get("ready") is not True:
            raise RenderError(f"the renderer did not start: {str(ready)[:200]}")

    def _reply(self, seconds: float, doing: str) -> dict:
        try:
            line = self.replies.get(timeout=seconds)
        except queue.Empty:
            self._stop()
            raise RenderError(f"{doing} took longer than {seconds:g} s") from None
        if line is None:
            code = self.proc.wait()
            why = self._stderr_tail()
            self._stop()
            raise RenderError(f"the renderer stopped while {doing} (exit status {code})" + (f": {why}" if why else ""))
        try:
            reply = json.loads(line)
            if not isinstance(reply, dict):
                raise ValueError("not a JSON object")
        except ValueError:
            self._stop()
            raise RenderError(f"the renderer's answer was garbled while {doing}") from None
        return reply

    def render(self, path: str | None, summary: str, title: str) -> tuple[str, list[str]]:
        if self.broken:
            raise RenderError(self.broken)
        if self.proc is None:
            try:
                self._start()
            except Exception as e:  # noqa: BLE001 - no interpreter, no nbconvert...: every page falls back
                self._stop()
                self.broken = f"the feedback renderer could not start: {e}"
                raise RenderError(self.broken) from None
        request = json.dumps({"path": path, "summary": summary, "title": title, "reveal": self.reveal_answers,
                              "mathjax_url": self.mathjax_url}) + "\n"
        try:
            self.proc.stdin.write(request.encode("utf-8", "replace"))
            self.proc.stdin.flush()
        except OSError:
            pass                    # it died: _reply says so
        reply = self._reply(self.limits.seconds, "rendering")
        if not reply.get("ok"):
            raise RenderError(str(reply.get("error") or "the renderer failed")[:300])
        return str(reply["html"]), [str(c) for c in reply.get("cut") or []]

    def _stderr_tail(self) -> str:
        try:
            self.stderr.seek(0, os.SEEK_END)
            self.stderr.seek(max(0, self.stderr.tell() - 2000))
            lines = self.stderr.read().decode("utf-8", "replace").strip().splitlines()
            return lines[-1][:200] if lines else ""
        except (OSError, ValueError):
            return ""

    def _stop(self) -> None:
        if self.proc is not None:
            if self.proc.poll() is None:
                self.proc.kill()
            self.proc.wait()
            for f in (self.proc.stdin, self.proc.stdout):
                try:
                    f.close()
                except OSError:
                    pass
        if self.stderr is not None:
            self.stderr.close()
        self.proc = self.replies = self.stderr = None

    def close(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            try:
                self.proc.stdin.close()           # the worker ends at the end of its input
                self.proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                pass
        self._stop()


def _pump(stream, replies: queue.Queue) -> None:
    """Hand every line the worker writes to ``replies``; ``None`` at its end."""
    try:
        for line in iter(stream.readline, b""):
            replies.put(line)
    except (OSError, ValueError):
        pass
    replies.put(None)


# ------------------------------------------------------------------ the renderer (worker's side)
def _serve() -> None:
    """The worker: read one request per line on stdin, answer one JSON line on stdout, until stdin ends."""
    limits = Limits(**json.loads(sys.argv[1]))
    out = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)                     # whatever a library prints goes to stderr, never into the replies
    sys.stdout = sys.stderr
    import nbformat
    from jinja2 import pass_context
    from nbconvert import HTMLExporter

    class Exporter(HTMLExporter):
        @pass_context
        def markdown2html(self, context, source):
            """nbconvert's filter, with attachments that never fail the page (see _Attachments)."""
            cell = context.get("cell", {})
            view = {"cell": {"attachments": _Attachments(cell.get("attachments") or {})},
                    "resources": context.get("resources", {})}
            return super().markdown2html(view, source)

    exporter = Exporter()
    exporter.from_notebook_node(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("x")]))
    try:                              # after the imports and a first render (templates loaded)
        import resource
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    except (ImportError, ValueError, OSError):
        pass
    out.write(json.dumps({"ready": True}) + "\n")
    out.flush()
    for line in iter(sys.stdin.buffer.readline, b""):
        try:
            request = json.loads(line)
            nb, cut = _notebook(request, limits)
            if request.get("mathjax_url"):
                exporter.mathjax_url = request["mathjax_url"]
            body, _ = exporter.from_notebook_node(nbformat.from_dict(nb),
                                                  resources={"metadata": {"name": request["title"]}})
            # require.js is for widgets, which a feedback page never has: not loaded from the internet
            body = body.replace(f'<script src="{exporter.require_js_url}"></script>', "")
            reply = {"ok": True, "html": body.encode("utf-8", "replace").decode("utf-8"), "cut": cut}
        except Exception as e:  # noqa: BLE001 - MemoryError, RecursionError, nbconvert's own errors...
            reply = {"ok": False, "error": f"{type(e).__name__}: {str(e)[:200]}"}
        out.write(json.dumps(reply) + "\n")
        out.flush()


class _Attachments(dict):
    """A markdown cell's attachments as nbconvert's renderer sees them: ``![](attachment:x)`` with no
    attachment ``x`` (dangling, or left out here) shows an empty image instead of failing the page."""

    def __contains__(self, name) -> bool:
        return True

    def __getitem__(self, name):
        return dict.get(self, name) or {"text/plain": ""}


def _text(value) -> str:
    """A notebook text field (a string or a list of strings) as one string without lone surrogates."""
    if isinstance(value, list):
        value = "".join(v for v in value if isinstance(v, str))
    if not isinstance(value, str):
        return ""
    return value.encode("utf-8", "replace").decode("utf-8")


def _without_hidden_tests(source: str) -> str:
    """``source`` without hidden test blocks; an unterminated one (cut, or never closed) is dropped
    to the end of the cell."""
    source = strip_hidden_tests(source)
    begin = source.find(HIDDEN_BEGIN)
    return source if begin < 0 else source[:begin] + "# [hidden tests removed]\n"


_BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")


class _Budget:
    """What is left of each of one notebook's caps, and what was cut (for the page and the summary)."""

    def __init__(self, limits: Limits, reveal_answers: bool = False, mathjax_url: str | None = None):
        self.limits = limits
        self.reveal_answers = reveal_answers
        self.mathjax_url = mathjax_url
        self.markdown = limits.markdown_total
        self.code = limits.code_highlighted
        self.plain = limits.plain_total
        self.outputs = limits.outputs_total
        self.output_count = limits.outputs_count
        self.images = limits.images_total
        self.cut: Counter = Counter()
        self.reveal = False             # keep the checks' hints (the instructor reveals answers)

    def notes(self) -> list[str]:
        return [f"{what} ({n}x)" if n > 1 else what for what, n in sorted(self.cut.items())]


def _html_cell(content: str) -> dict:
    """A cell of our own HTML: a markdown cell that is one HTML block (a ``<div>`` or ``<p>`` without
    blank lines, or a ``<pre>``), which mistune passes through unparsed, in linear time (1 MB: 3 ms).
    Not a raw cell: nbconvert runs raw cells through bleach, which drops headings and table heads and
    is slow on large text."""
    return {"cell_type": "markdown", "metadata": {}, "source": content}


def _note(text: str) -> dict:
    return _html_cell(f'<p class="feedback-note"><em>[{_esc(text)}]</em></p>\n')


def _plain(text: str, budget: _Budget, what: str) -> list[dict]:
    """``text`` as an escaped ``<pre>``: no markdown, no colours, so its cost is linear."""
    if len(text) > budget.plain:
        budget.cut[f"{what} left out: over {budget.limits.plain_total:,} characters of plain text"] += 1
        return [_note(f"{what} left out: this page shows at most {budget.limits.plain_total:,} characters "
                      "of plain text")]
    budget.plain -= len(text)
    return [_html_cell(f'<pre class="feedback-plain" style="white-space: pre-wrap">'
                       f'{_escape_brackets(html.escape(text, quote=False))}</pre>\n')]


def _notebook(request: dict, limits: Limits) -> tuple[dict, list[str]]:
    """The notebook to render for one student: the score table, then the executed notebook's cells
    within ``limits`` (the checks' messages worded for a graded notebook, :func:`for_graded`); with
    what was cut."""
    budget = _Budget(limits)
    budget.reveal = bool(request.get("reveal"))
    cells = [_html_cell(request["summary"])]
    body = []
    if request.get("path"):
        with open(request["path"], "rb") as f:
            raw = f.read(limits.notebook_bytes + 1)
        if len(raw) > limits.notebook_bytes:
            budget.cut[f"executed notebook larger than {limits.notebook_bytes // 2**20} MiB: not shown"] += 1
        else:
            try:
                data = json.loads(raw.decode("utf-8"))
            except RecursionError:
                raise ValueError("the executed notebook is nested too deeply") from None
            source_cells = data.get("cells") if isinstance(data, dict) else None
            if not isinstance(source_cells, list):
                raise ValueError("the executed notebook has no list of cells")
            for i, cell in enumerate(source_cells):
                if i >= limits.cells:
                    budget.cut[f"{len(source_cells) - i:,} cell(s) past the first {limits.cells:,} left out"] += 1
                    body.append(_note(f"{len(source_cells) - i:,} more cell(s) not shown"))
                    break
                if isinstance(cell, dict):
                    body.extend(_cell(cell, budget))
    if budget.cut:
        items = "".join(f"<li>{_esc(n)}</li>" for n in budget.notes())
        cells.append(_html_cell(f"<p>Parts of your notebook are cut on this page (your notebook itself is "
                               f"unchanged):</p><ul>{items}</ul>\n"))
    nb = {"nbformat": 4, "nbformat_minor": 5, "cells": cells + body,
          "metadata": {"language_info": {"name": "python", "pygments_lexer": "ipython3"}}}
    for i, cell in enumerate(nb["cells"]):
        cell["id"] = f"cell-{i}"
        cell.setdefault("metadata", {})
    return nb, budget.notes()


def _cell(cell: dict, budget: _Budget) -> list[dict]:
    limits = budget.limits
    kind = cell.get("cell_type")
    source = _text(cell.get("source"))
    if kind == "markdown":
        out = []
        n = len(source)
        if n > limits.markdown_cell:
            source = source[:limits.markdown_cell]
            budget.cut[f"markdown cell(s) cut to {limits.markdown_cell:,} characters"] += 1
        source = _without_hidden_tests(source)
        if len(source) <= budget.markdown:
            budget.markdown -= len(source)
            out.append({"cell_type": "markdown", "metadata": {}, "source": source,
                        "attachments": _images(cell.get("attachments"), budget)})
        else:
            budget.cut[f"markdown past {limits.markdown_total:,} characters shown as plain text"] += 1
            out.extend(_plain(source, budget, "a markdown cell"))
        if n > limits.markdown_cell:
            out.append(_note(f"this cell is cut: {n:,} characters, the first {limits.markdown_cell:,} shown"))
        return out
    if kind == "code":
        out = []
        n = len(source)
        if n > limits.code_cell:
            source = source[:limits.code_cell]
            budget.cut[f"code cell(s) cut to {limits.code_cell:,} characters"] += 1
        source = _without_hidden_tests(source)
        outputs = _outputs(cell.get("outputs"), budget)
        count = cell.get("execution_count")
        count = count if isinstance(count, int) and not isinstance(count, bool) else None
        if len(source) <= budget.code:
            budget.code -= len(source)
            out.append({"cell_type": "code", "metadata": {}, "source": source, "execution_count": count,
                        "outputs": outputs})
        else:
            budget.cut[f"code past {limits.code_highlighted:,} characters shown as plain text"] += 1
            out.extend(_plain(source, budget, "a code cell"))
            if outputs:
                out.append({"cell_type": "code", "metadata": {}, "source": "", "execution_count": count,
                            "outputs": outputs})
        if n > limits.code_cell:
            out.append(_note(f"this cell is cut: {n:,} characters, the first {limits.code_cell:,} shown"))
        return out
    if kind == "raw":
        return _plain(_without_hidden_tests(source[:limits.markdown_cell]), budget, "a raw cell")
    return []


def _images(attachments, budget: _Budget) -> dict:
    """The PNG and JPEG attachments of a markdown cell that fit the image budget."""
    kept = {}
    for name, bundle in (attachments.items() if isinstance(attachments, dict) else []):
        if not isinstance(name, str) or not isinstance(bundle, dict):
            continue
        for mime in IMAGE_TYPES:
            image = _text(bundle.get(mime))
            if image and _image_fits(image, budget):
                kept[name] = {mime: image}
                break
    return kept


def _image_fits(image: str, budget: _Budget) -> bool:
    if len(image) > min(budget.limits.image_bytes, budget.images) or not _BASE64.fullmatch(image):
        budget.cut[f"image(s) left out (over {budget.limits.image_bytes:,} bytes, past "
                   f"{budget.limits.images_total:,} in all, or not base64)"] += 1
        return False
    budget.images -= len(image)
    return True


TEXT_TYPES = ("text/plain", "text/markdown", "text/html", "text/latex", "image/svg+xml")
IMAGE_TYPES = ("image/png", "image/jpeg")


def _output_text(text: str, budget: _Budget) -> str:
    limits = budget.limits
    if len(text) > limits.output:
        budget.cut[f"output(s) cut to {limits.output:,} characters"] += 1
        text = text[:limits.output] + f"\n... [output cut: {len(text):,} characters in all]\n"
    return text


def _outputs(outputs, budget: _Budget) -> list[dict]:
    limits = budget.limits
    if not isinstance(outputs, list):
        return []
    kept = []
    for i, out in enumerate(outputs):
        if i >= limits.outputs_per_cell:
            budget.cut[f"output(s) past {limits.outputs_per_cell} per cell left out"] += 1
            kept.append({"output_type": "stream", "name": "stderr",
                         "text": f"[{len(outputs) - i:,} more output(s) not shown]\n"})
            break
        if not isinstance(out, dict):
            continue
        kind = out.get("output_type")
        if budget.outputs <= 0 or budget.output_count <= 0:
            budget.cut[f"outputs past {limits.outputs_total:,} characters or {limits.outputs_count} "
                       "outputs left out"] += 1
            if budget.output_count > -1:     # one note per cell, until there are too many of those too
                kept.append({"output_type": "stream", "name": "stderr",
                             "text": "[output not shown: this page shows at most "
                                     f"{limits.outputs_total:,} characters and {limits.outputs_count} outputs]\n"})
            budget.output_count -= 1
            break
        budget.output_count -= 1
        if kind == "stream":
            text = _output_text(for_graded(_text(out.get("text")), budget.reveal), budget)
            budget.outputs -= len(text)
            kept.append({"output_type": "stream", "name": "stderr" if out.get("name") == "stderr" else "stdout",
                         "text": text})
        elif kind == "error":
            ename, evalue = _text(out.get("ename"))[:200], for_graded(_text(out.get("evalue")), budget.reveal)
            line = f"{ename}: {_output_text(_cut(evalue, 2000), budget)}"
            budget.outputs -= len(line)
            kept.append({"output_type": "error", "ename": ename, "evalue": "", "traceback": [line]})
        elif kind in ("execute_result", "display_data"):
            data = out.get("data") if isinstance(out.get("data"), dict) else {}
            bundle = {}
            for mime in TEXT_TYPES:
                if mime not in data:
                    continue
                text = _text(data[mime])
                if len(text) > limits.output and mime != "text/plain":
                    budget.cut[f"{mime} output(s) over {limits.output:,} characters left out"] += 1
                    continue                # cut markup would break the page: the plain text stays
                if mime == "text/markdown":
                    if len(text) > budget.markdown:
                        budget.cut[f"markdown past {limits.markdown_total:,} characters shown as plain text"] += 1
                        continue
                    budget.markdown -= len(text)
                text = _output_text(text, budget)
                budget.outputs -= len(text)
                bundle[mime] = text
            for mime in IMAGE_TYPES:
                if mime not in data:
                    continue
                image = _text(data[mime])
                if not _image_fits(image, budget):
                    bundle.setdefault("text/plain", "[image not shown: too large]")
                    continue
                bundle[mime] = image
            if not bundle:
                bundle["text/plain"] = "[output not shown]"
            entry = {"output_type": kind, "data": bundle, "metadata": {}}
            if kind == "execute_result":
                count = out.get("execution_count")
                entry["execution_count"] = count if isinstance(count, int) and not isinstance(count, bool) else None
            kept.append(entry)
    return kept
