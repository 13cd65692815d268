"""The instructor's grading: everything that runs when a class is graded, never shipped to students.

- ``classroom.cli``: ``python -m classroom release | import | grade | feedback | export | report``
- ``classroom.grading``: one submission's grade (nbgrader autograde in the sandbox plus the trusted
  re-check) and the class run around it; ``classroom.results``: the typed result it writes
- ``classroom.judge``: the trusted re-check, in the grader's process; ``classroom.worker`` and
  ``classroom.wire``: its other half, run in the student's (sandboxed) kernel, and their wire format
- ``classroom.sandbox``: the bubblewrap sandbox student code runs in
- ``classroom.hidden``: the hidden test cases, one module per topic
- ``classroom.importer``, ``classroom.export``, ``classroom.report``: LMS import, CSV grades, class report
- ``classroom.benchmark``: plain nbgrader against ``grade`` (``python -m classroom.benchmark``)

This file is seen by the student's kernel during the re-check (with ``worker.py`` and ``wire.py``
only): keep it free of imports.
"""
