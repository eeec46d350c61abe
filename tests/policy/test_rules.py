"""The submission policy's rules, as pure functions: attempts, best or last, deadline, grace, cap, extensions."""

import datetime

import pytest
from traitlets import TraitError
from traitlets.config import Config

from cnnkit.policy import rules

T0 = datetime.datetime(2026, 12, 1, 12, 0)
MINUTE, DAY = datetime.timedelta(minutes=1), datetime.timedelta(days=1)


def policy(**settings):
    config = Config()
    for name, value in settings.items():
        setattr(config.SubmitPolicy, name, value)
    return rules.load_policy(config)


def test_attempt_limit_refuses_once_used_up():
    limited = policy(max_graded_attempts=2)
    assert rules.decide(limited, [], T0).graded
    assert rules.decide(limited, [T0], T0 + MINUTE).graded
    refused = rules.decide(limited, [T0, T0 + MINUTE], T0 + DAY)
    assert not refused.graded and "attempt limit reached: 2 of 2" in refused.reason
    assert rules.attempts_left(limited, 1) == 1 and rules.attempts_left(limited, 5) == 0
    assert rules.attempts_left(policy(), 7) is None  # 0: no limit
    assert rules.decide(policy(), [T0] * 50, T0 + DAY).graded


def test_least_time_between_graded_attempts():
    spaced = policy(min_minutes_between_attempts=30)
    too_soon = rules.decide(spaced, [T0], T0 + 29 * MINUTE)
    assert not too_soon.graded
    assert too_soon.next_allowed == T0 + 30 * MINUTE
    assert "2026-12-01 12:30:00 UTC" in too_soon.reason
    assert rules.decide(spaced, [T0], T0 + 30 * MINUTE).graded
    assert rules.decide(spaced, [], T0).graded  # the first attempt is never too soon


def test_last_or_best_attempt_counts():
    attempts = [rules.Attempt(1, 120.0), rules.Attempt(2, 90.0), rules.Attempt(3, 120.0)]
    assert rules.official_attempt("last", attempts).number == 3
    assert rules.official_attempt("best", attempts[:2]).number == 1
    assert rules.official_attempt("best", attempts).number == 3  # a tie goes to the later attempt
    assert rules.official_attempt("best", []) is None


def test_penalty_per_started_day_with_grace_and_cap():
    late = policy(late_penalty_per_day=0.1, late_penalty_cap=0.25, grace_minutes=15)
    assert rules.late_penalty(late, 150, 0) == 0
    assert rules.late_penalty(late, 150, 15 * 60) == 0  # within the grace period
    assert rules.late_penalty(late, 150, 15 * 60 + 1) == 15  # day 1, counted from the deadline
    assert rules.late_penalty(late, 150, DAY.total_seconds()) == 15
    assert rules.late_penalty(late, 150, DAY.total_seconds() + 1) == 30  # day 2
    assert rules.late_penalty(late, 150, 30 * DAY.total_seconds()) == 37.5  # capped at 25 %
    assert rules.late_penalty(policy(), 150, 30 * DAY.total_seconds()) == 0  # no penalty set


def test_penalty_fractions_are_checked():
    with pytest.raises(TraitError):
        policy(late_penalty_per_day=5)
    with pytest.raises(TraitError):
        policy(deadline="next tuesday-ish at noon +99")


def test_deadline_and_lateness_as_nbgrader_computes_it():
    due = policy(deadline="2026-12-15 23:59 UTC").deadline_time()
    assert due == datetime.datetime(2026, 12, 15, 23, 59)
    assert policy(deadline="2026-12-16 00:59 +0100").deadline_time() == due
    assert rules.seconds_late(due + MINUTE, due) == 60
    assert rules.seconds_late(due + MINUTE, due, extension=DAY) == 0
    assert rules.seconds_late(due - MINUTE, due) == 0
    assert rules.seconds_late(due, None) == 0


def test_extensions_csv(tmp_path):
    due = datetime.datetime(2026, 12, 15, 23, 59)
    path = tmp_path / "extensions.csv"
    path.write_text("student_id,deadline,extra_days\nalice,2026-12-18 23:59 UTC,\nbob,,1.5\n")
    assert rules.read_extensions(path, due) == {"alice": 3 * DAY, "bob": 1.5 * DAY}
    for bad, message in [
        ("carol,2026-12-18 23:59 UTC,2\n", "either deadline or extra_days"),
        ("carol,,-1\n", "0 or more"),
        ("carol,2026-12-01 00:00 UTC,\n", "before the course deadline"),
        (",,1\n", "no student_id"),
    ]:
        path.write_text("student_id,deadline,extra_days\n" + bad)
        with pytest.raises(rules.PolicyError, match=message):
            rules.read_extensions(path, due)


def test_course_extensions_relative_to_the_course_root(tmp_path):
    (tmp_path / "ext.csv").write_text("student_id,extra_days\nalice,2\n")
    assert rules.course_extensions(policy(extensions_csv="ext.csv"), tmp_path) == {"alice": 2 * DAY}
    assert rules.course_extensions(policy(), tmp_path) == {}
    with pytest.raises(rules.PolicyError, match="does not exist"):
        rules.course_extensions(policy(extensions_csv="missing.csv"), tmp_path)
