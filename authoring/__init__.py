"""Maintainer tooling: everything that writes the course's generated files.

- ``authoring.notebook_text``: a solution notebook as editable text and back (``to-text``, ``to-ipynb``)
- ``authoring.build``: regenerate ``notebooks/`` and ``graders/fixtures/`` from ``solutions/`` (or check
  that they are in sync)
- ``authoring.bundle``: the student release (``graders/``, ``utils/``, ``datasets/``, ``notebooks/``)
- ``authoring.nbgrader``: how every course command runs nbgrader (its ``alembic`` on PATH)

Run as ``python -m authoring <command>``; students never need this package and it is not in their
release.
"""
