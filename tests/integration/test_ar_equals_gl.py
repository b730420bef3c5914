"""Property: after any sequence of events, the AR sub-ledger equals the GL control account."""

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from billfold.domain.ledger import EntryDraft
from billfold.errors import ClosedPeriod, Conflict
from billfold.money import Money
from billfold.reports import aging
from billfold.services import ledger
from billfold.services.context import Billfold
from billfold.store import ar_balances

from .helpers import aging_by_item, aging_rows_minor, line, load_customers

pytestmark = pytest.mark.integration

CUSTOMERS = ["C1", "C2", "C3"]
amounts = st.integers(min_value=1, max_value=10**7).map(
    lambda m: str(Money.from_minor(m, "EUR").amount)
)
days = st.integers(min_value=0, max_value=90).map(lambda d: date(2026, 9, 1) + timedelta(days=d))

invoice = st.tuples(st.just("invoice"), st.sampled_from(CUSTOMERS), amounts, days)
payment = st.tuples(st.just("payment"), st.integers(0, 50), st.integers(1, 100), days)
usd_invoice = st.tuples(st.just("usd_invoice"), st.sampled_from(CUSTOMERS), amounts, days)
reversal = st.tuples(st.just("reverse"), st.integers(0, 50), st.just(""), days)
close = st.tuples(st.just("close"), st.sampled_from(["2026-09", "2026-10"]), st.just(""), days)
events = st.lists(
    st.one_of(invoice, payment, usd_invoice, reversal, close), min_size=1, max_size=25
)


def apply(bf: Billfold, evs: list[tuple[str, object, object, date]]) -> None:
    invoices: list[tuple[str, str, str]] = []
    entries: list[int] = []
    for n, (kind, a, b, day) in enumerate(evs):
        try:
            with bf.transaction() as tx:
                if kind == "invoice":
                    ref = f"INV-{n}"
                    d = EntryDraft(
                        "ACME-DE",
                        day,
                        ref,
                        (line("1100", str(b), str(a), ref), line("4000", f"-{b}")),
                    )
                    entries.append(ledger.post_entry(tx, d))
                    invoices.append((str(a), ref, str(b)))
                elif kind == "usd_invoice":
                    ref = f"USD-{n}"
                    fn = str(Money.rounded(Money.of(str(b), "EUR").amount * 9 / 10, "EUR").amount)
                    d = EntryDraft(
                        "ACME-DE",
                        day,
                        ref,
                        (
                            line("1100", str(b), str(a), ref, "USD", fn),
                            line("4000", f"-{b}", None, None, "USD", f"-{fn}"),
                        ),
                    )
                    entries.append(ledger.post_entry(tx, d))
                elif kind == "payment" and invoices:
                    cust, ref, amt = invoices[int(a) % len(invoices)]  # type: ignore[call-overload]
                    paid = Money.of(amt, "EUR").amount * int(b) / 100  # type: ignore[call-overload]
                    pay = str(Money.rounded(paid, "EUR").amount)
                    if Money.of(pay, "EUR").is_zero():
                        continue
                    d = EntryDraft(
                        "ACME-DE",
                        day,
                        f"pay {ref}",
                        (line("1010", pay), line("1100", f"-{pay}", cust, ref)),
                    )
                    entries.append(ledger.post_entry(tx, d))
                elif kind == "reverse" and entries:
                    ledger.reverse_entry(tx, entries[int(a) % len(entries)], day)  # type: ignore[call-overload]
                elif kind == "close":
                    ledger.set_period_status(tx, "ACME-DE", str(a), "closed")
        except (ClosedPeriod, Conflict):
            pass  # refused events must change nothing; the invariant is checked below


@settings(
    max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(evs=events)
def test_subledger_equals_gl_control_after_any_sequence(db_url: str, evs: list) -> None:  # type: ignore[type-arg]
    bf = Billfold.open(db_url, actor="prop")
    try:
        with bf.transaction() as tx:  # start each example from an empty ledger and open periods
            tx.conn.exec_driver_sql("DELETE FROM accounting_periods")
        if not _has_customers(bf):
            load_customers(bf)
        apply(bf, evs)
        for as_of in (date(2026, 9, 15), date(2026, 10, 31), date(2026, 12, 31)):
            with bf.reading() as conn:
                sub = ledger.ar_subledger_balance(conn, as_of)
                gl = ledger.gl_control_balance(conn, as_of)
                tb = ledger.trial_balance(conn, as_of)
                aged = aging.aging_as_of(conn, as_of)
                kept = ar_balances.differences(conn)
            assert kept == []
            assert aged.reconciled, aged.checks
            # the aging read off the kept balances is the aging worked out item by item: every
            # bucket, total and count of open items, by customer, on both bases and two layouts
            for basis in ("due", "invoice"):
                for buckets in ((0, 30, 60, 90), (0, 7, 14, 45)):
                    with bf.reading() as conn:
                        report = aging.aging_as_of(conn, as_of, basis=basis, buckets=buckets)
                        expected = aging_by_item(conn, as_of, buckets, basis)
                    assert aging_rows_minor(report) == expected, (as_of, basis, buckets)
            for check in aged.checks:  # the aging, rebuilt for a past date, equals the GL then
                assert check.aging_total == gl[check.entity].amount
            for code in set(sub) | set(gl):
                s = sub.get(code, Money.zero("EUR"))
                g = gl.get(code, Money.zero("EUR"))
                assert s == g, f"sub-ledger {s} != GL {g} as of {as_of}"
            assert sum(r.debit for r in tb) == sum(r.credit for r in tb)
    finally:
        bf.engine.dispose()


def _has_customers(bf: Billfold) -> bool:
    with bf.reading() as conn:
        return conn.exec_driver_sql("SELECT count(*) FROM customers").scalar_one() > 0
