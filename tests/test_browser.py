"""A real browser: JupyterLab (as requirements.txt installs it) started headless from a copy of the
repository root, driven in Debian's Chromium with Playwright. A student notebook shows a check's
message for an unimplemented exercise, the solution notebook shows passing checks, and nbgrader's
JupyterLab extensions (assignment list, validate, formgrader) are there, the assignment list without
an error. A feedback page typesets its maths with the network off. Screenshots are saved in
test-artifacts/ (kept by CI as artifacts)."""
import functools
import http.server
import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request

import pytest

from coursework import ROOT

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts"
TOKEN = "course-browser-test"

def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _playwright():
    sync_api = pytest.importorskip("playwright.sync_api") if not os.environ.get("CI") else __import__(
        "playwright.sync_api", fromlist=["sync_playwright"])
    if not os.path.exists(CHROMIUM):
        if os.environ.get("CI"):
            pytest.fail("Debian's chromium is not installed (.ci/run installs it)")
        pytest.skip("chromium is not installed (apt-get install chromium)")
    return sync_api


CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def offline(page, seen: list[str]) -> None:
    """The network off for ``page``: every request to a host other than this machine is refused (and
    noted in ``seen``)."""
    def route(r):
        host = urllib.parse.urlsplit(r.request.url).hostname
        if r.request.url.startswith(("file:", "data:", "blob:")) or host in ("127.0.0.1", "localhost"):
            r.continue_()
        else:
            seen.append(r.request.url)
            r.abort("internetdisconnected")
    page.route("**/*", route)


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    sync_api = _playwright()
    # a copy of the repository root, so that JupyterLab's autosave cannot touch the committed notebooks
    root = tmp_path_factory.mktemp("lab") / "course"
    shutil.copytree(ROOT, root, ignore=shutil.ignore_patterns(".git", ".venv", "__pycache__", "test-artifacts",
                                                               "autograded", "submitted", "gradebook.db",
                                                               "exchange", "workspace", "backups", "feedback"))
    port = _free_port()
    env = dict(os.environ, MPLBACKEND="module://matplotlib_inline.backend_inline")
    server = subprocess.Popen(
        [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root", f"--port={port}",
         "--ServerApp.ip=127.0.0.1", f"--ServerApp.token={TOKEN}", f"--ServerApp.root_dir={root}",
         # own workspace and settings folders: nothing from (or into) the user's ~/.jupyter
         f"--LabApp.workspaces_dir={root.parent / 'workspaces'}",
         f"--LabApp.user_settings_dir={root.parent / 'settings'}",
         "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
        cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{base}/api/status?token={TOKEN}", timeout=1)
            break
        except Exception:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab did not start:\n{server.stdout.read()[-3000:]}")
            time.sleep(0.5)
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser, base, root
        browser.close()
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        server.kill()


def _dismiss_news(page):
    """JupyterLab asks once whether to fetch news; answer no so that screenshots show the notebook."""
    no = page.locator(".jp-toast-button", has_text="No")
    try:
        no.first.click(timeout=3_000)
    except Exception:
        pass


def _show_tab(page, tab, content, timeout=90):
    """Bring the main-area tab labelled `tab` to the front and wait until `content` is visible in it.

    Opening a panel does not always leave it in front: a panel opened just before (the assignment list
    fetches its data first) can take the focus back, and the new panel's content then stays hidden. So
    the tab is clicked, and clicked again until its content shows."""
    label = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=tab).first
    label.wait_for(timeout=30_000)
    deadline = time.monotonic() + timeout
    while True:
        label.click()
        try:
            content.wait_for(timeout=10_000)
            return
        except Exception:
            if time.monotonic() > deadline:
                page.screenshot(path=str(ARTIFACTS / f"browser-{tab.lower()}-not-shown.png"))
                current = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current").all_inner_texts()
                pytest.fail(f"the {tab!r} tab did not show {content} within {timeout} s "
                            f"(tabs in front: {current}; screenshot in test-artifacts/)")


def _open_and_run_all(browser, base, path):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{base}/lab/tree/{path}?token={TOKEN}")
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden)", timeout=90_000)
    _dismiss_news(page)
    page.locator(".jp-StatusBar-TextItem", has_text="Idle").first.wait_for(timeout=90_000)  # kernel ready
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    return page


def test_student_notebook_shows_the_check_message(lab):
    browser, base, _ = lab
    page = _open_and_run_all(browser, base, "notebooks/01_softmax/01_softmax.ipynb")
    message = page.locator(".jp-OutputArea-output", has_text="softmax is not implemented yet").first
    message.wait_for(timeout=90_000)
    message.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "browser-student-notebook.png"))
    text = message.inner_text()
    assert "NotImplementedError" in text and "replace `raise NotImplementedError()`" in text
    page.close()


def test_solution_notebook_shows_passing_checks(lab):
    browser, base, _ = lab
    page = _open_and_run_all(browser, base, "solutions/01_softmax/01_softmax.ipynb")
    last = page.locator(".jp-OutputArea-output", has_text="[ok] check_training").first
    last.wait_for(timeout=120_000)  # the last check of the notebook: everything above ran
    ok = page.locator(".jp-OutputArea-output", has_text="[ok] check_softmax").first
    ok.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "browser-solution-notebook.png"))
    assert page.locator(".jp-OutputArea-output", has_text="[ok] check_softmax_cross_entropy").count() >= 1
    assert page.locator(".jp-OutputArea-output [data-mime-type='application/vnd.jupyter.stderr']").count() == 0
    assert page.locator(".jp-OutputArea-output img").count() >= 2  # the Jacobian and training figures
    page.close()


def test_nbgrader_extensions_load(lab):
    browser, base, _ = lab
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{base}/lab/tree/notebooks/01_softmax/01_softmax.ipynb?token={TOKEN}")
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden)", timeout=90_000)
    # validate: a toolbar button on every notebook
    page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-NotebookPanel-toolbar .validate-button",
                 has_text="Validate").first.wait_for(timeout=60_000)
    # assignment list and formgrader: the Nbgrader menu opens each in a tab, with its content
    for item, tab, content in [("Assignment List", "Assignments", "Released assignments"),
                               ("Formgrader", "Formgrader", "Manage Assignments")]:
        page.locator(".lm-MenuBar-itemLabel", has_text="Nbgrader").first.click()
        page.locator(".lm-Menu-itemLabel", has_text=item).first.click()
        scope = page.frame_locator("iframe") if tab == "Formgrader" else page
        _show_tab(page, tab, scope.locator(f"text={content}").first)
        if tab == "Assignments":
            # the course's exchange (nbgrader_config.py) answers: no "Error fetching courses!"
            time.sleep(5)        # the panel asks the server for the courses once it shows
            page.screenshot(path=str(ARTIFACTS / "browser-nbgrader-assignment-list.png"))
            assert page.locator("text=Error fetching").count() == 0
        if tab == "Formgrader":
            # the course's assignments are listed (attached: the table may sit below the fold)
            scope.locator("text=01_softmax").first.wait_for(state="attached", timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "browser-nbgrader-formgrader.png"))
    page.close()


def test_feedback_typesets_maths_with_the_network_off(lab, tmp_path):
    """A feedback page, served by a plain web server from feedback/ as an instructor or LMS would,
    typesets its maths with every request to another host refused: MathJax comes from the installed
    jupyter-server-mathjax, copied next to the pages."""
    browser = lab[0]
    from classroom.feedback import feedback
    from graders.layout import Course

    course = Course(tmp_path / "course")
    a = "01_softmax"
    released = json.loads((ROOT / "notebooks" / a / f"{a}.ipynb").read_text(encoding="utf-8"))
    target = course.autograded("alice", a)
    target.parent.mkdir(parents=True)
    target.write_text(json.dumps(released), encoding="utf-8")
    result = course.result(a, "alice")
    result.parent.mkdir(parents=True)
    result.write_text(json.dumps({"status": "graded", "score": 0.0, "max_score": 2.0, "flags": [], "cells": [
        {"grade_id": "test_softmax", "points": 0.0, "max_points": 2.0, "status": "failed",
         "message": "softmax is not implemented yet"}]}), encoding="utf-8")
    written = feedback(course.root, a)
    assert written == [course.feedback("alice", a)], written.summary()
    page_html = written[0].read_text(encoding="utf-8")
    assert "../../_mathjax/MathJax.js" in page_html
    assert 'src="http' not in page_html and 'href="http' not in page_html    # nothing from another host

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(course.step_dir("feedback")))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    refused: list[str] = []
    try:
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        offline(page, refused)
        page.goto(f"http://127.0.0.1:{server.server_address[1]}/alice/{a}/{a}.html")
        page.wait_for_function("window.MathJax && MathJax.Hub && MathJax.Hub.queue && "
                               "MathJax.Hub.queue.pending === 0 && MathJax.Hub.queue.running === 0 && "
                               "document.querySelectorAll('.MathJax, .MathJax_Display, .MathJax_CHTML').length > 0",
                               timeout=60_000)
        typeset = page.locator(".MathJax, .MathJax_CHTML").count()
        page.locator(".MathJax, .MathJax_CHTML").first.scroll_into_view_if_needed()
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "browser-feedback-maths-offline.png"))
        errors = page.locator("text=Math Processing Error").count()
        raw = page.evaluate("document.body.innerText.includes('$N$')")
        page.close()
    finally:
        server.shutdown()
    assert typeset >= 10 and errors == 0 and not raw
    assert not any("mathjax" in u.lower() for u in refused), refused


def test_formgrader_typesets_maths_with_the_network_off(lab):
    """The formgrader's page for grading a submission (as an instructor reviews a "needs review" cell)
    typesets the notebook's maths with every request to another host refused: MathJax comes from the
    Jupyter server (jupyter-server-mathjax), not from nbconvert's CDN default."""
    browser, base, root = lab
    from nbgrader.api import Gradebook

    from authoring.nbgrader import run_nbgrader
    from classroom.grading import add_submission

    a = "01_softmax"
    run_nbgrader(["generate_assignment", a, "--force", "--log-level=WARN"], cwd=root, capture=True)
    executed = root / "autograded" / "alice" / a / f"{a}.ipynb"
    executed.parent.mkdir(parents=True)
    shutil.copy(root / "notebooks" / a / f"{a}.ipynb", executed)
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}") as gb:
        add_submission(gb, a, "alice")
        submission_id = gb.find_submission_notebook(a, a, "alice").id
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    refused: list[str] = []
    offline(page, refused)
    page.goto(f"{base}/formgrader/submissions/{submission_id}/?token={TOKEN}")
    page.wait_for_function("window.MathJax && MathJax.Hub && MathJax.Hub.queue && "
                           "MathJax.Hub.queue.pending === 0 && MathJax.Hub.queue.running === 0 && "
                           "document.querySelectorAll('.MathJax').length > 0", timeout=90_000)
    page.locator(".MathJax").first.scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "browser-formgrader-maths-offline.png"))
    assert page.locator(".MathJax").count() >= 10
    assert page.locator("text=Math Processing Error").count() == 0
    assert not any("mathjax" in u.lower() for u in refused), refused
    page.close()
