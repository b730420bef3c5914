"""Validate UBL and CII e-invoices against EN 16931 and Peppol BIS Billing 3.0.

A document goes through the same layers as the official validators:

1. it must be well-formed XML (without a DOCTYPE) and valid against the XSD of its syntax
   (UBL 2.1 Invoice or CreditNote, or UN/CEFACT CII D16B), checked offline with lxml; as in the
   official validators, the business rules run only on a schema-valid document (they assume
   its data types, e.g. that an amount is a number);
2. it must pass the EN 16931 business rules for that syntax (compiled Schematron, XSLT 2.0);
3. a UBL document, when ``peppol=True``, must also pass Peppol BIS Billing 3.0: its bundled
   EN 16931 rules (``CEN-EN16931-UBL``) and the Peppol rules (``PEPPOL-EN16931-UBL``).
   Peppol ships no CII rules here, so a CII document is checked against EN 16931 only.

A document is valid when no XSD error and no Schematron ``failed-assert`` flagged ``fatal``
remains; other flags are reported as warnings. The rule files are the official ones shipped in
``billfold/data/einvoice`` (see the NOTICE.md there); they are compiled by SaxonC-HE once per
process, on first use, and reused.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any, Final, Literal, cast

from lxml import etree
from saxonche import PySaxonApiError, PySaxonProcessor  # type: ignore[import-not-found, unused-ignore]

from billfold.errors import InvalidInput

Syntax = Literal["ubl-invoice", "ubl-creditnote", "cii"]
Source = Literal["xsd", "en16931", "peppol"]

_ROOT_NAMESPACES: Final[dict[str, Syntax]] = {
    "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2": "ubl-invoice",
    "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2": "ubl-creditnote",
    "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100": "cii",
}

_SCHEMA_FILES: Final[dict[Syntax, str]] = {
    "ubl-invoice": "schemas/ubl-2.1/maindoc/UBL-Invoice-2.1.xsd",
    "ubl-creditnote": "schemas/ubl-2.1/maindoc/UBL-CreditNote-2.1.xsd",
    "cii": "schemas/cii-d16b/CII/uncefact/data/standard/CrossIndustryInvoice_100pD16B.xsd",
}

_SVRL: Final = "{http://purl.oclc.org/dsdl/svrl}"
_ERROR_FLAGS: Final = frozenset({"fatal", "error"})
_ID_PREFIX: Final = re.compile(r"^\s*\[([^\]]+)\]\s*-?\s*")
_NAMESPACE_TEST: Final = re.compile(r"\[namespace-uri\(\)='[^']*'\]")


@dataclass(frozen=True)
class _Ruleset:
    """One compiled Schematron stylesheet and the source its findings are attributed to."""

    path: str
    source: Source


_EN16931_UBL: Final = _Ruleset("en16931/xslt/EN16931-UBL-validation.xslt", "en16931")
_EN16931_CII: Final = _Ruleset("en16931/xslt/EN16931-CII-validation.xslt", "en16931")
_PEPPOL_CEN: Final = _Ruleset("peppol-bis3/xslt/CEN-EN16931-UBL.xslt", "peppol")
_PEPPOL_BIS: Final = _Ruleset("peppol-bis3/xslt/PEPPOL-EN16931-UBL.xslt", "peppol")

# Compiled stylesheets and loaded schemas, built on first use and kept for the process. The
# re-entrant lock guards the caches and every SaxonC call, and each XMLSchema's error log.
_LOCK: Final = threading.RLock()
_saxon: Any = None
_stylesheets: dict[_Ruleset, Any] = {}
_schemas: dict[Syntax, etree.XMLSchema] = {}


@dataclass(frozen=True)
class Finding:
    """One broken rule: its id (``BR-CO-15``, ``PEPPOL-EN16931-R001``, ``XSD``, ``XML``...),
    the Schematron flag (``fatal``, ``warning``...), where in the document, and what is wrong."""

    rule_id: str
    flag: str
    location: str
    message: str
    source: Source

    @property
    def is_error(self) -> bool:
        """True when the finding makes the document invalid."""
        return self.flag in _ERROR_FLAGS


@dataclass(frozen=True)
class ValidationReport:
    """The outcome of validating one document.

    ``syntax`` is None when the input is not an XML document of a known e-invoice syntax.
    """

    syntax: Syntax | None
    errors: tuple[Finding, ...]
    warnings: tuple[Finding, ...]

    @property
    def ok(self) -> bool:
        """True when the document has no error (warnings do not count)."""
        return not self.errors


class EInvoiceInvalid(InvalidInput):
    """An e-invoice that fails its schema or business rules; ``findings`` lists every error."""

    code = "einvoice_invalid"

    def __init__(self, document: str, findings: tuple[Finding, ...]) -> None:
        self.document = document
        self.findings = findings
        super().__init__(_failure_message(document, findings))

    def __str__(self) -> str:
        return self.message


class _NotAnInvoice(Exception):
    """Internal: the input cannot be validated at all; carries the one finding that says why."""

    def __init__(self, finding: Finding) -> None:
        super().__init__(finding.message)
        self.finding = finding


# --- public API ----------------------------------------------------------------------------


def detect_syntax(xml_bytes: bytes) -> Syntax:
    """Tell the e-invoice syntax of a document from the namespace of its root element.

    Raises ValueError when the input is not well-formed XML or not a UBL Invoice, UBL
    CreditNote or CII CrossIndustryInvoice.
    """
    try:
        return _syntax_of(_parse(xml_bytes))
    except _NotAnInvoice as exc:
        raise ValueError(exc.finding.message) from None


def validate_einvoice(xml_bytes: bytes, *, peppol: bool = True) -> ValidationReport:
    """Check a UBL or CII document against its XSD, EN 16931 and (UBL only) Peppol BIS 3.0.

    Never raises for a bad document: unparsable input, an unknown root element and XSD errors
    all come back as findings. The Schematron layers run once the document is schema-valid.
    """
    try:
        root = _parse(xml_bytes)
        syntax = _syntax_of(root)
    except _NotAnInvoice as exc:
        return ValidationReport(syntax=None, errors=(exc.finding,), warnings=())
    findings = _xsd_findings(root, syntax) or _schematron_findings(root, syntax, peppol)
    unique = list(_unique(findings))
    return ValidationReport(
        syntax=syntax,
        errors=tuple(f for f in unique if f.is_error),
        warnings=tuple(f for f in unique if not f.is_error),
    )


def raise_if_invalid(report: ValidationReport, document_name: str) -> None:
    """Raise EInvoiceInvalid naming ``document_name`` and every error, if the report has any."""
    if not report.ok:
        raise EInvoiceInvalid(document_name, report.errors)


def warm_up(*, peppol: bool = True) -> None:
    """Load every schema and compile every stylesheet now instead of on first use."""
    for syntax in _SCHEMA_FILES:
        _schema(syntax)
        for ruleset in _rulesets(syntax, peppol):
            _stylesheet(ruleset)


# --- parsing and syntax ----------------------------------------------------------------------


def _parse(xml_bytes: bytes) -> etree._Element:
    """Parse untrusted bytes without resolving entities or touching the network."""
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    try:
        root = etree.fromstring(xml_bytes, parser)
    except etree.XMLSyntaxError as exc:
        message = f"not well-formed XML: {exc.msg}"
        raise _NotAnInvoice(_fatal("XML", f"line {exc.lineno}", message, "xsd")) from None
    if root.getroottree().docinfo.internalDTD is not None:
        raise _NotAnInvoice(
            _fatal("XML", "DOCTYPE", "an e-invoice must not contain a DOCTYPE declaration", "xsd")
        )
    return root


def _syntax_of(root: etree._Element) -> Syntax:
    """Map the root element's namespace to a syntax."""
    qname = etree.QName(root)
    syntax = _ROOT_NAMESPACES.get(qname.namespace or "")
    if syntax is None:
        message = (
            f"root element {qname.text} is not a UBL 2.1 Invoice or CreditNote "
            "nor a CII D16B CrossIndustryInvoice"
        )
        raise _NotAnInvoice(_fatal("SYNTAX", f"/{qname.localname}", message, "xsd"))
    return syntax


def _fatal(rule_id: str, location: str, message: str, source: Source) -> Finding:
    return Finding(rule_id=rule_id, flag="fatal", location=location, message=message, source=source)


# --- XSD -------------------------------------------------------------------------------------


def _xsd_findings(root: etree._Element, syntax: Syntax) -> list[Finding]:
    """Validate against the shipped XSD; one finding per schema error."""
    schema = _schema(syntax)
    with _LOCK:  # an XMLSchema keeps the error log of its last run on itself
        if schema.validate(root):
            return []
        entries = list(cast("Iterable[Any]", schema.error_log))
    return [_xsd_finding(entry) for entry in entries]


def _xsd_finding(entry: Any) -> Finding:
    """One lxml schema error log entry as a finding."""
    return _fatal("XSD", f"line {entry.line}", f"line {entry.line}: {entry.message}", "xsd")


# --- Schematron ----------------------------------------------------------------------------


def _rulesets(syntax: Syntax, peppol: bool) -> tuple[_Ruleset, ...]:
    """The Schematron stylesheets that apply to a syntax, in the order they run."""
    if syntax == "cii":
        return (_EN16931_CII,)
    if peppol:
        return (_EN16931_UBL, _PEPPOL_CEN, _PEPPOL_BIS)
    return (_EN16931_UBL,)


def _schematron_findings(root: etree._Element, syntax: Syntax, peppol: bool) -> list[Finding]:
    """Run each applicable stylesheet on the document and collect its SVRL findings."""
    rulesets = _rulesets(syntax, peppol)
    executables = [_stylesheet(ruleset) for ruleset in rulesets]
    text = etree.tostring(root, encoding="unicode")
    findings: list[Finding] = []
    with _LOCK:  # SaxonC does not document its objects as safe for concurrent use
        document = _processor().parse_xml(xml_text=text)
        for ruleset, executable in zip(rulesets, executables, strict=True):
            findings.extend(_run_stylesheet(executable, document, ruleset))
    return findings


def _run_stylesheet(executable: Any, document: Any, ruleset: _Ruleset) -> list[Finding]:
    """Transform the document into SVRL; a dynamic error becomes a finding, not a crash."""
    try:
        svrl: str | None = executable.transform_to_string(xdm_node=document)
    except PySaxonApiError as exc:
        return [_engine_failure(ruleset, str(exc))]
    if not svrl:
        return [_engine_failure(ruleset, "the stylesheet produced no SVRL report")]
    return list(_svrl_findings(svrl, ruleset.source))


def _engine_failure(ruleset: _Ruleset, problem: str) -> Finding:
    detail = " ".join(problem.split())
    message = f"{ruleset.path.rsplit('/', 1)[-1]} could not check the document: {detail}"
    return _fatal("SCHEMATRON", "/", message, ruleset.source)


def _svrl_findings(svrl: str, source: Source) -> Iterator[Finding]:
    """Turn every failed assert and successful report of an SVRL document into a Finding."""
    report = etree.fromstring(svrl.encode(), etree.XMLParser(resolve_entities=False))
    for element in report.iter(f"{_SVRL}failed-assert", f"{_SVRL}successful-report"):
        text = " ".join((element.findtext(f"{_SVRL}text") or "").split())
        prefix = _ID_PREFIX.match(text)
        rule_id = element.get("id") or (prefix.group(1) if prefix else "?")
        yield Finding(
            rule_id=rule_id,
            flag=element.get("flag") or "fatal",
            location=_NAMESPACE_TEST.sub("", element.get("location") or "").replace("*:", ""),
            message=text[prefix.end() :] if prefix else text,
            source=source,
        )


def _unique(findings: Iterable[Finding]) -> Iterator[Finding]:
    """Drop repeats of a rule at the same place.

    The Peppol bundle carries its own (older) copy of the EN 16931 UBL rules, so with
    ``peppol=True`` a broken EN 16931 rule would otherwise be reported twice; the first
    report, from the EN 16931 release, is kept.
    """
    seen: set[tuple[str, str, str]] = set()
    for finding in findings:
        key = (finding.rule_id, finding.flag, finding.location)
        if key not in seen:
            seen.add(key)
            yield finding


# --- compiled artefacts ----------------------------------------------------------------------


def _data_file(relative: str) -> Path:
    """The path of a shipped file, given relative to billfold/data/einvoice."""
    resource = files("billfold") / "data" / "einvoice"
    for part in relative.split("/"):
        resource = resource / part
    if not isinstance(resource, Path):
        raise RuntimeError(
            "billfold must be installed as files on disk to validate e-invoices, "
            f"not as {type(resource).__name__}"
        )
    return resource


def _processor() -> Any:
    """The process's one SaxonC-HE processor."""
    global _saxon
    with _LOCK:
        if _saxon is None:
            _saxon = PySaxonProcessor(license=False)
        return _saxon


def _stylesheet(ruleset: _Ruleset) -> Any:
    """The compiled stylesheet of a ruleset, compiled on first use."""
    with _LOCK:
        executable = _stylesheets.get(ruleset)
        if executable is None:
            compiler = _processor().new_xslt30_processor()
            path = _data_file(ruleset.path)
            executable = compiler.compile_stylesheet(stylesheet_file=str(path))
            _stylesheets[ruleset] = executable
        return executable


def _schema(syntax: Syntax) -> etree.XMLSchema:
    """The XSD of a syntax, loaded on first use (imports resolve to the shipped files)."""
    with _LOCK:
        schema = _schemas.get(syntax)
        if schema is None:
            schema = etree.XMLSchema(etree.parse(str(_data_file(_SCHEMA_FILES[syntax]))))
            _schemas[syntax] = schema
        return schema


def _failure_message(document: str, findings: tuple[Finding, ...]) -> str:
    """'<document> fails N e-invoice rules:' then one indented line per finding."""
    count = len(findings)
    lines = [f"{document} fails {count} e-invoice rule{'' if count == 1 else 's'}:"]
    lines += [f"  {f.rule_id} [{f.source}] {f.message}" for f in findings]
    return "\n".join(lines)
