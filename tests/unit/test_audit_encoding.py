"""The audit chain's fast encodings give exactly the bytes of the json-module forms they replace:
rows written before and after verify alike, and an image formatted by hand is canonical."""

from __future__ import annotations

import hashlib
import json
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from billfold.domain.documents import Party, PaymentInstructions
from billfold.money import Money
from billfold.services.invoicing import draft_image
from billfold.services.issuing import _Head, _SellerSnapshots, issue_image
from billfold.services.parties import Seller, party_to_json
from billfold.store.audit import CanonicalJson, row_hash, to_json

texts = st.text(alphabet=st.characters(codec="utf-8"), max_size=12)


def reference_hash(prev: str, row: dict[str, object]) -> str:
    content = json.dumps(
        [
            row["id"],
            row["at"],
            row["actor"],
            row["action"],
            row["entity_type"],
            row["entity_ref"],
            row["before_json"],
            row["after_json"],
        ],
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256((prev + content).encode("utf-8")).hexdigest()


@settings(max_examples=300)
@given(
    st.integers(min_value=1, max_value=10**15),
    texts,
    texts,
    texts,
    texts,
    texts,
    st.none() | texts,
    st.none() | texts,
)
def test_row_hash_is_the_json_dumps_form(
    id_: int,
    at: str,
    actor: str,
    action: str,
    entity_type: str,
    entity_ref: str,
    before: str | None,
    after: str | None,
) -> None:
    row = {
        "id": id_,
        "at": at,
        "actor": actor,
        "action": action,
        "entity_type": entity_type,
        "entity_ref": entity_ref,
        "before_json": before,
        "after_json": after,
    }
    assert row_hash("0" * 64, row) == reference_hash("0" * 64, row)


def test_canonical_json_is_stored_as_given() -> None:
    image = {"customer": "Ä-1", "issue_date": date(2026, 11, 2), "total": "1.00 EUR"}
    text = to_json(image)
    assert text is not None
    assert to_json(CanonicalJson(text)) == text
    assert type(to_json(CanonicalJson(text))) is str


def test_seller_snapshot_template_is_the_json_of_the_whole() -> None:
    party = Party(name='Acme "Europe" GmbH', country="DE", city="Köln")
    seller = Seller(
        1,
        "ACME",
        "DE",
        "",
        "EUR",
        "half-up",
        "line",
        2,
        2,
        False,
        1,
        party,
        (PaymentInstructions("DE89370400440532013000", "COBADEFFXXX", None, "Acme", None, "58"),),
        (None,),
    )
    party_json = json.dumps(party_to_json(party))
    snaps = _SellerSnapshots({("seller", 1): party_json}, {1: seller})

    class Head:
        entity_id, currency = 1, "EUR"

    payment = seller.payment_for("EUR", "INV-2026-000007")
    assert payment is not None
    expected = {
        "party": json.loads(party_json),
        "payment": {
            "iban": payment.iban,
            "bic": payment.bic,
            "bank_name": payment.bank_name,
            "account_name": payment.account_name,
            "reference": payment.reference,
            "means_code": payment.means_code,
        },
    }
    snapshot = snaps.of(Head(), "INV-2026-000007")
    assert snapshot == f'{{"party": {party_json}, "payment": {json.dumps(expected["payment"])}}}'
    assert json.loads(snapshot) == expected


@settings(max_examples=200)
@given(
    texts,
    st.sampled_from(["EUR", "JPY", "KWD", "USD"]),
    st.integers(min_value=0, max_value=10**12),
    st.integers(min_value=-(10**9), max_value=10**9),
    st.dates(),
    st.sampled_from(["1", "1.0823", "0.000123"]),
)
def test_issue_image_is_canonical_json(
    customer: str, currency: str, total: int, tax: int, day: date, rate: str
) -> None:
    head = _Head(
        1, 1, 1, "invoice", "draft", "INV", None, currency, "EUR", rate, "half-up", day, tax,
        total, None,
    )  # fmt: skip
    expected = to_json(
        {
            "customer": customer,
            "issue_date": day,
            "currency": currency,
            "total": str(Money.from_minor(total, currency)),
            "tax": str(Money.from_minor(tax, currency)),
            "fx_rate": rate,
        }
    )
    assert issue_image(head, customer) == expected


@settings(max_examples=200)
@given(
    texts,
    texts,
    st.sampled_from(["EUR", "JPY", "KWD", "USD"]),
    st.integers(min_value=0, max_value=10**12),
)
def test_draft_image_is_canonical_json(ref: str, customer: str, currency: str, total: int) -> None:
    expected = to_json(
        {"ref": ref, "customer": customer, "total": str(Money.from_minor(total, currency))}
    )
    assert draft_image(ref, customer, total, currency) == expected
