"""The course's check library: what a student's notebook imports (and all of it ships to students).

- ``graders.<topic>``: the visible checks of one notebook, ``check_<exercise>(f, *, ..., hidden=False)``,
  the visible cases they draw (``CASES``) and hints (``HINTS``)
- ``graders.checking``: the machinery the checks share (calling student code safely, comparisons,
  messages written for students, numeric and multiple-choice questions)
- ``graders.fixtures``: the visible cases' committed inputs and expected outputs; hidden cases come
  from the instructor's ``classroom.hidden`` where the course is graded, never from here
- ``graders.reference``: reference solutions, read from the solution notebooks where they exist
- ``graders.reveal`` and ``graders.progress``: self-study helpers (``python -m graders progress``)
- ``graders.layout``: where every file of a course lives

Maintainer tooling is in ``authoring/`` and the instructor's grading in ``classroom/``.
"""
