"""Sending e-mail over SMTP, configured from the environment.

=========================  ===========================================================
``BILLFOLD_SMTP_HOST``     the server (required to send)
``BILLFOLD_SMTP_PORT``     default 25 (587 is usual with STARTTLS)
``BILLFOLD_SMTP_USER``     log in as this user (with the password), optional
``BILLFOLD_SMTP_PASSWORD`` its password; never has a default, never printed
``BILLFOLD_SMTP_STARTTLS`` ``true`` to upgrade the connection with STARTTLS before sending
``BILLFOLD_SMTP_FROM``     the sender, ``billing@example.com`` or ``Acme <billing@...>``
``BILLFOLD_SMTP_TIMEOUT``  seconds to wait for the server, default 30
=========================  ===========================================================

``SmtpSender`` keeps one connection open for a whole run (``with sender: ...``) and reconnects
once if the server dropped it. Each message is an ``EmailMessage`` with a plain-text part (and an
HTML alternative when given), its own ``Message-ID`` and ``Auto-Submitted: auto-generated``.

Errors say what happened without customer data: addresses and bodies are personal data, so they
are never logged and are masked out of the server's replies before those become messages.

    MailError (BillfoldError)
    ├── MailConfigError        the environment does not describe a usable server
    ├── MailServerUnavailable  connection refused, timed out, dropped, login or sender refused:
    │                          no further message can go out now
    └── MailRejected           the server refused this one message (recipient, content)
"""

from __future__ import annotations

import contextlib
import email.policy
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from types import TracebackType
from typing import Protocol, Self

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from billfold.errors import BillfoldError, InvalidInput
from billfold.services.context import utc_now


class MailError(BillfoldError):
    code = "mail_error"


class MailConfigError(InvalidInput):
    code = "mail_config"


class MailServerUnavailable(MailError):
    code = "mail_server_unavailable"


class MailRejected(MailError):
    code = "mail_rejected"


_ADDRESS = re.compile(r"[^\s<>@\"']+@[^\s<>@\"']+")


def redact(text: str) -> str:
    """``text`` with every e-mail address replaced by ``<address>``."""
    return _ADDRESS.sub("<address>", text)


@dataclass(frozen=True, slots=True)
class OutgoingMail:
    """One message: recipient, subject, plain text and an optional HTML alternative."""

    to: str
    subject: str
    text: str
    html: str | None = None


class MailSender(Protocol):
    """What a dunning run needs from a mailer: a session (``with``) and ``send``."""

    def __enter__(self) -> Self: ...

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None: ...

    def send(self, mail: OutgoingMail) -> str:
        """Hand the message to the server; returns its Message-ID once the server accepted it."""
        ...


class SmtpSettings(BaseSettings):
    """The SMTP server from ``BILLFOLD_SMTP_*`` (see the module docstring)."""

    model_config = SettingsConfigDict(
        env_prefix="BILLFOLD_SMTP_", extra="ignore", populate_by_name=True
    )

    host: str | None = None
    port: int = Field(default=25, ge=1, le=65535)
    user: str | None = None
    password: SecretStr | None = None
    starttls: bool = False
    sender: str | None = Field(default=None, validation_alias="BILLFOLD_SMTP_FROM")
    timeout: float = Field(default=30.0, gt=0)  # float-ok: timing


def load_smtp_settings() -> SmtpSettings:
    try:
        return SmtpSettings()
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "BILLFOLD_SMTP_" + str(first["loc"][0]).upper() if first["loc"] else "BILLFOLD_SMTP"
        if name == "BILLFOLD_SMTP_BILLFOLD_SMTP_FROM":
            name = "BILLFOLD_SMTP_FROM"
        raise MailConfigError(f"{name}: {first['msg']}") from None


def _sender_address(settings: SmtpSettings) -> Address:
    if not settings.sender:
        raise MailConfigError("set BILLFOLD_SMTP_FROM to the sender address (billing@...)")
    display, addr = parseaddr(settings.sender)
    if "@" not in addr or addr.startswith("@") or addr.endswith("@"):
        raise MailConfigError(
            f"BILLFOLD_SMTP_FROM {settings.sender!r} is not an e-mail address "
            "(billing@example.com or Name <billing@example.com>)"
        )
    local, domain = addr.rsplit("@", 1)
    return Address(display_name=display, username=local, domain=domain)


class SmtpSender:
    """An SMTP session reused for every message of a run; see the module docstring."""

    def __init__(self, settings: SmtpSettings) -> None:
        if not settings.host:
            raise MailConfigError("set BILLFOLD_SMTP_HOST (and BILLFOLD_SMTP_PORT) to send mail")
        if bool(settings.user) != bool(settings.password):
            raise MailConfigError("BILLFOLD_SMTP_USER and BILLFOLD_SMTP_PASSWORD go together")
        self.settings = settings
        self.host: str = settings.host
        self.from_address = _sender_address(settings)
        self._smtp: smtplib.SMTP | None = None

    @classmethod
    def from_environment(cls) -> SmtpSender:
        return cls(load_smtp_settings())

    @property
    def where(self) -> str:
        return f"{self.host}:{self.settings.port}"

    # -- session ------------------------------------------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def open(self) -> None:
        """Connect (and STARTTLS, log in) unless connected; MailServerUnavailable if it fails."""
        if self._smtp is not None:
            return
        s = self.settings
        try:
            smtp = smtplib.SMTP(self.host, s.port, timeout=s.timeout)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailServerUnavailable(
                f"cannot connect to the SMTP server {self.where}: {_reason(exc)}"
            ) from None
        try:
            smtp.ehlo()
            if s.starttls:
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
            if s.user and s.password:
                smtp.login(s.user, s.password.get_secret_value())
        except smtplib.SMTPAuthenticationError as exc:
            _quit(smtp)
            raise MailServerUnavailable(
                f"the SMTP server {self.where} refused the login of BILLFOLD_SMTP_USER "
                f"({exc.smtp_code})"
            ) from None
        except (OSError, smtplib.SMTPException) as exc:
            _quit(smtp)
            raise MailServerUnavailable(
                f"the SMTP server {self.where} failed the session setup: {_reason(exc)}"
            ) from None
        self._smtp = smtp

    def close(self) -> None:
        if self._smtp is not None:
            _quit(self._smtp)
            self._smtp = None

    # -- messages -----------------------------------------------------------------------------
    def build(self, mail: OutgoingMail) -> EmailMessage:
        """The message as it goes out (policy SMTP: CRLF line ends, headers folded for SMTP)."""
        msg = EmailMessage(policy=email.policy.SMTP)
        msg["From"] = self.from_address
        msg["To"] = mail.to
        msg["Subject"] = mail.subject
        msg["Date"] = format_datetime(utc_now())
        msg["Message-ID"] = make_msgid(domain=self.from_address.domain)
        msg["Auto-Submitted"] = "auto-generated"
        msg.set_content(mail.text)
        if mail.html is not None:
            msg.add_alternative(mail.html, subtype="html")
        return msg

    def send(self, mail: OutgoingMail) -> str:
        """Send one message; its Message-ID once the server accepted it.

        MailRejected: the server refused this message (others may still go out).
        MailServerUnavailable: the server cannot be reached or dropped the session twice.
        """
        try:
            msg = self.build(mail)
            recipients = [a.addr_spec for a in msg["To"].addresses]
            sender = self.from_address.addr_spec
            # flattened once: send_message would parse the headers and flatten again
            data = (
                msg.as_bytes() if sender.isascii() and all(map(str.isascii, recipients)) else None
            )
        except (ValueError, TypeError, IndexError) as exc:  # a malformed address or header
            raise MailRejected(f"the message could not be built: {redact(str(exc))}") from None
        if not recipients:
            raise MailRejected("the message has no recipient address")
        for attempt in (1, 2):
            self.open()
            assert self._smtp is not None
            try:
                if data is None:
                    self._smtp.send_message(msg)  # SMTPUTF8 for international addresses
                else:
                    self._smtp.sendmail(sender, recipients, data)
                return str(msg["Message-ID"])
            except smtplib.SMTPRecipientsRefused as exc:
                codes = sorted({code for code, _ in exc.recipients.values()})
                raise MailRejected(
                    f"recipient refused ({', '.join(str(c) for c in codes)})"
                ) from None
            except smtplib.SMTPSenderRefused as exc:
                self.close()
                raise MailServerUnavailable(
                    f"the SMTP server {self.where} refused the sender BILLFOLD_SMTP_FROM "
                    f"({exc.smtp_code} {redact(_text(exc.smtp_error))})"
                ) from None
            except smtplib.SMTPDataError as exc:
                if 400 <= exc.smtp_code < 500 and attempt == 1:
                    continue  # a temporary refusal: try once more
                raise MailRejected(
                    f"message refused ({exc.smtp_code} {redact(_text(exc.smtp_error))})"
                ) from None
            except (smtplib.SMTPServerDisconnected, OSError) as exc:
                self.close()  # dropped: reconnect once, then give up
                if attempt == 2:
                    raise MailServerUnavailable(
                        f"the SMTP server {self.where} dropped the connection: {_reason(exc)}"
                    ) from None
            except smtplib.SMTPException as exc:
                self.close()
                raise MailServerUnavailable(
                    f"the SMTP server {self.where} failed: {_reason(exc)}"
                ) from None
        raise MailRejected("the server refused the message twice (temporary error)")


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def _reason(exc: BaseException) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    if isinstance(exc, socket.timeout | TimeoutError):
        return "timed out"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"{exc.smtp_code} {redact(_text(exc.smtp_error))}"
    text = str(exc) or type(exc).__name__
    return redact(text)


def _quit(smtp: smtplib.SMTP) -> None:
    try:
        smtp.quit()
    except (OSError, smtplib.SMTPException):
        with contextlib.suppress(OSError):
            smtp.close()
