"""The cash-matching benchmark's data generator: deterministic, consistent truth, and files that
the project's parsers accept in strict mode and read back as generated."""

from __future__ import annotations

import random
from collections import Counter

import pytest
from benchmarks.cashbench_eval import parse_files, words
from benchmarks.cashgen import (
    MIX,
    GenConfig,
    World,
    compressed,
    creditor_reference,
    generate,
    iban,
    typo,
)
from benchmarks.cashgen_files import OutFile, all_files

from billfold.formats.bai2 import parse_bai2
from billfold.formats.camt import creditor_reference_kind, parse_camt
from billfold.formats.mt940 import parse_mt940
from billfold.formats.nacha import parse_nacha
from billfold.formats.payout_csv import parse_payout_csv
from billfold.formats.x12_820 import parse_x12_820

CONFIG = GenConfig(n_customers=90, n_invoices=400, n_receipts=300, seed=7)
STRICT = {
    "camt.053": parse_camt,
    "camt.054": parse_camt,
    "mt940": parse_mt940,
    "bai2": parse_bai2,
    "nacha": parse_nacha,
    "x12_820": parse_x12_820,
}


@pytest.fixture(scope="module")
def world() -> World:
    return generate(CONFIG)


@pytest.fixture(scope="module")
def files(world: World) -> list[OutFile]:
    return [f for _day, day_files in all_files(world) for f in day_files]


def test_the_same_seed_gives_the_same_files(files: list[OutFile]) -> None:
    again = [f for _day, day_files in all_files(generate(CONFIG)) for f in day_files]
    assert [(f.name, f.data) for f in again] == [(f.name, f.data) for f in files]


def test_every_format_is_written_and_parses_in_strict_mode(files: list[OutFile]) -> None:
    assert {f.fmt for f in files} == {*STRICT, "payout_csv"}
    for f in files:
        parsed = (
            STRICT[f.fmt](f.data, f.name, strict=True)
            if f.fmt in STRICT
            else parse_payout_csv(f.data, f.name)
        )
        assert parsed.format == f.fmt
        if f.fmt != "x12_820":
            assert sum(e.is_credit for e in parsed.entries) >= f.receipts


def test_the_mix_is_split_exactly(world: World) -> None:
    counts = Counter(r.scenario for r in world.receipts)
    assert sum(counts.values()) == CONFIG.n_receipts
    for scenario, share in MIX.items():
        assert abs(counts[scenario] - share * CONFIG.n_receipts) < 1
    channels = Counter(r.channel for r in world.receipts)
    assert set(channels) >= {"camt", "mt940", "bai2_lockbox", "ccd_plus", "ctx", "payout"}


def test_truth_is_consistent(world: World) -> None:
    open_ = {(i.entity, i.number): i for i in world.open_invoices}
    paid: Counter[tuple[str, str]] = Counter()
    for r in world.receipts:
        if r.scenario == "unmatchable":
            assert r.truth == () and r.customer is None
            continue
        cash = sum(t.amount_minor for t in r.truth if t.kind in ("invoice", "on_account"))
        assert cash == r.receipt_minor, r
        for t in r.truth:
            if t.kind == "on_account":
                assert t.ref == r.customer
                continue
            inv = open_[(r.entity, t.ref)]
            assert inv.customer == r.customer and inv.currency == r.currency
            paid[(r.entity, t.ref)] += t.amount_minor
    for key, amount in paid.items():
        assert amount <= open_[key].amount_minor  # no invoice is paid twice
    history = {(i.entity, i.number) for i in world.invoices if i.history}
    assert sorted((r.entity, r.truth[0].ref) for r in world.history) == sorted(history)
    assert not history & set(open_)


def test_files_read_back_as_generated(world: World, files: list[OutFile]) -> None:
    parsed = parse_files(world, [(world.receipts[0].value_date, files)])
    assert parsed.unknown == 0
    assert parsed.duplicates == sum(r.also_notified for r in world.receipts) > 0
    assert (
        parsed.advices
        == parsed.advices_joined
        == sum(r.channel == "ccd_820" for r in world.receipts)
    )
    views = {p.key: p.view for p in parsed.receipts}
    assert sorted(views) == sorted(r.key for r in world.receipts)
    for r in world.receipts:
        v = views[r.key]
        assert v.amount_minor == r.receipt_minor and v.currency == r.currency
        assert v.value_date == r.value_date
        if r.channel in ("camt", "camt_fx", "mt940"):
            assert v.payer_account == r.payer_account
        expected = {d.number for d in r.doc_lines}
        if r.channel in ("ctx", "ccd_820", "camt", "camt_fx", "payout"):
            assert {ln.reference for ln in v.lines} >= expected
        if r.creditor_refs:
            assert set(r.creditor_refs) <= set(v.refs)
        said = " ".join(words(v))
        for t in r.text:
            for word in t.replace(",", " ").split()[:3]:
                if r.channel not in ("mt940", "ccd_plus") and word.isascii():
                    assert word.strip(".:()") in said or word.endswith("\\"), (word, v)


def test_reference_helpers() -> None:
    assert creditor_reference_kind(creditor_reference("INV-2026-000123")) == "RF"
    assert iban("DE", "370400440532013000") == "DE89370400440532013000"
    assert compressed(["INV-2026-000123", "INV-2026-000124", "INV-2026-000130"]) == (
        "INV-2026-000123/124/130"
    )
    rng = random.Random(1)
    for _ in range(200):
        changed, how = typo(rng, "INV-2026-000123")
        assert changed != "INV-2026-000123" and how
