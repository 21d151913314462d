"""Billing: the price book as data, monthly budgets, adjustments and monthly statements."""
