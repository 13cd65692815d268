"""The course's check library and instructor tooling.

- ``graders.<topic>``: visible checks, ``check_<exercise>(student_function)``, one module per notebook
- ``graders.checking``: the machinery the checks share (calling student code safely, comparisons,
  messages written for students)
- ``graders.reference``: reference solutions, read from the solution notebooks
- ``graders.fixtures``: the expected outputs the visible checks compare against
- ``python -m graders``: build, release and grading commands (see ``graders/cli.py``)
"""
