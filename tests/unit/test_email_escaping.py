"""What people write reaches emails as text, never as markup.

Every kind of email the portal sends (every template of templates/email/ that is not a
partial) is built through the real services with hostile values in every field a person
controls: an order's title, display names (client, writer, managers, an invitee), notes of
events (a revision's reason, a delivery note, a cancellation, a new deadline, an assignment),
the rating comment, message bodies and internal notes, file names, a pending email address.
The HTML part is then parsed: none of their tags is an element, none of their attributes an
attribute, and each value the text part shows is in the HTML part's text, escaped.

The emails' lines are lazy strings (flask_babel's LazyString has `__html__`, so Jinja trusts
them); the rule holds whatever wraps a value (portal.notifications.outbox.as_text).
"""

from __future__ import annotations

import inspect
import io
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
import sqlalchemy as sa
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from markupsafe import Markup
from werkzeug.datastructures import FileStorage

from portal.accounts.models import Role, User
from portal.auth import service as auth_service
from portal.auth.tokens import make_token
from portal.extensions import db, utcnow
from portal.messaging.service import post_message
from portal.notifications import service as notifications
from portal.notifications.inbox import EmailMode, NotificationKind
from portal.notifications.models import OutboxEmail
from portal.notifications.outbox import email_templates
from portal.orders import emails
from portal.orders.models import Order, OrderStatus
from portal.orders.workflow import Action
from tests.factories import Factory

# Short enough for a display name (80 characters) with its label; no "/" outside the script
# tag, which a file name loses with its folders.
PAYLOAD = '<img src=x onerror=alert(1)>"><script>alert(1)</script>&amp;'
FILE_NAME = 'file<img src=x onerror=alert(2)>"&.txt'
HOSTILE_TAGS = {"img", "script"}


def hostile(label: str) -> str:
    return f"{label} {PAYLOAD}"


class Parsed(HTMLParser):
    """The elements, attribute names and text of an HTML document."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: set[str] = set()
        self.chunks: list[str] = []
        self.feed(html)
        self.close()

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attributes |= {name for name, _value in attrs}

    handle_startendtag = handle_starttag

    def handle_data(self, data):
        self.chunks.append(data)

    @property
    def text(self) -> str:
        return "".join(self.chunks)


def email_kinds(app) -> set[str]:
    folder = Path(app.jinja_loader.searchpath[0]) / "email"
    return {path.stem for path in folder.glob("*.html") if not path.name.startswith("_")}


@pytest.fixture
def upload_dir(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(tmp_path / "uploads"))


def build_every_email(app, factory) -> tuple[dict[str, str], set[str]]:
    """Every kind of email, through the services, with hostile values; returns the values
    {field: value} and the order notifiers called."""
    values = {field: hostile(field) for field in (
        "title", "client", "writer", "previous-writer", "manager", "digest-manager", "changer",
        "invitee", "note", "rating", "body", "internal", "signup", "company", "reference",
        "rejection", "credit-note", "payout")}
    values["file"] = FILE_NAME
    values["pending"] = f'pending{PAYLOAD}@example.test'
    tier = factory.tier()
    client = factory.user(Role.CLIENT, name=values["client"], locale="en",
                          company=values["company"])
    writer = factory.writer(tiers=[tier], languages=["fr"])
    previous = factory.writer(tiers=[tier], languages=["fr"])
    manager = factory.user(Role.MANAGER, name=values["manager"])
    digest_manager = factory.user(Role.MANAGER, name=values["digest-manager"], locale="en")
    unconfirmed = factory.user(Role.CLIENT, name=values["client"], confirmed=False)
    changer = factory.user(Role.CLIENT, name=values["changer"])
    called: set[str] = set()

    with app.app_context():
        session = db.session
        for person, name in ((writer, values["writer"]), (previous, values["previous-writer"])):
            session.get(User, person.id).display_name = name
        notifications.set_preferences(session.get(User, digest_manager.id),
                                      dict.fromkeys(NotificationKind, EmailMode.DIGEST), 18)
        session.commit()

    order = factory.order(status=OrderStatus.IN_PROGRESS, client=client, writer=writer,
                          tier=tier, title=values["title"])

    with app.app_context():
        session = db.session
        # Accounts: confirmation (new and changed address), address changed, reset, invitation.
        auth_service.send_confirmation(session.get(User, unconfirmed.id))
        person = session.get(User, changer.id)
        person.pending_email = values["pending"]
        person.pending_email_expires_at = utcnow() + timedelta(hours=48)
        auth_service.send_confirmation(person)
        auth_service.confirm_email(make_token("confirm", {"uid": person.id,
                                                          "email": values["pending"]}))
        auth_service.request_password_reset(client.email)
        # Sign-up: a free address gets its link, a taken one tells its owner; a login link.
        auth_service.sign_up_client(email="newcomer@example.test", password=Factory.PASSWORD,
                                    display_name=values["signup"], locale="en",
                                    timezone="Africa/Lome")
        auth_service.sign_up_client(email=client.email, password=Factory.PASSWORD,
                                    display_name=values["signup"], locale="en",
                                    timezone="Africa/Lome")
        auth_service.email_login_link(client.email, Factory.PASSWORD)
        auth_service.invite(manager=session.get(User, manager.id),
                            email="invitee@example.test", display_name=values["invitee"],
                            role=Role.WRITER, locale="en")
        session.commit()

        # Every order email, each notifier called once with a person's note.
        stored = session.get(Order, order.id)
        stored.preferred_writer_id = writer.id
        stored.rating, stored.rating_comment = 2, values["rating"]
        stored.delivered_at = utcnow()
        event = SimpleNamespace(id=1, note=values["note"], action=Action.ASSIGN)
        calls = {
            "notify_submitted": lambda: emails.notify_submitted(stored, event, None),
            "notify_taken": lambda: emails.notify_taken(stored, event, None),
            "notify_unassigned": lambda: emails.notify_unassigned(
                stored, event, session.get(User, previous.id)),
            "notify_delivered": lambda: emails.notify_delivered(stored, event, None),
            "notify_in_review": lambda: emails.notify_in_review(stored, event, None),
            "notify_returned": lambda: emails.notify_returned(stored, event, None),
            "notify_revision": lambda: emails.notify_revision(stored, event, None),
            "notify_approved": lambda: emails.notify_approved(stored, event, None),
            "notify_auto_approved": lambda: emails.notify_auto_approved(stored, event, None),
            "notify_cancelled": lambda: emails.notify_cancelled(
                stored, event, session.get(User, client.id)),
            "notify_deadline_soon": lambda: emails.notify_deadline_soon(stored),
            "notify_overdue": lambda: emails.notify_overdue(stored),
            "notify_review_reminder": lambda: emails.notify_review_reminder(stored, 3),
            "notify_deadline_extended": lambda: emails.notify_deadline_extended(stored, event),
            "notify_awaiting_payment": lambda: emails.notify_awaiting_payment(stored, event,
                                                                              None),
        }
        for name, call in calls.items():
            call()
            called.add(name)
        session.flush()
        session.expire(stored)
        session.commit()

        # Messages and an internal note, with a file: the burst, then the digest.
        stored = session.get(Order, order.id)
        post_message(stored, session.get(User, client.id), values["body"] + "\nsecond line",
                     files=[FileStorage(io.BytesIO(b"Some notes."), filename=values["file"])])
        post_message(stored, session.get(User, manager.id), values["internal"], internal=True)
        session.commit()
        notifications.send_message_bursts(now=utcnow() + timedelta(hours=1))
        session.commit()
        notifications.send_digests(now=utcnow() + timedelta(days=2))
        session.commit()
        build_money_emails(values, session.get(User, client.id), session.get(User, manager.id),
                           session.get(User, writer.id), session.get(Order, order.id))
        session.commit()
    return values, called


def build_money_emails(values, client, manager, writer, order) -> None:
    """Money: a proforma, a payment declared with a hostile reference and confirmed (the
    deposit invoice), another rejected with a hostile reason, a credit note, a payout."""
    from portal.billing import earnings, invoices, payments
    from portal.billing.models import Invoice, PaymentMethod

    proforma = payments.request_topup(client, 20_000)
    declared = payments.declare_for_proforma(
        client, proforma, payments.Declaration(PaymentMethod.FLOOZ, values["reference"], 20_000))
    payments.confirm(declared, manager)
    other = payments.request_topup(client, 5_000)
    refused = payments.declare_for_proforma(
        client, other, payments.Declaration(PaymentMethod.MIXX, "MX-2", 5_000))
    payments.reject(refused, manager, values["rejection"])
    deposit = db.session.scalar(sa.select(Invoice).where(Invoice.company_id ==
                                                         declared.company_id))
    invoices.issue_credit_note(deposit, manager, 1_000, values["credit-note"])
    order.writer_pay_total = max(order.writer_pay_total or 0,
                                 current_app.config["PAYOUT_THRESHOLD"])
    earnings.earn(order)
    earnings.pay_out(manager, [earnings.PayoutLine(writer.id, PaymentMethod.FLOOZ,
                                                   values["payout"])])


def test_every_email_kind_shows_what_people_wrote_as_text(app, factory, upload_dir):
    values, called = build_every_email(app, factory)
    with app.app_context():
        rows = list(db.session.scalars(sa.select(OutboxEmail).order_by(OutboxEmail.id)))

    notifiers = {name for name, function in inspect.getmembers(emails, inspect.isfunction)
                 if name.startswith("notify_") and function.__module__ == emails.__name__}
    assert notifiers - called == set(), "an order email this test does not build: add it"
    assert email_kinds(app) - {row.kind for row in rows} == set(), \
        "an email kind this test does not build: add it"

    shown: set[str] = set()
    for row in rows:
        html = Parsed(row.html_body)
        assert not HOSTILE_TAGS & set(html.tags), (row.kind, row.html_body)
        assert not {name for name in html.attributes if name.startswith("on")}, row.kind
        for field, value in values.items():
            if value in row.text_body:
                assert value in html.text, f"{field} in {row.kind} is not shown as text"
                shown.add(field)
    assert set(values) - shown == set(), "fields that reached no email"


def test_the_email_environment_escapes_whatever_wraps_a_value(app):
    """The rule is the environment's, not each template's: a lazy string printed, joined or
    passed to _() is escaped; Markup stays markup."""
    with app.app_context():
        lazy = _l("Order %(ref)s received: %(title)s", ref="R-1", title=PAYLOAD)
        assert hasattr(lazy, "__html__")  # why Jinja would trust it
        template = email_templates().from_string(
            "{{ lazy }}|{{ lines|join(', ') }}|{{ _('Hello %(name)s,', name=lazy) }}|"
            "{{ lazy|e }}|{{ items|join(attribute='text') }}|{{ bold }}")
        html = template.render(lazy=lazy, lines=[lazy, lazy], bold=Markup("<b>kept</b>"),
                               items=[SimpleNamespace(text=lazy)])
    parsed = Parsed(html)
    assert set(parsed.tags) == {"b"}
    assert parsed.text.count(PAYLOAD) == 6


def test_queue_email_takes_lazy_strings_out_of_containers_and_dataclasses(app):
    """What the template combines itself (`~`, xmlattr) never sees a lazy string from the
    context: queue_email converts the context before rendering."""
    from dataclasses import dataclass

    from portal.notifications.outbox import as_text

    @dataclass(frozen=True)
    class Item:
        text: object
        count: int = 1

    with app.app_context(), force_locale("en"):
        lazy = _l("Approved: %(title)s", title=PAYLOAD)
        converted = as_text({"lines": [lazy, (lazy,)], "item": Item(lazy), "n": 3,
                             "bold": Markup("<b>x</b>")})
    line = f"Approved: {PAYLOAD}"
    assert converted["lines"] == [line, (line,)]
    assert type(converted["lines"][0]) is str and type(converted["lines"][1][0]) is str
    assert converted["item"] == Item(line)
    assert type(converted["item"].text) is str
    assert converted["n"] == 3 and isinstance(converted["bold"], Markup)
