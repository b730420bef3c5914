"""Dunning: the default policy and templates, template changes, and the dunning run.

A run (``run_dunning``) has three phases:

1. Plan, in one read: the open invoices and debit notes as of the run date (ledger postings dated
   up to it, due dates from the invoices), the levels already sent (``dunning_items``), open
   disputes, active payment plans and unexpired promises; ``domain.dunning`` turns these facts
   into notices (its docstring has the rules). Nothing about earlier runs is remembered
   anywhere else, so a re-run sends nothing twice and a run after an outage catches up once.
2. Render each notice in the customer's language (its template, else English) for the billing
   contact's address (the first contact with role ``billing``, else ``ap``).
3. Send, and for each message the SMTP server accepted record, in a small transaction, the
   notice (``sent``, with its Message-ID), one ``dunning_items`` row per item at the level
   it was due for, and at a credit-hold level the customer's ``on_hold`` and ``in_collections``
   flags (audited). A message the server refused (or a customer without an address) is
   recorded as a ``failed`` notice with no items, and the run goes on. When the server cannot
   be reached, the run stops sending: the customers not yet contacted are reported (nothing is
   recorded for them) and the next run sends exactly those.

   The recording transactions run on a second thread and connection (``_Recorder``) while the
   next message is rendered and sent, each with the messages waiting for it (one when the
   database keeps up, several when its commits are slower than the sends); only accepted
   messages are handed to it, so nothing is ever recorded as sent that was not. If the process
   dies, the few accepted messages still waiting to be recorded (at most ``_Recorder.DEPTH``)
   are sent again by the next run: a duplicate reminder is possible after a crash, a lost
   "sent" record is not.

Only one run sends at a time (a PostgreSQL advisory lock, or a lock file beside the SQLite
database). A dry run plans and renders, sends nothing and writes nothing.
"""

from __future__ import annotations

import json
import queue
import re
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

import jinja2
from sqlalchemy import Connection, Engine, and_, func, insert, select, update
from sqlalchemy.exc import DBAPIError

from billfold.documents.i18n import Localizer
from billfold.domain import dunning as rules
from billfold.domain.dunning import Level, Notice, Policy
from billfold.errors import Conflict, DatabaseUnavailable, InvalidInput, NotFound
from billfold.money import Money
from billfold.services.context import Billfold, Tx
from billfold.services.mailer import MailRejected, MailSender, MailServerUnavailable, OutgoingMail
from billfold.services.parties import Seller, load_seller
from billfold.store.tables import (
    customer_contacts,
    customers,
    disputes,
    dunning_items,
    dunning_levels,
    dunning_notices,
    dunning_policies,
    dunning_runs,
    dunning_templates,
    invoices,
    payment_plans,
    promises,
)

DEFAULT_POLICY = "DEFAULT"
DEFAULT_LEVELS = (
    Level(1, -3, "Friendly reminder", "reminder"),
    Level(2, 1, "First reminder", "overdue-1"),
    Level(3, 15, "Second reminder", "overdue-2"),
    Level(4, 30, "Third reminder", "overdue-3"),
    Level(5, 60, "Final notice", "final-notice", credit_hold=True),
)
FALLBACK_LANGUAGE = "en"
CHUNK = 500
_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
_LANGUAGE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,4})?$")


# --- policy and templates --------------------------------------------------------------------


def normalise_language(language: str) -> str:
    """``de_AT`` / ``DE-at`` -> ``de-at``; InvalidInput if it is not a language tag."""
    tag = language.strip().replace("_", "-").lower()
    if not _LANGUAGE.match(tag):
        raise InvalidInput(f"language {language!r}: expected a tag such as en, de or fr-BE")
    return tag


def parse_template_file(text: str, name: str) -> tuple[str, str]:
    """A shipped template file: ``Subject: ...``, a blank line, the body."""
    head, sep, body = text.partition("\n\n")
    if not sep or not head.startswith("Subject:") or "\n" in head:
        raise InvalidInput(f"{name}: expected 'Subject: ...' on line 1, then a blank line")
    return head.removeprefix("Subject:").strip(), body


def shipped_templates() -> list[tuple[str, str, str, str]]:
    """(key, language, subject, body) of every file in ``billfold/data/dunning``."""
    found = []
    folder = files("billfold") / "data" / "dunning"
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        key, _, rest = entry.name.partition(".")
        language, _, ext = rest.partition(".")
        if ext != "txt":
            continue
        subject, body = parse_template_file(entry.read_text("utf-8"), entry.name)
        found.append((key, language, subject, body))
    return found


def _check(key: str, language: str, subject: str, body: str) -> tuple[str, str]:
    if not _KEY.match(key):
        raise InvalidInput(f"template key {key!r}: 1 to 40 lower-case letters, digits, '_' or '-'")
    lang = normalise_language(language)
    if not subject.strip() or "\n" in subject.strip():
        raise InvalidInput(f"template {key}/{lang}: the subject must be one non-empty line")
    if not body.strip():
        raise InvalidInput(f"template {key}/{lang}: the body is empty")
    rules.check_template(subject, f"template {key}/{lang} subject")
    rules.check_template(body, f"template {key}/{lang} body")
    return key, lang


def ensure_default_dunning(tx: Tx) -> int:
    """Create the DEFAULT policy and load the shipped templates that are missing.

    Idempotent: an existing policy is left as it is and a template changed with
    ``save_template`` is never overwritten. Returns how many rows were created.
    """
    created = 0
    conn = tx.conn
    if (
        conn.execute(
            select(dunning_policies.c.id).where(dunning_policies.c.code == DEFAULT_POLICY)
        ).first()
        is None
    ):
        has_default = conn.execute(
            select(dunning_policies.c.id).where(dunning_policies.c.is_default.is_(True))
        ).first()
        policy_id = conn.execute(
            insert(dunning_policies)
            .values(code=DEFAULT_POLICY, name="Default dunning policy", is_default=not has_default)
            .returning(dunning_policies.c.id)
        ).scalar_one()
        conn.execute(
            insert(dunning_levels),
            [
                {
                    "policy_id": policy_id,
                    "level": lv.level,
                    "days": lv.days,
                    "name": lv.name,
                    "template_key": lv.template_key,
                    "credit_hold": lv.credit_hold,
                }
                for lv in DEFAULT_LEVELS
            ],
        )
        tx.audit(
            "create",
            "dunning_policy",
            DEFAULT_POLICY,
            after={"levels": [[lv.level, lv.days, lv.template_key] for lv in DEFAULT_LEVELS]},
        )
        created += 1 + len(DEFAULT_LEVELS)
    have = {
        (k, lang)
        for k, lang in conn.execute(
            select(dunning_templates.c.template_key, dunning_templates.c.language)
        )
    }
    new = []
    for key, language, subject, body in shipped_templates():
        key, lang = _check(key, language, subject, body)
        if (key, lang) not in have:
            new.append({"template_key": key, "language": lang, "subject": subject, "body": body})
    if new:
        conn.execute(insert(dunning_templates), new)
        tx.audit(
            "load_defaults",
            "dunning_template",
            "shipped",
            after=sorted(f"{r['template_key']}/{r['language']}" for r in new),
        )
        created += len(new)
    return created


def save_template(tx: Tx, key: str, language: str, subject: str, body: str) -> str:
    """Create or replace a template after checking it; ``created``, ``updated`` or ``unchanged``.

    A template that names a field outside the documented context (``domain.dunning``) or does
    not parse raises InvalidInput naming the field, and nothing is saved.
    """
    key, lang = _check(key.strip(), language, subject.strip(), body)
    subject = subject.strip()
    row = tx.conn.execute(
        select(dunning_templates).where(
            dunning_templates.c.template_key == key, dunning_templates.c.language == lang
        )
    ).first()
    if row is None:
        tx.conn.execute(
            insert(dunning_templates).values(
                template_key=key, language=lang, subject=subject, body=body
            )
        )
        tx.audit(
            "create", "dunning_template", f"{key}/{lang}", after={"subject": subject, "body": body}
        )
        return "created"
    if row.subject == subject and row.body == body:
        return "unchanged"
    tx.conn.execute(
        update(dunning_templates)
        .where(dunning_templates.c.id == row.id)
        .values(subject=subject, body=body)
    )
    tx.audit(
        "update",
        "dunning_template",
        f"{key}/{lang}",
        before={"subject": row.subject, "body": row.body},
        after={"subject": subject, "body": body},
    )
    return "updated"


def load_policies(conn: Connection) -> tuple[dict[str, Policy], str | None]:
    """Every policy by code, and the code of the default one (None if there is none)."""
    levels: dict[int, list[Level]] = defaultdict(list)
    for r in conn.execute(select(dunning_levels)):
        levels[r.policy_id].append(
            Level(r.level, r.days, r.name, r.template_key, bool(r.credit_hold))
        )
    result, default = {}, None
    for p in conn.execute(select(dunning_policies).order_by(dunning_policies.c.code)):
        if levels[p.id]:
            result[p.code] = Policy(p.code, tuple(levels[p.id]), p.name)
            if p.is_default:
                default = p.code
    return result, default


def list_policies(conn: Connection) -> list[tuple[Policy, bool]]:
    policies, default = load_policies(conn)
    return [(p, code == default) for code, p in policies.items()]


# --- the run: results ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoticeOutcome:
    """What happened to one notice. ``status``: sent, would_send, failed or not_attempted."""

    customer: str
    customer_name: str
    level: int
    level_name: str
    items: tuple[str, ...]
    status: str
    to: str | None = None
    subject: str | None = None
    message_id: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class SkippedItem:
    customer: str
    item_ref: str
    reason: str


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    customer: str
    to: str | None
    subject: str
    body: str


@dataclass
class DunningSummary:
    """The outcome of a run: who was contacted, who was not (and why), what was held back."""

    run_date: date
    dry_run: bool
    run_id: int | None = None
    contacted: list[NoticeOutcome] = field(default_factory=list)
    failed: list[NoticeOutcome] = field(default_factory=list)
    skipped: list[SkippedItem] = field(default_factory=list)
    messages: list[RenderedMessage] = field(default_factory=list)
    credit_holds: list[str] = field(default_factory=list)
    plan_seconds: float = 0.0  # float-ok: timing
    send_seconds: float = 0.0  # float-ok: timing
    seconds: float = 0.0  # float-ok: timing

    @property
    def complete(self) -> bool:
        """True when every customer due a notice was contacted."""
        return not self.failed


# --- the run: planning -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Customer:
    id: int
    number: str
    name: str
    language: str
    email: str | None


@dataclass
class _Plan:
    notices: list[Notice]
    skipped: list[SkippedItem]
    customers: dict[int, _Customer]
    sellers: dict[int, Seller]
    templates: dict[tuple[str, str], tuple[str, str]]


def _open_items(conn: Connection, run_date: date, latest_due: date) -> list[rules.OpenItem]:
    """Invoices and debit notes open at the end of ``run_date`` and due by ``latest_due``."""
    from billfold.reports.aging import open_items_as_of

    items = open_items_as_of(conn, run_date, None)
    q = (
        select(
            items.c.customer_id,
            items.c.entity_id,
            items.c.item_ref,
            items.c.currency,
            items.c.open,
            invoices.c.total_minor,
            invoices.c.issue_date,
            invoices.c.due_date,
        )
        .join(
            invoices,
            and_(
                invoices.c.entity_id == items.c.entity_id,
                invoices.c.number == items.c.item_ref,
                invoices.c.customer_id == items.c.customer_id,
            ),
        )
        .where(
            items.c.open > 0,
            items.c.due_date <= latest_due,
            invoices.c.doc_type != "credit_note",
        )
    )
    return [
        rules.OpenItem(cid, eid, ref, cur, int(open_), int(total), issued, due)
        for cid, eid, ref, cur, open_, total, issued, due in conn.execute(q).all()
    ]


def _chunks(values: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(values), CHUNK):
        yield values[start : start + CHUNK]


def _holds(
    conn: Connection, run_date: date, ids: list[int]
) -> tuple[list[rules.Dispute], list[rules.PlanCover], list[rules.Promise], dict[Any, int]]:
    """Disputes, plans, promises and the highest level sent per item, for these customers."""
    found_disputes, plans, found_promises = [], [], []
    sent: dict[Any, int] = {}
    for chunk in _chunks(ids):
        q = (
            select(disputes.c.customer_id, invoices.c.number, func.sum(disputes.c.amount_minor))
            .join(invoices, invoices.c.id == disputes.c.invoice_id)
            .where(disputes.c.customer_id.in_(chunk), disputes.c.status.in_(("open", "in_review")))
            .group_by(disputes.c.customer_id, invoices.c.number)
        )
        found_disputes += [rules.Dispute(c, n, int(a)) for c, n, a in conn.execute(q)]
        for p in conn.execute(
            select(payment_plans.c.id, payment_plans.c.customer_id, payment_plans.c["items"]).where(
                payment_plans.c.customer_id.in_(chunk), payment_plans.c.status == "active"
            )
        ):
            refs = frozenset(json.loads(p._mapping["items"]))
            plans.append(rules.PlanCover(p.id, p.customer_id, refs))
        for p in conn.execute(
            select(promises).where(
                promises.c.customer_id.in_(chunk), promises.c.promised_date >= run_date
            )
        ):
            found_promises.append(
                rules.Promise(p.customer_id, p.item_ref, p.currency, p.promised_date)
            )
        q = (
            select(
                dunning_items.c.customer_id,
                dunning_items.c.item_ref,
                func.max(dunning_items.c.level),
            )
            .where(dunning_items.c.customer_id.in_(chunk))
            .group_by(dunning_items.c.customer_id, dunning_items.c.item_ref)
        )
        sent.update({(c, ref): int(level) for c, ref, level in conn.execute(q)})
    return found_disputes, plans, found_promises, sent


def _load_customers(conn: Connection, ids: list[int]) -> dict[int, _Customer]:
    result = {}
    for chunk in _chunks(ids):
        emails: dict[int, tuple[int, str]] = {}
        for c in conn.execute(
            select(customer_contacts)
            .where(customer_contacts.c.customer_id.in_(chunk))
            .order_by(customer_contacts.c.id)
        ):
            rank = 0 if c.role == "billing" else 1
            if c.customer_id not in emails or rank < emails[c.customer_id][0]:
                emails[c.customer_id] = (rank, c.email)
        for r in conn.execute(
            select(
                customers.c.id, customers.c.number, customers.c.name, customers.c.language
            ).where(customers.c.id.in_(chunk))
        ):
            email = emails.get(r.id)
            result[r.id] = _Customer(
                r.id, r.number, r.name, r.language, email[1] if email else None
            )
    return result


def _plan(conn: Connection, run_date: date) -> _Plan:
    policies, default = load_policies(conn)
    if default is None:
        raise NotFound(
            "there is no default dunning policy: run `billfold init` once more (it adds the "
            "DEFAULT policy and its templates)"
        )
    lead = max(-min(lv.days for p in policies.values() for lv in p.levels), 0)
    items = _open_items(conn, run_date, date.fromordinal(run_date.toordinal() + lead))
    ids = sorted({i.customer_id for i in items})
    chosen: dict[int, str] = {}
    for chunk in _chunks(ids):
        chosen.update(
            conn.execute(
                select(customers.c.id, customers.c.dunning_policy).where(
                    customers.c.id.in_(chunk), customers.c.dunning_policy.is_not(None)
                )
            ).all()
        )
    per_customer: dict[int, Policy] = {}
    unknown: dict[int, str] = {}
    for cid in ids:
        code = chosen.get(cid) or default
        if code in policies:
            per_customer[cid] = policies[code]
        else:
            unknown[cid] = code
    found_disputes, plans, found_promises, sent = _holds(conn, run_date, ids)
    items, excluded = rules.apply_holds(items, found_disputes, plans, found_promises, run_date)
    notices = rules.plan_notices(items, sent, per_customer, run_date, excluded)
    named = _load_customers(
        conn, sorted({n.customer_id for n in notices} | {c for c, _ in excluded} | set(unknown))
    )
    skipped = [
        SkippedItem(named[c].number, ref, reason) for (c, ref), reason in sorted(excluded.items())
    ]
    skipped += [
        SkippedItem(named[c].number, "*", f"unknown dunning policy {code!r}")
        for c, code in sorted(unknown.items())
    ]
    sellers = {e: load_seller(conn, e) for e in sorted({n.entity_id for n in notices})}
    templates = {
        (r.template_key, r.language): (r.subject, r.body)
        for r in conn.execute(select(dunning_templates))
    }
    return _Plan(notices, skipped, named, sellers, templates)


# --- the run: rendering ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Rendered:
    notice: Notice
    customer: _Customer
    subject: str
    body: str


class _Renderer:
    """Compiles each template once per run and fills it for a notice."""

    def __init__(self, plan: _Plan, run_date: date) -> None:
        self.plan = plan
        self.run_date = run_date
        self.compiled: dict[tuple[str, str], tuple[jinja2.Template, jinja2.Template]] = {}
        self.localizers: dict[str, Localizer] = {}

    def _template(self, key: str, tag: str) -> tuple[str, tuple[jinja2.Template, jinja2.Template]]:
        for lang in dict.fromkeys((tag, tag.split("-")[0], FALLBACK_LANGUAGE)):
            source = self.plan.templates.get((key, lang))
            if source is None:
                continue
            if (key, lang) not in self.compiled:
                self.compiled[(key, lang)] = (
                    rules.compile_template(source[0]),
                    rules.compile_template(source[1]),
                )
            return lang, self.compiled[(key, lang)]
        raise NotFound(f"no dunning template {key!r} in {tag} or {FALLBACK_LANGUAGE}")

    def render(self, notice: Notice) -> _Rendered:
        """Subject and body for ``notice``; NotFound without a template, InvalidInput if the
        template fails on this notice's data."""
        customer = self.plan.customers[notice.customer_id]
        try:
            tag = normalise_language(customer.language)
        except InvalidInput:
            tag = FALLBACK_LANGUAGE
        lang, (subject_t, body_t) = self._template(notice.level.template_key, tag)
        # numbers and dates follow the text: the customer's locale when the template is in
        # the customer's language, else the template's language (a message never mixes them)
        context = self.context(
            notice,
            customer,
            customer.language if lang == tag.split("-")[0] or lang == tag else lang,
        )
        try:
            subject = rules.one_line(rules.render(subject_t, context))
            body = rules.render(body_t, context)
        except Exception as exc:
            raise InvalidInput(
                f"template {notice.level.template_key}/{lang} failed: {exc}"
            ) from None
        return _Rendered(notice, customer, subject, body)

    def context(self, notice: Notice, customer: _Customer, fmt_lang: str) -> rules.TemplateContext:
        loc = self.localizers.get(fmt_lang)
        if loc is None:
            loc = self.localizers[fmt_lang] = Localizer.for_language(fmt_lang)
        seller = self.plan.sellers[notice.entity_id]
        totals: dict[str, int] = defaultdict(int)
        views = []
        for ni in notice.items:
            it = ni.item
            totals[it.currency] += it.dunned_minor
            views.append(
                rules.ItemView(
                    it.item_ref,
                    loc.date(it.issue_date, "medium"),
                    loc.date(it.due_date, "medium"),
                    ni.days_past_due,
                    it.currency,
                    loc.money(Money.from_minor(it.dunned_minor, it.currency).amount, it.currency),
                    loc.money(Money.from_minor(it.total_minor, it.currency).amount, it.currency),
                )
            )
        currency = notice.items[0].item.currency  # the oldest item's: where to pay
        reference = notice.items[0].item.item_ref if len(notice.items) == 1 else customer.number
        pay = seller.payment_for(currency, reference)
        party = seller.party
        return rules.TemplateContext(
            rules.CustomerView(customer.number, customer.name, customer.language),
            rules.EntityView(party.name, party.email or "", party.phone or ""),
            tuple(views),
            tuple(
                rules.TotalView(c, loc.money(Money.from_minor(v, c).amount, c))
                for c, v in sorted(totals.items())
            ),
            rules.LevelView(notice.level.level, notice.level.name),
            loc.date(self.run_date, "long"),
            rules.PaymentView(
                (pay.iban or "") if pay else "", (pay.bic or "") if pay else "", reference
            ),
        )


# --- the run: sending and recording ----------------------------------------------------------


@contextmanager
def _exclusive(engine: Engine) -> Iterator[None]:
    """Hold the dunning-run lock: a PostgreSQL advisory lock, or a lock file beside SQLite."""
    if engine.dialect.name == "postgresql":
        key = 0x62660D75  # "bf" + "dun": any constant shared by every Billfold process
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if not conn.execute(select(func.pg_try_advisory_lock(key))).scalar_one():
                raise Conflict("another dunning run is in progress; try again when it is done")
            try:
                yield
            finally:
                conn.execute(select(func.pg_advisory_unlock(key)))
        return
    database = engine.url.database
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on POSIX: SQLite's own locks must do
        fcntl = None  # type: ignore[assignment]
    if fcntl is None or not database or database == ":memory:":
        yield
        return
    with open(Path(f"{database}.dunning-lock"), "a+b") as handle:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict(
                "another dunning run is in progress; try again when it is done"
            ) from None
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _outcome(
    r: _Rendered | None,
    notice: Notice,
    customer: _Customer,
    status: str,
    *,
    message_id: str | None = None,
    reason: str | None = None,
) -> NoticeOutcome:
    return NoticeOutcome(
        customer.number,
        customer.name,
        notice.level.level,
        notice.level.name,
        tuple(ni.item.item_ref for ni in notice.items),
        status,
        customer.email,
        r.subject if r else None,
        message_id,
        reason,
    )


@contextmanager
def _unit(app: Billfold, conn: Connection) -> Iterator[Tx]:
    """One small unit of work on the run's own connection, audit rows included (what
    ``app.transaction()`` does, without opening a connection per message: on SQLite that
    costs more than the write itself)."""
    with conn.begin():
        tx = Tx(conn, app.actor, app.clock())
        yield tx
        tx.flush_audit()


def _record_sent(tx: Tx, run_id: int, r: _Rendered, message_id: str) -> bool:
    """The notice, its items and (at a credit-hold level) the customer's flags; returns True
    when the customer was newly put on hold."""
    n = r.notice
    notice_id = tx.conn.execute(
        insert(dunning_notices)
        .values(
            run_id=run_id,
            customer_id=n.customer_id,
            level=n.level.level,
            status="sent",
            to_address=r.customer.email,
            subject=r.subject[:300],
            message_id=message_id[:200],
            created_at=tx.now,
        )
        .returning(dunning_notices.c.id)
    ).scalar_one()
    tx.conn.execute(
        insert(dunning_items),
        [
            {
                "notice_id": notice_id,
                "customer_id": n.customer_id,
                "item_ref": ni.item.item_ref,
                "level": ni.level.level,
            }
            for ni in n.items
        ],
    )
    tx.audit(
        "dunning_sent",
        "customer",
        r.customer.number,
        after={
            "run": run_id,
            "level": n.level.level,
            "items": {ni.item.item_ref: ni.level.level for ni in n.items},
            "message_id": message_id,
        },
    )
    if not n.credit_hold:
        return False
    flags = tx.conn.execute(
        select(customers.c.on_hold, customers.c.in_collections).where(
            customers.c.id == n.customer_id
        )
    ).one()
    if flags.on_hold and flags.in_collections:
        return False
    tx.conn.execute(
        update(customers)
        .where(customers.c.id == n.customer_id)
        .values(on_hold=True, in_collections=True, updated_at=tx.now)
    )
    tx.audit(
        "credit_hold",
        "customer",
        r.customer.number,
        before={"on_hold": bool(flags.on_hold), "in_collections": bool(flags.in_collections)},
        after={
            "on_hold": True,
            "in_collections": True,
            "reason": f"dunning level {n.level.level} ({n.level.name})",
        },
    )
    return True


def _record_failed(
    tx: Tx,
    run_id: int,
    notice: Notice,
    customer: _Customer,
    subject: str | None,
    error: str,
) -> None:
    tx.conn.execute(
        insert(dunning_notices).values(
            run_id=run_id,
            customer_id=notice.customer_id,
            level=notice.level.level,
            status="failed",
            to_address=customer.email,
            subject=subject[:300] if subject else None,
            error=error[:400],
            created_at=tx.now,
        )
    )
    tx.audit(
        "dunning_failed",
        "customer",
        customer.number,
        after={"run": run_id, "level": notice.level.level, "error": error},
    )


class _Recorder:
    """Records what happened to each message on its own thread and connection while the next
    message is being rendered and sent: what is waiting when it comes round (at least one
    message, at most ``DEPTH``) in one transaction. When the database keeps up, that is one
    message a transaction; when it does not (a commit per message on PostgreSQL took longer
    than the send itself), the queue fills and its commits carry several messages each.

    Only messages the server accepted are handed over as sent, so nothing is ever recorded as
    sent that was not. At most ``DEPTH`` accepted messages wait to be recorded: if the process
    dies, those few are sent again by the next run; any other stop (an SMTP failure, the end)
    records everything queued first. A database failure stops the run at the next message.
    """

    DEPTH = 32

    def __init__(self, app: Billfold, run_id: int, summary: DunningSummary) -> None:
        self.app, self.run_id, self.summary = app, run_id, summary
        self.jobs: queue.Queue[tuple[Any, ...] | None] = queue.Queue(maxsize=self.DEPTH)
        self.error: tuple[BaseException, str] | None = None
        self.thread = threading.Thread(target=self._work, name="dunning-recorder", daemon=True)

    def __enter__(self) -> _Recorder:
        self.thread.start()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, *_: object) -> None:
        self.jobs.put(None)
        self.thread.join()
        if exc_type is None:
            self.check()

    def sent(self, r: _Rendered, message_id: str) -> None:
        self.jobs.put(("sent", r, message_id))

    def failed(self, notice: Notice, customer: _Customer, subject: str | None, error: str) -> None:
        self.jobs.put(("failed", notice, customer, subject, error))

    def check(self) -> None:
        """Raise the recording thread's failure, if it had one."""
        if self.error is None:
            return
        exc, where = self.error
        if isinstance(exc, DBAPIError):
            reason = str(exc.orig or exc).strip().splitlines()[0]
            raise DatabaseUnavailable(
                f"dunning run {self.run_id} stopped: the database failed while recording "
                f"{where}: {reason}"
            ) from None
        raise exc

    def _work(self) -> None:
        done = False  # the end of the run was taken off the queue
        try:
            with self.app.engine.connect() as conn:
                while not done:
                    batch, done = self._waiting()
                    if batch and self.error is None:
                        self._record(conn, batch)
        except BaseException as exc:  # kept for the sending thread, which raises it
            self.error = self.error or (exc, "the run")
            while not done:  # keep the sender from blocking on a full queue
                done = self.jobs.get() is None

    def _waiting(self) -> tuple[list[tuple[Any, ...]], bool]:
        """The next job (waiting for it) and every job queued behind it; True once the end of
        the run has been taken off the queue."""
        batch: list[tuple[Any, ...]] = []
        job = self.jobs.get()
        while job is not None:
            batch.append(job)
            try:
                job = self.jobs.get_nowait()
            except queue.Empty:
                return batch, False
        return batch, True

    def _record(self, conn: Connection, batch: list[tuple[Any, ...]]) -> None:
        held: list[str] = []
        job = batch[0]
        try:
            with _unit(self.app, conn) as tx:
                for job in batch:
                    if job[0] == "sent":
                        _, r, message_id = job
                        if _record_sent(tx, self.run_id, r, message_id):
                            held.append(r.customer.number)
                    else:
                        _, notice, customer, subject, error = job
                        _record_failed(tx, self.run_id, notice, customer, subject, error)
        except BaseException as exc:
            if job[0] == "sent":
                where = (
                    f"customer {job[1].customer.number} (e-mailed as {job[2]}; the next run may "
                    "send it again)"
                )
            else:
                where = f"customer {job[2].number}"
            if len(batch) > 1:
                where += f", with {len(batch) - 1} other messages of the same transaction"
            self.error = (exc, where)
            return
        self.summary.credit_holds.extend(held)


def run_dunning(
    app: Billfold,
    run_date: date,
    *,
    dry_run: bool = False,
    sender: MailSender | None = None,
    progress: Callable[[int, int], None] | None = None,
    keep_messages: int = 0,
) -> DunningSummary:
    """Plan, render and (unless ``dry_run``) send the notices due on ``run_date``.

    ``sender``: where messages go (``mailer.SmtpSender.from_environment()``), needed unless a
    dry run. ``progress(done, total)`` after each notice. ``keep_messages``: how many rendered
    messages to keep in the summary (a dry run's preview). See the module docstring for what is
    recorded when.
    """
    started = time.perf_counter()
    today = app.clock().date()
    if run_date > today:
        raise InvalidInput(f"run date {run_date} is in the future (today is {today})")
    if not dry_run and sender is None:
        raise InvalidInput("a dunning run that sends needs a mail sender (or use a dry run)")
    summary = DunningSummary(run_date, dry_run)
    if dry_run:
        with app.reading() as conn:
            plan = _plan(conn, run_date)
        summary.plan_seconds = time.perf_counter() - started
        _dry_run(plan, run_date, summary, progress, keep_messages)
    else:
        assert sender is not None
        with _exclusive(app.engine):
            with app.reading() as conn:
                plan = _plan(conn, run_date)
            summary.plan_seconds = time.perf_counter() - started
            _send_all(app, plan, run_date, sender, summary, progress, keep_messages)
    summary.seconds = time.perf_counter() - started
    return summary


def _dry_run(
    plan: _Plan,
    run_date: date,
    summary: DunningSummary,
    progress: Callable[[int, int], None] | None,
    keep: int,
) -> None:
    summary.skipped = plan.skipped
    renderer = _Renderer(plan, run_date)
    total = len(plan.notices)
    for done, notice in enumerate(plan.notices, start=1):
        customer = plan.customers[notice.customer_id]
        try:
            r = renderer.render(notice)
        except (NotFound, InvalidInput) as exc:
            summary.failed.append(_outcome(None, notice, customer, "failed", reason=str(exc)))
        else:
            if len(summary.messages) < keep:
                summary.messages.append(
                    RenderedMessage(customer.number, customer.email, r.subject, r.body)
                )
            if customer.email is None:
                summary.failed.append(
                    _outcome(r, notice, customer, "failed", reason="no e-mail address")
                )
            else:
                summary.contacted.append(_outcome(r, notice, customer, "would_send"))
        if progress:
            progress(done, total)


def _send_all(
    app: Billfold,
    plan: _Plan,
    run_date: date,
    sender: MailSender,
    summary: DunningSummary,
    progress: Callable[[int, int], None] | None,
    keep: int,
) -> None:
    summary.skipped = plan.skipped
    with app.transaction() as tx:
        run_id = int(
            tx.conn.execute(
                insert(dunning_runs)
                .values(run_date=run_date, dry_run=False, started_at=tx.now, actor=tx.actor)
                .returning(dunning_runs.c.id)
            ).scalar_one()
        )
        tx.audit(
            "start",
            "dunning_run",
            run_id,
            after={"run_date": run_date, "notices": len(plan.notices)},
        )
    summary.run_id = run_id
    renderer = _Renderer(plan, run_date)
    total = len(plan.notices)
    unavailable: str | None = None
    recorder = _Recorder(app, run_id, summary)
    with sender, recorder:
        for done, notice in enumerate(plan.notices, start=1):
            customer = plan.customers[notice.customer_id]
            if unavailable is not None:
                summary.failed.append(
                    _outcome(None, notice, customer, "not_attempted", reason=unavailable)
                )
                continue
            recorder.check()
            r: _Rendered | None = None
            try:
                r = renderer.render(notice)
                if len(summary.messages) < keep:
                    summary.messages.append(
                        RenderedMessage(customer.number, customer.email, r.subject, r.body)
                    )
                if customer.email is None:
                    raise MailRejected("no e-mail address")
                sending = time.perf_counter()
                try:
                    message_id = sender.send(OutgoingMail(customer.email, r.subject, r.body))
                finally:
                    summary.send_seconds += time.perf_counter() - sending
            except (NotFound, InvalidInput, MailRejected) as exc:
                recorder.failed(notice, customer, r.subject if r else None, str(exc))
                summary.failed.append(_outcome(r, notice, customer, "failed", reason=str(exc)))
            except MailServerUnavailable as exc:
                unavailable = f"not attempted: {exc}"
                recorder.failed(notice, customer, r.subject if r else None, str(exc))
                summary.failed.append(_outcome(r, notice, customer, "failed", reason=str(exc)))
            else:
                recorder.sent(r, message_id)
                summary.contacted.append(
                    _outcome(r, notice, customer, "sent", message_id=message_id)
                )
            if progress:
                progress(done, total)
    with app.transaction() as tx:
        tx.conn.execute(
            update(dunning_runs)
            .where(dunning_runs.c.id == run_id)
            .values(
                finished_at=tx.now, contacted=len(summary.contacted), failed=len(summary.failed)
            )
        )
        tx.audit(
            "finish",
            "dunning_run",
            run_id,
            after={
                "contacted": len(summary.contacted),
                "failed": len(summary.failed),
                "credit_holds": summary.credit_holds,
            },
        )


# --- history ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class HistoryRow:
    notice_id: int
    run_id: int
    run_date: date
    created_at: datetime
    customer: str
    level: int
    status: str
    to: str | None
    subject: str | None
    message_id: str | None
    error: str | None
    items: tuple[str, ...]


def notice_history(
    conn: Connection, customer: str | None = None, limit: int = 100
) -> list[HistoryRow]:
    """The newest notices first (sent and failed), with the items each one covered."""
    q = (
        select(dunning_notices, dunning_runs.c.run_date, customers.c.number)
        .join(dunning_runs, dunning_runs.c.id == dunning_notices.c.run_id)
        .join(customers, customers.c.id == dunning_notices.c.customer_id)
        .order_by(dunning_notices.c.id.desc())
        .limit(limit)
    )
    if customer:
        if (
            conn.execute(select(customers.c.id).where(customers.c.number == customer)).first()
            is None
        ):
            raise NotFound(f"no customer {customer!r}")
        q = q.where(customers.c.number == customer)
    rows = conn.execute(q).all()
    items: dict[int, list[str]] = defaultdict(list)
    for chunk in _chunks([r.id for r in rows]):
        for nid, ref in conn.execute(
            select(dunning_items.c.notice_id, dunning_items.c.item_ref)
            .where(dunning_items.c.notice_id.in_(chunk))
            .order_by(dunning_items.c.item_ref)
        ):
            items[nid].append(ref)
    return [
        HistoryRow(
            r.id,
            r.run_id,
            r.run_date,
            r.created_at,
            r.number,
            r.level,
            r.status,
            r.to_address,
            r.subject,
            r.message_id,
            r.error,
            tuple(items[r.id]),
        )
        for r in rows
    ]
