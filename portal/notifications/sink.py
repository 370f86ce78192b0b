"""A local SMTP server for development: keeps every email it receives in a Maildir.

`make run` starts it on loopback so that every email of the portal really crosses SMTP; the
Mailbox page reads what it kept.
"""

from __future__ import annotations

import email
import mailbox
from email import policy
from email.utils import format_datetime
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope, Session

from portal.extensions import utcnow


class MaildirHandler:
    def __init__(self, directory: str | Path, echo=None) -> None:
        self.box = mailbox.Maildir(Path(directory), create=True)
        self.echo = echo

    async def handle_DATA(self, server, session: Session, envelope: Envelope) -> str:
        msg = email.message_from_bytes(envelope.content, policy=policy.default)
        msg["X-Sink-Received"] = format_datetime(utcnow())
        msg["X-Sink-Envelope-To"] = ", ".join(envelope.rcpt_tos)
        self.box.add(msg.as_bytes(policy=policy.SMTP))
        if self.echo:
            self.echo(f"mail sink: {', '.join(envelope.rcpt_tos)} <- {msg.get('Subject', '')}")
        return "250 Message accepted for delivery"


def start_sink(directory: str | Path, host: str, port: int, echo=None) -> Controller:
    controller = Controller(MaildirHandler(directory, echo), hostname=host, port=port)
    controller.start()
    return controller
