"""Tool gateway: MCP tool targets behind an AgentCore-Gateway-shaped interceptor chain."""
