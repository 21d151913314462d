"""Usage metering: one `usage_events` row per metered quantity, recorded exactly once."""
