"""Small helpers the stacks share."""

from __future__ import annotations

from aws_cdk import aws_logs as logs

_RETENTION = {
    1: logs.RetentionDays.ONE_DAY,
    3: logs.RetentionDays.THREE_DAYS,
    5: logs.RetentionDays.FIVE_DAYS,
    7: logs.RetentionDays.ONE_WEEK,
    14: logs.RetentionDays.TWO_WEEKS,
    30: logs.RetentionDays.ONE_MONTH,
    60: logs.RetentionDays.TWO_MONTHS,
    90: logs.RetentionDays.THREE_MONTHS,
    180: logs.RetentionDays.SIX_MONTHS,
    365: logs.RetentionDays.ONE_YEAR,
    731: logs.RetentionDays.TWO_YEARS,
    1827: logs.RetentionDays.FIVE_YEARS,
}


def retention(days: int) -> logs.RetentionDays:
    """The shortest CloudWatch retention that keeps logs at least `days` days."""
    return _RETENTION[next(d for d in sorted(_RETENTION) if d >= days)]


def short_region(region: str) -> str:
    """eu-west-1 -> euw1 (for construct and stack names)."""
    area, direction, number = region.split("-")
    return f"{area}{direction[0]}{number}"
