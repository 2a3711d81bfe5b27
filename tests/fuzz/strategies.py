"""Input generators shared by the fuzz tests, the one rule they all check, and their Hypothesis profiles:
`suite` (the default: a few hundred cases per test, the same ones every run, so CI never fails by the
luck of a draw) and `thorough` (thousands per test, freshly drawn), chosen by SPACETIME_FUZZ:
    SPACETIME_FUZZ=thorough .host/venv/bin/python -m pytest tests/fuzz
"""
import json
import os

from hypothesis import HealthCheck, settings, strategies as st

# Deadlines catch hangs: every input here is refused or accepted in well under a second.
settings.register_profile("suite", max_examples=300, derandomize=True, database=None, deadline=2000,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=5000, database=None, deadline=2000,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("SPACETIME_FUZZ", "suite"))

# Any JSON value, nested a little.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=True) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=16,
)


def json_text(values=json_values):
    """JSON text of generated values, plus the odd bytes around it JSON readers meet: NaN, deep nesting."""
    return st.one_of(
        values.map(lambda v: json.dumps(v, allow_nan=True)),
        st.integers(1, 5000).map(lambda depth: "[" * depth + "]" * depth),
        st.text(max_size=200),
    )


def refused_clearly(error: Exception) -> None:
    """The only acceptable failure: a ValueError whose message says something (not a bare repr)."""
    assert isinstance(error, ValueError), f"{type(error).__name__} escaped: {error!r}"
    message = str(error)
    assert len(message) >= 20, f"unclear message: {message!r}"
