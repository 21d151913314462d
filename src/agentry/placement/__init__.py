"""Runtime placement: which AgentCore region serves agents, and the failover (RUNBOOK-001)."""
