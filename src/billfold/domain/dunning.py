"""Dunning as a state machine computed from facts: what is open, what was sent, what is on hold.

Nothing here remembers anything between runs. A run is a pure function of

* the open items as of the run date (from the ledger), each with its due date;
* the levels already sent per item (``dunning_items``: one row per item and level sent);
* the holds: open disputes, active payment plans and unexpired promises to pay;
* the customer's policy.

so running twice on the same date sends nothing twice, a run after an outage sends each item the
one level it is due for now (not every level it missed), and a payment or credit that closes an
item removes it at once (a closed item is simply not open any more).

Policies and levels
    A ``Policy`` is a list of ``Level`` s ordered by level number; the days of the levels
    increase with the level (negative days: before the due date). The *due level* of an item is
    the highest level whose ``days`` is at most the item's days past due (``level_due``); an item
    below the first level's days (for the default policy: more than 3 days before its due date)
    has no due level and is not dunned at all.

The rules of ``plan_notices`` (precisely)
    1. Days past due = run date minus due date, in days (due today: 0; due in 3 days: -3).
    2. Excluded items are dropped first, whatever their level: an item whose open disputes cover
       its open amount, an item in an active payment plan, an item under a promise to pay whose
       date is on or after the run date (a promise without an item covers every item of the
       customer in the promise's currency). ``apply_holds`` computes these exclusions with a
       reason each. A partly disputed item stays, for its undisputed remainder.
    3. An item is *advancing* when it has a due level and that level is higher than the highest
       level already sent for it (none sent: 0). Items that are not advancing are left alone:
       they were already reminded at the level they are due for.
    4. Advancing items are grouped per customer and legal entity (a letter comes from one
       company). One ``Notice`` per group; its level is the highest due level among its items;
       its items are the advancing items only, each recorded at its *own* due level when sent.
       A customer with no advancing item gets no notice.
    5. A notice at a level with ``credit_hold`` puts the customer on credit hold and into the
       collections queue (the service does that, when the notice was really sent).

Template context (the only fields a dunning template may use; see ``TEMPLATE_FIELDS``)
    ============  ======================================================================
    ``customer``  ``number``, ``name``, ``language``
    ``entity``    ``name``, ``email``, ``phone`` (the legal entity that writes; may be empty)
    ``items``     list; each: ``number``, ``issue_date``, ``due_date``, ``days_past_due``,
                  ``currency``, ``open``, ``total`` (amounts and dates already formatted in the
                  customer's language; ``days_past_due`` is a whole number, negative before
                  the due date)
    ``totals``    list, one per currency: ``currency``, ``open``
    ``level``     ``number``, ``name``
    ``as_of``     the run date, formatted
    ``payment``   ``iban``, ``bic``, ``reference`` (may be empty when the entity has no bank
                  account for the currency)
    ============  ======================================================================

``check_template`` refuses any other name or attribute when a template is saved, naming the
field, so that a typo never reaches a customer's inbox as a failed run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.sandbox import SandboxedEnvironment

from billfold.errors import InvalidInput

ItemKey = tuple[int, str]  # (customer id, item ref): how dunning_items identifies an item


# --- policies --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Level:
    """One step of a policy.

    ``level``: 1, 2, ... (higher = more severe); ``days``: days past due from which the level is
    due (negative: before the due date); ``name``: for people; ``template_key``: the template
    used for notices at this level; ``credit_hold``: a notice at this level puts the customer on
    credit hold and into collections.
    """

    level: int
    days: int
    name: str
    template_key: str
    credit_hold: bool = False


@dataclass(frozen=True, slots=True)
class Policy:
    """A named sequence of levels, kept sorted by level number.

    Level numbers are positive and unique; days strictly increase with the level.
    """

    code: str
    levels: tuple[Level, ...]
    name: str = ""

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.levels, key=lambda lv: lv.level))
        object.__setattr__(self, "levels", ordered)
        if not ordered:
            raise InvalidInput(f"dunning policy {self.code}: needs at least one level")
        numbers = [lv.level for lv in ordered]
        if numbers[0] < 1 or len(set(numbers)) != len(numbers):
            raise InvalidInput(
                f"dunning policy {self.code}: level numbers must be unique and start at 1 or "
                f"more (got {numbers})"
            )
        for low, high in zip(ordered, ordered[1:], strict=False):
            if high.days <= low.days:
                raise InvalidInput(
                    f"dunning policy {self.code}: level {high.level} ({high.days} days) must "
                    f"come later than level {low.level} ({low.days} days)"
                )

    def level(self, number: int) -> Level | None:
        return next((lv for lv in self.levels if lv.level == number), None)


def level_due(policy: Policy, days_past_due: int) -> Level | None:
    """The highest level whose ``days`` is at most ``days_past_due``; None below the first."""
    due = None
    for lv in policy.levels:
        if lv.days <= days_past_due:
            due = lv
        else:
            break
    return due


# --- facts -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class OpenItem:
    """An open invoice or debit note as of the run date (amounts in minor units).

    ``open_minor``: what the ledger says is open; ``total_minor``: the document's total;
    ``disputed_minor``: the part under open disputes (set by ``apply_holds``).
    """

    customer_id: int
    entity_id: int
    item_ref: str
    currency: str
    open_minor: int
    total_minor: int
    issue_date: date
    due_date: date
    disputed_minor: int = 0

    @property
    def key(self) -> ItemKey:
        return (self.customer_id, self.item_ref)

    @property
    def dunned_minor(self) -> int:
        """What is asked for: the open amount less what is in dispute."""
        return max(self.open_minor - self.disputed_minor, 0)

    def days_past_due(self, as_of: date) -> int:
        return (as_of - self.due_date).days


@dataclass(frozen=True, slots=True)
class Dispute:
    """An open (or in review) dispute on an item, for ``amount_minor``."""

    customer_id: int
    item_ref: str
    amount_minor: int


@dataclass(frozen=True, slots=True)
class PlanCover:
    """An active payment plan and the items it covers."""

    plan_id: int
    customer_id: int
    item_refs: frozenset[str]


@dataclass(frozen=True, slots=True)
class Promise:
    """A promise to pay by ``promised_date``; ``item_ref`` None: all items in ``currency``."""

    customer_id: int
    item_ref: str | None
    currency: str
    promised_date: date


def apply_holds(
    items: Iterable[OpenItem],
    disputes: Iterable[Dispute],
    plans: Iterable[PlanCover],
    promises: Iterable[Promise],
    as_of: date,
) -> tuple[list[OpenItem], dict[ItemKey, str]]:
    """The items with their disputed amounts set, and the excluded ones with a reason each.

    Excluded: disputes covering the whole open amount; an active payment plan; a promise to pay
    dated on or after ``as_of`` (an expired promise no longer holds anything back).
    """
    disputed: dict[ItemKey, int] = defaultdict(int)
    for d in disputes:
        disputed[(d.customer_id, d.item_ref)] += d.amount_minor
    planned = {(p.customer_id, ref): p.plan_id for p in plans for ref in p.item_refs}
    promised_items: dict[ItemKey, date] = {}
    promised_all: dict[tuple[int, str], date] = {}
    for pr in promises:
        if pr.promised_date < as_of:
            continue
        if pr.item_ref is None:
            k = (pr.customer_id, pr.currency)
            promised_all[k] = max(promised_all.get(k, pr.promised_date), pr.promised_date)
        else:
            key = (pr.customer_id, pr.item_ref)
            promised_items[key] = max(promised_items.get(key, pr.promised_date), pr.promised_date)
    result: list[OpenItem] = []
    excluded: dict[ItemKey, str] = {}
    for item in items:
        if disputed.get(item.key):
            item = replace(item, disputed_minor=disputed[item.key])
        result.append(item)
        promised = promised_items.get(item.key) or promised_all.get(
            (item.customer_id, item.currency)
        )
        if item.open_minor > 0 and item.dunned_minor == 0:
            excluded[item.key] = "in dispute"
        elif item.key in planned:
            excluded[item.key] = f"in payment plan {planned[item.key]}"
        elif promised is not None:
            excluded[item.key] = f"promised to pay by {promised.isoformat()}"
    return result, excluded


# --- planning --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NoticeItem:
    """An advancing item of a notice, with the level it is due for now."""

    item: OpenItem
    level: Level
    days_past_due: int


@dataclass(frozen=True, slots=True)
class Notice:
    """One message to one customer from one legal entity, at ``level`` (its items' highest)."""

    customer_id: int
    entity_id: int
    policy_code: str
    level: Level
    items: tuple[NoticeItem, ...]

    @property
    def credit_hold(self) -> bool:
        return self.level.credit_hold


def plan_notices(
    items: Iterable[OpenItem],
    sent_levels: Mapping[ItemKey, int],
    policy: Policy | Mapping[int, Policy],
    as_of: date,
    excluded: Mapping[ItemKey, str] | None = None,
) -> list[Notice]:
    """The notices due on ``as_of`` (see the module docstring for the rules).

    ``sent_levels``: the highest level already sent per item. ``policy``: one policy for
    everyone, or one per customer id (customers missing from the mapping get no notice).
    ``excluded``: items held back (disputes, plans, promises), from ``apply_holds``.
    Notices come ordered by customer id and entity id, their items by due date and number.
    """
    excluded = excluded or {}
    groups: dict[tuple[int, int], list[NoticeItem]] = defaultdict(list)
    policies: dict[tuple[int, int], Policy] = {}
    for item in items:
        if item.key in excluded or item.dunned_minor <= 0:
            continue
        pol = policy if isinstance(policy, Policy) else policy.get(item.customer_id)
        if pol is None:
            continue
        days = item.days_past_due(as_of)
        due = level_due(pol, days)
        if due is None or due.level <= sent_levels.get(item.key, 0):
            continue
        group = (item.customer_id, item.entity_id)
        groups[group].append(NoticeItem(item, due, days))
        policies[group] = pol
    notices = []
    for group in sorted(groups):
        members = sorted(groups[group], key=lambda n: (n.item.due_date, n.item.item_ref))
        top = max((m.level for m in members), key=lambda lv: lv.level)
        notices.append(Notice(group[0], group[1], policies[group].code, top, tuple(members)))
    return notices


# --- template context ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CustomerView:
    number: str
    name: str
    language: str


@dataclass(frozen=True, slots=True)
class EntityView:
    name: str
    email: str
    phone: str


@dataclass(frozen=True, slots=True)
class ItemView:
    number: str
    issue_date: str
    due_date: str
    days_past_due: int
    currency: str
    open: str
    total: str


@dataclass(frozen=True, slots=True)
class TotalView:
    currency: str
    open: str


@dataclass(frozen=True, slots=True)
class LevelView:
    number: int
    name: str


@dataclass(frozen=True, slots=True)
class PaymentView:
    iban: str
    bic: str
    reference: str


@dataclass(frozen=True, slots=True)
class TemplateContext:
    """Everything a dunning template can see (module docstring: the documented fields)."""

    customer: CustomerView
    entity: EntityView
    items: tuple[ItemView, ...]
    totals: tuple[TotalView, ...]
    level: LevelView
    as_of: str
    payment: PaymentView

    def as_dict(self) -> dict[str, Any]:
        return {
            "customer": self.customer,
            "entity": self.entity,
            "items": self.items,
            "totals": self.totals,
            "level": self.level,
            "as_of": self.as_of,
            "payment": self.payment,
        }


def _fields(cls: type) -> tuple[str, ...]:
    return tuple(f for f in cls.__dataclass_fields__)  # type: ignore[attr-defined]


# name -> the attributes it has (None: a plain value); lists map to their entries' attributes
TEMPLATE_FIELDS: dict[str, tuple[str, ...] | None] = {
    "customer": _fields(CustomerView),
    "entity": _fields(EntityView),
    "items": _fields(ItemView),
    "totals": _fields(TotalView),
    "level": _fields(LevelView),
    "as_of": None,
    "payment": _fields(PaymentView),
}
LIST_FIELDS = frozenset({"items", "totals"})


def sample_context() -> TemplateContext:
    """A context with every documented field filled, to try templates on when they are saved."""
    return TemplateContext(
        CustomerView("C-1001", "Sample Customer Ltd", "en"),
        EntityView("Sample Seller GmbH", "billing@seller.example", "+49 30 1234567"),
        (
            ItemView("INV-2026-0001", "2 Nov 2026", "2 Dec 2026", 23, "EUR", "€116.62", "€116.62"),
            ItemView("INV-2026-0002", "9 Nov 2026", "9 Dec 2026", 16, "EUR", "€21.29", "€42.58"),
        ),
        (TotalView("EUR", "€137.91"),),
        LevelView(2, "First reminder"),
        "25 Dec 2026",
        PaymentView("DE89370400440532013000", "COBADEFFXXX", "C-1001"),
    )


# --- templates -------------------------------------------------------------------------------


def template_environment() -> SandboxedEnvironment:
    """Sandboxed (templates are data a user edits), strict about undefined names, plain text."""
    return SandboxedEnvironment(
        undefined=jinja2.StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )


_ENV = template_environment()


def _allowed() -> str:
    parts = []
    for name, attrs in TEMPLATE_FIELDS.items():
        if attrs is None:
            parts.append(name)
        elif name in LIST_FIELDS:
            parts.append(f"{name}[] ({', '.join(attrs)})")
        else:
            parts.append(f"{name} ({', '.join(attrs)})")
    return "; ".join(parts)


def _unknown(
    where: str, name: str, line: int | None, allowed: Sequence[str] | None
) -> InvalidInput:
    at = f" (line {line})" if line else ""
    hint = f"; {name.split('.')[0]} has {', '.join(allowed)}" if allowed else ""
    return InvalidInput(
        f"{where}: unknown field '{name}'{at}{hint}. Fields a dunning template can use: "
        f"{_allowed()}"
    )


def check_template(source: str, where: str = "template") -> None:
    """Refuse a template that does not parse or names a field outside ``TEMPLATE_FIELDS``.

    Two checks: every variable and attribute written in the template (also in branches a sample
    would not take, and for loop variables over ``items`` and ``totals``), then a render against
    ``sample_context`` with strict undefined names. The error names the field and the line.
    """
    try:
        tree = _ENV.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise InvalidInput(f"{where}: line {exc.lineno}: {exc.message}") from None
    for name in sorted(meta.find_undeclared_variables(tree)):
        if name not in TEMPLATE_FIELDS:
            line = next(
                (n.lineno for n in tree.find_all(nodes.Name) if n.name == name and n.ctx == "load"),
                None,
            )
            raise _unknown(where, name, line, None)
    aliases: dict[str, str] = {}
    for loop in tree.find_all(nodes.For):
        if isinstance(loop.iter, nodes.Name) and loop.iter.name in LIST_FIELDS:
            for target in _names(loop.target):
                aliases[target] = loop.iter.name
    for base, attr, line in sorted(_attribute_refs(tree), key=lambda ref: ref[2]):
        if base in aliases:  # a loop variable over items or totals
            schema_name = aliases[base]
        elif base in TEMPLATE_FIELDS and base not in LIST_FIELDS:
            schema_name = base
        else:
            continue  # loop.index, list methods, names of the template's own: left to rendering
        attrs = TEMPLATE_FIELDS[schema_name]
        if attrs is not None and attr not in attrs:
            raise _unknown(where, f"{base}.{attr}", line, attrs)
    try:
        _ENV.from_string(tree).render(sample_context().as_dict())
    except jinja2.UndefinedError as exc:
        raise InvalidInput(f"{where}: {exc.message}. Fields: {_allowed()}") from None
    except jinja2.TemplateError as exc:
        raise InvalidInput(f"{where}: {exc}") from None
    except Exception as exc:  # a filter on the wrong type, a division by zero ...
        raise InvalidInput(f"{where}: the template fails on sample data: {exc}") from None


def _attribute_refs(tree: nodes.Template) -> Iterator[tuple[str, str, int]]:
    """(name, attribute, line) for every ``name.attr`` and ``name['attr']`` in the template."""
    for getattr_node in tree.find_all(nodes.Getattr):
        if isinstance(getattr_node.node, nodes.Name):
            yield getattr_node.node.name, getattr_node.attr, getattr_node.lineno
    for item in tree.find_all(nodes.Getitem):
        arg = item.arg
        if (
            isinstance(item.node, nodes.Name)
            and isinstance(arg, nodes.Const)
            and isinstance(arg.value, str)
        ):
            yield item.node.name, arg.value, item.lineno


def _names(target: nodes.Node) -> list[str]:
    if isinstance(target, nodes.Name):
        return [target.name]
    if isinstance(target, nodes.Tuple):
        return [n for item in target.items for n in _names(item)]
    return []


def compile_template(source: str) -> jinja2.Template:
    """A template ready to render (assumed checked with ``check_template`` when saved)."""
    return _ENV.from_string(source)


def render(template: jinja2.Template, context: TemplateContext) -> str:
    return template.render(context.as_dict())


def one_line(text: str) -> str:
    """A rendered subject: one line, single spaces."""
    return " ".join(text.split())
