import pytest

from billfold.errors import BankAccountError, Conflict, CurrencyError, TaxIdError
from billfold.services import entities
from billfold.services.context import Billfold

pytestmark = pytest.mark.integration


def test_entity_with_tax_ids_and_bank_accounts(bf: Billfold) -> None:
    with bf.transaction() as tx:
        entities.create_entity(
            tx,
            entities.NewEntity("acme-uk", "Acme UK Ltd", "gb", "gbp", rounding="half-even"),
            ["GB980780684"],
        )
        iban = entities.add_bank_account(
            tx, "ACME-UK", "GB33 BUKB 2020 1555 5555 55", "BUKBGB22", currency="GBP"
        )
    assert iban == "GB33BUKB20201555555555"
    with bf.reading() as conn:
        d = entities.entity_details(conn, "ACME-UK")
    assert d["rounding"] == "half-even" and d["tax_ids"] == ["VAT GB980780684"]


def test_bad_entity_input(bf: Billfold) -> None:
    with pytest.raises(Conflict, match="already exists"), bf.transaction() as tx:
        entities.create_entity(tx, entities.NewEntity("ACME-DE", "Dup", "DE", "EUR"))
    with pytest.raises(CurrencyError), bf.transaction() as tx:
        entities.create_entity(tx, entities.NewEntity("X", "X", "DE", "EURO"))
    with pytest.raises(TaxIdError), bf.transaction() as tx:
        entities.create_entity(tx, entities.NewEntity("Y", "Y", "DE", "EUR"), ["DE136695977"])
    with pytest.raises(BankAccountError, match="IBAN"), bf.transaction() as tx:
        entities.add_bank_account(tx, "ACME-DE", "DE89 3704 0044 0532 0130 01")
    with pytest.raises(BankAccountError, match="BIC"), bf.transaction() as tx:
        entities.add_bank_account(tx, "ACME-DE", "DE89 3704 0044 0532 0130 00", "COBAXX")
