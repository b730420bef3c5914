"""Names, account numbers, amounts and the ways payers write invoice numbers (see ``cashgen``)."""

from __future__ import annotations

import random
import string
from collections.abc import Sequence

from benchmarks.cashgen_model import GenInvoice

# --- names, numbers, accounts ------------------------------------------------------------------

DE_PREFIX = (
    "Nord", "Süd", "West", "Ost", "Alpen", "Rhein", "Elb", "Hanse", "Sonnen", "Berg", "Wald",
    "Stern", "Falken", "Adler", "Eichen", "Linden", "Blau", "Grün", "Silber", "Gold", "Stahl",
    "Kraft", "Licht", "Feld", "See", "Fluss", "Stadt", "Land", "Park", "Tal",
)  # fmt: skip
DE_SUFFIX = (
    "wind", "blick", "tal", "werk", "haus", "hof", "feld", "stein", "quelle", "bau", "tec",
    "med", "log", "tronic", "plan", "data", "form", "line", "star", "wert",
)  # fmt: skip
SURNAMES = (
    "Weber", "Becker", "Hoffmann", "Schulz", "Meyer", "Wagner", "Schäfer", "Koch", "Richter",
    "Klein", "Wolf", "Neumann", "Schwarz", "Zimmermann", "Braun", "Krüger", "Hofmann",
    "Hartmann", "Lange", "Schmitt", "Werner", "Krause", "Lehmann", "Köhler", "Maier", "Fuchs",
    "Peters", "Jung", "Möller", "Vogel", "Dubois", "Laurent", "Janssen", "De Vries", "Peeters",
)  # fmt: skip
DE_TYPES = (
    "Logistik", "Maschinenbau", "Bau", "Consulting", "Software", "Handel", "Elektrotechnik",
    "Medizintechnik", "Druckerei", "Immobilien", "Metallbau", "Spedition", "Systemhaus",
    "Verpackung", "Energie", "Automotive", "Feinmechanik", "Lebensmittel", "Chemie", "Textil",
    "Gebäudetechnik", "Kunststofftechnik", "Anlagenbau", "Personalservice", "Werbetechnik",
    "Holzbau", "Umwelttechnik", "Messtechnik", "Steuerberatung", "Reisen",
)  # fmt: skip
US_PREFIX = (
    "North", "South", "Pacific", "Atlantic", "Great", "Blue", "Red", "Silver", "Golden",
    "Eagle", "Summit", "Pioneer", "Liberty", "Union", "Central", "Prairie", "Lake", "River",
    "Mountain", "Harbor", "Frontier", "Keystone", "Evergreen", "Granite", "Cedar", "Globex",
    "Initech", "Hooli", "Vandelay", "Stark", "Miller", "Johnson", "Carter", "Walker", "Hayes",
    "Bennett", "Foster", "Griffin", "Porter", "Reed", "Sullivan", "Parker", "Morgan", "Hudson",
    "Lincoln", "Madison", "Jefferson", "Franklin", "Clark", "Dawson",
)  # fmt: skip
US_SUFFIX = ("", "", "", " Bay", " Point", " Ridge", " Valley", " Star", " Gate", " Field")
US_TYPES = (
    "Logistics", "Manufacturing", "Construction", "Consulting", "Software", "Supply",
    "Electric", "Medical", "Printing", "Realty", "Foods", "Systems", "Packaging", "Energy",
    "Motors", "Analytics", "Tools", "Industries", "Labs", "Partners", "Dental", "Plumbing",
    "Staffing", "Insurance Agency", "Freight", "Metals", "Plastics", "Design", "Outfitters",
    "Hospitality",
)  # fmt: skip
FORMS: dict[str, tuple[tuple[str, float], ...]] = {
    "DE": (("GmbH", 55), ("GmbH & Co. KG", 15), ("AG", 10), ("KG", 5), ("SE", 2), ("e.K.", 3),
           ("UG (haftungsbeschränkt)", 5), ("OHG", 5)),
    "AT": (("GmbH", 80), ("AG", 10), ("KG", 10)),
    "FR": (("SARL", 50), ("SAS", 35), ("SA", 15)),
    "NL": (("B.V.", 85), ("N.V.", 15)),
    "BE": (("BV", 50), ("SRL", 30), ("NV", 20)),
    "GB": (("Ltd", 80), ("PLC", 10), ("LLP", 10)),
    "CH": (("AG", 60), ("GmbH", 40)),
    "US": (("Inc.", 40), ("LLC", 30), ("Corp.", 15), ("Co.", 5), ("Corporation", 5),
           ("Incorporated", 5)),
}  # fmt: skip
EU_COUNTRIES = (("DE", 62), ("AT", 8), ("FR", 10), ("NL", 8), ("BE", 5), ("GB", 5), ("CH", 2))
BANKS = (
    "COBADEFFXXX",
    "DEUTDEFFXXX",
    "BYLADEM1001",
    "GENODEF1M04",
    "INGDDEFFXXX",
    "BNPAFRPPXXX",
    "INGBNL2AXXX",
    "RABONL2UXXX",
    "GEBABEBBXXX",
    "BKAUATWWXXX",
    "BARCGB22XXX",
    "UBSWCHZH80A",
)
STRANGERS = (
    "Finanzamt Hamburg-Mitte", "Allianz Versicherungs-AG", "AOK Nordost", "Deutsche Post AG",
    "Amazon Payments Europe S.C.A.", "Hans Meier", "Maria Schneider", "IRS TREAS 310",
    "Stadtwerke Leipzig GmbH", "DB Vertrieb GmbH", "Techniker Krankenkasse", "John Miller",
    "Bundesagentur fuer Arbeit", "Vodafone GmbH", "Staples Inc", "State of Washington",
)  # fmt: skip
CARD_HOLDERS = ("Hans Meier", "John Miller", "J. Smith", "Maria Schneider")  # company cards
STRANGER_TEXTS = (
    "Erstattung Versicherungsfall {n}", "Mietkaution Objekt {k}", "Gutschrift Bonus 2026",
    "Steuererstattung USt 10/2026", "Rueckzahlung Abschlag", "Tax refund", "Interest payment",
    "Refund order {n}", "Vertrag 2026/{k}", "Beitragserstattung", "Schadenregulierung {n}",
    "Return of deposit", "Kostenerstattung Reise", "Dividend", "",
)  # fmt: skip
PLAN_PRICES = (29, 49, 99, 149, 199, 299, 499, 990, 1490, 2490)
SEATS = (1, 1, 1, 2, 3, 5, 10)
TERMS_EU = (("NET30", 50), ("NET14", 15), ("2/10 NET30", 25), ("EOM+30", 10))
TERMS_US = (("NET30", 60), ("NET45", 15), ("2/10 NET30", 25))
TRANSLIT = str.maketrans(
    {
        "ä": "ae",
        "ö": "oe",
        "ü": "ue",
        "Ä": "AE",
        "Ö": "OE",
        "Ü": "UE",
        "ß": "ss",
        "é": "e",
        "è": "e",
        "ç": "c",
        "&": "+",
    }
)


def weighted(rng: random.Random, options: Sequence[tuple[str, float]]) -> str:
    total = sum(w for _, w in options)
    x = rng.random() * total
    for value, w in options:
        x -= w
        if x < 0:
            return value
    return options[-1][0]


def _mod97(text: str) -> int:
    digits = "".join(str(int(ch, 36)) for ch in text)
    return int(digits) % 97


def iban(country: str, bban: str) -> str:
    """An IBAN with correct check digits (the national check digits are not computed)."""
    check = 98 - _mod97(bban + country + "00")
    return f"{country}{check:02d}{bban}"


def creditor_reference(ref: str) -> str:
    """ISO 11649 RF creditor reference for ``ref`` (alphanumeric, at most 21 characters)."""
    body = "".join(ch for ch in ref.upper() if ch.isalnum())[:21]
    return f"RF{98 - _mod97(body + 'RF00'):02d}{body}"


def aba(prefix8: str) -> str:
    total = sum(int(d) * w for d, w in zip(prefix8, (3, 7, 1) * 3, strict=False))
    return prefix8 + str((10 - total % 10) % 10)


def bban(rng: random.Random, country: str) -> str:
    digits = string.digits

    def d(n: int) -> str:
        return "".join(rng.choice(digits) for _ in range(n))

    def letters(n: int) -> str:
        return "".join(rng.choice(string.ascii_uppercase) for _ in range(n))

    return {
        "DE": lambda: d(18),
        "AT": lambda: d(16),
        "FR": lambda: d(23),
        "NL": lambda: letters(4) + d(10),
        "BE": lambda: d(12),
        "GB": lambda: letters(4) + d(14),
        "CH": lambda: d(17),
    }[country]()


def bank_name(name: str, limit: int, upper: bool = True) -> str:
    """The payer name as a bank shows it: transliterated, maybe upper case, cut to ``limit``."""
    shown = name.translate(TRANSLIT)
    shown = shown.upper() if upper else shown
    return shown[:limit].rstrip()


def typo_name(rng: random.Random, name: str) -> str:
    letters = [i for i, ch in enumerate(name) if ch.isalpha() and i > 0]
    i = rng.choice(letters)
    if rng.random() < 0.5:
        return name[:i] + name[i + 1 :]  # dropped letter
    return name[:i] + name[i + 1] + name[i] + name[i + 2 :] if i + 1 < len(name) else name


def abbreviate(name: str) -> str:
    words = name.split()
    out: list[str] = []
    for w in words:
        if len(w) > 8 and w[0].isupper() and not out:
            out.append(w)
        elif len(w) > 8:
            out.append(w[:3] + ".")
        else:
            out.append(w)
    return " ".join(out)


# --- amounts -----------------------------------------------------------------------------------


def draw_amount(rng: random.Random, vat_percent: int) -> int:
    """Minor units: 35 % plan prices (repeat a lot), the rest a long tail around 700."""
    if rng.random() < 0.35:
        net = rng.choice(PLAN_PRICES) * rng.choice(SEATS) * 100
    else:
        value = min(max(rng.lognormvariate(6.5, 1.1), 15.0), 250_000.0)
        net = round(value) * 100 if rng.random() < 0.3 else round(value * 100)
    return net + round(net * vat_percent / 100)


# --- reference variants ------------------------------------------------------------------------


def typo(rng: random.Random, number: str) -> tuple[str, str]:
    """One wrong character in the digits of ``number``: (typo'd number, how)."""
    digits = [i for i, ch in enumerate(number) if ch.isdigit()]
    tail = [i for i in digits if i >= len(number) - 6] or digits
    for _ in range(20):
        x = rng.random()
        i = rng.choice(tail)
        if x < 0.45:
            new = (
                number[:i]
                + rng.choice([d for d in "0123456789" if d != number[i]])
                + number[i + 1 :]
            )
            how = "substitution"
        elif x < 0.75:
            if i + 1 >= len(number) or not number[i + 1].isdigit() or number[i] == number[i + 1]:
                continue
            new = number[:i] + number[i + 1] + number[i] + number[i + 2 :]
            how = "transposition"
        elif x < 0.95:
            if rng.random() < 0.5:
                new, how = number[:i] + number[i + 1 :], "dropped digit"
            else:
                new, how = number[:i] + number[i] + number[i:], "doubled digit"
        else:
            zeros = [j for j in digits if number[j] == "0"]
            if not zeros:
                continue
            j = rng.choice(zeros)
            new, how = number[:j] + "O" + number[j + 1 :], "OCR O for 0"
        if new != number:
            return new, how
    return number[:-1] + str((int(number[-1]) + 1) % 10), "substitution"


def missing_prefix(rng: random.Random, inv: GenInvoice) -> tuple[str, str]:
    """The number as payers shorten it: (reference, variant)."""
    n = inv.number
    if inv.po_number and rng.random() < 0.2:
        return f"PO {inv.po_number}", "po_only"
    if inv.origin == "carried_over":
        digits = "".join(ch for ch in n if ch.isdigit())
        return (
            rng.choice(((digits, "digits_only"), (f"RE {digits}", "separator")))
            if n.startswith("RE")
            else (f"{n[:2]}-{n[2:]}", "separator")
        )
    _, year, seq = n.split("-")
    short = str(int(seq))
    options = (
        (f"{year}-{seq}", "no_prefix", 30),
        (f"{year}{seq}", "digits_only", 15),
        (f"INV {year} {short}", "no_zeros", 10),
        (f"INV{year}-{short}", "no_zeros", 10),
        (f"{year}/{short}", "no_prefix_no_zeros", 15),
        (f"{seq}", "sequence_only", 10),
        (f"Nr. {short}", "sequence_only", 10),
    )
    choice = weighted(rng, [(str(i), w) for i, (_, _, w) in enumerate(options)])
    ref, variant, _ = options[int(choice)]
    return ref, variant


def compressed(numbers: Sequence[str]) -> str:
    """``INV-2026-000123/124/130``: the first in full, the others by their last three digits
    (in full when more than those differ)."""
    first = numbers[0]
    out = [first]
    for n in numbers[1:]:
        out.append(n[-3:] if n[:-3] == first[:-3] else n)
    return "/".join(out)
