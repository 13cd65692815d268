"""Helpers for the banks of wrong implementations that every check must reject."""
from __future__ import annotations

import contextlib

import pytest

from graders.fixtures import hidden_seed


def assert_rejects(check, impl, *args, match: str | None = None, **kwargs):
    """``check(impl)`` must fail with an AssertionError whose message speaks to the student."""
    with pytest.raises(AssertionError) as info:
        check(impl, *args, **kwargs)
    message = str(info.value)
    assert len(message) > 40, f"the failure message is too terse to help a student: {message!r}"
    if match is not None:
        assert match.lower() in message.lower(), f"expected {match!r} in the message:\n{message}"
    return message


def bank_params(bank: dict) -> list:
    """``{check_name: {description: impl}}`` -> pytest params with readable ids."""
    return [pytest.param(check, impl, id=f"{check}: {desc}")
            for check, impls in bank.items() for desc, impl in impls.items()]


MODES = ["visible", "hidden", "hidden-other-seed"]
MODE_IDS = MODES
OTHER_SEED = 5


def run_check(check, *args, mode: str = "visible", **kwargs):
    """``check(*args, **kwargs)`` as the visible test (``mode="visible"``), the hidden test
    (``"hidden"``: ``hidden=True``), or the hidden test drawing its cases with another seed."""
    if mode == "visible":
        return check(*args, **kwargs)
    seed = hidden_seed(OTHER_SEED) if mode == "hidden-other-seed" else contextlib.nullcontext()
    with seed:
        return check(*args, hidden=True, **kwargs)


def reference_and_bank_tests(checks, ref, exercises, bank):
    """The two tests every topic's check file has, for ``checks.check_<exercise>``:

    - the reference from the solution notebook passes the visible check and two hidden runs, printing
      its ``[ok]`` line and nothing on stderr;
    - every wrong implementation in ``bank`` (``{check_name: {description: impl}}``) is rejected by
      the VISIBLE check with a message, and no warning reaches stderr (nbgrader would score 0).

    Use as ``test_reference_passes, test_wrong_implementation_rejected = reference_and_bank_tests(...)``.
    """
    @pytest.mark.parametrize("exercise", exercises)
    @pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
    def test_reference_passes(exercise, mode, capfd):
        run_check(getattr(checks, f"check_{exercise}"), getattr(ref, exercise), mode=mode)
        out, err = capfd.readouterr()
        assert "[ok]" in out and err == "", err

    @pytest.mark.parametrize("check, impl", bank_params(bank))
    def test_wrong_implementation_rejected(check, impl, capfd):
        assert_rejects(getattr(checks, check), impl)
        assert capfd.readouterr().err == "", "a check let a warning through to stderr (nbgrader would score 0)"

    return test_reference_passes, test_wrong_implementation_rejected
