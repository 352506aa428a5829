"""When a schedule runs: an interval in seconds or a cron expression (five fields: minute hour
day month weekday, UTC), checked with a sentence for a person when it cannot be used, and the
next run times. Cron expressions are read by croniter."""

from __future__ import annotations

import re
from datetime import UTC
from datetime import datetime

from croniter import CroniterBadDateError
from croniter import CroniterError
from croniter import croniter

from tasks import settings

# How many of a cron expression's next runs are checked against the shortest interval.
CRON_GAPS_CHECKED = 24
# A cron expression's fields, in order, with the values each takes (0 and 7 are both Sunday).
CRON_FIELDS = (
    ("minute", 0, 59, ""),
    ("hour", 0, 23, ""),
    ("day of the month", 1, 31, ""),
    ("month", 1, 12, " (or JAN to DEC)"),
    ("day of the week", 0, 7, " (or SUN to SAT)"),
)


class ScheduleError(ValueError):
    """A schedule's timing that cannot be used; the message says why in one sentence."""


def check_every(every_s: object) -> float:
    """Return an interval in seconds, or raise :class:`ScheduleError` naming the minimum."""
    minimum = settings.SCHEDULE_MIN_INTERVAL_S
    if isinstance(every_s, bool) or not isinstance(every_s, int | float) or every_s != every_s:
        raise ScheduleError("every_s must be a number of seconds.")
    if every_s < minimum:
        raise ScheduleError(f"every_s must be at least {minimum:g} seconds.")
    if every_s > 366 * settings.DAY_S:
        raise ScheduleError("every_s must be at most a year.")
    return float(every_s)


def check_cron(expression: object) -> str:
    """Return a cron expression of five fields, or raise :class:`ScheduleError` saying what is
    wrong with it (its runs must also be at least ``SCHEDULE_MIN_INTERVAL_S`` apart)."""
    if not isinstance(expression, str) or not expression.strip():
        raise ScheduleError("cron must be a cron expression such as '*/15 * * * *'.")
    expression = " ".join(expression.split())
    fields = expression.split(" ")
    if len(fields) != 5:
        raise ScheduleError(
            f"A cron expression has 5 fields (minute hour day month weekday); "
            f"{expression!r} has {len(fields)}."
        )
    fault = cron_field_fault(expression, fields)
    if fault:
        raise ScheduleError(fault)
    try:
        runs = croniter(expression, datetime.now(UTC))
        times = [runs.get_next(float) for _ in range(CRON_GAPS_CHECKED)]
    except CroniterBadDateError:
        raise ScheduleError(
            f"The cron expression {expression!r} never matches a date: no month it allows has "
            "the day of the month it names."
        ) from None
    except (CroniterError, ValueError, KeyError, TypeError):
        raise ScheduleError(f"The cron expression {expression!r} is invalid.") from None
    minimum = settings.SCHEDULE_MIN_INTERVAL_S
    if any(b - a < minimum for a, b in zip(times, times[1:], strict=False)):
        raise ScheduleError(f"The cron expression runs more often than every {minimum:g} seconds.")
    return expression


def cron_field_fault(expression: str, fields: list[str]) -> str | None:
    """Return which field of a five-field cron expression croniter cannot read, and why (a
    number out of the field's range, or what the field takes), or None when each can be read."""
    for i, ((name, low, high, names), field) in enumerate(zip(CRON_FIELDS, fields, strict=True)):
        alone = " ".join(field if j == i else "*" for j in range(len(CRON_FIELDS)))
        if croniter.is_valid(alone):
            continue
        # Steps (*/90) and nth weekdays (5#2) are counts, not values of the field.
        values = [int(n) for n in re.findall(r"\d+", re.sub(r"[/#]\d+", "", field))]
        outside = [n for n in values if not low <= n <= high]
        if outside:
            return (
                f"The {name} field of the cron expression {expression!r} is out of range: "
                f"{outside[0]} is not from {low} to {high}."
            )
        return (
            f"The {name} field of the cron expression {expression!r} ({field!r}) cannot be "
            f"read: give * or numbers from {low} to {high}{names}, as a list (1,5), a range "
            "(1-5) or a step (*/15)."
        )
    return None


def next_run(schedule: dict, after: float) -> float:
    """Return a schedule's first run time (Unix) strictly after ``after``."""
    if schedule.get("cron"):
        return croniter(schedule["cron"], datetime.fromtimestamp(after, UTC)).get_next(float)
    every = float(schedule["every_s"])
    return after + every


def following_run(schedule: dict, due: float, now: float) -> float:
    """Return the run after the one due at ``due``: the first after ``now`` (runs missed while
    nothing was running are skipped); an interval keeps its phase."""
    if schedule.get("cron"):
        return next_run(schedule, max(now, due))
    every = float(schedule["every_s"])
    return due + (max(0, int((now - due) // every)) + 1) * every
