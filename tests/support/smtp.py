"""A real SMTP server for the tests (aiosmtpd on 127.0.0.1), and the app settings that
send the outbox to it. The ``smtp_server`` fixture in tests/conftest.py starts one."""
from __future__ import annotations

import email
import threading
from collections import Counter
from email import policy

from aiosmtpd.controller import Controller

from .net import free_port


class Inbox:
    """aiosmtpd handler: keeps every message it receives, parsed."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        parsed = email.message_from_bytes(envelope.original_content or envelope.content, policy=policy.default)
        with self._lock:
            self.messages.append(parsed)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def message_ids(self) -> Counter:
        with self._lock:
            return Counter(m["Message-ID"] for m in self.messages)


class SMTPServer:
    def __init__(self):
        self.port = free_port()
        self.inbox = Inbox()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


def smtp_config(server: SMTPServer) -> dict:
    """App settings (for an ``app_config`` fixture) that deliver mail to ``server``."""
    return {
        "LMS_MAIL_BACKEND": "smtp",
        "LMS_MAIL_SERVER": "127.0.0.1",
        "LMS_MAIL_PORT": server.port,
        "LMS_MAIL_SENDER": "Alliance 8.7 Learning <no-reply@lms.test>",
    }
