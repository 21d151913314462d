"""Operator views across tenants: jobs, runtime sessions, the platform's health at a glance."""
