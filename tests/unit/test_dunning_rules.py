"""Dunning rules without a database: levels, holds, notice planning, template checks."""

from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from billfold.domain.dunning import (
    Dispute,
    Level,
    OpenItem,
    PlanCover,
    Policy,
    Promise,
    apply_holds,
    check_template,
    compile_template,
    level_due,
    plan_notices,
    render,
    sample_context,
)
from billfold.errors import InvalidInput

AS_OF = date(2026, 12, 31)
POLICY = Policy(
    "DEFAULT",
    (
        Level(5, 60, "Final notice", "final-notice", credit_hold=True),
        Level(1, -3, "Friendly reminder", "reminder"),
        Level(2, 1, "First reminder", "overdue-1"),
        Level(3, 15, "Second reminder", "overdue-2"),
        Level(4, 30, "Third reminder", "overdue-3"),
    ),
)


def item(
    ref: str, days_past_due: int, customer: int = 1, open_minor: int = 10000, entity: int = 1
) -> OpenItem:
    due = AS_OF - timedelta(days=days_past_due)
    return OpenItem(customer, entity, ref, "EUR", open_minor, 10000, due - timedelta(30), due)


def test_policy_sorts_levels_and_refuses_bad_orders() -> None:
    assert [lv.level for lv in POLICY.levels] == [1, 2, 3, 4, 5]
    with pytest.raises(InvalidInput, match="level 2 .* must come later"):
        Policy("X", (Level(1, 5, "a", "a"), Level(2, 5, "b", "b")))
    with pytest.raises(InvalidInput, match="unique"):
        Policy("X", (Level(1, 5, "a", "a"), Level(1, 6, "b", "b")))
    with pytest.raises(InvalidInput, match="at least one level"):
        Policy("X", ())


@pytest.mark.parametrize(
    ("days", "expected"),
    [(-10, None), (-4, None), (-3, 1), (0, 1), (1, 2), (14, 2), (15, 3), (30, 4), (59, 4),
     (60, 5), (400, 5)],
)  # fmt: skip
def test_level_due_is_the_highest_level_reached(days: int, expected: int | None) -> None:
    due = level_due(POLICY, days)
    assert (due.level if due else None) == expected


def test_one_notice_per_customer_at_its_highest_item_level() -> None:
    items = [item("A", 40), item("B", 2), item("C", -10), item("D", 16, customer=2)]
    notices = plan_notices(items, {}, POLICY, AS_OF)
    assert [(n.customer_id, n.level.level) for n in notices] == [(1, 4), (2, 3)]
    first = notices[0]
    # each item at its own due level; C (13 days before due) is below level 1
    assert [(ni.item.item_ref, ni.level.level, ni.days_past_due) for ni in first.items] == [
        ("A", 4, 40),
        ("B", 2, 2),
    ]


def test_levels_already_sent_are_not_sent_again_and_catch_up_skips_missed_levels() -> None:
    items = [item("A", 40), item("B", 2)]
    # A was reminded at level 4 already; B at level 2: nothing advances
    assert plan_notices(items, {(1, "A"): 4, (1, "B"): 2}, POLICY, AS_OF) == []
    # after an outage, A (never reminded) gets level 4 only, once
    notices = plan_notices(items, {(1, "B"): 2}, POLICY, AS_OF)
    assert [(ni.item.item_ref, ni.level.level) for ni in notices[0].items] == [("A", 4)]
    assert not notices[0].credit_hold
    final = plan_notices([item("A", 61)], {(1, "A"): 4}, POLICY, AS_OF)
    assert final[0].level.level == 5 and final[0].credit_hold


def test_notices_are_split_per_legal_entity() -> None:
    notices = plan_notices([item("A", 5), item("B", 5, entity=2)], {}, POLICY, AS_OF)
    assert [(n.customer_id, n.entity_id) for n in notices] == [(1, 1), (1, 2)]


def test_per_customer_policies_and_customers_without_one() -> None:
    strict = Policy("STRICT", (Level(1, 0, "Pay now", "strict"),))
    notices = plan_notices([item("A", 0), item("B", 0, customer=2)], {}, {1: strict}, AS_OF)
    assert [(n.customer_id, n.policy_code, n.level.template_key) for n in notices] == [
        (1, "STRICT", "strict")
    ]


def test_holds_disputes_plans_and_promises() -> None:
    items = [
        item("FULL", 20),
        item("PART", 20),
        item("PLAN", 20),
        item("PROM", 20),
        item("OLDPROM", 20),
        item("ALL", 20, customer=2),
        item("FREE", 20),
    ]
    held, excluded = apply_holds(
        items,
        [Dispute(1, "FULL", 10000), Dispute(1, "PART", 2500)],
        [PlanCover(7, 1, frozenset({"PLAN"}))],
        [
            Promise(1, "PROM", "EUR", AS_OF),  # promised for today: still holds
            Promise(1, "OLDPROM", "EUR", AS_OF - timedelta(days=1)),  # expired
            Promise(2, None, "EUR", AS_OF + timedelta(days=5)),  # all of customer 2's EUR
        ],
        AS_OF,
    )
    assert excluded == {
        (1, "FULL"): "in dispute",
        (1, "PLAN"): "in payment plan 7",
        (1, "PROM"): f"promised to pay by {AS_OF.isoformat()}",
        (2, "ALL"): f"promised to pay by {(AS_OF + timedelta(days=5)).isoformat()}",
    }
    notices = plan_notices(held, {}, POLICY, AS_OF, excluded)
    assert len(notices) == 1
    dunned = {ni.item.item_ref: ni.item.dunned_minor for ni in notices[0].items}
    assert dunned == {"PART": 7500, "OLDPROM": 10000, "FREE": 10000}


@given(
    st.lists(st.integers(-100, 200), min_size=1, max_size=8),
    st.dictionaries(st.integers(0, 7), st.integers(1, 5)),
)
def test_planning_is_idempotent_once_recorded(days: list[int], sent: dict[int, int]) -> None:
    """Recording what a plan sends (each item at its level) leaves nothing to send."""
    items = [item(f"I{n}", d) for n, d in enumerate(days)]
    sent_levels = {(1, f"I{k}"): v for k, v in sent.items() if k < len(items)}
    for notice in plan_notices(items, sent_levels, POLICY, AS_OF):
        for ni in notice.items:
            assert ni.level.level > sent_levels.get(ni.item.key, 0)
            assert level_due(POLICY, ni.days_past_due) == ni.level
            sent_levels[ni.item.key] = ni.level.level
    assert plan_notices(items, sent_levels, POLICY, AS_OF) == []


# --- templates -------------------------------------------------------------------------------

GOOD = """Dear {{ customer.name }} ({{ customer.number }}),
{% for it in items %}
{{ loop.index }}. {{ it.number }} {{ it.due_date }} {{ it.open }} {{ it['total'] }}
{% endfor %}
{% for t in totals %}{{ t.currency }} {{ t.open }}{% endfor %}
Level {{ level.number }} {{ level.name }} as of {{ as_of }}; IBAN {{ payment.iban }}
{{ entity.name }} {{ entity.email }} {{ entity.phone }} {{ items|length }}
"""


def test_a_template_with_documented_fields_is_accepted_and_renders() -> None:
    check_template(GOOD)
    text = render(compile_template(GOOD), sample_context())
    assert "1. INV-2026-0001" in text and "Level 2 First reminder" in text


@pytest.mark.parametrize(
    ("source", "field"),
    [
        ("Hello {{ customer.nmae }}", "customer.nmae"),
        ("{% if level.number > 4 %}{{ customer.vat_id }}{% endif %}", "customer.vat_id"),
        ("{% for i in items %}{{ i.amount }}{% endfor %}", "i.amount"),
        ("{% for t in totals %}{{ t['sum'] }}{% endfor %}", "t.sum"),
        ("{{ invoice.number }}", "invoice"),
        ("{{ payment.account }}", "payment.account"),
    ],
)
def test_a_missing_field_is_refused_and_named(source: str, field: str) -> None:
    with pytest.raises(InvalidInput, match=f"unknown field '{field}'"):
        check_template(source, "template reminder/en body")


def test_syntax_errors_and_runtime_failures_are_refused() -> None:
    with pytest.raises(InvalidInput, match="line 2"):
        check_template("ok\n{% for x in items %}")
    with pytest.raises(InvalidInput, match="as_of"):
        check_template("{{ as_of.year }}")
    with pytest.raises(InvalidInput):
        check_template("{{ customer.__class__.__mro__ }}")  # the sandbox or the field check


def test_shipped_templates_pass_the_check_and_keep_one_line_per_item() -> None:
    from billfold.services.dunning import DEFAULT_LEVELS, shipped_templates

    found = shipped_templates()
    keys = {lv.template_key for lv in DEFAULT_LEVELS}
    assert {(k, lang) for k, lang, _, _ in found} == {
        (k, lang) for k in keys for lang in ("en", "de", "fr", "es", "nl")
    }
    for key, lang, subject, body in found:
        check_template(subject, f"{key}/{lang} subject")
        check_template(body, f"{key}/{lang} body")
        text = render(compile_template(body), sample_context())
        rows = [line for line in text.splitlines() if "INV-2026-000" in line]
        assert len(rows) == 2 and rows[0].strip().startswith("INV-2026-0001"), (key, lang)
        assert "€137.91" in text and "{" not in text, (key, lang)


# --- the mailer without a server -------------------------------------------------------------


def test_mailer_settings_fail_fast_and_messages_carry_no_surprises(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from billfold.services.mailer import (
        MailConfigError,
        OutgoingMail,
        SmtpSender,
        SmtpSettings,
        redact,
    )

    for name in ("HOST", "PORT", "USER", "PASSWORD", "STARTTLS", "FROM", "TIMEOUT"):
        monkeypatch.delenv(f"BILLFOLD_SMTP_{name}", raising=False)
    with pytest.raises(MailConfigError, match="BILLFOLD_SMTP_HOST"):
        SmtpSender.from_environment()
    monkeypatch.setenv("BILLFOLD_SMTP_HOST", "mail.example")
    with pytest.raises(MailConfigError, match="BILLFOLD_SMTP_FROM"):
        SmtpSender.from_environment()
    monkeypatch.setenv("BILLFOLD_SMTP_FROM", "not an address")
    with pytest.raises(MailConfigError, match="not an e-mail address"):
        SmtpSender.from_environment()
    monkeypatch.setenv("BILLFOLD_SMTP_FROM", "Acme Billing <billing@acme.example>")
    monkeypatch.setenv("BILLFOLD_SMTP_PORT", "seven")
    with pytest.raises(MailConfigError, match="BILLFOLD_SMTP_PORT"):
        SmtpSender.from_environment()
    monkeypatch.setenv("BILLFOLD_SMTP_PORT", "587")
    monkeypatch.setenv("BILLFOLD_SMTP_USER", "acme")
    with pytest.raises(MailConfigError, match="go together"):
        SmtpSender.from_environment()
    monkeypatch.setenv("BILLFOLD_SMTP_PASSWORD", "s3cret")
    sender = SmtpSender.from_environment()
    assert "s3cret" not in repr(sender.settings)  # a SecretStr
    assert isinstance(sender.settings, SmtpSettings) and sender.settings.port == 587

    msg = sender.build(OutgoingMail("ap@customer.example", "Zahlungserinnerung – DE1", "Grüße\n"))
    assert msg["From"] == "Acme Billing <billing@acme.example>"
    assert msg["Message-ID"].endswith("@acme.example>")
    assert msg["Auto-Submitted"] == "auto-generated"
    assert msg.get_content() == "Grüße\n"
    assert redact("550 <ap@customer.example>: no such user") == "550 <<address>>: no such user"
