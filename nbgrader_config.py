"""nbgrader configuration for the course (read by every `nbgrader` command run from this folder).

The course's folders stand in for nbgrader's standard ones:
- solutions/<NN_topic>/<NN_topic>.ipynb  is nbgrader's source/   (answers and hidden tests inside)
- notebooks/<NN_topic>/<NN_topic>.ipynb  is nbgrader's release/  (generated: `python -m graders build`)
submitted/, autograded/ and feedback/ keep nbgrader's names, and gradebook.db sits here; all four are
instructor working data and are ignored by git.

nbgrader's exchange is a folder of the course, exchange/ (made here, on first use, and ignored by git):
`python -m classroom release` also releases every assignment into it, so that JupyterLab's
Nbgrader > Assignment List lists them, and its Fetch button copies one into workspace/<A>/ (where
students work; it never replaces a copy there). On a shared JupyterHub, set Exchange.root to the
hub's exchange instead.
"""
import os

c = get_config()  # noqa: F821 - provided by nbgrader
COURSE = os.path.dirname(os.path.abspath(__file__))   # this folder (not resolved: a linked copy is its own course)

c.CourseDirectory.course_id = "training-neural-networks"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# Keep nbgrader's default stub so that an unstarted exercise fails with NotImplementedError.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Per-cell time limit while grading (nbgrader's default, stated here on purpose): the solution
# notebooks run in seconds, and demos shrink while NBGRADER_EXECUTION is set (utils.fast_mode).
c.Execute.timeout = 30

# The exchange (see above): the Assignment List reads it; fetched assignments land in workspace/.
c.Exchange.root = os.path.join(COURSE, "exchange")
c.Exchange.assignment_dir = os.path.join(COURSE, "workspace")
os.makedirs(c.Exchange.root, exist_ok=True)

# nbgrader's formgrader loads MathJax from a CDN (its templates call nbconvert's mathjax() without a
# URL): the course's version of that macro (classroom/jupyter/nbconvert/templates/base/mathjax.html.j2)
# loads it from the Jupyter server (jupyter-server-mathjax). Jupyter's data path of this process, read
# when a template is looked up, gets the course's folder first; nothing else lives there.
_templates = os.path.join(COURSE, "classroom", "jupyter")
if os.path.isdir(_templates) and _templates not in os.environ.get("JUPYTER_PATH", "").split(os.pathsep):
    os.environ["JUPYTER_PATH"] = os.pathsep.join(p for p in (_templates, os.environ.get("JUPYTER_PATH")) if p)
