from __future__ import annotations

from pathlib import Path

from agentry.kit.scoping import check_source, check_tree, main

SRC = Path(__file__).resolve().parents[2] / "src" / "agentry"


def test_code_base_passes_the_scoping_check() -> None:
    assert [str(v) for v in check_tree(SRC)] == []


def test_planted_unscoped_queries_fail(tmp_path: Path) -> None:
    planted = tmp_path / "leaky.py"
    planted.write_text(
        "from sqlalchemy import select, update, text\n"
        "from agentry.models import ApiKey, Invocation\n"
        "class LeakyRepository:\n"
        "    async def all_keys(self):\n"
        "        return await self.session.execute(select(ApiKey))\n"
        "    async def touch(self):\n"
        "        await self.session.execute(update(Invocation).values(status='x'))\n"
        "    async def raw(self):\n"
        "        await self.session.execute(text('SELECT * FROM api_keys'))\n"
        "    async def by_pk(self, id_):\n"
        "        return await self.session.get(ApiKey, id_)\n"
    )
    violations = check_tree(tmp_path)
    assert [(v.line, v.model) for v in violations] == [
        (5, "ApiKey"),
        (7, "Invocation"),
        (9, "api_keys"),
        (11, "ApiKey"),
    ]
    assert main([str(tmp_path)]) == 1


def test_scoped_repositories_and_marked_exemptions_pass() -> None:
    source = (
        "from sqlalchemy import select\n"
        "from agentry.kit.repository import TenantScopedRepository\n"
        "from agentry.models import ApiKey\n"
        "class KeyRepo(TenantScopedRepository[ApiKey]):\n"
        "    async def names(self):\n"
        "        return await self.session.execute(select(ApiKey.name))\n"
        "class Narrower(KeyRepo):\n"
        "    async def more(self):\n"
        "        return await self.session.execute(select(ApiKey))\n"
        "async def auth(session):\n"
        "    return await session.execute(select(ApiKey))  # scoping: exempt (auth lookup)\n"
        "async def no_reason(session):\n"
        "    return await session.execute(select(ApiKey))  # scoping: exempt\n"
    )
    violations = check_source(source, Path("x.py"))
    assert [v.line for v in violations] == [13]
