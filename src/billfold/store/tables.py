"""The database schema as SQLAlchemy Core tables.

Amounts are stored as integer minor units (``*_minor`` columns, BIGINT) beside a currency code;
Money is rebuilt with ``Money.from_minor``. The schema itself is created by the Alembic migrations
in ``store/migrations``; these definitions are what the code queries with and what migrations
are checked against.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    DateTime,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# BIGINT primary keys that still autoincrement on SQLite (which needs INTEGER PRIMARY KEY).
Id = BigInteger().with_variant(Integer(), "sqlite")


def _id() -> Column[int]:
    return Column("id", Id, primary_key=True, autoincrement=True)


def _fk(name: str, target: str, nullable: bool = False) -> Column[int]:
    return Column(name, Id, ForeignKey(target), nullable=nullable, index=True)


# --- master data -----------------------------------------------------------------------------

legal_entities = Table(
    "legal_entities",
    metadata,
    _id(),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("country", String(2), nullable=False),
    Column("functional_currency", String(3), nullable=False),
    Column("rounding", String(16), nullable=False, server_default="half-up"),
    Column("fiscal_year_start_month", Integer, nullable=False, server_default="1"),
    Column("address_line1", String(200)),
    Column("address_line2", String(200)),
    Column("city", String(100)),
    Column("postal_code", String(20)),
    Column("region", String(100)),
    Column("email", String(200)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # invoicing policy (migration 0002)
    Column("tax_rounding", String(8), nullable=False, server_default="line"),
    Column("price_decimals", Integer, nullable=False, server_default="6"),
    Column("quantity_decimals", Integer, nullable=False, server_default="4"),
    Column("oss_registered", Boolean, nullable=False, server_default="0"),
    Column("contact_name", String(200)),
    Column("phone", String(40)),
    CheckConstraint("fiscal_year_start_month BETWEEN 1 AND 12", name="fiscal_month"),
    CheckConstraint("rounding IN ('half-up', 'half-even')", name="rounding_mode"),
)

entity_tax_registrations = Table(
    "entity_tax_registrations",
    metadata,
    _id(),
    _fk("entity_id", "legal_entities.id"),
    Column("country", String(2), nullable=False),
    Column("scheme", String(16), nullable=False),
    Column("number", String(40), nullable=False),
    UniqueConstraint("entity_id", "scheme", "number"),
)

entity_bank_accounts = Table(
    "entity_bank_accounts",
    metadata,
    _id(),
    _fk("entity_id", "legal_entities.id"),
    Column("iban", String(34)),
    Column("bic", String(11)),
    Column("account_number", String(40)),  # non-IBAN accounts (US, CA ...) (migration 0003)
    Column("routing_number", String(20)),
    Column("bank_name", String(200)),
    Column("currency", String(3)),
    UniqueConstraint("entity_id", "iban"),
)

customers = Table(
    "customers",
    metadata,
    _id(),
    Column("number", String(40), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("legal_form", String(40)),
    _fk("parent_id", "customers.id", nullable=True),
    Column("currency", String(3), nullable=False),
    Column("payment_terms", String(32), nullable=False),
    Column("credit_limit_minor", BigInteger),
    Column("delivery_channel", String(16), nullable=False, server_default="email"),
    Column("language", String(8), nullable=False, server_default="en"),
    Column("on_hold", Boolean, nullable=False, server_default="0"),
    Column("einvoice_address", String(120)),  # Peppol participant "scheme:id" (migration 0002)
    Column("dunning_policy", String(32)),  # policy code; none = the default (migration 0004)
    Column("in_collections", Boolean, nullable=False, server_default="0"),
    Column("fingerprint", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

customer_addresses = Table(
    "customer_addresses",
    metadata,
    _id(),
    _fk("customer_id", "customers.id"),
    Column("role", String(16), nullable=False),
    Column("line1", String(200)),
    Column("line2", String(200)),
    Column("city", String(100)),
    Column("postal_code", String(20)),
    Column("region", String(100)),
    Column("country", String(2), nullable=False),
    UniqueConstraint("customer_id", "role"),
    CheckConstraint("role IN ('bill_to', 'sold_to', 'ship_to')", name="address_role"),
)

customer_contacts = Table(
    "customer_contacts",
    metadata,
    _id(),
    _fk("customer_id", "customers.id"),
    Column("role", String(16), nullable=False),
    Column("name", String(200)),
    Column("email", String(254), nullable=False),
)

customer_tax_ids = Table(
    "customer_tax_ids",
    metadata,
    _id(),
    _fk("customer_id", "customers.id"),
    Column("country", String(2), nullable=False),
    Column("scheme", String(16), nullable=False),
    Column("number", String(40), nullable=False, index=True),
)

customer_exemptions = Table(
    "customer_exemptions",
    metadata,
    _id(),
    _fk("customer_id", "customers.id"),
    Column("jurisdiction", String(40), nullable=False),
    Column("certificate", String(60), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
)

customer_aliases = Table(
    "customer_aliases",
    metadata,
    _id(),
    _fk("customer_id", "customers.id"),
    Column("alias", String(200), nullable=False),
)

# --- ledger ----------------------------------------------------------------------------------

accounts = Table(
    "accounts",
    metadata,
    _id(),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("type", String(16), nullable=False),
    Column("role", String(40), unique=True),
    Column("parent_code", String(32)),
    Column("active", Boolean, nullable=False, server_default="1"),
    CheckConstraint(
        "type IN ('asset', 'liability', 'equity', 'revenue', 'expense')", name="account_type"
    ),
)

accounting_periods = Table(
    "accounting_periods",
    metadata,
    Column("entity_id", Id, ForeignKey("legal_entities.id"), primary_key=True),
    Column("period", String(7), primary_key=True),
    Column("status", String(8), nullable=False),
    Column("changed_at", DateTime(timezone=True), nullable=False),
    Column("changed_by", String(100), nullable=False),
    CheckConstraint("status IN ('open', 'closed')", name="period_status"),
)

journal_entries = Table(
    "journal_entries",
    metadata,
    _id(),
    # indexed with the date below (ix_journal_entries_entity_date)
    Column("entity_id", Id, ForeignKey("legal_entities.id"), nullable=False),
    Column("entry_date", Date, nullable=False),
    Column("period", String(7), nullable=False),
    Column("description", String(400), nullable=False),
    Column("source_type", String(32), nullable=False),
    Column("source_ref", String(80)),
    Column("reverses_id", Id, ForeignKey("journal_entries.id"), unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
    # by entity and date; with the id, the key that postings reference (migration 0016)
    Index("uq_journal_entries_entity_date_id", "entity_id", "entry_date", "id", unique=True),
    Index("ix_journal_entries_source", "source_type", "source_ref"),
)

postings = Table(
    "postings",
    metadata,
    _id(),
    Column("entry_id", Id, nullable=False),
    Column("line_no", Integer, nullable=False),
    # entity and date are copied from the entry so that balances need no join; the foreign key
    # below holds them to the entry's (and the entity to the legal entities through it)
    Column("entity_id", Id, nullable=False),
    Column("entry_date", Date, nullable=False),
    Column("account_id", Id, ForeignKey("accounts.id"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("functional_minor", BigInteger, nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id")),
    Column("item_type", String(16)),
    Column("item_ref", String(80)),
    Column("memo", String(400)),
    UniqueConstraint("entry_id", "line_no"),
    ForeignKeyConstraint(
        ["entity_id", "entry_date", "entry_id"],
        ["journal_entries.entity_id", "journal_entries.entry_date", "journal_entries.id"],
    ),
    Index("ix_postings_account_date", "account_id", "entry_date"),
    # (0006's ix_postings_ar_items is gone since 0008: the aging reads ar_items)
    Index("ix_postings_item", "customer_id", "item_type", "item_ref"),
    CheckConstraint(
        "(item_ref IS NULL) OR (customer_id IS NOT NULL)", name="open_item_has_customer"
    ),
)

# AR balances derived from the postings by database triggers (migration 0007), so that every
# writer keeps them exact: one row per item ever posted to AR control (closed items stay, at
# zero), with the dates the aging needs, and the AR control account's movement per entity and
# day. ``item_ref`` is '' for AR postings that name a customer but no item.
AR_ITEM_OPEN = "open_minor <> 0 OR fopen_minor <> 0"  # ix_ar_items_open

ar_items = Table(
    "ar_items",
    metadata,
    Column("entity_id", BigInteger, nullable=False),
    Column("customer_id", BigInteger, nullable=False),
    Column("currency", String(3), nullable=False),
    Column("item_ref", String(80), nullable=False),
    Column("open_minor", BigInteger, nullable=False),
    Column("fopen_minor", BigInteger, nullable=False),
    Column("first_date", Date, nullable=False),
    Column("last_date", Date, nullable=False),
    Column("doc_date", Date),
    Column("due_date", Date),
    # keyed by the item first (migration 0012): new items go to the end of the table, and the
    # invoice triggers find a document's item by its number through the key
    PrimaryKeyConstraint("entity_id", "item_ref", "customer_id", "currency"),
    # the open items only, with what the aging reads (migration 0009); a query uses it when its
    # WHERE says ar_balances.IS_OPEN, this same condition
    Index(
        "ix_ar_items_open",
        "entity_id",
        "customer_id",
        "currency",
        "item_ref",
        "due_date",
        "doc_date",
        "first_date",
        "last_date",
        "open_minor",
        "fopen_minor",
        sqlite_where=text(AR_ITEM_OPEN),
        postgresql_where=text(AR_ITEM_OPEN),
    ),
    sqlite_with_rowid=False,
)

# the open items in due-date order, with what the aging reads of them (migration 0010): it reads
# only those due on or after its last bucket edge (and those without a due date that were first
# posted on or after it); the rest are in the last bucket, which ar_customer_balances gives
Index(
    "ix_ar_items_open_due",
    ar_items.c.due_date,
    ar_items.c.first_date,
    ar_items.c.entity_id,
    ar_items.c.customer_id,
    ar_items.c.currency,
    ar_items.c.open_minor,
    ar_items.c.fopen_minor,
    sqlite_where=text(AR_ITEM_OPEN),
    postgresql_where=text(AR_ITEM_OPEN),
)

# per (entity, customer, currency): the sum of its items' balances in ar_items and how many of
# them are open, kept beside ar_items (migration 0010)
ar_customer_balances = Table(
    "ar_customer_balances",
    metadata,
    Column("entity_id", BigInteger, primary_key=True),
    Column("customer_id", BigInteger, primary_key=True),
    Column("currency", String(3), primary_key=True),
    Column("open_minor", BigInteger, nullable=False),
    Column("fopen_minor", BigInteger, nullable=False),
    Column("open_items", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

ar_daily = Table(
    "ar_daily",
    metadata,
    Column("entity_id", BigInteger, primary_key=True),
    Column("day", Date, primary_key=True),
    Column("functional_minor", BigInteger, nullable=False),
    sqlite_with_rowid=False,
)

# --- audit and imports -----------------------------------------------------------------------

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Id, primary_key=True, autoincrement=False),
    Column("at", String(40), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(60), nullable=False),
    Column("entity_type", String(40), nullable=False),
    Column("entity_ref", String(120), nullable=False),
    Column("before_json", Text),
    Column("after_json", Text),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# One row: the newest audit row's id and hash. Appending locks it, which serialises the chain
# across processes, and it lets `audit verify` notice rows cut off the end of the log.
audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("last_id", Id, nullable=False),
    Column("last_hash", String(64), nullable=False),
)

import_batches = Table(
    "import_batches",
    metadata,
    _id(),
    Column("kind", String(32), nullable=False),
    Column("filename", String(400), nullable=False),
    Column("fingerprint", String(64), nullable=False),
    Column("rows", Integer, nullable=False),
    Column("summary", Text),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
    UniqueConstraint("kind", "fingerprint"),
)

# --- catalog, tax rates, exchange rates (migration 0002) -------------------------------------

products = Table(
    "products",
    metadata,
    _id(),
    Column("sku", String(64), nullable=False, unique=True),
    Column("description", String(400), nullable=False),
    Column("unit_code", String(8), nullable=False, server_default="C62"),
    Column("kind", String(8), nullable=False, server_default="services"),
    Column("tax_class", String(16), nullable=False, server_default="standard"),
    Column("exemption_reason", String(200)),
    Column("revenue_account", String(32), nullable=False),
    Column("family", String(40)),
    Column("active", Boolean, nullable=False, server_default="1"),
    Column("fingerprint", String(64), nullable=False),
    CheckConstraint("kind IN ('goods', 'services')", name="product_kind"),
)

# Unit prices are exact decimal strings: SQLite has no exact decimal type.
prices = Table(
    "prices",
    metadata,
    _id(),
    Column("sku", String(64), ForeignKey("products.sku"), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id")),
    Column("unit_price", String(40), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
    Index("ix_prices_lookup", "sku", "currency", "customer_id"),
)

vat_rate_overrides = Table(
    "vat_rate_overrides",
    metadata,
    _id(),
    Column("country", String(2), nullable=False),
    Column("region", String(8), nullable=False, server_default=""),
    Column("tax_type", String(8), nullable=False),
    Column("rate_name", String(16), nullable=False),
    Column("category", String(2), nullable=False),
    Column("rate", String(16), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
)

sales_tax_rates = Table(
    "sales_tax_rates",
    metadata,
    _id(),
    Column("state", String(2), nullable=False),
    Column("county", String(80), nullable=False, server_default=""),
    Column("city", String(80), nullable=False, server_default=""),
    Column("special_district", String(80), nullable=False, server_default=""),
    Column("zip_from", String(10), nullable=False, server_default=""),
    Column("zip_to", String(10), nullable=False, server_default=""),
    Column("jurisdiction_code", String(40), nullable=False),
    Column("jurisdiction_level", String(8), nullable=False),
    Column("rate", String(16), nullable=False),
    Column("valid_from", Date, nullable=False),
    Column("valid_to", Date),
)

fx_rates = Table(
    "fx_rates",
    metadata,
    Column("rate_date", Date, primary_key=True),
    Column("base", String(3), primary_key=True),
    Column("quote", String(3), primary_key=True),
    # units of ``quote`` for one unit of ``base``, exact decimal text
    Column("rate", String(40), nullable=False),
    Column("source", String(40), nullable=False),
)

# --- invoices (migration 0002) ---------------------------------------------------------------

number_sequences = Table(
    "number_sequences",
    metadata,
    Column("entity_id", Id, ForeignKey("legal_entities.id"), primary_key=True),
    Column("series", String(16), primary_key=True),
    Column("fiscal_year", Integer, primary_key=True),
    Column("last_number", BigInteger, nullable=False),
)

invoices = Table(
    "invoices",
    metadata,
    _id(),
    Column("entity_id", Id, ForeignKey("legal_entities.id"), nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("doc_type", String(12), nullable=False),
    Column("status", String(10), nullable=False),
    Column("series", String(16), nullable=False),
    Column("number", String(40)),
    Column("draft_ref", String(80), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("functional_currency", String(3), nullable=False),
    Column("fx_rate", String(40), nullable=False),
    Column("rounding", String(16), nullable=False),
    Column("tax_rounding", String(8), nullable=False),
    Column("price_mode", String(10), nullable=False),
    Column("issue_date", Date, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("supply_date", Date),
    Column("period_start", Date),
    Column("period_end", Date),
    Column("payment_terms", String(32), nullable=False),
    Column("po_number", String(80)),
    Column("buyer_reference", String(80)),
    Column("language", String(8), nullable=False),
    Column("net_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("functional_total_minor", BigInteger, nullable=False),
    Column("corrects_id", Id, ForeignKey("invoices.id")),
    Column("reason", String(400)),
    Column("notes", Text),
    Column("entry_id", Id, ForeignKey("journal_entries.id")),
    Column("void_entry_id", Id, ForeignKey("journal_entries.id")),
    Column("origin", String(16), nullable=False, server_default="billfold"),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("issued_at", DateTime(timezone=True)),
    Column("delivered_at", DateTime(timezone=True)),
    Column("voided_at", DateTime(timezone=True)),
    UniqueConstraint("entity_id", "number"),
    UniqueConstraint("entity_id", "draft_ref"),
    Index("ix_invoices_status_date", "status", "issue_date"),
    CheckConstraint("doc_type IN ('invoice', 'credit_note', 'debit_note')", name="doc_type"),
    CheckConstraint("status IN ('draft', 'issued', 'voided')", name="invoice_status"),
    CheckConstraint("(status = 'draft') OR (number IS NOT NULL)", name="issued_has_number"),
    CheckConstraint("total_minor >= 0", name="total_not_negative"),
)

# The seller and buyer as printed on an issued document, frozen at issue (migration 0013): one
# row per issued document, append-only; beside the invoice so that issuing writes the invoice's
# own row at the size it had as a draft
invoice_parties = Table(
    "invoice_parties",
    metadata,
    Column("invoice_id", Id, ForeignKey("invoices.id"), primary_key=True, autoincrement=False),
    Column("seller_json", Text, nullable=False),
    Column("buyer_json", Text, nullable=False),
)

invoice_lines = Table(
    "invoice_lines",
    metadata,
    _id(),
    # no index of its own: the unique key (invoice_id, line_no...) serves (migration 0014)
    Column("invoice_id", Id, ForeignKey("invoices.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("sku", String(64)),
    Column("description", String(400), nullable=False),
    Column("quantity", String(40), nullable=False),
    Column("unit_code", String(8), nullable=False),
    Column("unit_price", String(40), nullable=False),
    Column("discount_minor", BigInteger, nullable=False),
    Column("net_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    Column("revenue_account", String(32), nullable=False),
    Column("period_start", Date),
    Column("period_end", Date),
    Column("note", String(400)),
    Column("credits_line_id", Id, ForeignKey("invoice_lines.id")),
    Column("deferred", Boolean, nullable=False, server_default="0"),  # (migration 0005)
    UniqueConstraint("invoice_id", "line_no"),
)

invoice_line_taxes = Table(
    "invoice_line_taxes",
    metadata,
    _id(),
    # no index of its own: the unique key (invoice_id, line_no...) serves (migration 0014)
    Column("invoice_id", Id, ForeignKey("invoices.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("jurisdiction", String(40), nullable=False),
    Column("category", String(2), nullable=False),
    Column("rate", String(16), nullable=False),
    Column("tax_type", String(8), nullable=False),
    Column("exemption_reason", String(300)),
    Column("exemption_code", String(20)),
    Column("taxable_minor", BigInteger, nullable=False),
    Column("tax_minor", BigInteger, nullable=False),
    UniqueConstraint("invoice_id", "line_no", "seq"),
)

# --- cash application (migration 0003) -------------------------------------------------------

bank_files = Table(
    "bank_files",
    metadata,
    _id(),
    Column("format", String(16), nullable=False),
    Column("filename", String(400), nullable=False),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("file_ref", String(120)),
    Column("statements", Integer, nullable=False),
    Column("receipts", Integer, nullable=False),
    Column("imported_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
)

bank_statements = Table(
    "bank_statements",
    metadata,
    _id(),
    Column("bank_file_id", Id, ForeignKey("bank_files.id"), nullable=False, index=True),
    Column("bank_account_id", Id, ForeignKey("entity_bank_accounts.id"), nullable=False),
    Column("statement_key", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("opening_minor", BigInteger),
    Column("closing_minor", BigInteger),
    Column("statement_date", Date),
    UniqueConstraint("bank_account_id", "statement_key"),
)

receipts = Table(
    "receipts",
    metadata,
    _id(),
    Column("entity_id", Id, ForeignKey("legal_entities.id"), nullable=False),
    Column("bank_account_id", Id, ForeignKey("entity_bank_accounts.id"), nullable=False),
    Column("statement_id", Id, ForeignKey("bank_statements.id"), nullable=False, index=True),
    Column("entry_key", String(200), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),  # what the payer paid (gross of fees)
    Column("charges_minor", BigInteger, nullable=False, server_default="0"),
    Column("applied_minor", BigInteger, nullable=False, server_default="0"),
    Column("value_date", Date, nullable=False),
    Column("booking_date", Date),
    Column("fx_rate", String(40), nullable=False),
    Column("functional_minor", BigInteger, nullable=False),
    Column("payer_name", String(200)),
    Column("payer_account", String(80)),
    Column("payer_bank", String(40)),
    Column("reference", String(120), nullable=False),
    Column("end_to_end", String(120)),
    Column("remittance", Text),  # JSON: structured refs, text, lines
    Column("type_code", String(40)),
    Column("format", String(16), nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id")),
    Column("status", String(20), nullable=False),
    Column("entry_id", Id, ForeignKey("journal_entries.id")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("bank_account_id", "entry_key"),
    Index("ix_receipts_status", "status", "value_date"),
    CheckConstraint("amount_minor > 0", name="receipt_positive"),
    # the applications of a receipt never exceed it: enforced by the database itself
    CheckConstraint("applied_minor >= 0 AND applied_minor <= amount_minor", name="applied_le"),
)

cash_applications = Table(
    "cash_applications",
    metadata,
    _id(),
    Column("receipt_id", Id, ForeignKey("receipts.id"), nullable=False, index=True),
    Column("entity_id", Id, ForeignKey("legal_entities.id"), nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False),
    Column("kind", String(12), nullable=False),
    Column("item_type", String(16)),
    Column("item_ref", String(80)),
    Column("amount_minor", BigInteger, nullable=False),  # receipt currency; < 0 undoes one
    Column("functional_minor", BigInteger, nullable=False),
    Column("automatic", Boolean, nullable=False),
    Column("confidence", Integer, nullable=False),
    Column("reason", String(400), nullable=False),
    Column("reverses_id", Id, ForeignKey("cash_applications.id"), unique=True),
    Column("entry_id", Id, ForeignKey("journal_entries.id"), nullable=False),
    Column("applied_on", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
    Index("ix_cash_applications_item", "customer_id", "item_ref"),
    CheckConstraint(
        "kind IN ('invoice', 'discount', 'write_off', 'fee', 'on_account', 'refund')",
        name="application_kind",
    ),
)

cash_suggestions = Table(
    "cash_suggestions",
    metadata,
    _id(),
    Column("receipt_id", Id, ForeignKey("receipts.id"), nullable=False, index=True),
    Column("customer_id", Id, ForeignKey("customers.id")),
    Column("proposal", Text, nullable=False),  # JSON list of {kind, item_ref, amount}
    Column("confidence", Integer, nullable=False),
    Column("reason", String(400), nullable=False),
    Column("status", String(10), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

payer_accounts = Table(
    "payer_accounts",
    metadata,
    Column("account", String(80), primary_key=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False),
    Column("confirmed", Integer, nullable=False, server_default="1"),
    Column("last_seen", Date, nullable=False),
)

remittance_advices = Table(
    "remittance_advices",
    metadata,
    _id(),
    Column("bank_file_id", Id, ForeignKey("bank_files.id"), nullable=False),
    Column("reference", String(120), nullable=False),
    Column("payer_name", String(200)),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("payment_date", Date, nullable=False),
    Column("lines", Text, nullable=False),  # JSON remittance lines
    Column("receipt_id", Id, ForeignKey("receipts.id")),
    Index("ix_remittance_advices_reference", "reference"),
)

# --- receivables: dunning, collections, disputes, write-offs (migration 0004) ----------------

dunning_policies = Table(
    "dunning_policies",
    metadata,
    _id(),
    Column("code", String(32), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("is_default", Boolean, nullable=False, server_default="0"),
)

dunning_levels = Table(
    "dunning_levels",
    metadata,
    _id(),
    Column("policy_id", Id, ForeignKey("dunning_policies.id"), nullable=False),
    Column("level", Integer, nullable=False),
    Column("days", Integer, nullable=False),  # days past due (negative: before the due date)
    Column("name", String(100), nullable=False),
    Column("template_key", String(40), nullable=False),
    Column("credit_hold", Boolean, nullable=False, server_default="0"),
    UniqueConstraint("policy_id", "level"),
)

dunning_templates = Table(
    "dunning_templates",
    metadata,
    _id(),
    Column("template_key", String(40), nullable=False),
    Column("language", String(8), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    UniqueConstraint("template_key", "language"),
)

dunning_runs = Table(
    "dunning_runs",
    metadata,
    _id(),
    Column("run_date", Date, nullable=False),
    Column("dry_run", Boolean, nullable=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("contacted", Integer, nullable=False, server_default="0"),
    Column("failed", Integer, nullable=False, server_default="0"),
    Column("actor", String(100), nullable=False),
)

dunning_notices = Table(
    "dunning_notices",
    metadata,
    _id(),
    Column("run_id", Id, ForeignKey("dunning_runs.id"), nullable=False, index=True),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("level", Integer, nullable=False),
    Column("status", String(10), nullable=False),  # sent, failed
    Column("to_address", String(254)),
    Column("subject", String(300)),
    Column("message_id", String(200)),
    Column("error", String(400)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# One row per open item and level that was actually sent: the dunning state is these facts
# plus the ledger; a level is never sent twice for an item.
dunning_items = Table(
    "dunning_items",
    metadata,
    _id(),
    Column("notice_id", Id, ForeignKey("dunning_notices.id"), nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False),
    Column("item_ref", String(80), nullable=False),
    Column("level", Integer, nullable=False),
    UniqueConstraint("customer_id", "item_ref", "level"),
)

collection_notes = Table(
    "collection_notes",
    metadata,
    _id(),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("item_ref", String(80)),
    Column("note", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
)

promises = Table(
    "promises",
    metadata,
    _id(),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("item_ref", String(80)),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("promised_date", Date, nullable=False),
    Column("baseline_minor", BigInteger, nullable=False),  # what was open when promised
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
)

payment_plans = Table(
    "payment_plans",
    metadata,
    _id(),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("total_minor", BigInteger, nullable=False),
    Column("items", Text, nullable=False),  # JSON list of item refs
    Column("status", String(10), nullable=False),  # active, completed, cancelled
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
)

plan_installments = Table(
    "plan_installments",
    metadata,
    _id(),
    Column("plan_id", Id, ForeignKey("payment_plans.id"), nullable=False, index=True),
    Column("seq", Integer, nullable=False),
    Column("due_date", Date, nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    UniqueConstraint("plan_id", "seq"),
)

disputes = Table(
    "disputes",
    metadata,
    _id(),
    Column("entity_id", Id, ForeignKey("legal_entities.id"), nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("invoice_id", Id, ForeignKey("invoices.id"), nullable=False, index=True),
    Column("line_no", Integer),
    Column("reason_code", String(40), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("owner_team", String(40), nullable=False),
    Column("status", String(12), nullable=False),  # open, in_review, resolved, rejected
    Column("root_cause", String(200)),
    Column("resolution", String(20)),  # credit_memo, rebill, rejected
    Column("resolution_ref", String(80)),
    Column("opened_on", Date, nullable=False),
    Column("closed_on", Date),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
    CheckConstraint("amount_minor > 0", name="dispute_positive"),
)

dispute_notes = Table(
    "dispute_notes",
    metadata,
    _id(),
    Column("dispute_id", Id, ForeignKey("disputes.id"), nullable=False, index=True),
    Column("note", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
)

write_offs = Table(
    "write_offs",
    metadata,
    _id(),
    Column("entity_id", Id, ForeignKey("legal_entities.id"), nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("item_ref", String(80), nullable=False),
    Column("kind", String(10), nullable=False),  # write_off, recovery
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("reason", String(400), nullable=False),
    Column("entry_id", Id, ForeignKey("journal_entries.id"), nullable=False),
    Column("written_on", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
)

# --- billing engine (migration 0005) ---------------------------------------------------------

contracts = Table(
    "contracts",
    metadata,
    _id(),
    Column("number", String(60), nullable=False, unique=True),
    Column("entity_id", Id, ForeignKey("legal_entities.id"), nullable=False),
    Column("customer_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("bill_to_id", Id, ForeignKey("customers.id"), nullable=False, index=True),
    Column("currency", String(3), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
    Column("status", String(10), nullable=False),  # active, ended
    Column("spec", Text, nullable=False),  # the contract and its charges as imported (JSON)
    Column("fingerprint", String(64), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

contract_changes = Table(
    "contract_changes",
    metadata,
    _id(),
    Column("contract_id", Id, ForeignKey("contracts.id"), nullable=False, index=True),
    Column("charge_id", String(60), nullable=False),
    Column("effective", Date, nullable=False),
    Column("quantity", String(40)),
    Column("unit_price", String(40)),
    Column("cancel", Boolean, nullable=False, server_default="0"),
    Column("reason", String(400)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
)

milestone_completions = Table(
    "milestone_completions",
    metadata,
    _id(),
    Column("contract_id", Id, ForeignKey("contracts.id"), nullable=False),
    Column("charge_id", String(60), nullable=False),
    Column("completed_on", Date, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("actor", String(100), nullable=False),
    UniqueConstraint("contract_id", "charge_id"),
)

usage_records = Table(
    "usage_records",
    metadata,
    _id(),
    Column("event_id", String(120), nullable=False, unique=True),
    Column("contract_id", Id, ForeignKey("contracts.id"), nullable=False),
    Column("meter", String(60), nullable=False),
    Column("quantity", String(40), nullable=False),
    Column("usage_date", Date, nullable=False),
    Column("source_file", String(400), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_usage_records_meter", "contract_id", "meter", "usage_date", "quantity"),
)

timesheet_entries = Table(
    "timesheet_entries",
    metadata,
    _id(),
    Column("entry_id", String(120), nullable=False, unique=True),
    Column("contract_id", Id, ForeignKey("contracts.id"), nullable=False, index=True),
    Column("charge_id", String(60), nullable=False),
    Column("person", String(120), nullable=False),
    Column("role", String(60), nullable=False),
    Column("work_date", Date, nullable=False),
    Column("hours", String(20), nullable=False),
    Column("approved_by", String(120), nullable=False),
    Column("source_file", String(400), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

shipments = Table(
    "shipments",
    metadata,
    _id(),
    Column("shipment_id", String(120), nullable=False, unique=True),
    Column("contract_id", Id, ForeignKey("contracts.id"), nullable=False, index=True),
    Column("charge_id", String(60), nullable=False),
    Column("sku", String(64), nullable=False),
    Column("quantity", String(40), nullable=False),
    Column("ship_date", Date, nullable=False),
    Column("source_file", String(400), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

source_exceptions = Table(
    "source_exceptions",
    metadata,
    _id(),
    Column("kind", String(12), nullable=False),  # usage, timesheet, shipment
    Column("source_file", String(400), nullable=False),
    Column("line", Integer, nullable=False),
    Column("record", Text, nullable=False),  # the row as read (JSON)
    Column("reason", String(400), nullable=False),
    Column("status", String(10), nullable=False),  # open, fixed, released, rejected
    Column("resolution", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True)),
    Column("resolved_by", String(100)),
    Index("ix_source_exceptions_status", "status", "kind"),
)

billing_runs = Table(
    "billing_runs",
    metadata,
    _id(),
    Column("run_date", Date, nullable=False),
    Column("entity_id", Id, ForeignKey("legal_entities.id")),
    Column("status", String(10), nullable=False),  # running, completed
    Column("contracts", Integer, nullable=False, server_default="0"),
    Column("drafts", Integer, nullable=False, server_default="0"),
    Column("lines", Integer, nullable=False, server_default="0"),
    Column("holds", Text),  # JSON: contracts held (PO exceeded) and why
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("actor", String(100), nullable=False),
)

# Exactly once: a charge key (contract charge and service period, a usage record, a timesheet
# entry, a milestone) is billed at most once -- the database refuses a second row.
billed_charges = Table(
    "billed_charges",
    metadata,
    Column("charge_key", String(200), primary_key=True),
    Column("contract_id", Id, ForeignKey("contracts.id"), nullable=False, index=True),
    Column("run_id", Id, ForeignKey("billing_runs.id"), nullable=False),
    Column("invoice_id", Id, ForeignKey("invoices.id"), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
)

revenue_schedules = Table(
    "revenue_schedules",
    metadata,
    _id(),
    Column("entity_id", Id, ForeignKey("legal_entities.id"), nullable=False),
    Column("invoice_id", Id, ForeignKey("invoices.id"), nullable=False),
    Column("line_no", Integer, nullable=False),
    Column("period", String(7), nullable=False),
    Column("revenue_account", String(32), nullable=False),
    Column("currency", String(3), nullable=False),
    Column("amount_minor", BigInteger, nullable=False),
    Column("functional_minor", BigInteger, nullable=False),
    Column("entry_id", Id, ForeignKey("journal_entries.id")),
    UniqueConstraint("invoice_id", "line_no", "period"),
    Index("ix_revenue_schedules_period", "period", "entity_id"),
)
