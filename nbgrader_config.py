"""nbgrader configuration for the course (read by every `nbgrader` command run from this folder).

The course's folders stand in for nbgrader's standard ones:
- solutions/<NN_topic>/<NN_topic>.ipynb  is nbgrader's source/   (answers and hidden tests inside)
- notebooks/<NN_topic>/<NN_topic>.ipynb  is nbgrader's release/  (generated: `python -m graders build`)
submitted/, autograded/ and feedback/ keep nbgrader's names, and gradebook.db sits here; all four are
instructor working data and are ignored by git.
"""
c = get_config()  # noqa: F821 - provided by nbgrader

c.CourseDirectory.course_id = "training-neural-networks"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "notebooks"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback"]

# Keep nbgrader's default stub so that an unstarted exercise fails with NotImplementedError.
c.ClearSolutions.code_stub = {"python": "# YOUR CODE HERE\nraise NotImplementedError()"}

# Per-cell time limit while grading (nbgrader's default, stated here on purpose): the solution
# notebooks run in seconds, and demos shrink while NBGRADER_EXECUTION is set (utils.fast_mode).
c.Execute.timeout = 30
