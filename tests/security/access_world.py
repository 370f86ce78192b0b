"""One small agency with something behind every endpoint, the seven people of the access
matrix, and what the access table (portal/access.py) expects each of them to get.

The world is built once per test module (`build_world`) and emptied at its end
(`empty_database`); a module using it replaces the per-test cleaning of tests/conftest.py.

The people ("actors"):
    anonymous        nobody signed in
    owner_client     client A, who placed the orders
    other_client     client B
    other_writer     a writer with the orders' language and tier, not on them
    assigned_writer  the writer of the delivered order
    manager          a manager
    editor           an editor (reads deliveries in review; managers hold these rights too)
    deactivated      a manager whose account was closed while signed in (the session stays)

The orders of client A: "delivered" (written by assigned_writer: a delivery, a file joined to
the brief, a message with a file, notifications), "open" (in the pool: both writers could take
it), "draft" and "approved" (written by assigned_writer; client A consented to show it as a
sample and a manager put it on the landing page), and "in_review" (written by assigned_writer
on a tier that requires review: its delivery waits for the editor).
"""

from __future__ import annotations

import mailbox
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from functools import cache
from io import BytesIO
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask, url_for
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import MethodNotAllowed

from portal.access import Relation, Rule, rules
from portal.accounts.models import Role, User
from portal.auth import service as auth_service
from portal.auth.tokens import make_token
from portal.extensions import db
from portal.messaging.service import post_message
from portal.notifications.inbox import EmailMode, Notification, NotificationKind
from portal.notifications.models import OutboxEmail, OutboxStatus
from portal.notifications.service import preferences_token
from portal.orders import uploads
from portal.orders.models import Order, OrderStatus
from portal.orders.showcase import set_sample_consent, set_showcase
from tests.conftest import empty_database
from tests.factories import Factory

ACTORS = ("anonymous", "owner_client", "other_client", "other_writer", "assigned_writer",
          "manager", "deactivated")
SIGNED_OUT = ("anonymous", "deactivated")  # the session of a closed account is no session
ROLES = {"owner_client": Role.CLIENT, "other_client": Role.CLIENT, "other_writer": Role.WRITER,
         "assigned_writer": Role.WRITER, "manager": Role.MANAGER, "editor": Role.EDITOR}
SESSION_COOKIE = "portal_session"

# Values of the URL arguments by name; per endpoint where one name means different things.
STATIC_FILES = {"static": "css/portal.css", "bootstrap.static": "css/bootstrap.min.css"}
# Else a client: other_client. The erasure is asked about a former writer, whom it may erase.
PERSON_OF = {"agency.writer_skills": "other_writer", "accounts.erase": "former_writer"}
TOKEN_OF = {"auth.confirm": "confirm", "auth.reset_password": "reset",
            "auth.login_link": "login", "auth.confirm_signup": "signup",
            "auth.accept_invitation": "invitation",
            "notifications.preferences_link": "preferences"}

# Endpoints with an order in the URL use the delivered order; these are also asked about others.
ORDER_VARIANTS = {
    "orders.detail": ("delivered", "open", "draft", "in_review"),
    "orders.pass_review": ("in_review", "delivered"),
    "orders.return_to_writer": ("in_review", "delivered"),
    "orders.edit": ("draft", "delivered"),
    "orders.submit": ("draft", "delivered"),
    "orders.delete": ("draft", "delivered"),
    "writing.claim": ("delivered", "open"),
    "writing.release": ("delivered", "open"),
    "orders.post_message": ("delivered", "open"),
    "orders.export": ("approved",),  # nothing is exported before approval
    # The approved order is a sample on the landing page (consented, showcased); the
    # delivered one is not: its public page answers 404 to everyone.
    "main.sample": ("approved", "delivered"),
    "orders.sample_consent": ("approved",),
    "agency.showcase": ("approved",),
}
# Public pages of one order that exist only while it is a sample.
SAMPLE_PAGES = frozenset({"main.sample"})


# Endpoints whose URL names a document of client A's company (an invoice, a proforma, a
# payment, a credit note): client A is a person of that company.
COMPANY_DOCUMENTS = frozenset({
    "billing.proforma", "billing.proforma_pdf", "billing.declare_payment", "billing.checkout",
    "billing.invoice", "billing.invoice_pdf", "billing.pay_invoice", "billing.credit_note_pdf",
    "billing.payment_proof", "billing.check_payment",
})
# Endpoints whose URL names a brief template client A saved.
CLIENT_A_TEMPLATES = frozenset({"orders.delete_template"})
# Online payment is on in the world, its provider unreachable (a checkout fails cleanly).
FEDAPAY = {"FEDAPAY_SECRET_KEY": "sk_sandbox_world", "FEDAPAY_WEBHOOK_SECRET": "wh_world",
           "FEDAPAY_API_URL": "http://127.0.0.1:1", "FEDAPAY_TIMEOUT": 2}


@dataclass
class OrderFacts:
    id: int
    status: OrderStatus
    client: str
    writer: str | None


@dataclass
class World:
    app: Flask
    users: dict[str, User]
    orders: dict[str, OrderFacts]
    ids: dict[str, int]
    tokens: dict[str, str]
    mail_key: str
    # Writers who work in the orders' language and may take their tier.
    qualified_writers: frozenset[str]
    # The session cookie and a CSRF token valid in it, per actor.
    cookies: dict[str, str] = field(default_factory=dict)
    csrf: dict[str, str] = field(default_factory=dict)
    _targets: dict[str, Target] = field(default_factory=dict)
    start: dict = field(default_factory=dict)  # the fingerprint once built
    last: dict = field(default_factory=dict)  # the fingerprint at the last check

    # --- URLs -------------------------------------------------------------------------------

    def url_values(self, endpoint: str, arguments: set[str], order: str) -> dict:
        values: dict = {}
        for name in arguments:
            if name == "order_id":
                values[name] = self.orders[order].id
            elif name == "user_id":
                values[name] = self.users[PERSON_OF.get(endpoint, "other_client")].id
            elif name == "token":
                values[name] = self.tokens[TOKEN_OF[endpoint]]
            elif name == "key":
                values[name] = self.mail_key
            elif name == "filename":
                values[name] = STATIC_FILES[endpoint]
            elif name == "number":
                values[name] = 1
            elif name == "fmt":
                values[name] = "docx"
            else:
                values[name] = self.ids[name]
        return values

    def targets(self) -> dict[str, Target]:
        """Every endpoint of the app, once per order it is asked about, by label."""
        if not self._targets:
            adapter = self.app.url_map.bind("localhost")
            with self.app.test_request_context():
                for url_rule in self.app.url_map.iter_rules():
                    endpoint = url_rule.endpoint
                    methods = frozenset(url_rule.methods - {"HEAD", "OPTIONS"})
                    for variant in ORDER_VARIANTS.get(endpoint, (None,)):
                        values = self.url_values(endpoint, set(url_rule.arguments),
                                                 variant or "delivered")
                        order = (variant or "delivered") if "order_id" in values else None
                        url = url_for(endpoint, **values)
                        target = Target(endpoint, variant, order, url, methods,
                                        {m: _routed_to(adapter, url, m) for m in ("GET", "POST")})
                        self._targets[target.label] = target
        return self._targets

    # --- what the table expects ---------------------------------------------------------------

    def relations(self, actor: str, target: Target) -> set[Relation]:
        """What `actor` is to the object of the target's URL."""
        if actor in SIGNED_OUT:
            return set()
        role = ROLES[actor]
        # Managers hold the editor's rights on every order; an editor, while it is in review.
        found = {Relation.MANAGER, Relation.REVIEWER} if role is Role.MANAGER else set()
        if target.endpoint == "notifications.mark_read":
            if actor == "owner_client":  # the notification is client A's
                found.add(Relation.RECIPIENT)
            return found
        if target.endpoint in CLIENT_A_TEMPLATES:
            if actor == "owner_client":  # the brief template is client A's
                found.add(Relation.OWNER)
            return found
        if target.endpoint in COMPANY_DOCUMENTS:
            if actor == "owner_client":
                found.add(Relation.COMPANY_MEMBER)
            return found
        if target.order is None:
            return found
        order = self.orders[target.order]
        if actor == order.client:
            found.add(Relation.OWNER)
        if actor == order.writer:
            found.add(Relation.ASSIGNED_WRITER)
        if role is Role.EDITOR and order.status is OrderStatus.IN_REVIEW:
            found.add(Relation.REVIEWER)
        if actor in self.qualified_writers:
            found.add(Relation.QUALIFIED_WRITER)
            if order.status is OrderStatus.OPEN:
                found.add(Relation.POOL_WRITER)
        return found

    def expected(self, actor: str, target: Target, method: str) -> str:
        """allowed, login (the login page), home (sent to the home page), 404 or 405."""
        endpoint = target.routes[method]
        if endpoint is None:
            return "405"
        rule: Rule = rules(self.app)[endpoint]
        if rule.scraper:  # nobody of the world is the scraper (no token, no allowed address)
            return "404"
        if target.endpoint in SAMPLE_PAGES and target.order != "approved":
            return "404"
        if actor in SIGNED_OUT:
            return "login" if rule.login else "allowed"
        if rule.visitors_only:
            return "home"
        if rule.roles and ROLES[actor] not in rule.roles:
            return "404"
        if rule.relations and not rule.relations & self.relations(actor, target):
            return "404"
        return "allowed"

    # --- asking -------------------------------------------------------------------------------

    def client_of(self, actor: str):
        client = self.app.test_client()
        client.set_cookie(SESSION_COOKIE, self.cookies[actor])
        return client

    def ask(self, actor: str, method: str, url: str, data: dict | None = None, *,
            token: bool = True):
        """One request by `actor` in a browser of their own, with their CSRF token."""
        payload = dict(data or {})
        if token and method == "POST":
            payload.setdefault("csrf_token", self.csrf[actor])
        return self.client_of(actor).open(url, method=method, data=payload)


@dataclass(frozen=True)
class Target:
    endpoint: str
    variant: str | None  # the order named in the label, for endpoints asked about several
    order: str | None  # which order of the world the URL names, if any
    url: str
    methods: frozenset[str]
    # The endpoint each method reaches at this URL (None: 405). Usually this one; GET
    # /confirm/resend is the confirmation link of the token "resend".
    routes: dict[str, str | None]

    @property
    def label(self) -> str:
        return f"{self.endpoint}@{self.variant}" if self.variant else self.endpoint


def _routed_to(adapter, url: str, method: str) -> str | None:
    try:
        endpoint, _values = adapter.match(urlsplit(url).path, method=method)
    except MethodNotAllowed:
        return None
    return endpoint


def labels(endpoints) -> list[str]:
    """The labels of the targets of these endpoints (known before any world is built)."""
    return [f"{endpoint}@{variant}" if variant else endpoint
            for endpoint in sorted(endpoints)
            for variant in ORDER_VARIANTS.get(endpoint, (None,))]


def answer(response) -> str:
    """What a response means for access: allowed, login, home, 404, 405 or 5xx."""
    status = response.status_code
    if status >= 500:
        return f"{status}"
    if status in (404, 405):
        return str(status)
    if status == 401:  # a script's call of an ended session
        return "login"
    if 300 <= status < 400:
        target = urlsplit(response.location)
        # The login page of login_required carries where to come back (next=).
        if target.path == "/login" and "next" in parse_qs(target.query):
            return "login"
        if target.path == "/home":
            return "home"
    return "allowed"


def matches(expected: str, observed: str) -> bool:
    # A person let in may well be sent home afterwards (index, resend confirmation…).
    return observed == expected or (expected == "allowed" and observed == "home")


# --- building and emptying --------------------------------------------------------------------

TEXT_FILE = b"Notes pour le brief : ton chaleureux, phrases courtes.\n"
EMAIL_TOKEN = {
    "confirm": re.compile(r"/confirm/([A-Za-z0-9_.\-]+)"),
    "reset": re.compile(r"/password/reset/([A-Za-z0-9_.\-]+)"),
    "invitation": re.compile(r"/invitation/([A-Za-z0-9_.\-]+)"),
    "signup": re.compile(r"/signup/confirm/([A-Za-z0-9_.\-]+)"),
}


def _token_from_outbox(kind: str, address: str) -> str:
    body = db.session.scalars(
        sa.select(OutboxEmail.text_body).where(OutboxEmail.recipient == address)
        .order_by(OutboxEmail.id.desc())
    ).first()
    match = EMAIL_TOKEN[kind].search(body or "")
    assert match, f"no {kind} link in the email to {address}"
    return match.group(1)


def build_world(app: Flask, maildir: Path) -> World:
    factory = Factory(app)
    tier = factory.tier(name="Standard")
    reviewed = factory.tier(name="Relu", requires_review=True)
    content_type = factory.content_type("Article de blog", "Blog post")
    users = {
        "owner_client": factory.user("client", name="Ama Owner", billing="prepaid",
                                     funds=200_000),
        "other_client": factory.user("client", name="Koku Other"),
        "other_writer": factory.writer(tiers=[tier, reviewed], name="Yao Rival"),
        "assigned_writer": factory.writer(tiers=[tier, reviewed], name="Kofi Writer"),
        "manager": factory.user("manager", name="Esi Manager"),
        "editor": factory.user("editor", name="Afi Editor"),
        "deactivated": factory.user("manager", name="Former Manager"),
        "unconfirmed": factory.user("client", name="Not Yet", confirmed=False),
        "former_writer": factory.writer(tiers=[tier], name="Former Writer", active=False),
    }
    client = users["owner_client"]
    orders = {}
    for name, status, writer in (("delivered", OrderStatus.DELIVERED, "assigned_writer"),
                                 ("open", OrderStatus.OPEN, None),
                                 ("draft", OrderStatus.DRAFT, None),
                                 ("approved", OrderStatus.APPROVED, "assigned_writer")):
        order = factory.order(client=client, tier=tier, content_type=content_type, status=status,
                              writer=users[writer] if writer else None,
                              title=f"Commande {name}")
        orders[name] = OrderFacts(order.id, status, "owner_client", writer)
    in_review = factory.order(client=client, tier=reviewed, content_type=content_type,
                              status=OrderStatus.IN_REVIEW, writer=users["assigned_writer"],
                              title="Commande en relecture")
    orders["in_review"] = OrderFacts(in_review.id, OrderStatus.IN_REVIEW, "owner_client",
                                     "assigned_writer")
    # Client B's approved order earned the assigned writer a payout (the world's batch).
    factory.order(client=users["other_client"], tier=tier, content_type=content_type,
                  status=OrderStatus.APPROVED, writer=users["assigned_writer"],
                  title="Commande validée")

    ids: dict[str, int] = {"tier_id": tier.id, "content_type_id": content_type.id}
    tokens: dict[str, str] = {}
    with app.app_context():
        session = db.session
        delivered = session.get(Order, orders["delivered"].id)
        manager = session.get(User, users["manager"].id)
        owner = session.get(User, client.id)
        attachment = uploads.add_attachment(
            delivered, manager, FileStorage(BytesIO(TEXT_FILE), filename="notes.txt"))
        message = post_message(delivered, owner, "Voici la charte de la marque.",
                               files=[FileStorage(BytesIO(TEXT_FILE), filename="charte.txt")])
        approved = session.get(Order, orders["approved"].id)
        set_sample_consent(approved, owner, True)
        set_showcase(approved, manager, True)
        session.flush()
        ids["attachment_id"] = attachment.id
        ids["message_id"] = message.id
        ids["file_id"] = message.attachments[0].id
        notification = session.scalars(
            sa.select(Notification).where(Notification.user_id == owner.id)
            .order_by(Notification.id)
        ).first()
        if notification is None:
            notification = Notification(user_id=owner.id, order_id=delivered.id,
                                        kind=NotificationKind.STATUS, event="order.delivered",
                                        params={}, email_mode=EmailMode.NEVER)
            session.add(notification)
        failed = OutboxEmail(idempotency_key="access-world:failed", kind="test",
                             recipient=owner.email, recipient_user_id=owner.id,
                             subject="Un courriel en échec", text_body="Bonjour.",
                             html_body="<p>Bonjour.</p>", message_id="<failed@portal.test>",
                             status=OutboxStatus.FAILED, attempts=8, last_error="refused")
        session.add(failed)
        invitation = auth_service.invite(manager=manager, email="invitee@example.test",
                                         display_name="Invited Writer", role=Role.WRITER,
                                         locale="fr")
        auth_service.send_confirmation(session.get(User, users["unconfirmed"].id))
        auth_service.request_password_reset(owner.email)
        auth_service.sign_up_client(email="waiting@example.test", password=Factory.PASSWORD,
                                    display_name="Waiting Signup", locale="fr",
                                    timezone="Africa/Lome")
        session.commit()
        ids["notification_id"] = notification.id
        ids["email_id"] = failed.id
        ids["invitation_id"] = invitation.id
        tokens["invitation"] = _token_from_outbox("invitation", "invitee@example.test")
        tokens["confirm"] = _token_from_outbox("confirm", users["unconfirmed"].email)
        tokens["reset"] = _token_from_outbox("reset", owner.email)
        tokens["signup"] = _token_from_outbox("signup", "waiting@example.test")
        # For someone who never logs in in this world: the link stays valid.
        unconfirmed = session.get(User, users["unconfirmed"].id)
        tokens["login"] = make_token("login", {
            "uid": unconfirmed.id, "fp": auth_service._login_fingerprint(unconfirmed)})
        tokens["preferences"] = preferences_token(owner)
        ids.update(_money_world(users))
        ids.update(_template_world(users, content_type.id, tier.id))

    world = World(app=app, users=users, orders=orders, ids=ids, tokens=tokens,
                  mail_key=_one_email_in(maildir),
                  qualified_writers=frozenset({"other_writer", "assigned_writer"}))
    _sign_everyone_in(world)
    return world


def _template_world(users: dict[str, User], content_type_id: int,
                    tier_id: int) -> dict[str, int]:
    """A brief template client A saved from an order, and a published agency template."""
    from portal.orders.brief_templates import (
        TemplateValues,
        create_agency_template,
        save_from_order,
    )

    session = db.session
    owner = session.get(User, users["owner_client"].id)
    manager = session.get(User, users["manager"].id)
    order = session.scalars(sa.select(Order).where(Order.client_id == owner.id)
                            .order_by(Order.id)).first()
    own = save_from_order(owner, order, "Mon modèle")
    agency = create_agency_template(manager, TemplateValues(
        name="Article de blog type", content_type_id=content_type_id, language="fr",
        words_min=600, words_max=800, tier_id=tier_id, published=True))
    session.commit()
    return {"template_id": own.id, "agency_template_id": agency.id}


def _money_world(users: dict[str, User]) -> dict[str, int]:
    """Client A's company with a top-up paid (its deposit invoice, a credit note on it), a
    proforma open with a payment declared (with its proof), and a payout batch that paid the
    assigned writer for an order of client B."""
    from portal.billing import earnings, invoices, payments
    from portal.billing.companies import company_of
    from portal.billing.models import Invoice, PaymentMethod
    from portal.extensions import utcnow

    session = db.session
    owner, manager = session.get(User, users["owner_client"].id), \
        session.get(User, users["manager"].id)
    paid = payments.request_topup(owner, 20_000)
    payments.confirm(payments.declare_for_proforma(owner, paid, payments.Declaration(
        PaymentMethod.FLOOZ, "WORLD-1", 20_000)), manager)
    deposit = session.scalars(sa.select(Invoice).where(Invoice.proforma_id == paid.id)).one()
    note = invoices.issue_credit_note(deposit, manager, 1_000, "Geste commercial.")
    proforma = payments.request_topup(owner, 30_000)
    payment = payments.declare_for_proforma(owner, proforma, payments.Declaration(
        PaymentMethod.MIXX, "WORLD-2", 30_000,
        FileStorage(BytesIO(TEXT_FILE), filename="recu.txt")))
    session.commit()
    earned = earnings.payable_writers(0)
    batch = earnings.pay_out(manager, [earnings.PayoutLine(w.writer_id, PaymentMethod.CASH, "")
                                       for w in earned]) if earned else None
    session.commit()
    now = utcnow()
    return {"invoice_id": deposit.id, "credit_note_id": note.id, "proforma_id": proforma.id,
            "payment_id": payment.id, "company_id": company_of(owner).id,
            "batch_id": batch.id if batch else 0, "year": now.year, "month": now.month}


def _one_email_in(maildir: Path) -> str:
    message = EmailMessage()
    message["Subject"] = "Bienvenue"
    message["From"] = "no-reply@portal.test"
    message["To"] = "ama@example.test"
    message.set_content("Bonjour.")
    message.add_alternative("<p>Bonjour.</p>", subtype="html")
    return mailbox.Maildir(maildir, create=True).add(message)


CSRF_RE = re.compile(r'name="(?:[a-z]+-)?csrf_token" type="hidden" value="([^"]+)"')


def _sign_everyone_in(world: World) -> None:
    app = world.app
    for actor in ACTORS:
        client = app.test_client()
        if actor != "anonymous":
            user = world.users[actor]
            page = client.get("/login")
            token = CSRF_RE.search(page.get_data(as_text=True)).group(1)
            response = client.post("/login", data={"email": user.email,
                                                   "password": Factory.PASSWORD,
                                                   "csrf_token": token})
            assert response.status_code == 302, f"{actor} could not log in"
        page = client.get("/settings" if actor != "anonymous" else "/login")
        world.csrf[actor] = CSRF_RE.search(page.get_data(as_text=True)).group(1)
        world.cookies[actor] = client.get_cookie(SESSION_COOKIE).value
    # Closed while signed in: the account, not the session, says no (the token is unchanged).
    with app.app_context():
        db.session.get(User, world.users["deactivated"].id).active = False
        db.session.commit()


# --- what the database holds --------------------------------------------------------------------

# Reading is allowed to leave these traces: when each person last read an order's conversation,
# and when they read a notification (opening an order marks its notifications read); and the
# finance page's first view computes its figures from the documents and stores them in place
# of the deltas (kept figures, not business state: portal/billing/figures.py).
READ_TRACES = {"read_markers": None, "notifications": {"read_at"}, "finance_figures": None,
               "finance_deltas": None}


def fingerprint(app: Flask, *, ignore: dict[str, set[str] | None] | None = None) -> dict:
    """Every row of every table, as text, per table (columns in `ignore` left out; a table
    mapped to None is left out whole)."""
    ignore = ignore or {}
    found = {}
    with app.app_context():
        for table in db.metadata.sorted_tables:
            skipped = ignore.get(table.name, set())
            if skipped is None:
                continue
            columns = [c for c in table.columns if c.name not in skipped]
            order = list(table.primary_key.columns) or columns
            rows = db.session.execute(sa.select(*columns).order_by(*order)).all()
            found[table.name] = [tuple(str(value) for value in row) for row in rows]
        db.session.remove()
    return found


def changes(before: dict, after: dict) -> dict:
    """Tables whose rows differ, with the rows that went and came."""
    changed = {}
    for name in before:
        if before[name] != after[name]:
            gone = [row for row in before[name] if row not in after[name]]
            new = [row for row in after[name] if row not in before[name]]
            changed[name] = {"gone": gone[:3], "new": new[:3]}
    return changed


@cache
def served_methods() -> dict[str, frozenset[str]]:
    """The methods each endpoint serves, read from an app of its own (known at collection,
    before the session's app and database exist)."""
    from config import TestingConfig
    from portal import create_app

    app = create_app(TestingConfig, SQLALCHEMY_DATABASE_URI="sqlite://")
    methods: dict[str, set[str]] = {}
    for url_rule in app.url_map.iter_rules():
        methods.setdefault(url_rule.endpoint, set()).update(url_rule.methods - {"HEAD", "OPTIONS"})
    return {endpoint: frozenset(found) for endpoint, found in methods.items()}


@contextmanager
def module_world(app: Flask, tmp_path_factory):
    """The world for one test module: files and the development mailbox in temporary folders,
    the mailbox page on (it is for managers in development), everything emptied at the end."""
    with pytest.MonkeyPatch.context() as patch:
        maildir = tmp_path_factory.mktemp("mailbox") / "Maildir"
        patch.setitem(app.config, "UPLOAD_DIR", str(tmp_path_factory.mktemp("uploads")))
        patch.setitem(app.config, "MAILBOX_DIR", str(maildir))
        patch.setitem(app.config, "MAILBOX_PAGE", True)
        for name, value in FEDAPAY.items():
            patch.setitem(app.config, name, value)
        try:
            world = build_world(app, maildir)
            world.start = fingerprint(app, ignore=READ_TRACES)
            yield world
        finally:
            empty_database(app)
