"""The rules of an order, at the service level on the real database: the price and when it is
frozen, what a brief may hold, who may submit, stale edits, revision rounds, approval, cancelling,
final orders and the preferred writer's exclusive offer."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal.accounts.models import Role, User
from portal.errors import Conflict, DomainError, InvalidTransition, NotAllowed
from portal.extensions import utcnow
from portal.orders import policies, service
from portal.orders.models import Draft, Order, OrderEvent, OrderStatus, Tier
from portal.orders.pricing import quote
from portal.orders.queries import ListFilters, pool_for

S = OrderStatus
NOON = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _english(app, monkeypatch):
    """Services called outside a request speak the default language: English here, so the
    messages below can be matched as written in the code."""
    monkeypatch.setitem(app.config, "BABEL_DEFAULT_LOCALE", "en")


@pytest.fixture
def tier(factory) -> Tier:
    return factory.tier(client_price_per_word=20, writer_pay_per_word=12, included_revisions=2,
                        min_lead_hours=24)


@pytest.fixture
def content_type(factory):
    return factory.content_type("Article de blog", "Blog article")


@pytest.fixture
def client_user(factory) -> User:
    return factory.user(Role.CLIENT)


def make_brief(tier, content_type, **changes) -> service.Brief:
    values = {
        "title": "Le pain de Lomé",
        "content_type_id": content_type.id,
        "language": "fr",
        "words_min": 400,
        "words_max": 600,
        "tier_id": tier.id,
        "deadline": utcnow() + timedelta(days=10),
        "primary_keyword": "boulangerie Lomé",
    }
    values.update(changes)
    return service.Brief(**values)


def get(session, model, obj):
    return session.get(model, obj if isinstance(obj, int) else obj.id)


def count(session, model) -> int:
    return session.scalar(sa.select(sa.func.count()).select_from(model))


# --- pricing ------------------------------------------------------------------------------


def test_the_quote_is_the_words_times_the_tier_price(ctx, tier):
    with ctx() as session:
        price = quote(get(session, Tier, tier), 600, NOON + timedelta(days=10), now=NOON)
    assert (price.base, price.rush_surcharge, price.total) == (12_000, 0, 12_000)
    assert price.writer_pay == 600 * 12
    assert price.currency == "XOF" and price.is_rush is False


def test_a_deadline_inside_the_rush_window_adds_the_surcharge(app, ctx, tier):
    window = timedelta(hours=app.config["RUSH_WINDOW_HOURS"])
    percent = app.config["RUSH_SURCHARGE_PERCENT"]
    with ctx() as session:
        t = get(session, Tier, tier)
        on_the_edge = quote(t, 600, NOON + window, now=NOON)
        just_inside = quote(t, 600, NOON + window - timedelta(minutes=1), now=NOON)
    assert on_the_edge.rush_surcharge == 0 and not on_the_edge.is_rush
    assert just_inside.is_rush
    assert just_inside.rush_surcharge == 12_000 * percent // 100
    assert just_inside.total == 12_000 + just_inside.rush_surcharge


def test_money_stays_in_integers_rounded_half_up(app, ctx, factory):
    app.config["RUSH_SURCHARGE_PERCENT"], previous = 30, app.config["RUSH_SURCHARGE_PERCENT"]
    try:
        odd = factory.tier(client_price_per_word=1, writer_pay_per_word=1)
        with ctx() as session:
            price = quote(get(session, Tier, odd), 105, NOON + timedelta(hours=30), now=NOON)
            lower = quote(get(session, Tier, odd), 101, NOON + timedelta(hours=30), now=NOON)
    finally:
        app.config["RUSH_SURCHARGE_PERCENT"] = previous
    # 30 % of 105 is 31.5: half up gives 32; 30 % of 101 is 30.3: 30.
    assert (price.rush_surcharge, price.total) == (32, 137)
    assert (lower.rush_surcharge, lower.total) == (30, 131)
    assert all(isinstance(v, int) for v in (price.base, price.rush_surcharge, price.total,
                                             price.writer_pay))


def test_the_price_is_frozen_at_submission(ctx, factory, tier, client_user, content_type):
    order = factory.order(client=client_user, status=S.DRAFT, tier=tier,
                          content_type=content_type, words_max=500)
    assert order.price_total is None  # a draft has no price yet
    with ctx() as session:
        t = get(session, Tier, tier)
        t.client_price_per_word = 22  # changed before submission: the new price applies
        session.commit()
        service.submit(get(session, Order, order), get(session, User, client_user))
        session.commit()
    order = factory.reload_order(order)
    assert (order.price_per_word, order.price_total, order.rush_surcharge) == (22, 11_000, 0)
    assert order.writer_pay_total == 500 * 12
    assert order.included_revisions == 2

    with ctx() as session:
        t = get(session, Tier, tier)
        t.client_price_per_word, t.writer_pay_per_word, t.included_revisions = 99, 60, 0
        session.commit()
    order = factory.reload_order(order)
    assert (order.price_per_word, order.price_total, order.writer_pay_total) == (22, 11_000, 6_000)
    assert order.included_revisions == 2 and order.revisions_left == 2
    # A new order pays the new price.
    assert factory.order(client=client_user, tier=tier, content_type=content_type,
                         words_max=500).price_total == 49_500


def test_a_rushed_order_freezes_its_surcharge(app, factory, tier, client_user):
    order = factory.order(client=client_user, tier=tier, words_max=1000,
                          deadline=utcnow() + timedelta(hours=30))
    percent = app.config["RUSH_SURCHARGE_PERCENT"]
    assert order.rush_surcharge == 20_000 * percent // 100
    assert order.price_total == 20_000 + order.rush_surcharge


# --- the brief ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"deadline": "past"}, "deadline"),
        ({"deadline": "inside lead time"}, "deadline"),
        ({"words_min": 700, "words_max": 600}, "words_min"),
        ({"words_min": 99, "words_max": 600}, "words_min"),
        ({"words_min": 400, "words_max": 20_001}, "words_min"),
        ({"words_min": 0, "words_max": 0}, "words_min"),
        ({"language": "xx"}, "language"),
        ({"tier_id": 999_999}, "tier_id"),
        ({"content_type_id": 999_999}, "content_type_id"),
    ],
    ids=["past-deadline", "inside-lead-time", "min-above-max", "below-100", "above-20000",
         "zero", "unknown-language", "unknown-tier", "unknown-type"],
)
def test_a_brief_the_rules_refuse_is_not_stored(ctx, tier, content_type, client_user, changes,
                                                field):
    changes = dict(changes)
    if changes.get("deadline") == "past":
        changes["deadline"] = utcnow() - timedelta(minutes=5)
    elif changes.get("deadline") == "inside lead time":
        changes["deadline"] = utcnow() + timedelta(hours=tier.min_lead_hours - 1)
    with ctx() as session:
        with pytest.raises(Conflict) as refused:
            service.create_draft(get(session, User, client_user),
                                 make_brief(tier, content_type, **changes))
        session.rollback()
        assert refused.value.field == field
        assert refused.value.message
        assert count(session, Order) == 0 and count(session, OrderEvent) == 0


def test_the_word_range_limits_themselves_are_accepted(ctx, tier, content_type, client_user):
    with ctx() as session:
        order = service.create_draft(get(session, User, client_user),
                                     make_brief(tier, content_type, words_min=100,
                                                words_max=20_000))
        session.commit()
        assert (order.words_min, order.words_max) == (100, 20_000)


def test_the_lead_time_message_names_the_tier_and_its_hours(ctx, factory, content_type,
                                                            client_user):
    slow = factory.tier(name="Expert", min_lead_hours=72)
    too_soon = utcnow() + timedelta(hours=48)
    with ctx() as session, pytest.raises(Conflict) as refused:
        service.create_draft(get(session, User, client_user),
                             make_brief(slow, content_type, deadline=too_soon))
    assert "Expert" in refused.value.message and "72" in refused.value.message


def test_a_deadline_that_came_too_close_since_the_draft_blocks_the_submission(
        ctx, factory, tier, client_user, content_type):
    with time_machine.travel(NOON, tick=False):
        order = factory.order(client=client_user, status=S.DRAFT, tier=tier,
                              content_type=content_type, deadline=NOON + timedelta(days=3))
    with time_machine.travel(NOON + timedelta(days=2, hours=1), tick=False), ctx() as session:
        with pytest.raises(Conflict) as refused:
            service.submit(get(session, Order, order), get(session, User, client_user))
        session.rollback()
        assert refused.value.field == "deadline"
        stored = get(session, Order, order)
        assert stored.status is S.DRAFT and stored.price_total is None
    with time_machine.travel(NOON + timedelta(days=3, hours=1), tick=False), ctx() as session, \
            pytest.raises(Conflict, match="past"):
        service.submit(get(session, Order, order), get(session, User, client_user))


def test_an_unconfirmed_client_cannot_submit(ctx, factory, tier, content_type):
    newcomer = factory.user(Role.CLIENT, confirmed=False)
    order = factory.order(client=newcomer, status=S.DRAFT, tier=tier, content_type=content_type)
    with ctx() as session:
        with pytest.raises(NotAllowed, match="Confirm"):
            service.submit(get(session, Order, order), get(session, User, newcomer))
        session.rollback()
        assert get(session, Order, order).status is S.DRAFT
        assert session.scalars(sa.select(OrderEvent.action)).all() == ["created"]


def test_only_clients_place_orders(ctx, factory, tier, content_type):
    for role in (Role.WRITER, Role.MANAGER):
        person = factory.user(role)
        with ctx() as session, pytest.raises(NotAllowed):
            service.create_draft(get(session, User, person), make_brief(tier, content_type))
    with ctx() as session:
        assert count(session, Order) == 0


def test_a_stale_edit_is_refused_and_overwrites_nothing(ctx, factory, tier, content_type,
                                                        client_user):
    order = factory.order(client=client_user, status=S.DRAFT, tier=tier,
                          content_type=content_type)
    opened_at = order.version
    with ctx() as session:  # the first window saves
        service.update_draft(get(session, Order, order), get(session, User, client_user),
                             make_brief(tier, content_type, title="Titre de la fenêtre A"),
                             version=opened_at)
        session.commit()
    with ctx() as session:  # the second window, opened at the same version, is refused
        with pytest.raises(Conflict, match="another window"):
            service.update_draft(get(session, Order, order), get(session, User, client_user),
                                 make_brief(tier, content_type, title="Titre de la fenêtre B"),
                                 version=opened_at)
        session.rollback()
        stored = get(session, Order, order)
        assert stored.title == "Titre de la fenêtre A"
        assert stored.version == opened_at + 1
        # Nor may the stale window submit what it saw.
        with pytest.raises(Conflict):
            service.submit(stored, get(session, User, client_user), version=opened_at)
        session.rollback()
        assert get(session, Order, order).status is S.DRAFT


def test_only_its_client_edits_a_draft_and_only_while_it_is_a_draft(ctx, factory, tier,
                                                                    content_type, client_user):
    order = factory.order(client=client_user, status=S.OPEN, tier=tier,
                          content_type=content_type)
    other = factory.user(Role.CLIENT)
    draft = factory.order(client=client_user, status=S.DRAFT, tier=tier,
                          content_type=content_type)
    with ctx() as session:
        with pytest.raises(NotAllowed):
            service.update_draft(get(session, Order, order), get(session, User, client_user),
                                 make_brief(tier, content_type), version=order.version)
        with pytest.raises(NotAllowed):
            service.update_draft(get(session, Order, draft), get(session, User, other),
                                 make_brief(tier, content_type), version=draft.version)
        with pytest.raises(NotAllowed):
            service.delete_draft(get(session, Order, draft), get(session, User, other))


def test_a_stale_draft_save_is_refused_and_keeps_the_newer_text(ctx, factory, tier):
    order = factory.order(status=S.IN_PROGRESS, tier=tier)
    with ctx() as session:
        writer = get(session, User, order.writer_id)
        saved = service.save_draft(get(session, Order, order), writer, "Texte de l'onglet A",
                                   base_version=0)
        session.commit()
        assert saved.version == 1
        with pytest.raises(Conflict):
            service.save_draft(get(session, Order, order), writer, "Texte de l'onglet B",
                               base_version=0)
        session.rollback()
        assert get(session, Draft, order.id).text == "Texte de l'onglet A"


def test_an_empty_text_cannot_be_delivered(ctx, factory, tier):
    order = factory.order(status=S.IN_PROGRESS, tier=tier)
    with ctx() as session:
        with pytest.raises(Conflict):
            service.deliver(get(session, Order, order), get(session, User, order.writer_id))
        session.rollback()
        assert get(session, Order, order).status is S.IN_PROGRESS


# --- revisions ----------------------------------------------------------------------------


def test_revision_rounds_are_counted_and_the_third_needs_a_manager(ctx, factory, tier,
                                                                   client_user):
    order = factory.order(client=client_user, status=S.DELIVERED, tier=tier)
    assert (order.revisions_used, order.revisions_allowed) == (0, 2)
    order = factory.order(client=client_user, status=S.REVISION_REQUESTED, tier=tier)
    assert (order.revisions_used, order.revisions_allowed) == (1, 2)  # "1 of 2 used"
    order = factory.order(client=client_user, status=S.DELIVERED, tier=tier, revisions=2)
    assert (order.revisions_used, order.revisions_left) == (2, 0)

    with ctx() as session:
        me = get(session, User, client_user)
        stored = get(session, Order, order)
        assert not policies.can_request_revision(me, stored)
        with pytest.raises(NotAllowed, match="2"):
            service.request_revision(stored, me, "Encore une fois, s'il vous plaît.")
        session.rollback()
        stored = get(session, Order, order)
        assert stored.status is S.DELIVERED and stored.revisions_used == 2

        manager = factory.user(Role.MANAGER)
        service.grant_revision(stored, get(session, User, manager), "Geste commercial")
        session.commit()
        stored = get(session, Order, order)
        assert (stored.revisions_allowed, stored.revisions_left) == (3, 1)
        assert policies.can_request_revision(me, stored)
        service.request_revision(stored, me, "Une dernière retouche du titre.")
        session.commit()
        stored = get(session, Order, order)
        assert stored.status is S.REVISION_REQUESTED
        assert (stored.revisions_used, stored.revisions_left) == (3, 0)
        actions = session.scalars(sa.select(OrderEvent.action)
                                  .where(OrderEvent.order_id == order.id)
                                  .order_by(OrderEvent.id)).all()
        assert actions.count("request_revision") == 3
        assert actions.count("revision_granted") == 1


def test_a_revision_needs_a_reason(ctx, factory, tier, client_user):
    order = factory.order(client=client_user, status=S.DELIVERED, tier=tier)
    with ctx() as session:
        with pytest.raises(Conflict) as refused:
            service.request_revision(get(session, Order, order),
                                     get(session, User, client_user), "   ")
        assert refused.value.field == "reason"
        session.rollback()
        assert get(session, Order, order).revisions_used == 0


def test_a_tier_without_revisions_allows_none(ctx, factory, client_user):
    strict = factory.tier(included_revisions=0)
    order = factory.order(client=client_user, status=S.DELIVERED, tier=strict)
    with ctx() as session, pytest.raises(NotAllowed):
        service.request_revision(get(session, Order, order), get(session, User, client_user),
                                 "Autre chose")


# --- approval -----------------------------------------------------------------------------


@pytest.mark.parametrize("rating", [0, 6, -1, 10])
def test_a_rating_outside_one_to_five_is_refused(ctx, factory, tier, client_user, rating):
    order = factory.order(client=client_user, status=S.DELIVERED, tier=tier)
    with ctx() as session:
        with pytest.raises(Conflict) as refused:
            service.approve(get(session, Order, order), get(session, User, client_user), rating,
                            "Un commentaire")
        assert refused.value.field == "rating"
        session.rollback()
        stored = get(session, Order, order)
        assert stored.status is S.DELIVERED and stored.rating is None


@pytest.mark.parametrize("rating", [1, 2])
def test_a_low_rating_needs_a_comment(ctx, factory, tier, client_user, rating):
    order = factory.order(client=client_user, status=S.DELIVERED, tier=tier)
    with ctx() as session:
        with pytest.raises(Conflict) as refused:
            service.approve(get(session, Order, order), get(session, User, client_user), rating,
                            "  ")
        assert refused.value.field == "comment"
        session.rollback()
        assert get(session, Order, order).status is S.DELIVERED
        service.approve(get(session, Order, order), get(session, User, client_user), rating,
                        "Le ton ne correspond pas à notre marque.")
        session.commit()
        stored = get(session, Order, order)
        assert (stored.status, stored.rating) == (S.APPROVED, rating)
        assert stored.rating_comment == "Le ton ne correspond pas à notre marque."
        assert stored.closed_at is not None


@pytest.mark.parametrize("rating", [3, 4, 5])
def test_a_good_rating_needs_no_comment(factory, tier, rating):
    order = factory.order(status=S.APPROVED, tier=tier, rating=rating)
    assert (order.status, order.rating, order.rating_comment) == (S.APPROVED, rating, None)


def test_another_client_cannot_approve_or_ask_for_a_revision(ctx, factory, tier):
    order = factory.order(status=S.DELIVERED, tier=tier)
    stranger = factory.user(Role.CLIENT)
    with ctx() as session:
        with pytest.raises(NotAllowed):
            service.approve(get(session, Order, order), get(session, User, stranger), 5)
        with pytest.raises(NotAllowed):
            service.request_revision(get(session, Order, order), get(session, User, stranger),
                                     "Non")
        session.rollback()
        assert get(session, Order, order).status is S.DELIVERED


# --- cancelling and final orders ----------------------------------------------------------


def test_a_client_cancels_only_while_the_order_waits_for_a_writer(ctx, factory, tier,
                                                                   client_user):
    waiting = factory.order(client=client_user, status=S.OPEN, tier=tier)
    writing = factory.order(client=client_user, status=S.IN_PROGRESS, tier=tier)
    with ctx() as session:
        me = get(session, User, client_user)
        with pytest.raises(NotAllowed):
            service.cancel(get(session, Order, writing), me, "Trop tard")
        session.rollback()
        service.cancel(get(session, Order, waiting), me, "Plus besoin")
        session.commit()
        assert get(session, Order, waiting).status is S.CANCELLED
        assert get(session, Order, writing).status is S.IN_PROGRESS


@pytest.mark.parametrize("status", [S.DRAFT, S.OPEN, S.IN_PROGRESS, S.DELIVERED,
                                    S.REVISION_REQUESTED], ids=str)
def test_a_manager_cancels_any_order_that_is_not_finished(ctx, factory, tier, status):
    order = factory.order(status=status, tier=tier)
    manager = factory.user(Role.MANAGER)
    with ctx() as session:
        service.cancel(get(session, Order, order), get(session, User, manager), "Client parti")
        session.commit()
        stored = get(session, Order, order)
        assert stored.status is S.CANCELLED and stored.closed_at is not None


def test_writers_do_not_cancel(ctx, factory, tier):
    order = factory.order(status=S.IN_PROGRESS, tier=tier)
    with ctx() as session, pytest.raises(NotAllowed):
        service.cancel(get(session, Order, order), get(session, User, order.writer_id))


@pytest.mark.parametrize("status", [S.APPROVED, S.CANCELLED], ids=str)
def test_approved_and_cancelled_orders_are_final(ctx, factory, tier, status):
    order = factory.order(status=status, tier=tier, cancelled_from=S.IN_PROGRESS)
    manager = factory.user(Role.MANAGER)
    other_writer = factory.writer(tiers=[tier])
    with ctx() as session:
        stored = get(session, Order, order)
        boss = get(session, User, manager)
        owner = get(session, User, order.client_id)
        writer = get(session, User, order.writer_id)
        attempts = {
            "cancel": lambda: service.cancel(stored, boss, "Encore"),
            "approve": lambda: service.approve(stored, owner, 5),
            "revision": lambda: service.request_revision(stored, owner, "Encore"),
            "claim": lambda: service.claim(stored, get(session, User, other_writer)),
            "assign": lambda: service.assign(stored, boss, get(session, User, other_writer)),
            "release": lambda: service.release(stored, writer, "Je pars"),
            "deliver": lambda: service.deliver(stored, writer),
            "save_draft": lambda: service.save_draft(stored, writer, "x", base_version=0),
            "extend": lambda: service.extend_deadline(stored, boss,
                                                      stored.deadline + timedelta(days=1)),
            "grant": lambda: service.grant_revision(stored, boss),
            "edit": lambda: service.update_draft(stored, owner, make_brief(
                stored.tier, stored.content_type), version=stored.version),
        }
        version = stored.version
        for name, attempt in attempts.items():
            with pytest.raises(DomainError) as refused:
                attempt()
            assert refused.value.message, name
            session.rollback()
            stored = get(session, Order, order)
            assert (stored.status, stored.version) == (status, version), name


def test_a_refused_move_says_what_the_order_is_now(ctx, factory, tier):
    order = factory.order(status=S.APPROVED, tier=tier)
    with ctx() as session, pytest.raises(InvalidTransition, match="Approved"):
        service.cancel(get(session, Order, order),
                       get(session, User, factory.user(Role.MANAGER)))


# --- taking work --------------------------------------------------------------------------


def test_a_writer_takes_only_orders_in_their_languages_and_tiers(ctx, factory, tier):
    other_tier = factory.tier()
    order = factory.order(status=S.OPEN, tier=tier, language="fr")
    english_only = factory.writer(languages=["en"], tiers=[tier])
    wrong_tier = factory.writer(languages=["fr"], tiers=[other_tier])
    with ctx() as session:
        for writer in (english_only, wrong_tier):
            with pytest.raises(NotAllowed, match="languages or levels"):
                service.claim(get(session, Order, order), get(session, User, writer))
            session.rollback()
        assert get(session, Order, order).status is S.OPEN


def test_releasing_needs_a_reason_and_puts_the_order_back_in_the_pool(ctx, factory, tier):
    order = factory.order(status=S.IN_PROGRESS, tier=tier)
    with ctx() as session:
        writer = get(session, User, order.writer_id)
        with pytest.raises(Conflict):
            service.release(get(session, Order, order), writer, " ")
        session.rollback()
        service.release(get(session, Order, order), writer, "Je suis malade")
        session.commit()
        stored = get(session, Order, order)
        assert (stored.status, stored.writer_id) == (S.OPEN, None)
        assert policies.can_claim(writer, stored)


def _client_with_a_past_writer(factory, tier):
    client = factory.user(Role.CLIENT)
    favourite = factory.writer(tiers=[tier], name="Afi Lawson")
    factory.order(client=client, status=S.APPROVED, tier=tier, writer=favourite)
    return client, favourite


def test_a_preferred_writer_has_the_order_alone_for_a_while_then_the_pool(app, ctx, factory,
                                                                          tier):
    client, favourite = _client_with_a_past_writer(factory, tier)
    someone_else = factory.writer(tiers=[tier])
    hours = app.config["PREFERRED_WRITER_HOURS"]
    with time_machine.travel(NOON, tick=False):
        order = factory.order(client=client, status=S.OPEN, tier=tier,
                              preferred_writer=favourite)
        assert order.offered_until == NOON + timedelta(hours=hours)
        with ctx() as session:
            stored = get(session, Order, order)
            other = get(session, User, someone_else)
            assert policies.can_claim(get(session, User, favourite), stored)
            assert not policies.can_claim(other, stored)
            assert pool_for(other, ListFilters(), 1, 20).total == 0
            assert pool_for(get(session, User, favourite), ListFilters(), 1, 20).total == 1
            with pytest.raises(NotAllowed, match="offered to another writer"):
                service.claim(stored, other)
            session.rollback()
            assert get(session, Order, order).status is S.OPEN

    with time_machine.travel(NOON + timedelta(hours=hours, minutes=1), tick=False), \
            ctx() as session:
        stored = get(session, Order, order)
        other = get(session, User, someone_else)
        assert policies.can_claim(other, stored)
        assert pool_for(other, ListFilters(), 1, 20).total == 1
        service.claim(stored, other)
        session.commit()
        stored = get(session, Order, order)
        assert (stored.status, stored.writer_id, stored.offered_until) == \
            (S.IN_PROGRESS, someone_else.id, None)


def test_the_preferred_writer_claims_during_the_offer(ctx, factory, tier):
    client, favourite = _client_with_a_past_writer(factory, tier)
    order = factory.order(client=client, status=S.OPEN, tier=tier, preferred_writer=favourite)
    with ctx() as session:
        service.claim(get(session, Order, order), get(session, User, favourite))
        session.commit()
        assert get(session, Order, order).writer_id == favourite.id


def test_a_preferred_writer_must_have_worked_for_the_client(ctx, factory, tier, content_type):
    client, _favourite = _client_with_a_past_writer(factory, tier)
    stranger = factory.writer(tiers=[tier])
    with ctx() as session:
        me = get(session, User, client)
        assert [w.id for w in service.previous_writers(me)] == [_favourite.id]
        with pytest.raises(Conflict) as refused:
            service.create_draft(me, make_brief(tier, content_type,
                                                preferred_writer_id=stranger.id))
        assert refused.value.field == "preferred_writer_id"
