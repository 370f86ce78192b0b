"""Starting points for the agency's pages: a catalogue, orders placed through the services, and
many orders written straight to the database for the list pages."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import Flask

from portal.accounts.models import User
from portal.extensions import db, utcnow
from portal.orders import service, status_counts
from portal.orders.models import ContentType, Order, OrderStatus, Tier, WriterLanguage, writer_tiers

_numbers = itertools.count(1)


def make_tier(app: Flask, *, name: str | None = None, client_price_per_word: int = 20,
              writer_pay_per_word: int = 12, included_revisions: int = 2,
              min_lead_hours: int = 24, active: bool = True) -> int:
    with app.app_context():
        tier = Tier(name=name or f"Niveau {next(_numbers)}",
                    client_price_per_word=client_price_per_word,
                    writer_pay_per_word=writer_pay_per_word,
                    included_revisions=included_revisions, min_lead_hours=min_lead_hours,
                    active=active)
        db.session.add(tier)
        db.session.commit()
        return tier.id


def make_content_type(app: Flask, name_fr: str | None = None, name_en: str | None = None,
                      active: bool = True) -> int:
    with app.app_context():
        n = next(_numbers)
        kind = ContentType(name_fr=name_fr or f"Article {n}", name_en=name_en or f"Article {n}",
                           active=active)
        db.session.add(kind)
        db.session.commit()
        return kind.id


def give_skills(app: Flask, writer: User, languages=("fr",), tier_ids=()) -> None:
    with app.app_context():
        for language in languages:
            db.session.add(WriterLanguage(user_id=writer.id, language=language))
        for tier_id in tier_ids:
            db.session.execute(sa.insert(writer_tiers).values(user_id=writer.id, tier_id=tier_id))
        db.session.commit()


def place_order(app: Flask, client: User, *, tier_id: int, content_type_id: int,
                words_max: int = 500, deadline: datetime | None = None,
                title: str = "Guide du compostage urbain") -> int:
    """A brief written and submitted through the services: its price is frozen now."""
    with app.app_context():
        person = db.session.get(User, client.id)
        order = service.create_draft(person, service.Brief(
            title=title, content_type_id=content_type_id, language="fr",
            words_min=min(300, words_max), words_max=words_max, tier_id=tier_id,
            deadline=deadline or utcnow() + timedelta(days=10),
        ))
        service.submit(order, person)
        db.session.commit()
        return order.id


def claim_order(app: Flask, order_id: int, writer: User) -> None:
    with app.app_context():
        service.claim(db.session.get(Order, order_id), db.session.get(User, writer.id))
        db.session.commit()


def bulk_orders(app: Flask, count: int, *, client: User, tier_id: int, content_type_id: int,
                writers: list[User] = (), statuses=None, overdue_every: int = 0) -> list[int]:
    """`count` submitted orders written straight to the tables (a starting point for the list
    pages), cycling through `statuses` and `writers`; every `overdue_every`-th one is late.
    The counts per status are rebuilt after them."""
    statuses = list(statuses or [OrderStatus.OPEN, OrderStatus.IN_PROGRESS,
                                 OrderStatus.DELIVERED, OrderStatus.REVISION_REQUESTED,
                                 OrderStatus.APPROVED, OrderStatus.CANCELLED])
    now = utcnow()
    ids = []
    with app.app_context():
        from portal.billing.companies import company_id_of

        company_id = company_id_of(db.session.get(User, client.id))
        for i in range(count):
            status = statuses[i % len(statuses)]
            writer = writers[i % len(writers)] if writers and status is not OrderStatus.OPEN \
                else None
            late = overdue_every and i % overdue_every == 0
            order = Order(
                client_id=client.id, company_id=company_id,
                writer_id=writer.id if writer else None, status=status,
                title=f"Commande {i + 1}", content_type_id=content_type_id, language="fr",
                words_min=400, words_max=800, tier_id=tier_id,
                deadline=now + (timedelta(hours=-5) if late else timedelta(days=3 + i)),
                currency="XOF", price_per_word=20, rush_surcharge=0, price_total=16_000,
                writer_pay_total=9_600, included_revisions=2, submitted_at=now,
            )
            db.session.add(order)
            db.session.flush()
            ids.append(order.id)
        status_counts.recount()  # written around the services, as the benchmark's loader does
        db.session.commit()
    return ids



