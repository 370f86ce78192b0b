"""Every form of the portal receives generated input (Hypothesis): values a browser would send,
hostile ones (NUL, control characters, right-to-left marks, markup, huge strings, numbers out of
any range, absurd dates, repeated fields), missing fields and fields the form does not have
(status, price_total, writer_id, role, client_id, rating…), posted by the person the form is
for, with a valid CSRF token (and now and then a missing or forged one).

For every example:
- no answer is a 5xx, and a redirect never leaves the site;
- nothing stored can break an email: one-line text (names, addresses, titles) holds no control
  character, multi-line text only line breaks (LF) and tabs, and every email queued builds
  with its one recipient and no header slipped in;
- a refused request (an error status, the form shown again, a warning flash, `ok: false`)
  changes nothing in the database and leaves no file behind;
- an accepted one changes only what its form may change (FORMS[…].writes), and never a field
  people may not set: an order's client, its frozen price, a final order, the role of the
  account that signs up, the author of a message…

One example in eight sends the form as a JSON body with values of any JSON type (lists,
objects, huge numbers): only the forms our scripts post (JSON_ENDPOINTS) take JSON, every other
one answers 400.

Besides the generated examples, every text field of every form is sent once with a header
in it (`x\r\nBcc: a@b.test`) and once with C1 and Unicode line separators
(test_every_text_field_takes_control_characters).

FORMS lists every form by hand with who posts it and what it needs; a test fails when a POST
endpoint of the URL map has no entry, so a new form cannot escape fuzzing. Each form's world is
built once through the real services and put back after an example changed it.

Defects these tests found, each kept by a plain test below too: a NUL in a field or a query
(PostgreSQL refuses it: 500), JSON bodies nested deeper than the parser, with lone surrogates,
1e999 or NaN, or lists and objects where a form reads text (500), JSON bodies slipping fields
past StrictForm, a tier price beyond Decimal's precision (500), and a cancellation reason
refused for a control character with a lazy-string message that the view joins (500).

PORTAL_FUZZ_SCALE=10 runs ten times the examples; PORTAL_FUZZ_DEBUG=1 counts accepted and
refused examples per form in the summary.
"""

from __future__ import annotations

import io
import itertools
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote as quote_url
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from portal import JSON_ENDPOINTS
from portal.accounts.models import Invitation, PendingSignup, Role, User
from portal.auth import service as auth_service
from portal.auth.tokens import make_token
from portal.extensions import db, utcnow
from portal.i18n import to_local
from portal.notifications import service as notification_service
from portal.notifications.models import OutboxEmail, OutboxStatus
from portal.orders import uploads
from portal.orders.models import FINAL_STATUSES, Order, OrderStatus, Tier
from portal.orders.pricing import quote
from portal.orders.workflow import Action
from tests.conftest import empty_database
from tests.factories import Factory
from tests.security.fuzz_support import (
    SLOW_IS_FINE,
    allowed_by,
    csrf_token,
    diff,
    email_breakers,
    example_counter,
    examples,
    flashes,
    log_in,
    restore,
    snapshot,
)

EXAMPLES_PER_FORM = examples(int(os.environ.get("PORTAL_FUZZ_EXAMPLES", "20")))
ZONE = "Africa/Lome"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(64))
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"

# --- values ---------------------------------------------------------------------------------

HOSTILE_STRINGS = [
    "", " ", "\t\n", "\x00", "a\x00b", "\x1b[31mred", "\x7f\x08", "\r\n\r\n", "\u202eevil.txt",
    "\ufeff", "\u200b", "<script>alert(1)</script>", '"><img src=x onerror=alert(1)>',
    "{{ 7*7 }}", "${7*7}", "%(name)s %s %n", "' OR '1'='1' --", "../../../etc/passwd",
    "..\\..\\windows", "%00", "-1", "0", "00", "1.5", "1e309", "NaN", "-inf", "2147483648",
    "-2147483649", "9" * 40, "0x1F", "\uff11\uff12\uff13", "٣", "true", "null", "[]", "{}", "None",
    "2030-02-30T10:00", "0001-01-01T00:00", "9999-12-31T23:59", "2030-13-01T25:61", "1970",
    "x" * 256, "é" * 5_000, "\U0001d54f" * 300, "x" * 300_001, "a" * (1 << 20),
    "javascript:alert(1)", "https://evil.example/", "//evil.example", "/\\evil.example",
    "mailto:a@b.c", "admin@example.test\nBcc: victim@example.test",
    # Header-shaped values and the control characters that are not ASCII ones.
    "x\r\nBcc: a@b.test", "x\nSubject: injected", "a\rb", "\x85", "a\u2028b", "a\u2029b",
    "\x0b\x0c\x1c", "\x9b31m", "tab\tinside",
]
# What every text field of every form is sent once (test_every_text_field_takes_control_…).
CONTROL_VALUES = ["x\r\nBcc: a@b.test", "x\x85y\u2028z\x1b"]
# What the autosave may receive that no JSON encoder writes.
RAW_JSON_BODIES = [
    "[" * 100_000, '{"text": ' + "[" * 100_000 + "}", '{"text": "\\ud800", "base_version": 0}',
    '{"text": "a", "base_version": 1e999}', '{"text": "a", "base_version": NaN}',
    '{"text": "a", "base_version": -Infinity}', '{"text": "a\\u0000b", "base_version": 0}',
    "", "{", '{"text": "a"', "\xff\xfe",
]
TEXT_CHARS = st.characters(codec="utf-8", exclude_categories=("Cs",))
HOSTILE = st.one_of(
    st.sampled_from(HOSTILE_STRINGS),
    st.text(TEXT_CHARS, max_size=60),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
# Fields people never set, slipped into any form; the ids are other people's (see World.others).
EXTRA_FIELDS = [
    "status", "price_total", "price_per_word", "writer_pay_total", "writer_id", "client_id",
    "user_id", "author_id", "role", "rating", "active", "id", "order_id", "version",
    "email_confirmed_at", "session_token", "password_hash", "revisions_used",
    "extra_revisions", "is_admin", "internal", "next",
]
EXTRA_VALUES = ["approved", "cancelled", "delivered", "manager", "1", "0", "-5", "5", "true",
                "y", "on", "2030-01-01T00:00"]

PLAIN = st.characters(categories=("L", "N", "Zs", "P"), codec="utf-8")
# What people paste along with their words: NUL and escape characters, direction marks, joiners,
# combining accents, emoji, lone carriage returns.
ODD = st.sampled_from(["\x00", "\x00", "\x00", "\x1b", "\x07", "\u202e", "\u200d", "\ufeff",
                       "\u0301", "\r", "\t", "😀", "\U0010fffd", "\x85", "\u2028", "\n"])


def words(min_size: int = 0, max_size: int = 60) -> st.SearchStrategy[str]:
    """Text a person could type; one time in five with odd characters among the letters."""
    plain = st.text(PLAIN, min_size=min_size, max_size=max_size)
    odd = st.text(st.one_of(PLAIN, ODD), min_size=max(min_size, 1), max_size=max_size)
    return st.one_of(plain, plain, plain, plain, odd)


NAMES = st.one_of(st.sampled_from(["Ama Mensah", "Kodjo Afi", "Ève-Marie N'Guessan"]),
                  words(2, 80))
STRONG_PASSWORDS = st.sampled_from(["une phrase de passe pour le fuzzing 2031",
                                     "Lagune-de-Lomé-Kpalimé-77"])
PASSWORDS = st.one_of(STRONG_PASSWORDS, st.sampled_from([
    Factory.PASSWORD, "password", "short", "x" * 129, "Ama Mensah 1990"]))
CURRENT_PASSWORDS = st.one_of(st.just(Factory.PASSWORD), PASSWORDS)
EMAILS = st.one_of(
    st.integers(1, 10**6).map(lambda n: f"person{n}@example.test"),
    st.sampled_from(["Person@Example.TEST", "no-at-sign", "a@b", "é@exemple.test",
                     "a@例え.test", "a b@example.test", "x" * 250 + "@example.test"]),
)
LOCALES = st.sampled_from(["fr", "en"])
ZONES = st.sampled_from(["Africa/Lome", "Europe/Paris", "UTC", "America/Montreal"])
TOKENS_WRONG = st.sampled_from(["", "x", "eyJ1aWQiOjF9.fake.sig", "a" * 600])


def local_deadline(hours: int) -> str:
    moment = utcnow() + timedelta(hours=hours)
    return to_local(moment, ZONE).strftime("%Y-%m-%dT%H:%M")


DEADLINES = st.integers(min_value=30, max_value=24 * 120).map(local_deadline)
MARKDOWN = st.one_of(words(1, 400), st.sampled_from([
    "# Titre\n\nUn paragraphe **gras** et [un lien](https://example.com).",
    "<script>alert(1)</script>\n\n[x](javascript:alert(1))",
]))


# --- the world an example runs in -----------------------------------------------------------


@dataclass
class Target:
    url: str
    actor: User | None
    ids: dict[str, Any] = field(default_factory=dict)


class World:
    """A catalogue, people whose ids are slipped into forms, and what each form needs. Orders
    are made through the real services (the factory)."""

    def __init__(self, app, factory: Factory) -> None:
        self.app, self.factory = app, factory
        self.tier = factory.tier(min_lead_hours=24)
        self.reviewed_tier = factory.tier(min_lead_hours=24, requires_review=True)
        self.content_type = factory.content_type()
        self.manager = factory.user(Role.MANAGER)  # someone else's ids, and the last manager
        stranger = factory.user(Role.CLIENT)
        other_writer = factory.writer(tiers=[self.tier])
        self.others = [str(stranger.id), str(other_writer.id), str(self.manager.id)]

    def user(self, role: Role | str = Role.CLIENT, **kwargs) -> User:
        return self.factory.user(role, **kwargs)

    def writer(self) -> User:
        return self.factory.writer(languages=["fr", "en"], tiers=[self.tier])

    def order(self, status: OrderStatus, **kwargs) -> Order:
        kwargs.setdefault("tier", self.tier)
        kwargs.setdefault("content_type", self.content_type)
        return self.factory.order(status=status, **kwargs)

    def brief_ids(self, client: User, **more) -> dict:
        return {"tier": self.tier.id, "content_type": self.content_type.id,
                "client": client.id, **more}

    def with_app(self, work: Callable):
        with self.app.app_context():
            result = work()
            db.session.commit()
            return result

    def attach(self, order: Order, user: User) -> int:
        from werkzeug.datastructures import FileStorage

        def add():
            found = db.session.get(Order, order.id)
            person = db.session.get(User, user.id)
            upload = FileStorage(io.BytesIO(b"Notes du client."), filename="notes.txt")
            return uploads.add_attachment(found, person, upload).id

        return self.with_app(add)

    def invitation(self, role: Role = Role.WRITER) -> tuple[str, int]:
        def invite():
            manager = db.session.get(User, self.manager.id)
            invitation = auth_service.invite(manager=manager, email="invited@example.test",
                                             display_name="Invitée", role=role, locale="fr")
            return make_token("invite", {"inv": invitation.id, "email": invitation.email}), \
                invitation.id

        return self.with_app(invite)

    def failed_email(self) -> int:
        def add():
            email = OutboxEmail(idempotency_key="fuzz:failed", kind="test",
                                recipient="someone@example.test", subject="S", text_body="T",
                                html_body="<p>T</p>", message_id="<fuzz@portal.test>",
                                status=OutboxStatus.FAILED, attempts=8)
            db.session.add(email)
            db.session.flush()
            return email.id

        return self.with_app(add)

    def token(self, purpose: str, payload: dict) -> str:
        with self.app.app_context():
            return make_token(purpose, payload)


# --- every form ----------------------------------------------------------------------------

NOTIFY = frozenset({"outbox_emails+", "notifications+"})
# Orders per status, and each writer's open work (writer_loads), moved with the orders.
COUNTS = frozenset({"order_status_counts+", "order_status_counts.count", "writer_loads+",
                    "writer_loads.writing", "writer_loads.review"})
MOVE = NOTIFY | COUNTS | {"orders.status", "orders.updated_at", "orders.version",
                          "order_events+"}
BRIEF_COLUMNS = frozenset(f"orders.{c}" for c in (
    "title", "content_type_id", "language", "words_min", "words_max", "tier_id", "tone",
    "audience", "primary_keyword", "secondary_keywords", "links_to_include", "reference_urls",
    "instructions", "deadline", "preferred_writer_id", "version", "updated_at"))
# The company's row is locked (touched) by a submission; holds, captures and releases write an
# entry and move its sums, and what they add to the agency's figures (finance_deltas).
LOCK = frozenset({"companies.updated_at"})
LEDGER = frozenset({"ledger_entries+", "finance_deltas+"})
HOLD = LOCK | LEDGER | {"companies.held"}
CAPTURE = HOLD | {"companies.balance", "writer_earnings+"}
SUBMIT = MOVE | HOLD | {f"orders.{c}" for c in (
    "submitted_at", "price_per_word", "rush_surcharge", "price_total", "writer_pay_total",
    "currency", "included_revisions", "offered_until")}
# Issuing a document: its number, its PDF, its email.
DOCUMENT = frozenset({"document_counters+", "document_counters.last", "documents+",
                      "outbox_emails+"})
PASSWORD_CHANGE = frozenset({"users.password_hash", "users.password_changed_at",
                             "users.session_token"})


@dataclass(frozen=True)
class Form:
    endpoint: str
    actor: str  # who may post it: anonymous, client, writer or manager
    setup: Callable[[World], Target]
    valid: Callable[[Target], st.SearchStrategy[dict]]  # what a browser would send
    writes: frozenset[str] = frozenset()  # what an accepted request may change
    prefix: str = ""  # the form's field prefix ("assign-writer_id")
    files: tuple[str, ...] = ()  # fields that carry files
    json: bool = False  # posted as JSON (CSRF token in the header), like the autosave

    @property
    def name(self) -> str:
        return f"{self.endpoint}{'[json]' if self.json else ''}"


def fixed(**values) -> Callable[[Target], st.SearchStrategy[dict]]:
    return lambda target: st.fixed_dictionaries(values)


def nothing(target: Target) -> st.SearchStrategy[dict]:
    return st.just({})


def brief(target: Target, **more) -> st.SearchStrategy[dict]:
    ids = target.ids
    fields = st.fixed_dictionaries({
        "title": st.one_of(st.just("Dix idées de sorties à Lomé"), words(3, 200)),
        "content_type_id": st.just(str(ids["content_type"])),
        "language": LOCALES,
        "words_min": st.integers(100, 900).map(str),
        "words_max": st.integers(900, 3000).map(str),
        "tier_id": st.just(str(ids["tier"])),
        "tone": words(0, 120),
        "audience": words(0, 200),
        "primary_keyword": words(0, 120),
        "secondary_keywords": st.lists(words(1, 30), max_size=5).map(", ".join),
        "links_to_include": st.sampled_from(["", "https://example.com/agenda",
                                             "https://example.com/a\nhttp://example.org/b"]),
        "reference_urls": st.sampled_from(["", "https://example.org/guide"]),
        "instructions": words(0, 400),
        "deadline": DEADLINES,
        "preferred_writer_id": st.just(""),
        **more,
    })
    button = st.sampled_from(["save_draft", "save_submit"])  # the button pressed
    return st.tuples(fields, button).map(lambda parts: {**parts[0], parts[1]: "1"})


def new_password(current: bool = False) -> Callable[[Target], st.SearchStrategy[dict]]:
    def make(target: Target):
        parts = {"password": PASSWORDS, "other": PASSWORDS,
                 "same": st.sampled_from([True, True, True, False])}
        if current:
            parts["current_password"] = CURRENT_PASSWORDS
        return st.fixed_dictionaries(parts).map(lambda d: {
            **({"current_password": d["current_password"]} if current else {}),
            "password": d["password"],
            "confirm": d["password"] if d["same"] else d["other"],
        })

    return make


# setups: each returns where to post, as whom, and the ids the valid values need


def anonymous(url: str) -> Callable[[World], Target]:
    return lambda w: Target(url, None)


def a_client(url: str = "", **kwargs) -> Callable[[World], Target]:
    def setup(w: World) -> Target:
        client = w.user(Role.CLIENT, **kwargs)
        return Target(url, client, w.brief_ids(client))

    return setup


def a_manager(url: str) -> Callable[[World], Target]:
    def setup(w: World) -> Target:
        manager = w.user(Role.MANAGER)
        return Target(url, manager, {"tier": w.tier.id})

    return setup


def client_order(status: OrderStatus, path: str, attach: bool = False) -> Callable:
    def setup(w: World) -> Target:
        client = w.user(Role.CLIENT)
        order = w.order(status, client=client)
        ids = w.brief_ids(client, order=order.id, version=order.version)
        if attach:
            ids["attachment"] = w.attach(order, client)
        return Target(path.format(**ids), client, ids)

    return setup


def writer_order(status: OrderStatus, path: str, draft: bool = False) -> Callable:
    def setup(w: World) -> Target:
        writer = w.writer()
        order = w.order(status, **({} if status is OrderStatus.OPEN else {"writer": writer}))
        version = 0
        if draft and status is OrderStatus.IN_PROGRESS:
            from portal.orders import service

            def save():
                found = db.session.get(Order, order.id)
                return service.save_draft(found, db.session.get(User, writer.id),
                                          "Un premier jet.", base_version=0).version

            version = w.with_app(save)
        elif status is OrderStatus.REVISION_REQUESTED:
            with w.app.app_context():
                from portal.orders.models import Draft

                version = db.session.get(Draft, order.id).version
        return Target(path.format(order=order.id), writer,
                      {"order": order.id, "draft_version": version})

    return setup


def manager_order(status: OrderStatus, path: str) -> Callable:
    def setup(w: World) -> Target:
        manager = w.user(Role.MANAGER)
        order = w.order(status)
        candidate = w.writer()
        return Target(path.format(order=order.id), manager,
                      {"order": order.id, "writer": candidate.id,
                       "deadline_from": order.deadline})

    return setup


def consented_order(path: str) -> Callable:
    """An approved order whose client allows it as a sample, for a manager to show."""
    def setup(w: World) -> Target:
        manager = w.user(Role.MANAGER)
        order = w.order(OrderStatus.APPROVED)

        def allow():
            db.session.get(Order, order.id).sample_consent = True

        w.with_app(allow)
        return Target(path.format(order=order.id), manager, {"order": order.id})

    return setup


def editor_order(path: str) -> Callable:
    """An editor, and an order whose delivery waits for review."""
    def setup(w: World) -> Target:
        editor = w.user(Role.EDITOR)
        order = w.order(OrderStatus.IN_REVIEW, tier=w.reviewed_tier)
        return Target(path.format(order=order.id), editor, {"order": order.id})

    return setup


def person_of_manager(path: str, role: Role = Role.WRITER, active: bool = True) -> Callable:
    def setup(w: World) -> Target:
        manager = w.user(Role.MANAGER)
        person = w.user(role, active=active)
        return Target(path.format(user=person.id), manager,
                      {"person": person.id, "tier": w.tier.id})

    return setup


def unconfirmed_client(w: World) -> Target:
    client = w.user(Role.CLIENT, confirmed=False)
    return Target("/confirm/resend", client)


def confirm_link(w: World) -> Target:
    client = w.user(Role.CLIENT, confirmed=False)
    token = w.token("confirm", {"uid": client.id, "email": client.email})
    return Target(f"/confirm/{token}", None)


def login_link(w: World) -> Target:
    client = w.user(Role.CLIENT)
    with w.app.app_context():
        fingerprint = auth_service._login_fingerprint(db.session.get(User, client.id))
    return Target(f"/login/link/{w.token('login', {'uid': client.id, 'fp': fingerprint})}",
                  None)


def signup_link(w: World) -> Target:
    n = next(_signups)
    with w.app.app_context():
        auth_service.sign_up_client(email=f"attente{n}@example.test", password=Factory.PASSWORD,
                                    display_name="Ama Attente", locale="fr",
                                    timezone="Africa/Lome")
        pending = db.session.scalars(sa.select(PendingSignup).where(
            PendingSignup.email == f"attente{n}@example.test")).one()
        db.session.commit()
        token = make_token("signup", {"pid": pending.id, "email": pending.email})
    return Target(f"/signup/confirm/{token}", None)


_signups = itertools.count(1)


def reset_link(w: World) -> Target:
    client = w.user(Role.CLIENT)
    token = w.token("reset", {"uid": client.id,
                              "pw": auth_service._fingerprint(client.password_hash)})
    return Target(f"/password/reset/{token}", None)


def invitation_link(w: World) -> Target:
    token, invitation_id = w.invitation(Role.WRITER)
    return Target(f"/invitation/{token}", None, {"invitation": invitation_id, "role": "writer"})


def pending_email_change(w: World) -> Target:
    client = w.user(Role.CLIENT)

    def pend():
        user = db.session.get(User, client.id)
        user.pending_email = "nouvelle@example.test"
        user.pending_email_expires_at = utcnow() + timedelta(hours=48)

    w.with_app(pend)
    return Target("/settings/email/cancel", w.factory.reload(client))


def client_with_notifications(path: str) -> Callable:
    def setup(w: World) -> Target:
        client = w.user(Role.CLIENT)
        w.order(OrderStatus.DELIVERED, client=client)
        with w.app.app_context():
            figures = notification_service.chrome(db.session.get(User, client.id))
            notification_id = figures.bell_items[0].id
        return Target(path.format(notification=notification_id), client,
                      {"notification": notification_id})

    return setup


def preferences_link(w: World) -> Target:
    client = w.user(Role.CLIENT)
    return Target(f"/notifications/preferences/{w.token('preferences', {'uid': client.id})}",
                  None)


def failed_email(path: str) -> Callable:
    def setup(w: World) -> Target:
        manager = w.user(Role.MANAGER)
        email_id = w.failed_email()
        return Target(path.format(email=email_id), manager, {"email": email_id})

    return setup


def invitation_to_revoke(w: World) -> Target:
    _token, invitation_id = w.invitation(Role.MANAGER)
    manager = w.user(Role.MANAGER)
    return Target(f"/people/invitations/{invitation_id}/revoke", manager)


def a_tier(path: str) -> Callable:
    def setup(w: World) -> Target:
        return Target(path.format(tier=w.tier.id, content_type=w.content_type.id),
                      w.user(Role.MANAGER))

    return setup


def a_client_template(w: World) -> Target:
    """A template a client saved from one of their orders."""
    from portal.orders.brief_templates import save_from_order

    client = w.user(Role.CLIENT)
    order = w.order(OrderStatus.APPROVED, client=client)

    def save():
        return save_from_order(db.session.get(User, client.id), db.session.get(Order, order.id),
                               "Mon modèle").id

    template = w.with_app(save)
    return Target(f"/orders/templates/{template}/delete", client,
                  w.brief_ids(client, template=template))


def an_agency_template(path: str) -> Callable:
    def setup(w: World) -> Target:
        from portal.orders.brief_templates import TemplateValues, create_agency_template

        manager = w.user(Role.MANAGER)

        def create():
            return create_agency_template(db.session.get(User, manager.id), TemplateValues(
                name="Article type", content_type_id=w.content_type.id, language="fr",
                words_min=600, words_max=800, tier_id=w.tier.id, published=True)).id

        template = w.with_app(create)
        return Target(path.format(template=template), manager,
                      {"tier": w.tier.id, "content_type": w.content_type.id})

    return setup


def template_fields(target: Target) -> st.SearchStrategy[dict]:
    ids = target.ids
    return st.fixed_dictionaries({
        "name": words(0, 140), "content_type_id": st.just(str(ids["content_type"])),
        "title": words(0, 200), "language": LOCALES,
        "words_min": st.integers(100, 900).map(str),
        "words_max": st.integers(900, 3000).map(str),
        "tier_id": st.sampled_from(["", str(ids["tier"])]),
        "tone": words(0, 120), "audience": words(0, 200), "primary_keyword": words(0, 120),
        "secondary_keywords": st.lists(words(1, 30), max_size=5).map(", ".join),
        "links_to_include": st.sampled_from(["", "https://example.com/agenda"]),
        "reference_urls": st.sampled_from(["", "https://example.org/guide"]),
        "instructions": words(0, 400), "published": st.sampled_from(["y", ""]),
    })


def a_conversation(w: World) -> Target:
    client = w.user(Role.CLIENT)
    order = w.order(OrderStatus.IN_PROGRESS, client=client)
    return Target(f"/orders/{order.id}/messages", client, {"order": order.id})


def a_proforma(path: str, declared: bool = False, manager: bool = False) -> Callable:
    """A prepaid client's open proforma (with a payment declared for it when `declared`)."""
    def setup(w: World) -> Target:
        from portal.billing import payments
        from portal.billing.models import PaymentMethod

        client = w.user(Role.CLIENT, billing="prepaid")

        def make():
            person = db.session.get(User, client.id)
            proforma = payments.request_topup(person, 30_000)
            payment = payments.declare_for_proforma(person, proforma, payments.Declaration(
                PaymentMethod.FLOOZ, "TX-DECLARED", 30_000)) if declared else None
            db.session.flush()
            return proforma.id, payment.id if payment else 0

        proforma_id, payment_id = w.with_app(make)
        actor = w.user(Role.MANAGER) if manager else client
        return Target(path.format(proforma=proforma_id, payment=payment_id), actor,
                      {"proforma": proforma_id, "payment": payment_id})

    return setup


def a_due_invoice(path: str, manager: bool = False) -> Callable:
    """A postpaid client's invoice of an approved order, still to pay."""
    def setup(w: World) -> Target:
        from portal.billing import invoices
        from portal.billing.companies import company_of
        from portal.billing.models import EntryKind, LedgerEntry

        client = w.user(Role.CLIENT, billing="postpaid", credit_limit=1_000_000)
        w.order(OrderStatus.APPROVED, client=client)

        def make():
            company = company_of(db.session.get(User, client.id))
            captures = db.session.scalars(sa.select(LedgerEntry).where(
                LedgerEntry.company_id == company.id, LedgerEntry.kind == EntryKind.CAPTURE))
            return invoices.issue_for_captures(company, list(captures)).id

        invoice_id = w.with_app(make)
        actor = w.user(Role.MANAGER) if manager else client
        return Target(path.format(invoice=invoice_id), actor, {"invoice": invoice_id})

    return setup


def a_company(path: str) -> Callable:
    def setup(w: World) -> Target:
        from portal.billing.companies import company_id_of

        client = w.user(Role.CLIENT, billing="prepaid", funds=10_000)
        company_id = w.with_app(lambda: company_id_of(db.session.get(User, client.id)))
        return Target(path.format(company=company_id), w.user(Role.MANAGER),
                      {"company": company_id})

    return setup


def a_client_company(w: World) -> Target:
    """A client of a company without a style guide yet (its form starts at version 0)."""
    return Target("/style-guide", w.user(Role.CLIENT, billing="prepaid"), {})


def guide_fields(target: Target) -> st.SearchStrategy[dict]:
    return st.fixed_dictionaries({
        "tone": words(0, 200), "audience": words(0, 300),
        "words_to_use": st.lists(words(1, 60), max_size=8).map("\n".join),
        "forbidden_words": st.lists(words(1, 60), max_size=8).map(", ".join),
        "formatting": words(0, 600), "examples": words(0, 600),
        # Mostly the version the page gives before the first save; now and then a stale one.
        "version": st.sampled_from(["0", "0", "0", "1", "", "-1", "99"]),
    })


STYLE_GUIDE = frozenset({"style_guides+", "style_guides.*"})


def a_payable_writer(w: World) -> Target:
    writer = w.writer()
    w.order(OrderStatus.APPROVED, writer=writer, words_max=900)  # 10,800 earned
    return Target("/agency/finance/payouts", w.user(Role.MANAGER), {"writer": writer.id})


AMOUNTS = st.one_of(st.integers(1, 60_000_000).map(str),
                    st.sampled_from(["0", "-5000", "1e9", "12,5", "25 000", "9" * 30]))
METHODS = st.sampled_from(["flooz", "mixx", "bank_transfer", "cash", "fedapay", "bitcoin"])
MODES = st.sampled_from(["immediate", "digest", "never"])
HOURS = st.integers(0, 23).map(str)
FILES = st.tuples(
    st.sampled_from([b"Un fichier texte.\n", PNG, PDF, b"", b"PK\x03\x04broken zip",
                     b"MZ\x90\x00binary", "é".encode() * 2000]),
    st.sampled_from(["brief.txt", "logo.png", "cahier.pdf", "notes.md", "virus.exe",
                     "../../etc/passwd", "a\x00b.txt", "\u202etxt.exe", "x" * 500 + ".txt",
                     "", ".txt", "CON.txt", "noms\r\navec.txt"]),
)
GOOD_FILES = st.sampled_from([(b"Un fichier texte.\n", "brief.txt"), (PNG, "logo.png"),
                             (PDF, "cahier.pdf"), ("é".encode() * 2000, "notes.md"),
                             (PDF, "\u202efdp.pdf"), (b"Texte", "x" * 500 + ".txt")])
MONEY = st.one_of(st.integers(0, 500).map(str), st.sampled_from(["0,5", "12.5", "1 250"]))

# What erasing a former member may change: their own row's personal fields, their skills, the
# files and reading state, notifications and emails (portal/privacy/).
ERASURE = frozenset({
    "users.display_name", "users.email", "users.password_hash", "users.locale",
    "users.timezone", "users.last_login_at", "users.email_confirmed_at", "users.erased_at",
    "users.session_token", "users.pending_email", "writer_languages-", "writer_tiers-",
    "notifications-", "notification_preferences-", "outbox_emails-", "read_markers-",
    "attachments-", "message_attachments-", "orders-", "order_status_counts.count",
})

FORMS: tuple[Form, ...] = (
    # --- accounts of their own: sign-up, login, links from emails --------------------------
    Form("auth.signup", "anonymous", anonymous("/signup"),
         lambda t: st.tuples(st.fixed_dictionaries({
             "display_name": NAMES, "email": EMAILS, "locale": LOCALES, "timezone": ZONES,
             "company_name": NAMES,
         }), new_password()(t)).map(lambda p: {**p[0], **p[1]}),
         frozenset({"pending_signups+", "pending_signups-", "outbox_emails+"})),
    Form("auth.confirm_signup", "anonymous", signup_link,
         fixed(password=st.one_of(st.just(Factory.PASSWORD), CURRENT_PASSWORDS)),
         frozenset({"users+", "pending_signups-", "companies+", "company_members+"})),
    Form("auth.login", "anonymous", a_client("/login"),
         lambda t: st.fixed_dictionaries({
             "email": st.sampled_from([t.actor.email, t.actor.email.upper(),
                                       "personne@example.test"]),
             "password": CURRENT_PASSWORDS, "remember": st.sampled_from(["", "y"]),
             "next": st.sampled_from(["", "/orders", "//evil.example", "https://evil.example/",
                                      "/\\evil.example", "javascript:alert(1)"]),
         }), frozenset({"users.last_login_at"})),
    Form("auth.login_link", "anonymous", login_link, nothing,
         frozenset({"users.last_login_at"})),
    Form("auth.logout", "client", a_client("/logout"), nothing,
         frozenset({"users.session_token"}), prefix="logout"),
    Form("auth.confirm", "anonymous", confirm_link, nothing,
         frozenset({"users.email_confirmed_at"})),
    Form("auth.resend_confirmation", "client", unconfirmed_client, nothing,
         frozenset({"outbox_emails+"})),
    Form("auth.forgot_password", "anonymous", a_client("/password/forgot"),
         lambda t: st.fixed_dictionaries({"email": st.one_of(st.just(t.actor.email), EMAILS)}),
         frozenset({"outbox_emails+"})),
    Form("auth.reset_password", "anonymous", reset_link, new_password(),
         PASSWORD_CHANGE | {"users.email_confirmed_at"}),
    Form("auth.accept_invitation", "anonymous", invitation_link,
         lambda t: st.tuples(st.fixed_dictionaries({"display_name": NAMES, "timezone": ZONES}),
                             new_password()(t)).map(lambda p: {**p[0], **p[1]}),
         frozenset({"users+", "invitations.accepted_at", "invitations.user_id"})),
    Form("main.set_language", "client", a_client("/language"),
         fixed(locale=LOCALES, next=st.sampled_from(["/home", "", "//evil.example",
                                                     "https://evil.example/"])),
         frozenset({"users.locale"}), prefix="lang"),
    # --- settings -----------------------------------------------------------------------------
    Form("accounts.update_profile", "client", a_client("/settings/profile"),
         fixed(display_name=NAMES, locale=LOCALES, timezone=ZONES),
         frozenset({"users.display_name", "users.locale", "users.timezone"})),
    Form("accounts.change_password", "client", a_client("/settings/password"),
         new_password(current=True), PASSWORD_CHANGE),
    Form("accounts.change_email", "client", a_client("/settings/email"),
         fixed(email=EMAILS, current_password=CURRENT_PASSWORDS),
         frozenset({"users.pending_email", "users.pending_email_expires_at",
                    "outbox_emails+"})),
    Form("accounts.cancel_email_change", "client", pending_email_change, nothing,
         frozenset({"users.pending_email", "users.pending_email_expires_at"})),
    Form("notifications.preferences", "client", a_client("/settings/notifications"),
         fixed(status=MODES, message=MODES, deadline=MODES, digest_hour=HOURS),
         frozenset({"notification_preferences+", "notification_preferences.mode",
                    "users.digest_hour"})),
    Form("notifications.preferences_link", "anonymous", preferences_link,
         fixed(status=MODES, message=MODES, deadline=MODES, digest_hour=HOURS),
         frozenset({"notification_preferences+", "notification_preferences.mode",
                    "users.digest_hour"})),
    Form("notifications.mark_read", "client",
         client_with_notifications("/notifications/{notification}/read"), nothing,
         frozenset({"notifications.read_at"})),
    Form("notifications.mark_all_read", "client",
         client_with_notifications("/notifications/read-all"),
         fixed(next=st.sampled_from(["", "/orders", "//evil.example"])),
         frozenset({"notifications.read_at"})),
    # --- people (managers) ----------------------------------------------------------------
    Form("accounts.invite", "manager", a_manager("/people/invite"),
         fixed(display_name=NAMES, email=EMAILS,
               role=st.sampled_from(["writer", "editor", "manager"]),
               locale=LOCALES),
         frozenset({"invitations+", "invitations.revoked_at", "outbox_emails+"})),
    Form("accounts.change_role", "manager", person_of_manager("/people/{user}/role"),
         fixed(role=st.sampled_from(["client", "writer", "editor", "manager"])),
         frozenset({"users.role", "users.session_token"})),
    Form("accounts.deactivate", "manager", person_of_manager("/people/{user}/deactivate"),
         nothing, frozenset({"users.active", "users.deactivated_at", "users.session_token"})),
    Form("accounts.reactivate", "manager",
         person_of_manager("/people/{user}/reactivate", active=False), nothing,
         frozenset({"users.active", "users.deactivated_at"})),
    Form("accounts.revoke_invitation", "manager", invitation_to_revoke, nothing,
         frozenset({"invitations.revoked_at"})),
    Form("accounts.erase", "manager",
         person_of_manager("/people/{user}/erase", active=False),
         fixed(confirm=st.sampled_from(["y", "on", ""])), ERASURE),
    Form("notifications.retry_all", "manager", failed_email("/admin/emails/retry"), nothing,
         frozenset({"outbox_emails.status", "outbox_emails.attempts",
                    "outbox_emails.next_attempt_at"})),
    Form("notifications.retry_one", "manager", failed_email("/admin/emails/{email}/retry"),
         nothing, frozenset({"outbox_emails.status", "outbox_emails.attempts",
                             "outbox_emails.next_attempt_at"})),
    # --- the client's orders ------------------------------------------------------------------
    Form("orders.new", "client", a_client("/orders/new"), brief,
         frozenset({"orders+", "order_events+"}) | NOTIFY | COUNTS | HOLD),
    Form("orders.edit", "client", client_order(OrderStatus.DRAFT, "/orders/{order}/edit"),
         lambda t: brief(t, version=st.one_of(st.just(str(t.ids["version"])),
                                              st.sampled_from(["0", "999", ""]))),
         BRIEF_COLUMNS | SUBMIT),
    Form("orders.submit", "client", client_order(OrderStatus.DRAFT, "/orders/{order}/submit"),
         lambda t: st.fixed_dictionaries({"version": st.one_of(st.just(str(t.ids["version"])),
                                                               st.sampled_from(["", "-1", "99"]))}),
         SUBMIT),
    Form("orders.delete", "client",
         client_order(OrderStatus.DRAFT, "/orders/{order}/delete", attach=True),
         fixed(back=st.sampled_from(["detail", "edit", ""])),
         frozenset({"orders-", "order_events-", "attachments-"}) | COUNTS),
    Form("orders.order_again", "client",
         client_order(OrderStatus.APPROVED, "/orders/{order}/again"), nothing,
         frozenset({"orders+", "order_events+"}) | COUNTS),
    Form("orders.save_template", "client",
         client_order(OrderStatus.DELIVERED, "/orders/{order}/template"),
         fixed(name=st.one_of(words(0, 140), st.just("Mon modèle"))),
         frozenset({"brief_templates+"})),
    Form("orders.delete_template", "client", a_client_template, nothing,
         frozenset({"brief_templates-"})),
    Form("orders.quote", "client", a_client("/orders/quote"),
         lambda t: st.fixed_dictionaries({
             "words_max": st.integers(100, 20_000).map(str), "tier_id": st.just(str(
                 t.ids["tier"])), "deadline": DEADLINES})),
    Form("orders.upload", "client",
         client_order(OrderStatus.DRAFT, "/orders/{order}/attachments"),
         fixed(file=st.one_of(GOOD_FILES, FILES), back=st.sampled_from(["detail", "edit"])),
         frozenset({"attachments+"}), files=("file",)),
    Form("orders.delete_attachment", "client",
         client_order(OrderStatus.OPEN, "/orders/{order}/attachments/{attachment}/delete",
                      attach=True),
         fixed(back=st.sampled_from(["detail", "edit"])), frozenset({"attachments-"})),
    Form("orders.cancel", "client", client_order(OrderStatus.OPEN, "/orders/{order}/cancel"),
         fixed(reason=words(0, 300), charge=st.sampled_from(["", "", "0", "5000", "-1"])),
         MOVE | HOLD | {"orders.closed_at"}),
    Form("orders.request_revision", "client",
         client_order(OrderStatus.DELIVERED, "/orders/{order}/revision"),
         fixed(reason=words(1, 500)), MOVE | {"orders.revisions_used"}),
    Form("orders.approve", "client",
         client_order(OrderStatus.DELIVERED, "/orders/{order}/approve"),
         fixed(rating=st.integers(1, 5).map(str), comment=words(0, 300)),
         MOVE | CAPTURE | {"orders.rating", "orders.rating_comment", "orders.closed_at"}),
    Form("orders.sample_consent", "client",
         client_order(OrderStatus.APPROVED, "/orders/{order}/sample"),
         fixed(consent=st.sampled_from(["y", "", "on", "0"])), frozenset({"orders.sample_consent",
                                                                          "orders.updated_at"})),
    # --- the editorial review --------------------------------------------------------------
    Form("orders.pass_review", "editor", editor_order("/orders/{order}/review/pass"),
         fixed(note=words(0, 300)),
         MOVE | {"orders.delivered_at", "deliveries.released_at"}),
    Form("orders.return_to_writer", "editor", editor_order("/orders/{order}/review/return"),
         fixed(comments=words(1, 500)), MOVE),
    Form("orders.post_message", "client", a_conversation,
         fixed(body=words(1, 600), files=st.one_of(st.just([]), st.lists(
             st.one_of(GOOD_FILES, FILES), min_size=1, max_size=2))),
         # The page marks the order read; the message is unread for the others (counters).
         frozenset({"messages+", "message_attachments+", "read_markers+",
                    "read_markers.last_read_at", "read_markers.previous_read_at",
                    "read_markers.unread"}) | NOTIFY,
         files=("files",)),
    # --- writers ------------------------------------------------------------------------------
    Form("writing.claim", "writer",
         writer_order(OrderStatus.OPEN, "/work/orders/{order}/claim"), nothing,
         MOVE | {"orders.writer_id", "orders.claimed_at", "orders.offered_until"}),
    Form("writing.save_draft", "writer",
         writer_order(OrderStatus.IN_PROGRESS, "/work/orders/{order}/draft", draft=True),
         lambda t: st.fixed_dictionaries({"text": MARKDOWN, "base_version": st.one_of(
             st.just(str(t.ids["draft_version"])), st.sampled_from(["0", "7"]))}),
         frozenset({"drafts+", "drafts.text", "drafts.version", "drafts.updated_at",
                    "drafts.updated_by_id"})),
    Form("writing.save_draft", "writer",
         writer_order(OrderStatus.IN_PROGRESS, "/work/orders/{order}/draft", draft=True),
         lambda t: st.fixed_dictionaries({"text": MARKDOWN, "base_version": st.one_of(
             st.just(t.ids["draft_version"]), st.sampled_from([0, 7]))}),
         frozenset({"drafts+", "drafts.text", "drafts.version", "drafts.updated_at",
                    "drafts.updated_by_id"}), json=True),
    Form("writing.deliver", "writer",
         writer_order(OrderStatus.REVISION_REQUESTED, "/work/orders/{order}/deliver"),
         lambda t: st.fixed_dictionaries({"text": MARKDOWN, "note": words(0, 200),
                                          "base_version": st.just(str(t.ids["draft_version"]))}),
         MOVE | {"drafts.text", "drafts.version", "drafts.updated_at", "drafts.updated_by_id",
                 "deliveries+", "orders.delivered_at"}),
    Form("writing.release", "writer",
         writer_order(OrderStatus.IN_PROGRESS, "/work/orders/{order}/release", draft=True),
         fixed(reason=words(1, 300)),
         MOVE | {"orders.writer_id", "orders.claimed_at", "drafts-"}),
    # --- the agency ---------------------------------------------------------------------------
    Form("agency.assign", "manager",
         manager_order(OrderStatus.OPEN, "/agency/orders/{order}/assign"),
         lambda t: st.fixed_dictionaries({"writer_id": st.sampled_from(
             [str(t.ids["writer"]), "0", "-1"]), "note": words(0, 200)}),
         MOVE | {"orders.writer_id", "orders.claimed_at", "orders.offered_until"},
         prefix="assign"),
    Form("agency.extend_deadline", "manager",
         manager_order(OrderStatus.IN_PROGRESS, "/agency/orders/{order}/deadline"),
         fixed(deadline=st.integers(24 * 11, 24 * 100).map(local_deadline), note=words(0, 200)),
         frozenset({"orders.deadline", "orders.version", "orders.updated_at", "order_events+"})
         | NOTIFY,
         prefix="deadline"),
    Form("agency.grant_revision", "manager",
         manager_order(OrderStatus.DELIVERED, "/agency/orders/{order}/revisions"),
         fixed(note=words(0, 200)),
         frozenset({"orders.extra_revisions", "orders.version", "orders.updated_at",
                    "order_events+"}),
         prefix="revision"),
    Form("agency.reference_texts", "manager",
         manager_order(OrderStatus.IN_PROGRESS, "/agency/orders/{order}/references"),
         fixed(reference_texts=words(0, 400)),
         frozenset({"orders.reference_texts", "orders.version", "orders.updated_at",
                    "order_events+"}),
         prefix="references"),
    Form("agency.showcase", "manager", consented_order("/agency/orders/{order}/showcase"),
         fixed(shown=st.sampled_from(["1", "0"])),
         frozenset({"orders.showcased_at", "orders.updated_at"})),
    Form("agency.new_tier", "manager", a_tier("/agency/tiers/new"),
         fixed(name=words(1, 60), description=words(0, 300), client_price=MONEY,
               writer_pay=MONEY, included_revisions=st.integers(0, 5).map(str),
               min_lead_hours=st.integers(1, 200).map(str), position=st.integers(0, 50).map(str),
               active=st.sampled_from(["y", ""])),
         frozenset({"tiers+"})),
    Form("agency.edit_tier", "manager", a_tier("/agency/tiers/{tier}/edit"),
         fixed(name=words(1, 60), description=words(0, 300), client_price=MONEY,
               writer_pay=MONEY, included_revisions=st.integers(0, 5).map(str),
               min_lead_hours=st.integers(1, 200).map(str), position=st.integers(0, 50).map(str),
               active=st.sampled_from(["y", ""])),
         frozenset({"tiers.*"})),
    Form("agency.new_content_type", "manager", a_tier("/agency/content-types/new"),
         fixed(name_fr=words(1, 80), name_en=words(1, 80), position=st.integers(0, 50).map(str),
               active=st.sampled_from(["y", ""])),
         frozenset({"content_types+"})),
    Form("agency.edit_content_type", "manager",
         a_tier("/agency/content-types/{content_type}/edit"),
         fixed(name_fr=words(1, 80), name_en=words(1, 80), position=st.integers(0, 50).map(str),
               active=st.sampled_from(["y", ""])),
         frozenset({"content_types.*"})),
    # --- money ----------------------------------------------------------------------------
    Form("billing.company", "client", a_client("/billing/company"),
         fixed(name=NAMES, address=words(0, 300), tax_number=words(0, 40),
               trade_register=words(0, 60), billing_email=st.one_of(st.just(""), EMAILS),
               locale=LOCALES),
         frozenset({"companies.name", "companies.address", "companies.tax_number",
                    "companies.trade_register", "companies.billing_email", "companies.locale",
                    "companies.updated_at"})),
    Form("style_guides.edit_own", "client", a_client_company, guide_fields, STYLE_GUIDE),
    Form("style_guides.edit_company", "manager",
         a_company("/agency/companies/{company}/style-guide"), guide_fields, STYLE_GUIDE),
    Form("billing.topup", "client", a_client("/billing/topup"),
         fixed(amount=AMOUNTS), frozenset({"proformas+", "outbox_emails+",
                                           "document_counters+", "document_counters.last"})),
    Form("billing.declare_payment", "client", a_proforma("/billing/proformas/{proforma}/payments"),
         fixed(method=METHODS, reference=st.one_of(st.just("TX-2026-001"), words(0, 120)),
               amount=AMOUNTS, proof=st.one_of(st.just([]), st.lists(
                   st.one_of(GOOD_FILES, FILES), min_size=1, max_size=1))),
         frozenset({"payments+", "outbox_emails+"}), files=("proof",)),
    Form("billing.pay_invoice", "client", a_due_invoice("/billing/invoices/{invoice}/payments"),
         fixed(method=METHODS, reference=st.one_of(st.just("VIR-2026-7"), words(0, 120)),
               amount=AMOUNTS), frozenset({"payments+", "outbox_emails+"})),
    Form("billing.checkout", "client", a_proforma("/billing/proformas/{proforma}/checkout"),
         nothing),
    Form("billing.check_payment", "client", a_proforma("/billing/payments/{payment}/check",
                                                       declared=True), nothing),
    Form("billing.fedapay_webhook", "anonymous", anonymous("/billing/webhooks/fedapay"),
         fixed(name=st.sampled_from(["transaction.approved", "transaction.declined"]),
               entity=st.sampled_from(["1", "{}", ""]))),
    Form("finance.confirm_payment", "manager",
         a_proforma("/agency/finance/payments/{payment}/confirm", declared=True, manager=True),
         nothing,
         DOCUMENT | LEDGER | {"payments.status", "payments.decided_by_id",
                              "payments.decided_at", "payments.reject_reason",
                              "companies.balance", "companies.updated_at", "proformas.status",
                              "proformas.paid_at", "invoices+", "invoice_lines+"}),
    Form("finance.reject_payment", "manager",
         a_proforma("/agency/finance/payments/{payment}/reject", declared=True, manager=True),
         fixed(reason=words(0, 300)),
         frozenset({"payments.status", "payments.decided_by_id", "payments.decided_at",
                    "payments.reject_reason", "outbox_emails+"})),
    Form("finance.company_terms", "manager", a_company("/agency/finance/companies/{company}/terms"),
         fixed(billing_mode=st.sampled_from(["prepaid", "postpaid", "free"]),
               credit_limit=st.one_of(AMOUNTS, st.just("0"))),
         frozenset({"companies.billing_mode", "companies.credit_limit",
                    "companies.updated_at"})),
    Form("finance.adjust", "manager", a_company("/agency/finance/companies/{company}/adjust"),
         fixed(amount=st.one_of(AMOUNTS, AMOUNTS.map(lambda a: "-" + a)),
               reason=words(0, 300)),
         LEDGER | {"companies.balance", "companies.updated_at"}),
    Form("finance.invoice_month", "manager",
         a_company("/agency/finance/companies/{company}/invoice-month"), nothing),
    Form("finance.credit_note", "manager",
         a_due_invoice("/agency/finance/invoices/{invoice}/credit-note", manager=True),
         fixed(amount=AMOUNTS, reason=words(0, 300)),
         DOCUMENT | LEDGER | {"credit_notes+", "invoices.credited", "invoices.settled_at",
                              "companies.balance", "companies.updated_at"}),
    Form("finance.payouts", "manager", a_payable_writer,
         lambda t: st.fixed_dictionaries({
             "lines-0-writer_id": st.sampled_from([str(t.ids["writer"]), "0", "x"]),
             "lines-0-pay": st.sampled_from(["y", ""]),
             "lines-0-method": METHODS,
             "lines-0-reference": words(0, 120), "note": words(0, 200)}),
         frozenset({"payout_batches+", "payouts+", "writer_earnings.payout_id",
                    "outbox_emails+"})),
    Form("agency.new_brief_template", "manager",
         lambda w: Target("/agency/templates/new", w.user(Role.MANAGER),
                          {"tier": w.tier.id, "content_type": w.content_type.id}),
         template_fields, frozenset({"brief_templates+"})),
    Form("agency.edit_brief_template", "manager",
         an_agency_template("/agency/templates/{template}/edit"), template_fields,
         frozenset({"brief_templates.*"})),
    Form("agency.publish_brief_template", "manager",
         an_agency_template("/agency/templates/{template}/publish"),
         fixed(published=st.sampled_from(["y", "", "n", "yes"])),
         frozenset({"brief_templates.published", "brief_templates.updated_at"})),
    Form("agency.delete_brief_template", "manager",
         an_agency_template("/agency/templates/{template}/delete"), nothing,
         frozenset({"brief_templates-"})),
    Form("agency.writer_skills", "manager", person_of_manager("/agency/writers/{user}"),
         lambda t: st.fixed_dictionaries({
             "languages": st.lists(LOCALES, max_size=2, unique=True),
             "tiers": st.lists(st.just(str(t.ids["tier"])), max_size=1)}),
         frozenset({"writer_languages+", "writer_languages-", "writer_tiers+",
                    "writer_tiers-"})),
)


@pytest.mark.parametrize("role, path", [
    ("client", "/orders?q=a%00b"),
    ("manager", "/people?q=%00"),
    ("manager", "/agency/orders?q=x%00&writer_id=1"),
    ("writer", "/work/pool?tier=1%00"),
    ("client", "/orders/1%00"),
])
def test_a_nul_in_an_address_is_refused_plainly(factory, make_client, role, path):
    # PostgreSQL cannot compare text with a NUL: without the request guard, a 500.
    browser = make_client()
    log_in(browser, factory.user(role))
    assert browser.get(path).status_code in (400, 404)


@pytest.mark.parametrize("body", RAW_JSON_BODIES, ids=lambda body: repr(body[:30]))
def test_the_autosave_refuses_malformed_json_plainly(app, factory, make_client, body):
    # Nested past the parser's depth, a lone surrogate, 1e999 or NaN, a NUL: each was a 500.
    tier = factory.tier()
    writer = factory.writer(tiers=[tier])
    order = factory.order(status=OrderStatus.IN_PROGRESS, writer=writer, tier=tier)
    browser = make_client()
    log_in(browser, writer)
    before = snapshot(app)
    response = browser.post(f"/work/orders/{order.id}/draft", data=body,
                            content_type="application/json",
                            headers={"X-CSRFToken": csrf_token(app, browser)})
    assert response.status_code == 400
    assert response.get_json()["ok"] is False
    assert not diff(before, snapshot(app))


@pytest.mark.parametrize("price", ["9" * 40, "50001", "123456789012,5"])
def test_a_tier_price_beyond_reason_is_refused_on_the_form(app, factory, make_client, price):
    # Forty digits overflowed Decimal's precision (500); a price per word above the cap would
    # overflow the order totals on PostgreSQL at submission.
    browser = make_client()
    log_in(browser, factory.user(Role.MANAGER))
    before = snapshot(app)
    response = browser.post("/agency/tiers/new", data={
        "csrf_token": csrf_token(app, browser), "name": "Luxe", "client_price": price,
        "writer_pay": "1", "included_revisions": "1", "min_lead_hours": "24", "position": "0",
    })
    assert response.status_code == 422
    assert not diff(before, snapshot(app))


@pytest.mark.parametrize("body", [
    {"display_name": {"first": "Ama", "last": "K"}, "locale": "fr", "timezone": "UTC"},
    {"display_name": 12345, "locale": "fr", "timezone": "UTC"},
    {"display_name": "Ama Mensah", "locale": "fr", "timezone": "UTC", "role": "manager"},
])
def test_a_form_posted_as_json_is_refused(app, factory, make_client, body):
    # Forms read JSON bodies too: objects and numbers reached .strip() and len() (500), and
    # fields outside the form were not seen by StrictForm.
    browser = make_client()
    log_in(browser, factory.user(Role.CLIENT))
    before = snapshot(app)
    response = browser.post("/settings/profile", json=body,
                            headers={"X-CSRFToken": csrf_token(app, browser)})
    assert response.status_code == 400
    assert not diff(before, snapshot(app))


LINKS = ["/confirm/{}", "/password/reset/{}", "/invitation/{}",
         "/notifications/preferences/{}", "/login/link/{}", "/signup/confirm/{}"]


def test_links_from_emails_take_any_token(app, make_client, request):
    """A token of a link is whatever the visitor typed: it opens nothing and breaks nothing."""
    counter = example_counter(request.config)
    before = snapshot(app)

    @settings(max_examples=examples(25), deadline=None, database=None,
              suppress_health_check=SLOW_IS_FINE)
    @given(link=st.sampled_from(LINKS), token=st.one_of(HOSTILE, TOKENS_WRONG),
           method=st.sampled_from(["GET", "POST"]))
    def one_example(link, token, method):
        browser = make_client()
        url = link.format(quote_url(token, safe="") or "x")
        data = {"csrf_token": csrf_token(app, browser), "password": Factory.PASSWORD,
                "confirm": Factory.PASSWORD, "display_name": "Ama", "timezone": "UTC"}
        response = browser.open(url, method=method, data=data if method == "POST" else None)
        counter.add("link examples")
        assert response.status_code < 500
        assert not diff(before, snapshot(app))

    one_example()


def test_every_post_endpoint_has_a_form_here(app):
    posted = {rule.endpoint for rule in app.url_map.iter_rules() if "POST" in rule.methods}
    listed = {form.endpoint for form in FORMS}
    assert posted - listed == set(), "POST endpoints that are not fuzzed: add them to FORMS"
    assert listed - posted == set(), "FORMS names endpoints that no longer exist"


# --- one example ------------------------------------------------------------------------------


@dataclass
class Sent:
    data: dict
    csrf: str  # "valid", "missing" or "forged"
    extras: tuple[str, ...]
    as_json: bool = False  # the form sent as a JSON body, values of any JSON type


@st.composite
def requests_for(draw, form: Form, target: Target):
    valid = draw(form.valid(target), label="valid")
    mode = draw(st.sampled_from(["valid"] * 5 + ["mutated"] * 3 + ["hostile"] * 2), label="mode")
    data = dict(valid)
    if mode != "valid":
        for name in list(valid):
            if mode == "hostile" or draw(st.booleans()):
                choice = draw(st.sampled_from(["hostile", "hostile", "missing", "repeated",
                                               "spiced", "spiced"]))
                if choice == "missing":
                    del data[name]
                elif choice == "spiced" and isinstance(data[name], str):
                    # the valid value with an odd character slipped in: it may pass the form
                    at = draw(st.integers(0, len(data[name])))
                    data[name] = data[name][:at] + draw(ODD) + data[name][at:]
                elif name in form.files:
                    data[name] = draw(HOSTILE)  # a text where a file belongs
                elif choice == "repeated":
                    data[name] = [draw(HOSTILE), draw(HOSTILE)]
                else:
                    data[name] = draw(HOSTILE)
    extras = draw(st.one_of(st.just([]), st.lists(
        st.sampled_from([n for n in EXTRA_FIELDS if n not in valid]), min_size=1, max_size=3,
        unique=True)), label="extra fields")
    for name in extras:
        data[name] = draw(st.one_of(st.sampled_from(EXTRA_VALUES + target_ids(target)),
                                    HOSTILE))
    csrf = draw(st.sampled_from(["valid"] * 18 + ["missing", "forged"]), label="csrf")
    as_json = not form.files and draw(st.sampled_from([False] * 7 + [True]), label="as JSON")
    if as_json:  # a script may post any form as JSON, with lists, objects and numbers in it
        for name in list(data):
            if draw(st.booleans()):
                data[name] = draw(JSON_VALUES)
    return Sent(data, csrf, tuple(extras), as_json)


def target_ids(target: Target) -> list[str]:
    return [str(value) for value in target.ids.values() if isinstance(value, int)]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats()
    | st.sampled_from(HOSTILE_STRINGS)
    | st.text(st.characters(categories=("Cs", "Cc", "L")), max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=6,
)


def json_requests_for(form: Form, target: Target):
    """The autosave's JSON: the same fields, or any JSON value in their place."""
    @st.composite
    def make(draw):
        valid = draw(form.valid(target))
        mode = draw(st.sampled_from(["valid", "valid", "mutated", "not an object", "raw"]))
        if mode == "not an object":
            return Sent({"__body__": draw(JSON_VALUES)}, "valid", ())
        if mode == "raw":  # what no JSON encoder writes
            return Sent({"__raw__": draw(st.sampled_from(
                [*RAW_JSON_BODIES, '{"text": "a", "text": "b", "base_version": 0}']))}, "valid", ())
        data = dict(valid)
        if mode == "mutated":
            for name in list(valid):
                if draw(st.booleans()):
                    data[name] = draw(JSON_VALUES)
        extras = draw(st.one_of(st.just([]), st.lists(st.sampled_from(EXTRA_FIELDS), min_size=1,
                                                      max_size=2, unique=True)))
        for name in extras:
            data[name] = draw(st.sampled_from(EXTRA_VALUES))
        return Sent(data, draw(st.sampled_from(["valid"] * 9 + ["missing"])), tuple(extras))

    return make()


def post(app, client, form: Form, target: Target, sent: Sent):
    token = {"valid": lambda: csrf_token(app, client), "missing": lambda: None,
             "forged": lambda: csrf_token(app, client)[:-4] + "AAAA"}[sent.csrf]()
    if form.json:
        headers = {"X-CSRFToken": token} if token else {}
        if "__raw__" in sent.data:
            return client.post(target.url, data=sent.data["__raw__"],
                               content_type="application/json", headers=headers)
        return client.post(target.url, json=sent.data.get("__body__", sent.data),
                           headers=headers)
    data: dict[str, Any] = {}
    if sent.as_json:
        data = {f"{form.prefix}-{name}" if form.prefix else name: value
                for name, value in sent.data.items()}
        return client.post(target.url, json=data,
                           headers={"X-CSRFToken": token} if token else {})
    for name, value in sent.data.items():
        key = f"{form.prefix}-{name}" if form.prefix else name
        if name in form.files and not isinstance(value, str):
            files = value if isinstance(value, list) else [value]
            value = [(io.BytesIO(content), filename) for content, filename in files]
        data[key] = value
    if token:
        data[f"{form.prefix}-csrf_token" if form.prefix else "csrf_token"] = token
    headers = {"X-CSRFToken": token} if form.endpoint == "orders.quote" and token else {}
    return client.post(target.url, data=data, headers=headers)


def refused(client, response) -> bool:
    """The request was turned down: an error, the form again, a warning, or `ok: false`."""
    if response.status_code >= 400:
        return True
    if response.is_json:
        return not response.get_json().get("ok")
    if response.status_code == 200:
        return True  # the form is shown again with its errors; accepted forms redirect
    return any(category in ("danger", "warning") for category, _message in flashes(client))


def stored_files(app) -> set[str]:
    folder = Path(app.config["UPLOAD_DIR"])
    return {p.name for p in folder.iterdir()} if folder.exists() else set()


SAMPLE_COLUMNS = frozenset({"sample_consent", "showcased_at", "updated_at"})


def check_invariants(app, form: Form, target: Target, before, after, changes) -> None:
    """What no form may do, whatever it sent."""
    actor_id = target.actor.id if target.actor else None
    new_events = changes.inserted["order_events"]
    for old, new in changes.updated["orders"]:
        assert new["client_id"] == old["client_id"], "an order changed hands"
        if old["status"] in FINAL_STATUSES:
            # Only the sample flags of a finished order move (its client's consent, a
            # manager's showcase: portal/orders/showcase.py).
            moved = {name for name in new if new[name] != old[name]} - SAMPLE_COLUMNS
            assert not moved, f"a {old['status']} order changed: {sorted(moved)}"
        if old["price_total"] is not None:
            for column in ("price_total", "price_per_word", "writer_pay_total",
                           "rush_surcharge", "currency"):
                assert new[column] == old[column], f"the frozen {column} changed"
        if new["status"] != old["status"]:
            moves = [e for e in new_events if e["order_id"] == new["id"]
                     and e["action"] in {a.value for a in Action}]
            assert [(e["from_status"], e["to_status"]) for e in moves] == \
                [(old["status"], new["status"])], "a status change without its one event"
    for order in changes.inserted["orders"]:
        assert order["client_id"] == actor_id
        assert order["writer_id"] is None and order["rating"] is None
        assert order["revisions_used"] == 0 and order["extra_revisions"] == 0
        assert order["status"] in (OrderStatus.DRAFT, OrderStatus.OPEN)
        if order["status"] is OrderStatus.DRAFT:
            assert order["price_total"] is None
        else:
            with app.app_context():
                price = quote(db.session.get(Tier, order["tier_id"]), order["words_max"],
                              order["deadline"])
                assert order["price_total"] == price.total, "a price not from the tier"
    for user in changes.inserted["users"]:
        if form.endpoint == "auth.confirm_signup":  # a client, confirmed by the link
            assert user["role"] is Role.CLIENT and user["email_confirmed_at"] is not None
            assert user["email"].startswith("attente")
        else:
            assert user["role"].value == target.ids["role"]
            with app.app_context():
                invitation = db.session.get(Invitation, target.ids["invitation"])
                assert user["email"] == invitation.email
    for message in changes.inserted["messages"]:
        assert message["author_id"] == actor_id
        assert not (message["internal"] and target.actor.role is Role.CLIENT)
    named = {row["stored_name"] for table in ("attachments", "message_attachments")
             for row in after[table].values()}
    named |= {row["proof_stored_name"] for row in after["payments"].values()
              if row["proof_stored_name"]}
    assert stored_files(app) == named, "a stored file without its row, or a row without file"
    assert email_breakers(app, changes) == [], "stored what can break an email"


# --- the test ---------------------------------------------------------------------------------


@pytest.fixture
def upload_dir(app, tmp_path, monkeypatch):
    from tests.security.access_world import FEDAPAY

    folder = tmp_path / "uploads"
    monkeypatch.setitem(app.config, "UPLOAD_DIR", str(folder))
    # Online payment on, its provider unreachable: a checkout fails cleanly, a notification
    # without its signature is refused.
    for name, value in FEDAPAY.items():
        monkeypatch.setitem(app.config, name, value)
    return folder


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.name)
def test_a_form_survives_generated_input(app, factory, make_client, upload_dir, request, form):
    counter = example_counter(request.config)
    state: dict[str, Any] = {"world": None, "dirty": None}

    def fresh_target() -> tuple[Target, dict]:
        """The example's starting point: the same world each time, put back as it was after an
        example changed it (built again only if that fails)."""
        if state["dirty"] is not None:
            restored = restore(app, state["before"], state["dirty"])
            restored = put_files_back(upload_dir, state["files"]) and restored
            state["dirty"] = None
            if not restored:
                state["world"] = None
        if state["world"] is None:
            empty_database(app)
            put_files_back(upload_dir, {})
            world = World(app, factory)
            target = form.setup(world)
            endpoint, _args = app.url_map.bind("localhost").match(target.url, method="POST")
            assert endpoint == form.endpoint, f"{target.url} is {endpoint}"
            state.update(world=world, target=target, before=snapshot(app),
                         files={p.name: p.read_bytes() for p in upload_dir.glob("*")})
        return state["target"], state["before"]

    @settings(max_examples=EXAMPLES_PER_FORM, deadline=None, database=None,
              suppress_health_check=SLOW_IS_FINE)
    @given(data=st.data())
    def one_example(data):
        target, before = fresh_target()
        strategy = json_requests_for(form, target) if form.json else requests_for(form, target)
        sent = data.draw(strategy, label="request")
        client = make_client()
        if form.actor != "anonymous":
            log_in(client, target.actor)
        response = post(app, client, form, target, sent)
        counter.add("form examples")

        assert response.status_code < 500, response.get_data(as_text=True)[:500]
        if sent.as_json and form.endpoint not in JSON_ENDPOINTS:
            # Only the forms our scripts post take JSON: elsewhere a JSON body would slip
            # past the checks on field names and value types.
            assert response.status_code == 400
        if response.status_code in (301, 302, 303, 307, 308):
            location = urlsplit(response.headers["Location"])
            assert location.netloc in ("", "localhost"), f"redirected off site: {location}"
        after = snapshot(app)
        changes = diff(before, after)
        if changes or stored_files(app) != set(state["files"]):
            state["dirty"] = after  # the next example starts from the world as it was
        was_refused = refused(client, response)
        counter.add("form examples refused" if was_refused else "form examples accepted")
        if os.environ.get("PORTAL_FUZZ_DEBUG"):
            counter.add(f"  {form.name} {'refused' if was_refused else 'accepted'}")
        if was_refused:
            assert not changes, (f"refused ({response.status_code}) yet stored: "
                                 f"{sorted(changes.changes())}")
        else:
            unexpected = {c for c in changes.changes() if not allowed_by(c, form.writes)}
            assert not unexpected, f"{form.endpoint} changed what it may not: {unexpected}"
        check_invariants(app, form, target, before, after, changes)

    one_example()
    counter.add("forms fuzzed")


# Fields whose valid value is a choice, a number, a date, a button or a password, not text.
NOT_TEXT = {"locale", "timezone", "language", "role", "status", "message", "deadline", "sort",
            "back", "next", "active", "remember", "save_draft", "save_submit", "password",
            "confirm", "current_password"}


def text_fields(form: Form, valid: dict) -> list[str]:
    """The fields of a valid request that carry text a person types."""
    return [name for name, value in valid.items()
            if isinstance(value, str) and name not in form.files and name not in NOT_TEXT
            and not value.lstrip("-").isdigit()]


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.name)
def test_every_text_field_takes_control_characters(app, factory, make_client, upload_dir,
                                                   request, form):
    """Each text field of the form, in turn, gets a header (`x\r\nBcc: a@b.test`) and then
    C1 controls and a Unicode line separator after its valid value, the rest of the request
    valid: no 5xx, and what is stored (if anything) cannot break an email."""
    counter = example_counter(request.config)
    empty_database(app)
    put_files_back(upload_dir, {})
    target = form.setup(World(app, factory))
    before = snapshot(app)
    files = {p.name: p.read_bytes() for p in upload_dir.glob("*")}

    @settings(max_examples=1, deadline=None, database=None, phases=[Phase.generate],
              suppress_health_check=SLOW_IS_FINE)
    @given(valid=form.valid(target))
    def sweep(valid):
        for name in text_fields(form, valid):
            for value in CONTROL_VALUES:
                sent = Sent({**valid, name: valid[name] + value}, "valid", ())
                client = make_client()
                if form.actor != "anonymous":
                    log_in(client, target.actor)
                response = post(app, client, form, target, sent)
                counter.add("control-character examples")
                assert response.status_code < 500, (name, response.get_data(as_text=True)[:500])
                after = snapshot(app)
                changes = diff(before, after)
                if refused(client, response):
                    assert not changes, f"{name}: refused yet stored {sorted(changes.changes())}"
                else:
                    unexpected = {c for c in changes.changes() if not allowed_by(c, form.writes)}
                    assert not unexpected, f"{name}: changed what it may not: {unexpected}"
                check_invariants(app, form, target, before, after, changes)
                if changes or stored_files(app) != set(files):
                    assert restore(app, before, after), "the world could not be put back"
                    put_files_back(upload_dir, files)

    sweep()


def put_files_back(folder: Path, files: dict[str, bytes]) -> bool:
    """The upload folder holds `files` again, and nothing else."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.iterdir():
        if path.name not in files:
            path.unlink()
    for name, content in files.items():
        (folder / name).write_bytes(content)
    return True


