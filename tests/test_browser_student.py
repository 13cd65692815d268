"""What a student sees in JupyterLab (real Chromium, as in tests/test_browser.py): a failed check reads
as its message, with no check-library frames; a notebook is not marked modified just by opening it; the
progress view fits one screen. Screenshots land in test-artifacts/."""
import json
import time

from coursework import ROOT, perfect_submission
from test_browser import ARTIFACTS, TOKEN, _dismiss_news, _open_and_run_all, lab  # noqa: F401 (fixture)

A = "01_softmax"
NAIVE_SOFTMAX = ("def softmax(scores):\n"
                 "    e = np.exp(scores)  # no shift: overflows for large scores\n"
                 "    return e / e.sum(axis=1, keepdims=True)\n")
CRASHING_SOFTMAX = ("def softmax(scores):\n"
                    "    top = scores.max(axis=1)\n"
                    "    return np.exp(scores - top)  # (N, C) minus (N,): broadcasting fails\n")


def _student_notebook(root, name: str, softmax_source: str) -> str:
    nb = json.loads((ROOT / "notebooks" / A / f"{A}.ipynb").read_text())
    for cell in nb["cells"]:
        if cell.get("id") == "softmax":
            cell["source"] = softmax_source
    path = root / "notebooks" / A / name
    path.write_text(json.dumps(nb))
    return f"notebooks/{A}/{name}"


def _failure_text(page, contains: str) -> tuple[str, object]:
    out = page.locator(".jp-OutputArea-output", has_text=contains).first
    out.wait_for(timeout=90_000)
    out.scroll_into_view_if_needed()
    return out.text_content(), out


def test_a_failed_check_shows_its_message_first_and_no_grader_frames(lab):
    browser, base, root = lab
    page = _open_and_run_all(browser, base, _student_notebook(root, "naive_softmax.ipynb", NAIVE_SOFTMAX))
    text, _ = _failure_text(page, "floating-point problem")
    page.screenshot(path=str(ARTIFACTS / "browser-failed-check.png"))
    lines = [l for l in text.splitlines() if l.strip()]
    assert lines[0].startswith("CheckFailure: softmax ran into a floating-point problem"), lines[:3]
    assert any(l.startswith("Input: ") for l in lines[:6]) and any(l.startswith("Hint: ") for l in lines)
    for internal in ("graders/", "checking.py", "Traceback", "During handling", "site-packages"):
        assert internal not in text, (internal, text)
    assert text.count("(") == text.count(")"), text  # every bracket closes
    assert "Run All stops at a failing cell" in text  # says that the cells below did not run
    assert len(lines) <= 14, text
    # Run All left the view elsewhere; the table of contents marks the failed cell's section (error: -0.5)
    page.locator(".jp-SideBar [data-id='table-of-contents']").first.click()
    marked = page.locator(".jp-TableOfContents-content [data-running='-0.5']").first
    marked.wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "browser-failed-check-toc.png"))
    assert "softmax" in marked.inner_text().lower()
    page.close()


def test_an_error_in_the_students_code_shows_their_line(lab):
    browser, base, root = lab
    page = _open_and_run_all(browser, base, _student_notebook(root, "crashing_softmax.ipynb", CRASHING_SOFTMAX))
    text, _ = _failure_text(page, "softmax raised ValueError")
    page.screenshot(path=str(ARTIFACTS / "browser-failed-check-own-code.png"))
    lines = [l for l in text.splitlines() if l.strip()]
    assert lines[0].startswith("CheckFailure: softmax raised ValueError"), lines[:3]
    assert "Where it happened in your code" in text and "return np.exp(scores - top)" in text
    assert "graders/" not in text and "checking.py" not in text and "numpy/" not in text
    page.close()


def test_opening_a_notebook_does_not_mark_it_modified(lab):
    browser, base, root = lab
    # the student's copy, made as the course makes it (python -m graders workspace)
    from graders.layout import Course, make_workspace
    make_workspace(Course(root))
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{base}/lab/tree/workspace/{A}/{A}.ipynb?token={TOKEN}")
    page.wait_for_selector(".jp-NotebookPanel:not(.lm-mod-hidden)", timeout=90_000)
    _dismiss_news(page)
    page.locator(".jp-StatusBar-TextItem", has_text="Idle").first.wait_for(timeout=90_000)
    time.sleep(3)  # the kernel's language info arrives after it is idle
    tab = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab", has_text=f"{A}.ipynb").first
    page.screenshot(path=str(ARTIFACTS / "browser-opened-notebook.png"))
    assert "jp-mod-dirty" not in (tab.get_attribute("class") or ""), "the notebook shows as modified"
    page.close()


def test_progress_view_fits_one_screen(lab):
    browser, base, root = lab
    # a partly done course: 01 complete but for a wrong answer, the others as released
    nb = perfect_submission(A, ROOT / "notebooks" / A / f"{A}.ipynb")
    for cell in nb["cells"]:
        if cell.get("id") == "planted_bug":
            cell["source"] = 'planted_bug = "A"\n'
    from graders.layout import Course, make_workspace
    make_workspace(Course(root))  # progress reads the student's workspace/
    (root / "workspace" / A / f"{A}.ipynb").write_text(json.dumps(nb))
    for extra in ("naive_softmax.ipynb", "crashing_softmax.ipynb"):
        (root / "workspace" / A / extra).unlink(missing_ok=True)
    probe = {"cells": [{"cell_type": "code", "execution_count": None, "id": "p", "metadata": {}, "outputs": [],
                        "source": "from graders.progress import show_progress\nshow_progress()"}],
             "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
             "nbformat": 4, "nbformat_minor": 5}
    (root / "progress.ipynb").write_text(json.dumps(probe))
    page = _open_and_run_all(browser, base, "progress.ipynb")
    view = page.locator(".jp-OutputArea-output", has_text="Course total").first
    view.wait_for(timeout=300_000)
    page.screenshot(path=str(ARTIFACTS / "browser-progress.png"))
    box = view.bounding_box()
    text = view.inner_text()
    assert box["height"] <= 900, f"the progress view is {box['height']:.0f} px tall"
    assert "NotebookProgress(" not in page.locator(".jp-OutputArea").first.inner_text()  # nothing echoed
    assert "planted_bug" in text and "wrong" in text  # a wrong answer is not called passed
    assert "replace `raise NotImplementedError()`" not in text
    page.close()
