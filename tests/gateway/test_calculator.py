from __future__ import annotations

import pytest

from agentry.gateway.calculator import CalculationError, calculate


@pytest.mark.parametrize(
    ("expr", "value"),
    [
        ("1 + 2 * 3", 7.0),
        ("(1 + 2) * 3", 9.0),
        ("-2 ** 2", -4.0),
        ("7 // 2", 3.0),
        ("7 % 4", 3.0),
        ("1 / 4", 0.25),
    ],
)
def test_arithmetic(expr: str, value: float) -> None:
    assert calculate(expr) == value


@pytest.mark.parametrize(
    "expr",
    [
        "__import__('os').system('true')",
        "open('/etc/passwd')",
        "x + 1",
        "(1).__class__",
        "[1, 2]",
        "'a' * 3",
        "True + 1",
        "lambda: 1",
    ],
)
def test_anything_but_arithmetic_is_refused(expr: str) -> None:
    with pytest.raises(CalculationError):
        calculate(expr)


@pytest.mark.parametrize(
    ("expr", "why"),
    [("1 / 0", "division by zero"), ("2 ** 1000", "exponent"), ("9" * 300, "longer")],
)
def test_dangerous_sizes_are_refused(expr: str, why: str) -> None:
    with pytest.raises(CalculationError, match=why):
        calculate(expr)
