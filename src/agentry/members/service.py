"""Invite, re-role and remove a tenant's members. Never commits; the endpoint audits."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession

from agentry.identity.principal import Principal
from agentry.kit.clock import utcnow
from agentry.kit.errors import Conflict, NotFound
from agentry.kit.ids import new_id
from agentry.members.repository import MemberRepository
from agentry.models import TenantMember


class MemberNotFound(NotFound):
    code = "member_not_found"
    title = "No such member"


class MemberExists(Conflict):
    code = "member_exists"
    title = "Already a member"


def _repo(session: AsyncSession, principal: Principal) -> MemberRepository:
    return MemberRepository(session, principal.tenant_id)


async def list_members(session: AsyncSession, principal: Principal) -> list[TenantMember]:
    return await _repo(session, principal).list()


async def invite(
    session: AsyncSession, principal: Principal, *, email: str, role: str
) -> TenantMember:
    repo = _repo(session, principal)
    email = email.strip().lower()
    if await repo.by_email(email) is not None:
        raise MemberExists("That address is already a member or invited.")
    member = TenantMember(
        id=new_id("mem"),
        tenant_id=principal.tenant_id,
        email=email,
        role=role,
        status="invited",
        invited_by=principal.actor,
    )
    return await repo.add(member)


async def get(session: AsyncSession, principal: Principal, member_id: str) -> TenantMember:
    member = await _repo(session, principal).get(member_id)
    if member is None:  # another tenant's member answers the same
        raise MemberNotFound("No such member in your tenant.")  # never echo the id
    return member


async def set_role(
    session: AsyncSession, principal: Principal, member_id: str, role: str | None
) -> TenantMember:
    member = await get(session, principal, member_id)
    if role is not None and role != member.role:
        member.role = role
        member.updated_at = utcnow()
        await session.flush()
    return member


async def remove(session: AsyncSession, principal: Principal, member_id: str) -> TenantMember:
    member = await get(session, principal, member_id)
    await _repo(session, principal).remove(member.id)
    return member
