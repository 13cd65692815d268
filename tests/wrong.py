"""Helpers for the banks of wrong implementations that every check must reject."""
from __future__ import annotations

import pytest


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
