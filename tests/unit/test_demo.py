"""The demo agency: orders in every status with believable timelines, frozen prices and French
texts, loaded in one go, and a second load creates nothing."""

from __future__ import annotations

import sqlalchemy as sa

from portal.accounts.models import User
from portal.demo import BRIEF_TEMPLATES, CONTENT_TYPES, DEMO_PEOPLE, TIERS, seed_demo
from portal.extensions import db, utcnow
from portal.notifications.models import OutboxEmail
from portal.orders import policies, showcase
from portal.orders.models import (
    BriefTemplate,
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
from portal.orders.text import word_count

TABLES = (User, ContentType, Tier, WriterLanguage, Order, OrderEvent, Delivery, Draft,
          OutboxEmail, BriefTemplate)


def counts() -> dict[str, int]:
    found = {model.__name__: db.session.scalar(sa.select(sa.func.count()).select_from(model))
             for model in TABLES}
    found["writer_tiers"] = db.session.scalar(sa.select(sa.func.count())
                                              .select_from(writer_tiers))
    return found


def test_the_demo_loads_once_and_a_second_load_creates_nothing(ctx):
    with ctx() as session:
        assert seed_demo() is True
        session.commit()
        first = counts()
    with ctx() as session:
        assert seed_demo() is False
        session.commit()
        assert counts() == first
    assert first["User"] == len(DEMO_PEOPLE)
    assert first["ContentType"] == len(CONTENT_TYPES) == 6
    assert first["Tier"] == len(TIERS) == 4
    assert first["BriefTemplate"] == len(BRIEF_TEMPLATES) == 2  # the agency's, published
    # The past story sends nothing now.
    assert first["OutboxEmail"] == 0


def test_the_demo_has_orders_in_every_status_and_the_main_client_too(ctx):
    with ctx() as session:
        seed_demo()
        session.commit()
        statuses = set(session.scalars(sa.select(Order.status)))
        main_client = session.scalar(sa.select(User).where(User.email == "client@demo.test"))
        theirs = set(session.scalars(sa.select(Order.status)
                                     .where(Order.client_id == main_client.id)))
    assert statuses == set(OrderStatus)
    assert theirs == set(OrderStatus)


def test_the_catalogue_and_the_writers_skills(ctx):
    with ctx() as session:
        seed_demo()
        session.commit()
        names = set(session.scalars(sa.select(ContentType.name_fr)))
        assert {"Article de blog", "Article d'actualité", "Page web", "Fiches produits",
                "Communiqué de presse", "Newsletter"} <= names
        tiers = {t.name: t for t in session.scalars(sa.select(Tier))}
        assert [tiers[n].client_price_per_word for n in ("Essentiel", "Professionnel",
                                                          "Expert")] == [15, 25, 40]
        for tier in tiers.values():
            assert 0.55 <= tier.writer_pay_per_word / tier.client_price_per_word <= 0.65
        # Every order with a writer was taken by someone who may take it.
        for order in session.scalars(sa.select(Order).where(Order.writer_id.is_not(None))):
            assert policies.writer_qualifies(order.writer, order), order.title


def test_the_demo_stories_read_right(ctx):
    with ctx() as session:
        seed_demo()
        session.commit()
        now = utcnow()
        for order in session.scalars(sa.select(Order)):
            events = session.scalars(sa.select(OrderEvent).where(OrderEvent.order_id == order.id)
                                     .order_by(OrderEvent.id)).all()
            moments = [e.created_at for e in events]
            assert moments == sorted(moments), order.title
            assert all(m <= now for m in moments)
            assert events[0].action == "created"
            assert order.created_at == moments[0]
            if order.status is OrderStatus.DRAFT:
                assert order.price_total is None
                continue
            # The price frozen at submission: words times the tier's price, plus any rush surcharge.
            assert order.price_total == order.words_max * order.tier.client_price_per_word \
                + order.rush_surcharge
            assert order.submitted_at is not None
            deliveries = session.scalars(sa.select(Delivery).where(Delivery.order_id == order.id)
                                         .order_by(Delivery.number)).all()
            if order.status in (OrderStatus.DELIVERED, OrderStatus.REVISION_REQUESTED,
                                OrderStatus.APPROVED):
                assert deliveries, order.title
                assert order.delivered_at == deliveries[-1].created_at
                for delivery in deliveries:
                    assert delivery.word_count == word_count(delivery.text)
                    assert delivery.word_count >= 250, order.title  # several hundred words
            if order.status is OrderStatus.APPROVED:
                assert order.rating is not None and order.closed_at is not None
            if order.status in (OrderStatus.OPEN, OrderStatus.IN_PROGRESS):
                assert order.deadline > order.created_at


def test_one_order_was_delivered_twice_with_a_revision_between(ctx):
    with ctx() as session:
        seed_demo()
        session.commit()
        order = session.scalar(sa.select(Order).where(
            Order.title == "Comment choisir et entretenir un pagne wax"))
        assert order.status is OrderStatus.DELIVERED
        assert (order.revisions_used, order.revisions_allowed) == (1, 2)
        deliveries = session.scalars(sa.select(Delivery).where(Delivery.order_id == order.id)
                                     .order_by(Delivery.number)).all()
        assert [d.number for d in deliveries] == [1, 2]
        assert deliveries[0].text != deliveries[1].text
        assert "entretien" in deliveries[1].text and "entretien" not in deliveries[0].text
        actions = session.scalars(sa.select(OrderEvent.action).where(
            OrderEvent.order_id == order.id).order_by(OrderEvent.id)).all()
        assert actions == ["created", "submit", "claim", "deliver", "request_revision",
                           "deliver"]
        reason = session.scalar(sa.select(OrderEvent.note).where(
            OrderEvent.order_id == order.id, OrderEvent.action == "request_revision"))
        assert "entretien" in reason


def test_the_demo_shows_an_exclusive_offer_and_an_overdue_order(ctx):
    with ctx() as session:
        seed_demo()
        session.commit()
        offered = session.scalar(sa.select(Order).where(Order.preferred_writer_id.is_not(None)))
        assert offered.status is OrderStatus.OPEN and policies.offer_is_exclusive(offered)
        assert offered.preferred_writer.email == "redaction.afi@demo.test"
        assert any(order.is_overdue for order in session.scalars(sa.select(Order)))


def test_the_demo_shows_three_samples_on_the_landing_page(ctx, client):
    with ctx() as session:
        seed_demo()
        session.commit()
        samples = showcase.public_samples()
        assert len(samples) == 3
        for sample in samples:
            assert sample.order.sample_consent and sample.order.showcased_at is not None
            assert sample.order.status is OrderStatus.APPROVED
            assert sample.word_count >= 250 and sample.excerpt
        titles = {sample.order.title for sample in samples}
    landing = client.get("/").get_data(as_text=True)
    assert all(title in landing for title in titles)


def test_flask_seed_demo_twice(app):
    runner = app.test_cli_runner()
    # `flask` pushes an app context for every command; the test runner does not for a plain
    # click command.
    with app.app_context():
        first = runner.invoke(args=["seed-demo"])
    with app.app_context():
        second = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0 and second.exit_code == 0, first.output + second.output
    assert "loaded" in first.output and "already present" in second.output


def test_the_demo_has_money_to_show(ctx):
    """Companies with balances, paid and unpaid invoices, a payment declared and waiting, an
    order waiting for payment, a payout batch; the ledger adds up."""
    from portal.billing import ledger
    from portal.billing.models import (
        BillingMode,
        Company,
        Invoice,
        Payment,
        PaymentStatus,
        PayoutBatch,
    )

    with ctx() as session:
        seed_demo()
        session.commit()
        companies = {c.name: c for c in session.scalars(sa.select(Company))}
        assert len(companies) == 5
        assert any(c.balance > 0 for c in companies.values())
        kloto = companies["Coopérative des caféiculteurs de Kloto"]
        assert kloto.billing_mode is BillingMode.POSTPAID and kloto.balance < 0
        dues = [invoice.due for invoice in session.scalars(sa.select(Invoice))]
        assert any(due == 0 for due in dues) and any(due > 0 for due in dues)
        assert session.scalar(sa.select(sa.func.count(Payment.id))
                              .where(Payment.status == PaymentStatus.DECLARED)) == 1
        assert session.scalar(sa.select(sa.func.count(Order.id))
                              .where(Order.status == OrderStatus.AWAITING_PAYMENT)) == 1
        assert session.scalar(sa.select(sa.func.count(PayoutBatch.id))) == 1
        assert ledger.disagreements() == {}
        first = session.scalar(sa.select(sa.func.count(Invoice.id)))
    with ctx() as session:
        seed_demo()
        session.commit()
        assert session.scalar(sa.select(sa.func.count(Invoice.id))) == first


def test_the_main_client_s_company_has_a_style_guide_its_orders_keep(ctx):
    from portal.billing.companies import company_of
    from portal.orders.report import report_of
    from portal.style_guides.models import StyleGuide

    with ctx() as session:
        seed_demo()
        session.commit()
        client = session.scalar(sa.select(User).where(User.email == "client@demo.test"))
        guide = session.get(StyleGuide, company_of(client).id)
        assert guide is not None and "unique" in guide.forbidden_words.splitlines()
        orders = list(session.scalars(sa.select(Order).where(
            Order.client_id == client.id, Order.status != OrderStatus.DRAFT)))
        assert orders and all(o.style_guide and o.style_guide["tone"] == guide.tone
                              for o in orders)
        gifts = next(o for o in orders if o.title.startswith("Cinq idées de cadeaux"))
        delivery = session.scalars(sa.select(Delivery).where(Delivery.order_id == gifts.id)).one()
        assert report_of(gifts, delivery)["forbidden_words"] == [
            {"word": "unique", "occurrences": 1}]
