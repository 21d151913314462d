from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from agentry.identity.auth import TenantAdmin
from agentry.kit.openapi import problem_responses
from agentry.members import service
from agentry.members.schemas import MemberInvite, MemberList, MemberRead, MemberUpdate
from agentry.models import TenantMember
from agentry.platform import DbSession, PlatformDep

router = APIRouter(prefix="/v1/members", tags=["members"])
MemberId = Annotated[str, Path(pattern=r"^mem_[0-9a-f]{30}$", description="The member's id")]


def _read(member: TenantMember) -> MemberRead:
    return MemberRead.model_validate(member, from_attributes=True)


@router.get("", response_model=MemberList, responses=problem_responses(401, 403))
async def list_members(principal: TenantAdmin, session: DbSession) -> MemberList:
    """Your tenant's members and open invitations."""
    return MemberList(items=[_read(m) for m in await service.list_members(session, principal)])


@router.post(
    "", status_code=201, response_model=MemberRead, responses=problem_responses(401, 403, 409, 422)
)
async def invite_member(
    body: MemberInvite, principal: TenantAdmin, session: DbSession, platform: PlatformDep
) -> MemberRead:
    """Invite someone by email with a role; 409 `member_exists` when they already are."""
    member = await service.invite(session, principal, email=body.email, role=body.role)
    await _audit(platform, session, principal, "member.invite", member)
    return _read(member)


@router.get("/{member_id}", response_model=MemberRead, responses=problem_responses(401, 403, 404))
async def get_member(member_id: MemberId, principal: TenantAdmin, session: DbSession) -> MemberRead:
    return _read(await service.get(session, principal, member_id))


@router.patch(
    "/{member_id}", response_model=MemberRead, responses=problem_responses(401, 403, 404, 422)
)
async def change_role(
    member_id: MemberId,
    body: MemberUpdate,
    principal: TenantAdmin,
    session: DbSession,
    platform: PlatformDep,
) -> MemberRead:
    member = await service.set_role(session, principal, member_id, body.role)
    await _audit(platform, session, principal, "member.role", member)
    return _read(member)


@router.delete(
    "/{member_id}", response_model=MemberRead, responses=problem_responses(401, 403, 404)
)
async def remove_member(
    member_id: MemberId, principal: TenantAdmin, session: DbSession, platform: PlatformDep
) -> MemberRead:
    member = await service.remove(session, principal, member_id)
    await _audit(platform, session, principal, "member.remove", member)
    return _read(member)


async def _audit(
    platform: PlatformDep, session: DbSession, principal: TenantAdmin, action: str, m: TenantMember
) -> None:
    # The member's id and role only: an email address is personal data, kept out of the chain.
    await platform.audit.append(
        session,
        actor=principal.actor,
        action=action,
        actor_tenant_id=principal.tenant_id,
        target_tenant_id=principal.tenant_id,
        details={"member_id": m.id, "role": m.role},
    )
