"""When sources are due: intervals, hints, backoff (pure functions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from feeds.schedule import MAX_BACKOFF, is_due, max_age, next_due, polling_interval


def test_healthy_source_is_due_after_its_interval() -> None:
    assert next_due(1000.0, 1800) == 2800.0


def test_failures_back_off_exponentially_with_jitter_and_a_cap() -> None:
    assert next_due(0, 60, error_count=1, jitter=0.5) == pytest.approx(120)
    assert next_due(0, 60, error_count=3, jitter=0.5) == pytest.approx(480)
    assert next_due(0, 60, error_count=3, jitter=0.0) == pytest.approx(480 * 0.9)
    assert next_due(0, 1800, error_count=40, jitter=1.0) == pytest.approx(MAX_BACKOFF * 1.1)


@given(st.integers(min_value=1, max_value=12))
def test_failures_without_given_jitter_stay_within_ten_percent(errors: int) -> None:
    backoff = min(60 * 2**errors, MAX_BACKOFF)
    assert 0.9 * backoff <= next_due(0, 60, error_count=errors) <= 1.1 * backoff


def test_retry_after_is_honoured() -> None:
    assert next_due(0, 60, retry_after=3600) == 3600
    assert next_due(0, 7200, retry_after=60) == 7200


@given(st.integers(min_value=0, max_value=1000), st.floats(min_value=0, max_value=1))
def test_backoff_never_exceeds_about_a_week(errors: int, jitter: float) -> None:
    assert next_due(0, 1800, errors, jitter=jitter) <= MAX_BACKOFF * 1.1 + 1e-6


def test_never_fetched_is_due() -> None:
    assert is_due(None, 0) and is_due(5, 5) and not is_due(6, 5)


@pytest.mark.parametrize(("header", "seconds"), [
    ("public, max-age=3600", 3600), ("max-age=\"60\", must-revalidate", 60),
    ("no-cache", None), (None, None), ("max-age=soon", None),
    # Directive names are case-insensitive (RFC 9111 §5.2); values must be digits.
    ("Max-Age=120", 120), ("private, MAX-AGE = 30", 30), ("max-age=X60X", None),
    ("s-maxage=600", None), ("max-age=-5", None),
])
def test_max_age(header: str | None, seconds: int | None) -> None:
    assert max_age(header) == seconds


def test_hints_only_make_polling_rarer_and_are_capped() -> None:
    assert polling_interval(1800, 3600) == 3600  # <ttl>60</ttl>
    assert polling_interval(1800, 60) == 1800  # never more often than configured
    assert polling_interval(1800, None, None) == 1800
    assert polling_interval(1800, 10 * 86400) == 86400
    assert polling_interval(2 * 86400, 10 * 86400) == 2 * 86400
    assert polling_interval(0.5) == 0.5  # no hint leaves even a short interval alone
    assert polling_interval(0.5, 0, None) == 0.5
