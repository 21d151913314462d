"""Every runbook page can be followed with make targets only, and each is tested."""

from __future__ import annotations

import re

import pytest

from tests.runbooks.pages import (
    EXPORT,
    FORBIDDEN,
    ROOT,
    RUNBOOKS,
    STEP,
    Page,
    makefile_targets,
    pages,
)

SECTIONS = ("When it applies", "## Steps", "## What success looks like", "## Backing out")


def test_every_page_is_numbered() -> None:
    loose = [p.name for p in RUNBOOKS.glob("*.md") if p.name != "README.md"]
    assert sorted(loose) == sorted(p.path.name for p in pages())
    assert len(pages()) >= 9
    for p in pages():
        assert re.fullmatch(r"RUNBOOK-\d{3}-[a-z0-9-]+\.md", p.path.name), p.path.name


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.path.name)
def test_steps_are_make_targets_only(page: Page) -> None:
    for line in page.lines():
        assert STEP.match(line) or EXPORT.match(line), f"{page.path.name}: {line!r}"
    assert page.steps(), f"{page.path.name} has no make step"
    hit = FORBIDDEN.search(page.text)
    assert hit is None, f"{page.path.name} needs {hit.group(0) if hit else ''!r}"


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.path.name)
def test_every_named_target_exists(page: Page) -> None:
    missing = page.targets() - makefile_targets()
    assert not missing, f"{page.path.name} names targets the Makefile lacks: {missing}"


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.path.name)
def test_page_has_the_sections_and_a_test(page: Page) -> None:
    for section in SECTIONS:
        assert section in page.text, f"{page.path.name} lacks {section!r}"
    tests = [
        t for t in (ROOT / "tests").rglob("test_*.py")
        if t.name != "test_pages.py" and (page.path.name in t.read_text() or
                                          f'page("{page.number}")' in t.read_text())
    ]  # fmt: skip
    assert tests, f"no test runs {page.path.name}"


@pytest.mark.parametrize("page", pages(), ids=lambda p: p.path.name)
def test_links_resolve(page: Page) -> None:
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.text):
        if "://" not in target:
            assert (page.path.parent / target).exists(), f"{page.path.name}: {target}"


def test_index_lists_every_page() -> None:
    index = (RUNBOOKS / "README.md").read_text()
    for p in pages():
        assert f"({p.path.name})" in index, p.path.name
    for target in re.findall(r"\]\(([^)#]+)\)", index):
        assert (RUNBOOKS / target).exists(), target


def test_the_check_catches_curl_and_unknown_targets(tmp_path: object) -> None:
    """The check itself: a page with curl or a made-up target is caught."""
    from pathlib import Path

    bad = Path(str(tmp_path)) / "RUNBOOK-099-bad.md"
    bad.write_text("```sh\ncurl -s $AGENTRY_URL/readyz\nmake ops-nothing-here\n```\n")
    page = Page(bad)
    assert not STEP.match(page.lines()[0])
    assert FORBIDDEN.search(page.text)
    assert "ops-nothing-here" in page.targets() - makefile_targets()
