"""Agents and versions per runtime region: pure helpers over the registry rows.

Rows written before regions existed have empty maps; they live in the region their
canonical ARN names.
"""

from __future__ import annotations

from agentry.models import Agent, AgentVersion


def arn_region(arn: str) -> str:
    """`arn:aws:bedrock-agentcore:<region>:<account>:runtime/<id>` → region ('' if not an ARN)."""
    parts = arn.split(":")
    return parts[3] if len(parts) > 5 else ""


def agent_regions(agent: Agent) -> dict[str, tuple[str, str]]:
    """{region: (runtime id, runtime ARN)} of an agent."""
    found = {
        region: (str(ids["id"]), str(ids["arn"]))
        for region, ids in (agent.region_runtimes or {}).items()
    }
    if not found and agent.runtime_id and agent.runtime_arn:
        found[arn_region(agent.runtime_arn)] = (agent.runtime_id, agent.runtime_arn)
    return found


def version_regions(agent: Agent, version: AgentVersion) -> dict[str, str]:
    """{region: AgentCore runtime version} of one agent version."""
    found = {region: str(v) for region, v in (version.region_versions or {}).items()}
    if not found and agent.runtime_arn:
        found[arn_region(agent.runtime_arn)] = version.runtime_version
    return found
