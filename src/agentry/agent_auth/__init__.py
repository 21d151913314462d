"""Invocation tokens: short-lived RS256 JWTs the platform gives an agent for one invocation."""
