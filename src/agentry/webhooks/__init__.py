"""Signed webhooks (Standard Webhooks): tenant endpoints, an outbox, a sender, dead letters."""
