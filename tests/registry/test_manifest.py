from __future__ import annotations

import pytest

from agentry.registry.manifest import GoldenCase, ManifestError, golden_diff, parse_manifest


def test_minimal_manifest_gets_defaults() -> None:
    m = parse_manifest('name = "echo"\n')
    assert m.entrypoint == "main:app"
    assert m.module_file == "main.py"
    assert m.app_attr == "app"
    assert m.limits.job_deadline_s <= 8 * 3600


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ('name = "Bad Name"\n', "name"),
        ('name = "ok"\nentrypoint = "main"\n', "entrypoint"),
        ('name = "ok"\nmodes = ["batch"]\n', "modes.0"),
        ('name = "ok"\n[limits]\njob_deadline_s = 99999\n', "limits.job_deadline_s"),
        ('name = "ok"\nunknown = 1\n', "unknown"),
        ("description = 'no name'\n", "name"),
    ],
)
def test_errors_name_the_field(text: str, field: str) -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest(text, "agents/x/agent.toml")
    assert f"field '{field}'" in info.value.detail
    assert "agents/x/agent.toml" in info.value.detail


def test_broken_toml_names_the_line() -> None:
    with pytest.raises(ManifestError, match="line 2"):
        parse_manifest('name = "ok"\nmodes = [1 2]\n')


def test_error_points_at_the_line_of_the_field() -> None:
    text = 'name = "ok"\n\n[limits]\njob_deadline_s = 99999\n'
    with pytest.raises(ManifestError) as info:
        parse_manifest(text, "agent.toml")
    assert info.value.detail.startswith("agent.toml:4: field 'limits.job_deadline_s'")


def test_self_service_fields_and_golden_cases() -> None:
    m = parse_manifest(
        'name = "ok"\ntools = ["search"]\ntenants = ["acme"]\ntiers = ["premium"]\n'
        "[[golden]]\ninput = { prompt = 'hi' }\nexpect = { echo = 'hi' }\n"
        "[[golden]]\ninput = {}\ncontains = ['pid']\n"
    )
    assert (m.tools, m.tenants, m.tiers) == (["search"], ["acme"], ["premium"])
    assert [g.input for g in m.golden] == [{"prompt": "hi"}, {}]


def test_golden_case_needs_a_check_and_names_its_line() -> None:
    with pytest.raises(ManifestError) as info:
        parse_manifest('name = "ok"\n\n[[golden]]\ninput = {}\n', "agent.toml")
    assert "agent.toml:3: field 'golden.0'" in info.value.detail


def test_golden_diff_is_a_subset_match() -> None:
    case = GoldenCase(expect={"echo": "hi", "meta": {"n": 1}}, contains=["pid"])
    assert golden_diff(case, {"echo": "hi", "meta": {"n": 1, "x": 2}, "pid": 3}) is None
    diff = golden_diff(case, {"echo": "ho", "meta": {}})
    assert diff is not None
    assert 'output.echo: expected "hi", got "ho"' in diff
    assert "output.meta.n: missing" in diff
    assert "does not contain 'pid'" in diff
    assert golden_diff(GoldenCase(expect=[1, 2]), [1, 2]) is None
    assert golden_diff(GoldenCase(expect={"a": 1}), "text") is not None
