"""Creating a Billfold database: schema, default chart of accounts, first legal entity."""

from __future__ import annotations

from sqlalchemy import select

from billfold.errors import Conflict
from billfold.services.context import Billfold
from billfold.services.dunning import ensure_default_dunning
from billfold.services.entities import NewEntity, create_entity
from billfold.services.ledger import load_chart
from billfold.store import migrate
from billfold.store.db import make_engine
from billfold.store.tables import legal_entities


def initialise(
    url: str, actor: str, entity: NewEntity | None, tax_ids: list[str] | None = None
) -> Billfold:
    """Migrate the schema to the head, load the default chart, create the entity if given.

    Running it again on an initialised database is harmless: migrations and the chart are
    idempotent, and an entity that already exists is reported, not duplicated.
    """
    engine = make_engine(url)
    migrate.upgrade(engine)
    app = Billfold(engine, actor)
    with app.transaction() as tx:
        load_chart(tx)
        ensure_default_dunning(tx)
        if entity is not None:
            exists = tx.conn.execute(
                select(legal_entities.c.id).where(
                    legal_entities.c.code == entity.code.strip().upper()
                )
            ).first()
            if exists:
                raise Conflict(
                    f"legal entity {entity.code.upper()} already exists; "
                    "the database is already initialised"
                )
            create_entity(tx, entity, tax_ids)
    return app
