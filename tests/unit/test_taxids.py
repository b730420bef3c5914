import pytest

from billfold.domain.taxids import normalize_tax_id
from billfold.errors import TaxIdError


@pytest.mark.parametrize(
    ("raw", "country", "scheme", "number", "cc"),
    [
        ("de 136 695 976", None, "VAT", "DE136695976", "DE"),
        ("FR40303265045", None, "VAT", "FR40303265045", "FR"),
        ("ATU13585627", None, "VAT", "ATU13585627", "AT"),
        ("EL094259216", None, "VAT", "EL094259216", "GR"),
        ("136695976", "DE", "VAT", "DE136695976", "DE"),
        ("GB 980 7806 84", None, "VAT", "GB980780684", "GB"),
        ("980780684", "GB", "VAT", "GB980780684", "GB"),
        ("CHE-116.281.710 MWST", None, "VAT", "CHE116281710MWST", "CH"),
        ("NO 995 525 828 MVA", None, "VAT", "NO995525828MVA", "NO"),
        ("51 824 753 556", "AU", "ABN", "51824753556", "AU"),
        ("27AAPFU0939F1ZV", "IN", "GSTIN", "27AAPFU0939F1ZV", "IN"),
        ("12-3456789", "US", "EIN", "123456789", "US"),
    ],
)
def test_valid_tax_ids_are_normalised(
    raw: str, country: str | None, scheme: str, number: str, cc: str
) -> None:
    tid = normalize_tax_id(raw, country)
    assert (tid.scheme, tid.number, tid.country) == (scheme, number, cc)


@pytest.mark.parametrize(
    ("raw", "country", "message"),
    [
        ("DE136695977", None, "not a valid EU VAT number"),
        ("GB980780685", None, "not a valid UK VAT number"),
        ("51 824 753 557", "AU", "not a valid Australian ABN number"),
        ("27AAPFU0939F1ZX", "IN", "not a valid Indian GSTIN number"),
        ("00-3456789", "US", "not a valid US EIN number"),
        ("12345", None, "cannot tell which country"),
        ("", None, "empty"),
    ],
)
def test_malformed_or_checksum_invalid_tax_ids_are_refused(
    raw: str, country: str | None, message: str
) -> None:
    with pytest.raises(TaxIdError, match=message):
        normalize_tax_id(raw, country)
