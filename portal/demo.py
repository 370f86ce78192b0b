"""The demo agency loaded by `flask seed-demo` and `make run`: its people, its catalogue (content
types and quality tiers), what each writer may take, the clients' companies (Boutique Zénith
with a style guide), orders in every status (`portal.demo_orders`) paid through top-ups, and
money to show: a payment declared and waiting, a postpaid client's invoice still due, a payout
batch.

Every part is created only when it is missing, so a second run creates nothing. Orders are
played through the real services (so their timeline, deliveries and frozen prices are the ones
people would have produced), then their dates are moved back so the story reads as if it
happened over the past weeks. The emails that story queued are dropped: they belong to that past.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from portal.accounts.models import Role, User
from portal.auth.passwords import hash_password
from portal.billing import companies, earnings, invoices, payments
from portal.billing.models import (
    BillingMode,
    Payment,
    PaymentMethod,
    PaymentStatus,
    PayoutBatch,
)
from portal.demo_orders import EDITOR, MANAGER, ORDERS, DemoOrder
from portal.errors import DomainError
from portal.extensions import db, utcnow
from portal.notifications.models import OutboxEmail
from portal.orders import review, service, showcase
from portal.orders.models import (
    ContentType,
    Delivery,
    Draft,
    Order,
    OrderEvent,
    OrderStatus,
    Tier,
    WriterLanguage,
    writer_tiers,
)
from portal.orders.pricing import quote

DEMO_PASSWORD = "portail-demo-2026"  # noqa: S105 - published demo password, listed in the README

DEMO_PEOPLE = [
    ("manager@demo.test", "Akossiwa Mensah", Role.MANAGER),
    ("relecture@demo.test", "Edem Kpogo", Role.EDITOR),
    ("writer@demo.test", "Kodjo Amouzou", Role.WRITER),
    ("redaction.afi@demo.test", "Afi Lawson", Role.WRITER),
    ("redaction.yao@demo.test", "Yao Agbéko", Role.WRITER),
    ("client@demo.test", "Boutique Zénith (Mawuli Dogbé)", Role.CLIENT),
    ("contact@cafe-atakpame.demo.test", "Café d'Atakpamé (Essi Kpodar)", Role.CLIENT),
    ("boulangerie@demo.test", "Boulangerie La Fournée dorée (Ama Sodji)", Role.CLIENT),
    ("hotel@demo.test", "Hôtel Les Collines, Kara (Piyabalo Tchalla)", Role.CLIENT),
    ("cooperative@demo.test", "Coopérative des caféiculteurs de Kloto (Komla Ahadji)",
     Role.CLIENT),
]

# The clients' companies: legal name, address, NIF, RCCM, and how they pay (made up).
DEMO_COMPANIES = {
    "client@demo.test": ("Boutique Zénith SARL", "Boulevard du 13 Janvier, Lomé",
                         "1000456789", "TG-LOM 2021 B 00457", BillingMode.PREPAID, 0),
    "contact@cafe-atakpame.demo.test": ("Café d'Atakpamé", "Quartier Agbonou, Atakpamé", "",
                                        "", BillingMode.PREPAID, 0),
    "boulangerie@demo.test": ("Boulangerie La Fournée dorée", "Rue de la Gare, Tokoin, Lomé",
                              "1000334455", "", BillingMode.PREPAID, 0),
    "hotel@demo.test": ("Hôtel Les Collines SA", "Route de Lama, Kara", "1000778899",
                        "TG-KAR 2019 B 00112", BillingMode.PREPAID, 0),
    # A trusted client: invoiced monthly, within a credit limit.
    "cooperative@demo.test": ("Coopérative des caféiculteurs de Kloto", "Kpalimé",
                              "1000112233", "", BillingMode.POSTPAID, 300_000),
}

# The style guide of Boutique Zénith, saved by its owner before its orders were placed (so each
# order keeps it, and the report of "Cinq idées de cadeaux" finds its forbidden "uniques").
DEMO_STYLE_GUIDES = {
    "client@demo.test": {
        "tone": "Chaleureux et direct, vouvoiement ; jamais familier ni publicitaire",
        "audience": "Femmes et hommes de 25 à 55 ans, à Lomé et dans la diaspora, qui achètent "
                    "du pagne pour les cérémonies et aiment l'artisanat togolais",
        "words_to_use": ["pagne wax", "fait main", "atelier de Tokoin", "créateurs togolais",
                         "boutique Zénith"],
        "forbidden_words": ["pas cher", "bon marché", "unique", "incroyable", "made in Africa",
                            "leader"],
        "formatting": "Un intertitre toutes les 200 à 300 mots, pas de liste à puces dans les "
                      "articles.\nPrix en F CFA, écrits « 12 500 F CFA ».\nLe nom s'écrit "
                      "« Boutique Zénith », avec l'accent, jamais en capitales.\nTerminer par "
                      "une invitation à passer en boutique, boulevard du 13 Janvier.",
        "examples": "https://boutique-zenith.demo.test/blog/nouvelle-collection\n"
                    "« Chaque pagne de la collection est choisi à la main chez nos fournisseurs "
                    "de Lomé : nous vous disons d'où il vient et comment l'entretenir. »",
    },
}

# (French name, English name)
CONTENT_TYPES = [
    ("Article de blog", "Blog article"),
    ("Article d'actualité", "News article"),
    ("Page web", "Web page"),
    ("Fiches produits", "Product descriptions"),
    ("Communiqué de presse", "Press release"),
    ("Newsletter", "Newsletter"),
]

# name, description, client price per word, writer pay per word (about 60 %), included
# revisions, minimum lead time in hours. Prices in F CFA (XOF has no minor unit).
TIERS = [
    ("Essentiel", "Des textes clairs et soignés pour le web, relus avant livraison.",
     15, 9, 1, 24),
    ("Professionnel", "Des rédacteurs confirmés : recherche, structure et référencement.",
     25, 15, 2, 48),
    ("Expert", "Des spécialistes du sujet pour les textes de référence et la presse.",
     40, 24, 3, 72),
    ("Premium", "Des spécialistes, et chaque texte relu par notre équipe éditoriale avant de "
     "vous parvenir.", 60, 36, 3, 72),
]
# Tiers whose deliveries an editor reads before the client (portal/orders/review.py).
REVIEWED_TIERS = {"Premium"}

# writer -> (languages, tiers)
WRITER_SKILLS = {
    "writer@demo.test": (("fr", "en"), ("Essentiel", "Professionnel", "Expert")),
    "redaction.afi@demo.test": (("fr",), ("Essentiel", "Professionnel")),
    "redaction.yao@demo.test": (("fr", "en"), ("Professionnel", "Expert", "Premium")),
}


def seed_demo() -> bool:
    """Create what is missing of the demo agency; True when something was created.

    The caller commits."""
    last_email = db.session.scalar(sa.select(sa.func.max(OutboxEmail.id))) or 0
    created = _seed_people()
    created |= _seed_companies()
    created |= _seed_style_guides()
    created |= _seed_catalogue()
    created |= _seed_brief_templates()
    created |= _seed_skills()
    created |= _seed_orders()
    created |= _seed_money()
    if created:
        # The story belongs to the past: its emails are not sent now.
        db.session.execute(sa.delete(OutboxEmail).where(OutboxEmail.id > last_email))
        db.session.flush()
    return created


def _seed_people() -> bool:
    existing = _people()
    missing = [person for person in DEMO_PEOPLE if person[0] not in existing]
    if not missing:
        return False
    password_hash = hash_password(DEMO_PASSWORD)
    now = utcnow()
    for email, name, role in missing:
        db.session.add(
            User(
                email=email,
                display_name=name,
                role=role,
                password_hash=password_hash,
                email_confirmed_at=now,
                locale="fr",
                timezone=current_app.config["AGENCY_TIMEZONE"],
            )
        )
    db.session.flush()
    return True


def _seed_companies() -> bool:
    created = False
    for email, user in _people().items():
        details = DEMO_COMPANIES.get(email)
        if details is None or companies.company_of(user) is not None:
            continue
        name, address, tax_number, trade_register, mode, credit_limit = details
        company = companies.create_company(user, name)
        company.address, company.tax_number = address, tax_number
        company.trade_register, company.billing_mode = trade_register, mode
        company.credit_limit = credit_limit
        created = True
    db.session.flush()
    return created


def _seed_style_guides() -> bool:
    """Each demo company's guide, saved by its owner through the service (once)."""
    from portal.style_guides import service as guides

    created = False
    for email, user in _people().items():
        spec = DEMO_STYLE_GUIDES.get(email)
        company = companies.company_of(user) if spec else None
        if company is None or guides.guide_of(company.id) is not None:
            continue
        guides.save_guide(company, user, guides.GuideValues(**spec), version=0)
        created = True
    db.session.flush()
    return created


def _fund(client: User, price: int, people: dict[str, User]) -> None:
    """A prepaid client short of money for an order tops up the difference first (rounded up to
    5,000 F CFA): a proforma paid by Flooz, confirmed by the manager."""
    company = companies.company_of(client, create=True)
    if company.billing_mode is not BillingMode.PREPAID or company.spendable >= price:
        return
    amount = -(-(price - company.spendable) // 5_000) * 5_000
    proforma = payments.request_topup(client, amount)
    payment = payments.declare_for_proforma(client, proforma, payments.Declaration(
        PaymentMethod.FLOOZ, f"FL-DEMO-{proforma.number}", amount))
    payments.confirm(payment, people["manager@demo.test"])


def _seed_money() -> bool:
    """What the money pages show beyond the orders: a payment declared and waiting for the
    manager (Café d'Atakpamé), the postpaid cooperative's invoice still due, and a payout
    batch for the writers above the threshold. Each part once."""
    people = _people()
    manager = people.get("manager@demo.test")
    if manager is None:
        return False
    created = False
    cafe = people.get("contact@cafe-atakpame.demo.test")
    if cafe is not None and not db.session.scalar(
            sa.select(Payment.id).where(Payment.status == PaymentStatus.DECLARED)):
        proforma = payments.request_topup(cafe, 50_000)
        payments.declare_for_proforma(cafe, proforma, payments.Declaration(
            PaymentMethod.MIXX, "MX-240917-5521", 50_000))
        created = True
    cooperative = people.get("cooperative@demo.test")
    company = companies.company_of(cooperative) if cooperative else None
    if company is not None and company.billing_mode is BillingMode.POSTPAID:
        captures = invoices.uninvoiced_captures(company.id, utcnow() + timedelta(seconds=1))
        if captures:
            invoices.issue_for_captures(company, captures, actor=manager)
            created = True
    if not db.session.scalar(sa.select(PayoutBatch.id)):
        payable = earnings.payable_writers(current_app.config["PAYOUT_THRESHOLD"])
        if payable:
            earnings.pay_out(manager, [earnings.PayoutLine(w.writer_id, PaymentMethod.FLOOZ,
                                                           f"FL-PAIE-{n:03d}")
                                       for n, w in enumerate(payable, start=1)],
                             "Paie des rédacteurs")
            created = True
    db.session.flush()
    return created


def _seed_catalogue() -> bool:
    created = False
    types = set(db.session.scalars(sa.select(ContentType.name_fr)))
    for position, (name_fr, name_en) in enumerate(CONTENT_TYPES, start=1):
        if name_fr not in types:
            db.session.add(ContentType(name_fr=name_fr, name_en=name_en, position=position))
            created = True
    tiers = set(db.session.scalars(sa.select(Tier.name)))
    for position, (name, description, price, pay, revisions, lead) in enumerate(TIERS, 1):
        if name not in tiers:
            db.session.add(Tier(name=name, description=description, client_price_per_word=price,
                                writer_pay_per_word=pay, included_revisions=revisions,
                                min_lead_hours=lead, position=position,
                                requires_review=name in REVIEWED_TIERS))
            created = True
    db.session.flush()
    return created


# The agency's published templates: (content type, name, words, tone, instructions).
BRIEF_TEMPLATES = [
    ("Article de blog", "Article de blog conseil", (800, 1000), "Chaleureux et expert",
     "Une introduction qui pose la question du lecteur, trois à cinq intertitres, une "
     "conclusion avec un appel à l'action."),
    ("Communiqué de presse", "Communiqué d'annonce", (300, 500), "Factuel",
     "Qui, quoi, où, quand, pourquoi dans le premier paragraphe ; une citation du dirigeant ; "
     "le contact presse à la fin."),
]


def _seed_brief_templates() -> bool:
    from portal.orders.models import BriefTemplate

    existing = set(db.session.scalars(
        sa.select(BriefTemplate.name).where(BriefTemplate.owner_id.is_(None))))
    types = {kind.name_fr: kind.id for kind in db.session.scalars(sa.select(ContentType))}
    created = False
    for type_name, name, (low, high), tone, instructions in BRIEF_TEMPLATES:
        if name in existing or type_name not in types:
            continue
        db.session.add(BriefTemplate(owner_id=None, name=name, published=True,
                                     content_type_id=types[type_name], language="fr",
                                     words_min=low, words_max=high, tone=tone,
                                     instructions=instructions))
        created = True
    db.session.flush()
    return created


def _seed_skills() -> bool:
    writers = _people()
    tiers = {tier.name: tier.id for tier in db.session.scalars(sa.select(Tier))}
    languages = {tuple(row) for row in db.session.execute(
        sa.select(WriterLanguage.user_id, WriterLanguage.language))}
    taken = {tuple(row) for row in db.session.execute(
        sa.select(writer_tiers.c.user_id, writer_tiers.c.tier_id))}
    created = False
    for email, (codes, tier_names) in WRITER_SKILLS.items():
        writer = writers.get(email)
        if writer is None:
            continue
        for code in codes:
            if (writer.id, code) not in languages:
                db.session.add(WriterLanguage(user_id=writer.id, language=code))
                created = True
        for name in tier_names:
            if name in tiers and (writer.id, tiers[name]) not in taken:
                db.session.execute(sa.insert(writer_tiers).values(user_id=writer.id,
                                                                  tier_id=tiers[name]))
                created = True
    db.session.flush()
    return created


def _people() -> dict[str, User]:
    emails = [email for email, *_ in DEMO_PEOPLE]
    return {user.email: user
            for user in db.session.scalars(sa.select(User).where(User.email.in_(emails)))}


def _seed_orders() -> bool:
    people = _people()
    types = {c.name_fr: c.id for c in db.session.scalars(sa.select(ContentType))}
    tiers = {t.name: t.id for t in db.session.scalars(sa.select(Tier))}
    existing = {tuple(row) for row in db.session.execute(
        sa.select(Order.client_id, Order.title))}
    now = utcnow()
    created = False
    for spec in ORDERS:
        client = people.get(spec.client)
        if client is None or (client.id, spec.title) in existing:
            continue
        if spec.content_type not in types or spec.tier not in tiers:
            continue  # a manager renamed the catalogue: leave that story out
        try:
            with db.session.begin_nested():
                _play(spec, people, types[spec.content_type], tiers[spec.tier], now)
        except DomainError as error:  # an account changed since: skip, say why
            current_app.logger.warning("demo order %r skipped: %s", spec.title, error)
            continue
        created = True
    return created


def _play(spec: DemoOrder, people: dict[str, User], content_type_id: int, tier_id: int,
          now: datetime) -> Order:
    """Play one order's story through the services, then date it."""
    client = people[spec.client]
    preferred = people[spec.preferred_writer].id if spec.preferred_writer else None
    order = service.create_draft(client, service.Brief(
        title=spec.title,
        content_type_id=content_type_id,
        language="fr",
        words_min=spec.words[0],
        words_max=spec.words[1],
        tier_id=tier_id,
        deadline=now + timedelta(days=spec.deadline_days),
        tone=spec.tone,
        audience=spec.audience,
        primary_keyword=spec.primary_keyword,
        secondary_keywords=list(spec.secondary_keywords),
        links_to_include=list(spec.links_to_include),
        reference_urls=list(spec.reference_urls),
        instructions=spec.instructions,
        preferred_writer_id=preferred,
    ))
    if spec.status is not OrderStatus.DRAFT:
        if spec.status is not OrderStatus.AWAITING_PAYMENT:
            _fund(client, quote(db.session.get(Tier, tier_id), spec.words[1],
                                order.deadline).total, people)
        service.submit(order, client)
    if spec.status is OrderStatus.CANCELLED:
        service.cancel(order, client, spec.cancel_reason)
    if spec.writer is not None:
        writer = people[spec.writer]
        if spec.assigned_by:
            service.assign(order, people[spec.assigned_by], writer)
        else:
            service.claim(order, writer)
        reasons = iter(spec.revision_reasons)
        last = len(spec.deliveries) - 1
        for number, text in enumerate(spec.deliveries):
            if number and order.status is OrderStatus.DELIVERED:
                service.request_revision(order, client, next(reasons))
            service.save_draft(order, writer, text,
                               base_version=service.draft_for(order).version)
            note = spec.delivery_notes[number] if number < len(spec.delivery_notes) else ""
            service.deliver(order, writer, note)
            if order.status is OrderStatus.IN_REVIEW:
                if number < len(spec.editor_comments):
                    review.return_to_writer(order, people[EDITOR],
                                            spec.editor_comments[number])
                elif not (number == last and spec.status is OrderStatus.IN_REVIEW):
                    review.pass_to_client(order, people[EDITOR])
        if spec.status is OrderStatus.REVISION_REQUESTED:
            service.request_revision(order, client, next(reasons))
        elif spec.status is OrderStatus.APPROVED:
            service.approve(order, client, spec.rating or 5, spec.rating_comment)
        if spec.draft:
            service.save_draft(order, writer, spec.draft,
                               base_version=service.draft_for(order).version)
    if order.status is not spec.status:
        raise RuntimeError(f"demo order {spec.title!r} ended {order.status}, not {spec.status}")
    _date(order, now - timedelta(days=spec.days[0]), now - timedelta(days=spec.days[1]),
          timedelta(days=spec.deadline_days), now)
    if spec.sample:
        showcase.set_sample_consent(order, client, True)
        showcase.set_showcase(order, people[MANAGER], True)
        order.showcased_at = order.closed_at
        db.session.flush()
    return order


def _date(order: Order, start: datetime, end: datetime, deadline_after: timedelta,
          now: datetime) -> None:
    """Spread the order's timeline evenly from `start` to `end` and move every date that hangs
    on it (submission, claim, deliveries, closing, deadline, preferred writer's offer)."""
    events = list(db.session.scalars(
        sa.select(OrderEvent).where(OrderEvent.order_id == order.id).order_by(OrderEvent.id)
    ))
    deliveries = iter(db.session.scalars(
        sa.select(Delivery).where(Delivery.order_id == order.id).order_by(Delivery.number)
    ))
    step = (end - start) / (len(events) - 1) if len(events) > 1 else timedelta(0)
    moments = [start + step * index for index in range(len(events))]
    order.created_at = moments[0]
    order.deadline = moments[0] + deadline_after
    for event, moment in zip(events, moments, strict=True):
        event.created_at = moment
        if event.action == "submit":
            order.submitted_at = moment
            if order.offered_until is not None:
                order.offered_until = moment + timedelta(
                    hours=current_app.config["PREFERRED_WRITER_HOURS"])
        elif event.action in ("claim", "assign"):
            order.claimed_at = moment
        elif event.action == "deliver":
            order.delivered_at = moment
            delivery = next(deliveries)
            delivery.created_at = delivery.released_at = moment
        elif event.action == "send_to_review":
            delivery = next(deliveries)
            delivery.created_at = moment
        elif event.action == "pass_review":
            order.delivered_at = delivery.released_at = moment
        elif event.action in ("approve", "cancel"):
            order.closed_at = moment
    order.updated_at = moments[-1]
    draft = db.session.get(Draft, order.id)
    if draft is not None:
        # The working text was last saved between the last step and now.
        draft.updated_at = moments[-1] + (now - moments[-1]) / 2
    db.session.flush()
