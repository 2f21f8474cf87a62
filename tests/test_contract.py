"""One source of truth: the READMEs' contract blocks are rendered from the clauses."""

from __future__ import annotations

import shutil

import pytest

from grader import contract
from grader.spec import discover
from tests.conftest import ROOT, run_cli


def test_both_readmes_equal_the_rendering_of_the_clauses():
    """Run `grade contract --write` after changing a clause; this fails until you do."""
    specs = discover()
    drifted = [str(d.path.relative_to(ROOT)) for d in contract.drift(ROOT, specs)]
    assert drifted == [], f"{drifted} differ from the clauses: run `grade contract --write`"
    for relative in contract.CONTRACT_FILES:
        text = (ROOT / relative).read_text(encoding="utf-8")
        assert contract.blocks(text) == [s.name for s in specs], relative


def test_every_clause_text_is_in_both_readmes():
    readmes = [(ROOT / f).read_text(encoding="utf-8") for f in contract.CONTRACT_FILES]
    for spec in discover():
        for clause in spec.clauses:
            line = f"{' '.join(clause.text.split())} [`{clause.id}`]"
            assert all(line in text for text in readmes), clause.id


def test_rendering_in_korean_and_without_clauses():
    spec = discover()[0]
    korean = contract.render(spec, "ko")
    assert korean.startswith(f"1. {spec.clauses[0].text_ko}")
    assert contract.render(spec.model_copy(update={"clauses": ()})) == (
        "(no clauses declared yet)\n"
    )
    text = f"<!-- contract-lang:ko -->\n<!-- contract:{spec.name} -->\nold\n<!-- /contract -->\n"
    assert contract.apply(text, [spec]).count(spec.clauses[0].text_ko) == 1


def test_bad_blocks_are_reported():
    with pytest.raises(contract.ContractError, match="unknown exercise"):
        contract.apply("<!-- contract:nope -->\nx\n<!-- /contract -->", discover())
    with pytest.raises(contract.ContractError, match="closed"):
        contract.apply("<!-- contract:my_linear -->\nx\n", discover())


def test_grade_contract_prints_and_rewrites(tmp_path, monkeypatch):
    result = run_cli("contract", "-a", "scratch_lr")
    assert result.exit_code == 0
    assert "[`backward-dw`]" in result.output and "my_linear" not in result.output
    for relative in contract.CONTRACT_FILES:
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / relative, tmp_path / relative)
    stale = tmp_path / "student_template" / "README.md"
    stale.write_text(stale.read_text().replace("[`backward-dw`]", "[`old`]"))
    monkeypatch.chdir(tmp_path)
    result = run_cli("contract", "--write")
    assert result.exit_code == 0 and f"wrote: {stale}" in result.output
    assert contract.drift(tmp_path, discover()) == []
    assert run_cli("contract", "--write").output.strip() == "the READMEs already match the clauses"
