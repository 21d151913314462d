"""Billing months: UTC calendar months named "YYYY-MM"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from agentry.kit.clock import utcnow
from agentry.kit.errors import ValidationFailed

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class InvalidMonth(ValidationFailed):
    code = "invalid_month"
    title = "A month is written YYYY-MM"


class MonthInFuture(ValidationFailed):
    code = "month_in_future"
    title = "The month has not started yet"


@dataclass(frozen=True, slots=True, order=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        found = _MONTH.match(text)
        if found is None:
            raise InvalidMonth(f"'{text}' is not a month: write YYYY-MM, e.g. 2026-11.")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, at: datetime) -> Month:
        at = at.astimezone(UTC)
        return cls(at.year, at.month)

    @classmethod
    def current(cls) -> Month:
        return cls.of(utcnow())

    def next(self) -> Month:
        return Month(self.year + self.month // 12, self.month % 12 + 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        return self.next().start

    def days(self) -> list[date]:
        first, last = self.start.date(), self.end.date()
        return [date.fromordinal(d) for d in range(first.toordinal(), last.toordinal())]

    def started(self) -> Month:
        """This month, unless it lies in the future (refused)."""
        if self > Month.current():
            raise MonthInFuture(f"{self} has not started yet.")
        return self

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"
