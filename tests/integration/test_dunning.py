"""Dunning runs end to end on both engines, mailing a real local SMTP server (aiosmtpd).

Every assertion about what was sent reads what the server received: recipients, subjects per
level and language, invoice numbers and amounts in the body.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
import typer
from aiosmtpd.controller import Controller
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError
from typer.testing import CliRunner

from billfold.commands.common import State
from billfold.commands.dunning import dunning_app
from billfold.domain.payments import BankEntry, BankFile, Statement
from billfold.errors import Conflict, DatabaseUnavailable, InvalidInput
from billfold.services import cash_apply, collections, credit_memos
from billfold.services import dunning as svc
from billfold.services.cash_import import import_parsed
from billfold.services.context import Billfold
from billfold.services.customers import import_customers
from billfold.services.mailer import OutgoingMail, SmtpSender
from billfold.store.tables import (
    audit_log,
    customers,
    dunning_items,
    dunning_notices,
    dunning_templates,
    receipts,
)

from .helpers import row_counts
from .invoicing_setup import create, invoice, seed_invoicing

pytestmark = pytest.mark.integration

IBAN = "DE89370400440532013000"
MORE_CUSTOMERS = (
    b"number,name,currency,payment_terms,bill_to_line1,bill_to_city,bill_to_postal_code,"
    b"bill_to_country,billing_email,language\n"
    b"ES1,Ferreteria Sol SL,EUR,NET30,Calle Mayor 1,Madrid,28013,ES,pagos@sol.example,es\n"
    b"NL1,Molen Techniek BV,EUR,NET30,Damrak 1,Amsterdam,1012 LG,NL,crediteuren@molen.example,nl\n"
    b"NOMAIL,Silent GmbH,EUR,NET30,Weg 1,Bonn,53111,DE,,de\n"
)
ISSUED = "2026-11-02"  # NET30 -> due 2026-12-02


# --- a real SMTP server ----------------------------------------------------------------------


class Inbox:
    """An aiosmtpd handler that keeps every message and can refuse chosen recipients."""

    def __init__(self) -> None:
        self.received: list[tuple[list[str], EmailMessage]] = []
        self.refuse: set[str] = set()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return "550 5.1.1 <" + address + ">: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.received.append((list(envelope.rcpt_tos), msg))
        return "250 Message accepted for delivery"

    def take(self) -> dict[str, EmailMessage]:
        """The messages received since the last call, by recipient."""
        got = {to[0]: msg for to, msg in self.received}
        assert len(got) == len(self.received), "one recipient per message"
        self.received = []
        return got


class SmtpServer:
    def __init__(self) -> None:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp(monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    monkeypatch.setenv("BILLFOLD_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("BILLFOLD_SMTP_PORT", str(server.port))
    monkeypatch.setenv("BILLFOLD_SMTP_FROM", "Acme Billing <billing@acme.example>")
    yield server
    server.stop()


# --- the world -------------------------------------------------------------------------------


@pytest.fixture
def world(bf: Billfold) -> Billfold:
    seed_invoicing(bf)
    with bf.transaction() as tx:
        import_customers(tx, MORE_CUSTOMERS, "more.csv")
        svc.ensure_default_dunning(tx)
    return bf


def at(bf: Billfold, day: date) -> None:
    bf.clock = lambda: datetime.combine(day, time(9, 30), tzinfo=UTC)


def run(bf: Billfold, day: date, *, dry_run: bool = False) -> svc.DunningSummary:
    at(bf, day)
    sender = None if dry_run else SmtpSender.from_environment()
    return svc.run_dunning(bf, day, dry_run=dry_run, sender=sender, keep_messages=5)


def issue(bf: Billfold, *customers_: str, day: str = ISSUED, qty: str = "2") -> dict[str, str]:
    numbers = create(
        bf, *(invoice(c, {"sku": "SUB-PRO", "quantity": qty}, day=day) for c in customers_)
    )
    return dict(zip(customers_, [str(n) for n in numbers], strict=True))


def text(msg: EmailMessage) -> str:
    body = msg.get_body(("plain",))
    assert body is not None
    return str(body.get_content()).replace("\u00a0", " ").replace("\u202f", " ")


def count(bf: Billfold, table: Any, **where: Any) -> int:
    q = select(func.count()).select_from(table)
    for k, v in where.items():
        q = q.where(table.c[k] == v)
    with bf.reading() as conn:
        return int(conn.execute(q).scalar_one())


# --- tests -----------------------------------------------------------------------------------


def test_levels_languages_and_a_rerun_sends_nothing_twice(
    world: Billfold, smtp: SmtpServer
) -> None:
    bf = world
    numbers = issue(bf, "DE1", "FR1", "ES1", "NL1", "GB1")
    assert run(bf, date(2026, 11, 28)).contacted == []  # 4 days before due: nothing yet

    summary = run(bf, date(2026, 11, 29))  # 3 days before due: the friendly reminder
    got = smtp.inbox.take()
    assert set(got) == {
        "rechnung@nordwind.example",
        "compta@martin.example",
        "pagos@sol.example",
        "crediteuren@molen.example",
    }  # GB1 (EOM+30) is due on 30 December: not yet
    assert got["rechnung@nordwind.example"]["Subject"].startswith(
        "Freundliche Erinnerung: Zahlung bald fällig – Acme Europe GmbH, Kundennummer DE1"
    )
    assert got["compta@martin.example"]["Subject"].startswith("Rappel amical")
    assert got["pagos@sol.example"]["Subject"].startswith("Recordatorio: vencimiento próximo")
    assert got["crediteuren@molen.example"]["Subject"].startswith("Vriendelijke herinnering")
    assert [o.level for o in summary.contacted] == [1, 1, 1, 1]
    de = text(got["rechnung@nordwind.example"])
    assert f"{numbers['DE1']} vom 02.11.2026, fällig am 02.12.2026: 116,62 € offen" in de
    assert "Offener Gesamtbetrag: 116,62 €" in de
    assert f"IBAN {IBAN} (BIC COBADEFFXXX) unter Angabe von {numbers['DE1']}" in de
    assert "+49 30 1234567" in de and "Tage überfällig" not in de
    fr = text(got["compta@martin.example"])
    assert f"{numbers['FR1']} du 2 nov. 2026" in fr and "90,00 €" in fr
    msg = got["rechnung@nordwind.example"]
    assert msg["From"] == "Acme Billing <billing@acme.example>"
    assert msg["Message-ID"] and msg["Auto-Submitted"] == "auto-generated"

    again = run(bf, date(2026, 11, 29))
    assert smtp.inbox.take() == {} and again.contacted == [] and again.failed == []

    summary = run(bf, date(2026, 12, 3))  # 1 day past due: the first reminder
    got = smtp.inbox.take()
    assert len(got) == 4
    assert got["rechnung@nordwind.example"]["Subject"].startswith("Zahlungserinnerung")
    assert got["pagos@sol.example"]["Subject"].startswith("Recordatorio de pago")
    assert got["crediteuren@molen.example"]["Subject"].startswith("Betalingsherinnering")
    assert "(1 Tag überfällig): 116,62 € offen" in text(got["rechnung@nordwind.example"])
    assert run(bf, date(2026, 12, 3)).contacted == [] and smtp.inbox.take() == {}
    assert count(bf, dunning_items) == 8
    assert count(bf, dunning_notices, status="sent") == 8
    with bf.reading() as conn:
        history = svc.notice_history(conn, "DE1")
    assert [(h.level, h.status, h.items) for h in history] == [
        (2, "sent", (numbers["DE1"],)),
        (1, "sent", (numbers["DE1"],)),
    ]


def test_catch_up_after_an_outage_then_final_notice_puts_on_hold(
    world: Billfold, smtp: SmtpServer
) -> None:
    bf = world
    numbers = issue(bf, "DE1", "NL1")
    later = issue(bf, "DE1", day="2026-12-20", qty="1")  # due 19 January
    summary = run(bf, date(2027, 1, 11))  # 40 days past due, no run before
    got = smtp.inbox.take()
    assert len(got) == 2 and [o.level for o in summary.contacted] == [4, 4]
    body = text(got["rechnung@nordwind.example"])
    assert got["rechnung@nordwind.example"]["Subject"].startswith("3. Mahnung")
    assert f"{numbers['DE1']} vom" in body and "(40 Tage überfällig)" in body
    with bf.reading() as conn:
        levels = conn.execute(select(dunning_items.c.level)).scalars().all()
    assert sorted(levels) == [4, 4]  # the level due now, not 1, 2 and 3 as well
    assert run(bf, date(2027, 1, 12)).contacted == []

    summary = run(bf, date(2027, 1, 31))  # 60 days: final notice; DE1's new invoice due soon
    got = smtp.inbox.take()
    assert got["crediteuren@molen.example"]["Subject"].startswith("Laatste aanmaning")
    de = text(got["rechnung@nordwind.example"])
    assert got["rechnung@nordwind.example"]["Subject"].startswith("Letzte Mahnung")
    lines = [line.strip() for line in de.splitlines() if line.startswith("  ")]
    assert lines == [  # both items, one line each, each with its own days
        f"{numbers['DE1']} vom 02.11.2026, fällig am 02.12.2026 (60 Tage überfällig): "
        "116,62 € offen",
        f"{later['DE1']} vom 20.12.2026, fällig am 19.01.2027 (12 Tage überfällig): 58,31 € offen",
    ]
    assert sorted(summary.credit_holds) == ["DE1", "NL1"]
    with bf.reading() as conn:
        flags = conn.execute(
            select(customers.c.number, customers.c.on_hold, customers.c.in_collections).where(
                customers.c.number.in_(["DE1", "NL1", "FR1"])
            )
        ).all()
        audited = conn.execute(
            select(func.count()).select_from(audit_log).where(audit_log.c.action == "credit_hold")
        ).scalar_one()
    assert {n: (bool(h), bool(c)) for n, h, c in flags} == {
        "DE1": (True, True),
        "NL1": (True, True),
        "FR1": (False, False),
    }
    assert audited == 2


def test_a_payment_or_a_credit_clears_the_customer_at_once(
    world: Billfold, smtp: SmtpServer
) -> None:
    bf = world
    numbers = issue(bf, "DE1", "FR1", "NL1")
    run(bf, date(2026, 12, 3))
    assert len(smtp.inbox.take()) == 3

    at(bf, date(2026, 12, 10))
    entry = BankEntry(Decimal("116.62"), "EUR", date(2026, 12, 10), "PAY-1", payer_name="Nordwind")
    with bf.transaction() as tx:
        import_parsed(
            tx, BankFile("camt.053", (Statement("S1", IBAN, "EUR", (entry,)),), "M1"), "s", "s"
        )
        receipt_id = tx.conn.execute(select(receipts.c.id)).scalar_one()
        cash_apply.apply_manually(tx, receipt_id, numbers["DE1"])
        credit_memos.create_credit_memo(tx, "ACME-DE", numbers["FR1"], "goodwill")

    summary = run(bf, date(2026, 12, 20))  # level 3 is due for what is still open
    got = smtp.inbox.take()
    assert set(got) == {"crediteuren@molen.example"}
    assert [o.customer for o in summary.contacted] == ["NL1"]


def test_disputed_planned_and_promised_items_are_skipped(world: Billfold, smtp: SmtpServer) -> None:
    bf = world
    numbers = issue(bf, "DE1", "FR1", "ES1", "NL1")
    partly = issue(bf, "DE1", qty="1")["DE1"]  # 58.31 EUR, 20.00 of it disputed
    at(bf, date(2026, 12, 1))
    with bf.transaction() as tx:
        collections.open_dispute(tx, "ACME-DE", numbers["DE1"], "pricing", "sales")
        collections.open_dispute(
            tx, "ACME-DE", partly, "quantity", "operations", amount=Decimal("20.00")
        )
        collections.add_promise(tx, "FR1", Decimal("90.00"), date(2026, 12, 5), numbers["FR1"])
        collections.create_plan(tx, "ES1", 3, date(2026, 12, 15), items=[numbers["ES1"]])

    summary = run(bf, date(2026, 12, 3))
    got = smtp.inbox.take()
    assert set(got) == {"rechnung@nordwind.example", "crediteuren@molen.example"}
    de = text(got["rechnung@nordwind.example"])
    assert partly in de and "38,31 € offen" in de and numbers["DE1"] not in de
    reasons = {(s.customer, s.item_ref): s.reason for s in summary.skipped}
    assert reasons[("DE1", numbers["DE1"])] == "in dispute"
    assert reasons[("FR1", numbers["FR1"])] == "promised to pay by 2026-12-05"
    assert reasons[("ES1", numbers["ES1"])].startswith("in payment plan")
    assert count(bf, dunning_items, item_ref=numbers["DE1"]) == 0

    run(bf, date(2026, 12, 6))  # the promise has expired: FR1 is dunned now
    assert set(smtp.inbox.take()) == {"compta@martin.example"}


def test_smtp_down_reports_who_was_not_contacted_and_a_rerun_resumes(
    world: Billfold, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    bf = world
    issue(bf, "DE1", "FR1", "ES1", "NL1")
    smtp.stop()
    summary = run(bf, date(2026, 12, 3))
    assert summary.contacted == [] and not summary.complete
    assert sorted(o.customer for o in summary.failed) == ["DE1", "ES1", "FR1", "NL1"]
    assert "connection refused" in (summary.failed[0].reason or "")
    assert all("not attempted" in (o.reason or "") for o in summary.failed[1:])
    assert count(bf, dunning_items) == 0 and count(bf, dunning_notices, status="sent") == 0

    # down in the middle of a run: the first two are recorded, the other two are not
    smtp.start()
    real_send = SmtpSender.send
    sent: list[str] = []

    def failing_after_two(self: SmtpSender, mail: OutgoingMail) -> str:
        if len(sent) == 2:
            smtp.stop()
        result = real_send(self, mail)
        sent.append(mail.to)
        return result

    monkeypatch.setattr(SmtpSender, "send", failing_after_two)
    summary = run(bf, date(2026, 12, 4))
    assert [o.customer for o in summary.contacted] == ["DE1", "FR1"]
    assert sorted(o.customer for o in summary.failed) == ["ES1", "NL1"]
    assert count(bf, dunning_notices, status="sent") == 2
    assert set(smtp.inbox.take()) == {"rechnung@nordwind.example", "compta@martin.example"}

    monkeypatch.setattr(SmtpSender, "send", real_send)
    smtp.start()
    summary = run(bf, date(2026, 12, 4))
    assert set(smtp.inbox.take()) == {"pagos@sol.example", "crediteuren@molen.example"}
    assert summary.complete and count(bf, dunning_notices, status="sent") == 4


def test_the_database_failing_while_recording_stops_the_run_and_a_rerun_resends(
    world: Billfold, smtp: SmtpServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """What the recorder had not committed when the database failed (the failing message and
    any recorded in the same transaction) is not marked sent, so the next run sends it again;
    nothing is recorded twice and nothing half."""
    bf = world
    issue(bf, "DE1", "FR1", "ES1", "NL1")
    real_record = svc._record_sent
    calls: list[str] = []

    def failing_second(tx: Any, run_id: int, r: Any, message_id: str) -> bool:
        calls.append(r.customer.number)
        if len(calls) == 2:
            raise OperationalError("INSERT INTO dunning_notices", {}, Exception("disk I/O error"))
        return real_record(tx, run_id, r, message_id)

    monkeypatch.setattr(svc, "_record_sent", failing_second)
    with pytest.raises(DatabaseUnavailable) as failure:
        run(bf, date(2026, 12, 3))
    assert f"while recording customer {calls[1]}" in str(failure.value)
    assert "the next run may send it again" in str(failure.value)
    assert "disk I/O error" in str(failure.value)
    first = set(smtp.inbox.take())
    recorded = count(bf, dunning_notices, status="sent")
    assert recorded <= 1 and count(bf, dunning_items) == recorded  # the failing one rolled back

    monkeypatch.setattr(svc, "_record_sent", real_record)
    summary = run(bf, date(2026, 12, 3))
    resent = set(smtp.inbox.take())
    assert summary.complete and len(resent) == 4 - recorded
    assert resent | first == {
        "rechnung@nordwind.example",
        "compta@martin.example",
        "pagos@sol.example",
        "crediteuren@molen.example",
    }
    assert count(bf, dunning_notices, status="sent") == 4 and count(bf, dunning_items) == 4


def test_a_refused_recipient_and_a_customer_without_address_are_reported(
    world: Billfold, smtp: SmtpServer
) -> None:
    bf = world
    issue(bf, "DE1", "NL1", "NOMAIL")
    smtp.inbox.refuse.add("rechnung@nordwind.example")
    summary = run(bf, date(2026, 12, 3))
    assert set(smtp.inbox.take()) == {"crediteuren@molen.example"}
    failed = {o.customer: o.reason for o in summary.failed}
    assert failed == {"DE1": "recipient refused (550)", "NOMAIL": "no e-mail address"}
    with bf.reading() as conn:
        rows = conn.execute(
            select(dunning_notices.c.status, dunning_notices.c.error).order_by(dunning_notices.c.id)
        ).all()
    assert sorted(tuple(r) for r in rows) == [
        ("failed", "no e-mail address"),
        ("failed", "recipient refused (550)"),
        ("sent", None),
    ]
    smtp.inbox.refuse.clear()
    run(bf, date(2026, 12, 3))
    assert set(smtp.inbox.take()) == {"rechnung@nordwind.example"}


def test_dry_run_renders_but_sends_and_writes_nothing(world: Billfold, smtp: SmtpServer) -> None:
    bf = world
    numbers = issue(bf, "DE1", "ES1")
    before = row_counts(bf)
    summary = run(bf, date(2026, 12, 3), dry_run=True)
    assert row_counts(bf) == before and smtp.inbox.take() == {}
    assert [(o.customer, o.status, o.level) for o in summary.contacted] == [
        ("DE1", "would_send", 2),
        ("ES1", "would_send", 2),
    ]
    assert numbers["ES1"] in summary.messages[1].body


def test_templates_are_checked_when_saved(world: Billfold, smtp: SmtpServer) -> None:
    bf = world
    with bf.transaction() as tx, pytest.raises(InvalidInput, match="'customer.nmae'"):
        svc.save_template(tx, "overdue-1", "en", "Overdue", "Hello {{ customer.nmae }}")
    with bf.reading() as conn:
        body = conn.execute(
            select(dunning_templates.c.body).where(
                dunning_templates.c.template_key == "overdue-1",
                dunning_templates.c.language == "en",
            )
        ).scalar_one()
    assert "nmae" not in body
    with bf.transaction() as tx:
        assert (
            svc.save_template(
                tx,
                "overdue-1",
                "EN",
                "Overdue: {{ items|length }} invoice(s) for {{ customer.number }}",
                "{% for i in items %}{{ i.number }} {{ i.open }}\n{% endfor %}",
            )
            == "updated"
        )
    numbers = issue(bf, "GB1")  # EOM+30 -> due 30 December
    run(bf, date(2027, 1, 1))
    got = smtp.inbox.take()
    assert got["ap@harbour.example"]["Subject"] == "Overdue: 1 invoice(s) for GB1"
    assert text(got["ap@harbour.example"]).startswith(f"{numbers['GB1']} £")


def test_one_run_at_a_time(world: Billfold, smtp: SmtpServer) -> None:
    bf = world
    issue(bf, "DE1")
    with svc._exclusive(bf.engine), pytest.raises(Conflict, match="another dunning run"):
        run(bf, date(2026, 12, 3))
    assert smtp.inbox.take() == {}
    assert len(run(bf, date(2026, 12, 3)).contacted) == 1  # the lock is released
    with pytest.raises(InvalidInput, match="in the future"):
        svc.run_dunning(bf, date(2026, 12, 4), sender=SmtpSender.from_environment())


def test_the_commands(
    world: Billfold, smtp: SmtpServer, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``billfold dunning ...`` as a user runs it (today's date: the CLI uses the real clock)."""
    today = datetime.now(UTC).date()
    numbers = issue(world, "DE1", "NL1", day=(today - timedelta(days=35)).isoformat())
    monkeypatch.setattr(State, "url", db_url)
    root = typer.Typer()
    root.add_typer(dunning_app, name="dunning")
    root.callback()(lambda: None)
    cli = CliRunner()

    result = cli.invoke(root, ["dunning", "run", "--dry-run", "--show", "1"])
    assert result.exit_code == 0, result.output
    assert "2 customer(s) would be contacted" in result.output
    assert f"{numbers['DE1']} vom" in result.output and smtp.inbox.take() == {}

    result = cli.invoke(root, ["dunning", "run", "--date", today.isoformat()])
    assert result.exit_code == 0, result.output
    assert "2 customer(s) contacted" in result.output
    assert "@" not in result.output  # no addresses in run output
    assert len(smtp.inbox.take()) == 2

    result = cli.invoke(root, ["dunning", "history", "--customer", "NL1"])
    assert result.exit_code == 0 and numbers["NL1"] in result.output

    result = cli.invoke(root, ["dunning", "policies"])
    assert "final-notice" in result.output and "DEFAULT (default)" in result.output

    bad = tmp_path / "bad.j2"
    bad.write_text("Hello {{ customer.nmae }}\n")
    result = cli.invoke(
        root, ["dunning", "template-set", "overdue-1", "--language", "en", "--subject", "Hi",
               "--file", str(bad)],
    )  # fmt: skip
    assert isinstance(result.exception, InvalidInput)
    assert "customer.nmae" in str(result.exception)

    issue(world, "FR1", day=(today - timedelta(days=35)).isoformat())
    smtp.stop()
    result = cli.invoke(root, ["dunning", "run"])
    assert result.exit_code == 1
    assert "FR1" in result.output and "connection refused" in result.output
