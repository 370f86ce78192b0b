"""Build people and objects straight in the database for a test's starting point.

Orders are built through the real services (create_draft, submit, claim, save_draft, deliver,
request_revision, approve, cancel), so their timeline, frozen price and emails are the ones a
person would have produced.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask
from sqlalchemy.orm import joinedload

from portal.accounts.models import Role, User
from portal.auth.passwords import hash_password
from portal.extensions import db, utcnow
from portal.orders import review, service
from portal.orders.models import ContentType, Order, OrderStatus, Tier, WriterLanguage, writer_tiers

_counter = itertools.count(1)

# Ten words, no keyword of any brief: what `deliverable` adds until a text is long enough.
FILLER = "Ce paragraphe complète le texte pour atteindre la longueur demandée."
# The filler's words are drawn anew for each text (from a seed that follows the calls), so two
# texts completed here do not share their filler: the originality check
# (portal/orders/originality.py) would otherwise find every test delivery copied from another.
FILLER_WORDS = (
    "ce", "paragraphe", "complète", "le", "texte", "pour", "atteindre", "la", "longueur",
    "demandée", "une", "phrase", "simple", "et", "claire", "donne", "au", "lecteur", "des",
    "idées", "utiles", "chaque", "jour", "quartier", "ville", "soleil", "matin", "soir",
    "route", "maison", "famille", "travail", "récolte", "voyage", "goût", "lumière", "calme",
)
_filler_seed = itertools.count(1)


def filler(sentences: int, seed: int | None = None) -> str:
    """`sentences` sentences of ten words each, unlike any other seed's filler (each call its
    own when no seed is given)."""
    import random

    draw = random.Random(next(_filler_seed) if seed is None else -seed)
    return " ".join(" ".join(draw.choices(FILLER_WORDS, k=10)).capitalize() + "."
                    for _ in range(sentences))


def deliverable(order: Order, text: str) -> str:
    """`text` completed so that the delivery rules of `order`'s brief let it through
    (portal/orders/checks.py): the main keyword and the required links it lacks are added,
    then filler sentences up to the brief's minimum length. A text that already passes is
    returned as it is. The filler is the order's own: unlike any other order's (so no delivery
    reads as a copy of another order's), the same for each delivery of the order (so "what
    changed" between two of them shows only what the test wrote)."""
    from portal.orders.checks import has_link, links_required
    from portal.orders.text import keyword_presence, word_count

    parts = [text]
    if order.primary_keyword and not keyword_presence(text, [order.primary_keyword])[0][1]:
        parts.append(f"{order.primary_keyword}.")
    parts += [url for url in links_required(order) if not has_link(text, url)]
    completed = "\n\n".join(parts)
    missing = order.words_min - word_count(completed)
    if missing > 0:
        completed += "\n\n" + filler(-(-missing // 10), seed=getattr(order, "id", None))
    return completed

_PASSWORD_HASH: dict[str, str] = {}


class Factory:
    PASSWORD = "correct horse battery staple 42"

    def __init__(self, app: Flask) -> None:
        self.app = app

    def _password_hash(self) -> str:
        # scrypt is slow on purpose; tests share one hash of the common password.
        if "hash" not in _PASSWORD_HASH:
            _PASSWORD_HASH["hash"] = hash_password(self.PASSWORD)
        return _PASSWORD_HASH["hash"]

    def user(
        self,
        role: str | Role = Role.CLIENT,
        *,
        email: str | None = None,
        name: str | None = None,
        confirmed: bool = True,
        active: bool = True,
        locale: str = "fr",
        timezone: str = "Africa/Lome",
        company: str | None = None,
        billing: str = "postpaid",
        credit_limit: int = 10_000_000,
        funds: int = 0,
    ) -> User:
        """A user, committed, returned detached with every column loaded.

        A client gets a company (named `company`, else after the person). By default it is a
        trusted postpaid client with a large credit limit, so that tests about anything but
        money see orders go straight to the writers; money tests ask for billing="prepaid"
        (the portal's default) with `funds` put on the balance."""
        role = Role(role)
        n = next(_counter)
        with self.app.app_context():
            user = User(
                email=email or f"{role.value}{n}@example.test",
                display_name=name or f"{role.value.title()} {n}",
                role=role,
                password_hash=self._password_hash(),
                email_confirmed_at=utcnow() if confirmed else None,
                active=active,
                locale=locale,
                timezone=timezone,
            )
            db.session.add(user)
            db.session.flush()
            if role is Role.CLIENT:
                self._company(user, company, billing, credit_limit, funds)
            db.session.commit()
            db.session.refresh(user)
            db.session.expunge(user)
        return user

    @staticmethod
    def _company(user: User, name: str | None, billing: str, credit_limit: int,
                 funds: int) -> None:
        from portal.billing import ledger
        from portal.billing.companies import create_company
        from portal.billing.models import BillingMode, EntryKind

        company = create_company(user, name or user.display_name)
        if BillingMode(billing) is BillingMode.POSTPAID:
            company.billing_mode, company.credit_limit = BillingMode.POSTPAID, credit_limit
            db.session.flush()
        if funds:
            ledger.post(company.id, EntryKind.ADJUSTMENT, key=f"test-funds:{user.id}",
                        amount=funds, note="Crédit de test")

    def company_of(self, user: User):
        """The user's company as the database has it now, detached."""
        from portal.billing.companies import company_of

        with self.app.app_context():
            company = company_of(db.session.get(User, user.id))
            db.session.expunge(company)
        return company

    def reload(self, user: User) -> User:
        with self.app.app_context():
            fresh = db.session.get(User, user.id)
            db.session.expunge(fresh)
        return fresh

    # --- the order world ------------------------------------------------------------------

    def content_type(self, name_fr: str | None = None, name_en: str | None = None) -> ContentType:
        """A content type, committed and detached."""
        n = next(_counter)
        with self.app.app_context():
            content_type = ContentType(name_fr=name_fr or f"Type {n}",
                                       name_en=name_en or name_fr or f"Type {n}", position=n)
            db.session.add(content_type)
            db.session.commit()
            db.session.refresh(content_type)
            db.session.expunge(content_type)
        return content_type

    def tier(
        self,
        *,
        name: str | None = None,
        client_price_per_word: int = 20,
        writer_pay_per_word: int = 12,
        included_revisions: int = 2,
        min_lead_hours: int = 24,
        active: bool = True,
        requires_review: bool = False,
    ) -> Tier:
        """A quality tier, committed and detached."""
        n = next(_counter)
        with self.app.app_context():
            tier = Tier(name=name or f"Tier {n}", client_price_per_word=client_price_per_word,
                        writer_pay_per_word=writer_pay_per_word,
                        included_revisions=included_revisions, min_lead_hours=min_lead_hours,
                        position=n, active=active, requires_review=requires_review)
            db.session.add(tier)
            db.session.commit()
            db.session.refresh(tier)
            db.session.expunge(tier)
        return tier

    def writer(
        self, *, languages: Iterable[str] = ("fr",), tiers: Iterable[Tier] = (), **kwargs
    ) -> User:
        """An active writer who works in `languages` and may take `tiers` (detached)."""
        writer = self.user(Role.WRITER, **kwargs)
        self.give_skills(writer, languages=languages, tiers=tiers)
        return writer

    def give_skills(
        self, writer: User, *, languages: Iterable[str] = (), tiers: Iterable[Tier] = ()
    ) -> None:
        """Add languages and tiers to a writer (what a manager does on the writer's page)."""
        with self.app.app_context():
            for language in languages:
                db.session.merge(WriterLanguage(user_id=writer.id, language=language))
            for tier in tiers:
                db.session.execute(
                    sa.insert(writer_tiers).values(user_id=writer.id, tier_id=tier.id)
                )
            db.session.commit()

    def order(
        self,
        *,
        client: User | None = None,
        status: OrderStatus | str = OrderStatus.OPEN,
        writer: User | None = None,
        tier: Tier | None = None,
        content_type: ContentType | None = None,
        language: str = "fr",
        words_min: int = 400,
        words_max: int = 600,
        deadline: datetime | None = None,
        title: str | None = None,
        preferred_writer: User | None = None,
        revisions: int = 0,
        text: str = "Un texte livré au client, écrit pour le test.",
        rating: int = 5,
        comment: str = "",
        cancelled_from: OrderStatus | str = OrderStatus.OPEN,
        manager: User | None = None,
        editor: User | None = None,
        **brief,
    ) -> Order:
        """An order brought to `status` through the real services, committed at each step.

        What is not given is made: a confirmed client, a tier, a content type, and (from
        in_progress on) a writer who qualifies. `revisions` rounds of revision + new delivery
        are played before the last step (a DELIVERED order with revisions=1 has two
        deliveries). A CANCELLED order is cancelled from `cancelled_from`: by its client when
        open, by `manager` (made if not given) otherwise. On a tier that requires review, each
        delivery goes to review and `editor` (made if needed) passes it on, except the last one
        of an IN_REVIEW order (made on a reviewing tier when `tier` is not given). Returns the
        order detached, with its client, writer, tier and content type loaded.
        """
        status = OrderStatus(status)
        cancelled_from = OrderStatus(cancelled_from)
        reach = cancelled_from if status is OrderStatus.CANCELLED else status
        client = client or self.user(Role.CLIENT)
        tier = tier or self.tier(requires_review=status is OrderStatus.IN_REVIEW)
        if status is OrderStatus.IN_REVIEW and not tier.requires_review:
            raise ValueError("an order in review needs a tier that requires review")
        passes = reach in (OrderStatus.DELIVERED, OrderStatus.REVISION_REQUESTED,
                           OrderStatus.APPROVED) or (reach is OrderStatus.IN_REVIEW and revisions)
        if tier.requires_review and editor is None and passes:
            editor = self.user(Role.EDITOR)  # someone passes the deliveries on
        content_type = content_type or self.content_type()
        if reach not in (OrderStatus.DRAFT, OrderStatus.OPEN, OrderStatus.AWAITING_PAYMENT) \
                and writer is None:
            writer = self.writer(languages=[language], tiers=[tier])
        if status is OrderStatus.CANCELLED and reach is not OrderStatus.OPEN and manager is None:
            manager = self.user(Role.MANAGER)

        with self.app.app_context():
            session = db.session

            def person(user: User | None) -> User:
                return session.get(User, user.id)

            order = service.create_draft(person(client), service.Brief(
                title=title or f"Commande de test {next(_counter)}",
                content_type_id=content_type.id,
                language=language,
                words_min=words_min,
                words_max=words_max,
                tier_id=tier.id,
                deadline=deadline or utcnow() + timedelta(days=10),
                preferred_writer_id=preferred_writer.id if preferred_writer else None,
                **brief,
            ))
            session.commit()
            order_id = order.id
            steps = self._steps(reach, revisions)
            for position, (step, version) in enumerate(steps):
                order = session.get(Order, order_id)
                if step == "submit" and reach is OrderStatus.AWAITING_PAYMENT:
                    self._submit_short_of_money(order, person(client))
                elif step == "submit":
                    service.submit(order, person(client))
                elif step == "claim":
                    service.claim(order, person(writer))
                elif step == "deliver":
                    service.save_draft(order, person(writer),
                                       deliverable(order, f"{text}\n\nVersion {version}."),
                                       base_version=service.draft_for(order).version)
                    service.deliver(order, person(writer), f"Livraison {version}.")
                    if order.status is OrderStatus.IN_REVIEW and (
                            reach is not OrderStatus.IN_REVIEW or position < len(steps) - 1):
                        session.commit()
                        review.pass_to_client(order, person(editor))
                elif step == "revise":
                    service.request_revision(order, person(client),
                                             f"Reprenez l'introduction (tour {version}).")
                session.commit()
            order = session.get(Order, order_id)
            if status is OrderStatus.APPROVED:
                service.approve(order, person(client), rating, comment)
                session.commit()
            elif status is OrderStatus.CANCELLED:
                actor = client if reach is OrderStatus.OPEN else manager
                service.cancel(order, person(actor), "Annulée pour le test.")
                session.commit()
        return self.reload_order(order_id)

    @staticmethod
    def _submit_short_of_money(order: Order, client: User) -> None:
        """Submit with the company unable to pay, so that the order waits for payment: its
        credit limit is lowered for the submission to what it already uses, then set back.
        Refused for a company whose available balance covers the price."""
        from portal.billing.models import Company
        from portal.orders.pricing import quote

        company = db.session.get(Company, order.company_id)
        price = quote(order.tier, order.words_max, order.deadline).total
        if company.balance - company.held >= price:
            raise ValueError("this client's company can pay: give a client without funds")
        limit = company.credit_limit
        company.credit_limit = max(0, company.held - company.balance)
        db.session.flush()
        service.submit(order, client)
        db.session.refresh(company)
        company.credit_limit = limit
        db.session.flush()

    @staticmethod
    def _steps(status: OrderStatus, revisions: int) -> list[tuple[str, int]]:
        """The services to call, in order, to bring a new draft to `status`."""
        if status is OrderStatus.DRAFT:
            return []
        steps = [("submit", 0)]
        if status in (OrderStatus.OPEN, OrderStatus.AWAITING_PAYMENT):
            return steps
        steps.append(("claim", 0))
        if status is OrderStatus.IN_PROGRESS:
            return steps
        steps.append(("deliver", 1))
        for n in range(1, revisions + 1):
            steps += [("revise", n), ("deliver", n + 1)]
        if status is OrderStatus.REVISION_REQUESTED:
            steps.append(("revise", revisions + 1))
        elif status not in (OrderStatus.DELIVERED, OrderStatus.APPROVED, OrderStatus.IN_REVIEW):
            raise ValueError(f"no path to {status}")
        return steps

    def reload_order(self, order: Order | int) -> Order:
        """The order as the database has it now, detached, with its people and catalogue."""
        order_id = order if isinstance(order, int) else order.id
        with self.app.app_context():
            fresh = db.session.scalar(
                sa.select(Order).where(Order.id == order_id).options(
                    joinedload(Order.client), joinedload(Order.writer),
                    joinedload(Order.preferred_writer), joinedload(Order.tier),
                    joinedload(Order.content_type),
                )
            )
            db.session.expunge_all()
        return fresh
