"""Which bank or remittance format a file is in, from its content (not its name)."""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

from billfold.domain.payments import BankFile
from billfold.errors import FileRejected, RowError

# format -> (module, parser function); every parser is ``(data: bytes, filename: str) -> BankFile``
PARSERS: dict[str, tuple[str, str]] = {
    "camt": ("billfold.formats.camt", "parse_camt"),
    "mt940": ("billfold.formats.mt940", "parse_mt940"),
    "bai2": ("billfold.formats.bai2", "parse_bai2"),
    "nacha": ("billfold.formats.nacha", "parse_nacha"),
    "x12_820": ("billfold.formats.x12_820", "parse_x12_820"),
    "payout_csv": ("billfold.formats.payout_csv", "parse_payout_csv"),
}
ALIASES = {
    "camt053": "camt",
    "camt.053": "camt",
    "camt054": "camt",
    "camt.054": "camt",
    "mt942": "mt940",
    "ach": "nacha",
    "x12": "x12_820",
    "820": "x12_820",
    "payout": "payout_csv",
    "csv": "payout_csv",
}


def detect_format(data: bytes, filename: str) -> str:
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    text = head.decode("utf-8", errors="replace")
    if text.startswith("<") and re.search(r"camt\.05[34]\.001\.", text):
        return "camt"
    if text.startswith("<"):
        ns = re.search(r'xmlns(?::\w+)?="([^"]+)"', text)
        raise FileRejected(
            filename,
            [
                RowError(
                    1,
                    "(namespace)",
                    ns.group(1) if ns else "",
                    "XML but not a camt.053 or camt.054 document",
                )
            ],
        )
    if text.startswith("01,"):
        return "bai2"
    if text.startswith("101") and len(text.splitlines()[0].rstrip("\r")) == 94:
        return "nacha"
    if text.startswith("ISA") or re.match(r"^ST.820", text):
        return "x12_820"
    if re.search(r"(^|\n)(\{1:|:20:)", text) and ":25:" in text:
        return "mt940"
    first = text.splitlines()[0].lower() if text else ""
    if "payout_id" in first and ("gross" in first or "amount" in first):
        return "payout_csv"
    raise FileRejected(
        filename,
        [
            RowError(
                1,
                "(format)",
                text[:20].strip(),
                "unknown format: not BAI2, camt.053/054, MT940/942, NACHA, X12 820 or a payout CSV",
            )
        ],
    )


def parser_for(fmt: str) -> Callable[[bytes, str], BankFile]:
    key = ALIASES.get(fmt.lower(), fmt.lower())
    if key not in PARSERS:
        raise FileRejected(
            "", [], f"unknown format {fmt!r} (expected auto or one of {', '.join(PARSERS)})"
        )
    module, name = PARSERS[key]
    parser: Callable[[bytes, str], BankFile] = getattr(importlib.import_module(module), name)
    return parser


def parse_bank_file(data: bytes, filename: str, fmt: str = "auto") -> BankFile:
    if not data.strip():
        raise FileRejected(filename, [], f"{filename}: the file is empty; nothing imported")
    chosen = detect_format(data, filename) if fmt == "auto" else fmt
    return parser_for(chosen)(data, filename)
