"""Agents working together: agent-to-agent delegation through the platform, and the A2A
protocol for tenants (agent cards, message send) on the a2a-sdk."""
