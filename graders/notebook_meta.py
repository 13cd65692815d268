"""Notebook metadata as this machine's Jupyter kernel reports it.

JupyterLab writes the kernel's ``language_info`` (Python's version among it) into a notebook as soon as
the kernel starts; if the file held anything else, the notebook shows as modified the moment it opens.
The generated notebooks cannot hold the version (they are identical on every machine), so a student's
own copy gets this machine's ``language_info`` when it is made.
"""
from __future__ import annotations

import copy
import platform


def local_language_info() -> dict:
    """What ipykernel on this Python reports as ``language_info`` (the same dict JupyterLab stores)."""
    try:
        from ipykernel.ipkernel import IPythonKernel
        info = copy.deepcopy(IPythonKernel.language_info)
    except Exception:  # pragma: no cover - JupyterLab always brings ipykernel
        info = {"name": "python", "mimetype": "text/x-python", "file_extension": ".py",
                "codemirror_mode": {"name": "ipython", "version": 3}, "pygments_lexer": "ipython3",
                "nbconvert_exporter": "python"}
    info["version"] = platform.python_version()
    return info


def for_this_machine(nb: dict) -> dict:
    """``nb`` (a notebook as a dict) with this machine's ``language_info``; changed in place and returned."""
    nb.setdefault("metadata", {})["language_info"] = local_language_info()
    return nb
