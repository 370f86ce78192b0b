"""The editorial review (portal/orders/review.py): a delivery on a tier that requires review
goes to an editor, who passes it to the client or returns it to the writer. Until it is
passed the client gets nothing: no email, no delivery to read, no auto-approval clock."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
import time_machine

from portal.accounts.models import Role, User
from portal.errors import Conflict, InvalidTransition, NotAllowed
from portal.extensions import db
from portal.notifications.inbox import EmailMode, NotificationKind
from portal.notifications.models import OutboxEmail
from portal.notifications.service import set_preferences
from portal.orders import review, service
from portal.orders.models import Delivery, Order, OrderEvent, OrderStatus
from tests.factories import deliverable

S = OrderStatus


def emails(kind: str) -> list[tuple[int | None, str]]:
    """(recipient id, plain text) of the order emails of this kind, oldest first."""
    return [tuple(row) for row in db.session.execute(
        sa.select(OutboxEmail.recipient_user_id, OutboxEmail.text_body)
        .where(OutboxEmail.idempotency_key.like(f"%:{kind}:%")).order_by(OutboxEmail.id))]


def redeliver(order: Order, writer: User, text: str) -> Delivery:
    service.save_draft(order, writer, deliverable(order, text),
                       base_version=service.draft_for(order).version)
    return service.deliver(order, writer, "Nouvelle version.")


@pytest.fixture
def story(factory):
    """A client, a writer and an editor, and an order in progress on a reviewed tier."""
    tier = factory.tier(requires_review=True)
    writer = factory.writer(tiers=[tier])
    editor = factory.user(Role.EDITOR)
    order = factory.order(tier=tier, writer=writer, status=S.IN_PROGRESS)
    return order, writer, editor


def test_needs_review_follows_the_tier(app, factory):
    plain = factory.order(status=S.DELIVERED)
    reviewed = factory.order(status=S.IN_REVIEW)
    with app.app_context():
        for order_id, expected in ((plain.id, False), (reviewed.id, True)):
            order = db.session.get(Order, order_id)
            delivery = db.session.scalars(sa.select(Delivery).where(
                Delivery.order_id == order.id)).one()
            assert review.needs_review(order, delivery) is expected
            # A plain delivery reaches the client at once; one in review does not.
            assert delivery.is_released is (not expected)


def test_a_delivery_goes_to_the_editors_and_nothing_to_the_client(app, story):
    order, writer, editor = story
    with app.app_context():
        stored = db.session.get(Order, order.id)
        delivery = redeliver(stored, db.session.get(User, writer.id), "Mon texte.")
        db.session.commit()
        assert stored.status is S.IN_REVIEW
        assert stored.delivered_at is None  # the auto-approval clock has not started
        assert delivery.released_at is None
        assert emails("delivered") == []
        told = emails("in-review")
        assert [who for who, _text in told] == [editor.id]
        assert stored.title in told[0][1]
        event = db.session.scalars(sa.select(OrderEvent).where(OrderEvent.order_id == order.id)
                                   .order_by(OrderEvent.id.desc())).first()
        assert (event.action, event.from_status, event.to_status) == \
            ("send_to_review", S.IN_PROGRESS, S.IN_REVIEW)


def test_without_editors_the_managers_are_told(app, factory):
    tier = factory.tier(requires_review=True)
    writer = factory.writer(tiers=[tier])
    manager = factory.user(Role.MANAGER)
    factory.user(Role.EDITOR, active=False)  # a former editor hears nothing
    order = factory.order(tier=tier, writer=writer, status=S.IN_PROGRESS)
    with app.app_context():
        redeliver(db.session.get(Order, order.id), db.session.get(User, writer.id), "Texte.")
        db.session.commit()
        assert [who for who, _text in emails("in-review")] == [manager.id]


def test_an_editor_who_wants_no_email_gets_none(app, story, factory):
    order, writer, editor = story
    other = factory.user(Role.EDITOR)
    with app.app_context():
        set_preferences(db.session.get(User, editor.id),
                        {NotificationKind.STATUS: EmailMode.NEVER}, 18)
        db.session.commit()
        redeliver(db.session.get(Order, order.id), db.session.get(User, writer.id), "Texte.")
        db.session.commit()
        assert [who for who, _text in emails("in-review")] == [other.id]


def test_passing_it_delivers_it_to_the_client_from_then_on(app, story):
    order, writer, editor = story
    start = datetime(2026, 12, 1, 9, tzinfo=UTC)
    with time_machine.travel(start, tick=False), app.app_context():
        redeliver(db.session.get(Order, order.id), db.session.get(User, writer.id), "Texte.")
        db.session.commit()
    passed_at = start + timedelta(days=3)
    with time_machine.travel(passed_at, tick=False), app.app_context():
        stored = db.session.get(Order, order.id)
        delivery = review.pass_to_client(stored, db.session.get(User, editor.id),
                                         "  Relu : prêt à publier.  ")
        db.session.commit()
        assert stored.status is S.DELIVERED
        assert stored.delivered_at == passed_at
        assert delivery.released_at == passed_at
        told = emails("delivered")
        assert [who for who, _text in told] == [order.client.id]
        assert "Relu : prêt à publier." in told[0][1]
        assert stored.revisions_used == 0
    # The auto-approval counts from the pass, not from the writer's delivery.
    with app.app_context():
        days = app.config["AUTO_APPROVE_DAYS"]
        assert service.auto_approve_due(start + timedelta(days=days, hours=1)) == 0
        db.session.commit()
        assert service.auto_approve_due(passed_at + timedelta(days=days, hours=1)) == 1
        db.session.commit()
        assert db.session.get(Order, order.id).status is S.APPROVED


def test_returning_it_uses_no_revision_and_the_writer_delivers_again(app, story):
    order, writer, editor = story
    with app.app_context():
        stored = db.session.get(Order, order.id)
        author = db.session.get(User, writer.id)
        redeliver(stored, author, "Première version.")
        review.return_to_writer(stored, db.session.get(User, editor.id),
                                "  Le deuxième intertitre manque.  ")
        db.session.commit()
        assert stored.status is S.IN_PROGRESS
        assert stored.revisions_used == 0 and stored.revisions_left == stored.revisions_allowed
        told = emails("returned")
        assert [who for who, _text in told] == [writer.id]
        assert "Le deuxième intertitre manque." in told[0][1]
        events = list(db.session.scalars(sa.select(OrderEvent).where(
            OrderEvent.order_id == order.id).order_by(OrderEvent.id)))
        assert review.returned_with(stored, events).note == "Le deuxième intertitre manque."

        second = redeliver(stored, author, "Deuxième version, avec son intertitre.")
        db.session.commit()
        assert (stored.status, second.number) == (S.IN_REVIEW, 2)
        events = list(db.session.scalars(sa.select(OrderEvent).where(
            OrderEvent.order_id == order.id).order_by(OrderEvent.id)))
        assert review.returned_with(stored, events) is None
        assert emails("delivered") == []  # the client has still received nothing


def test_a_returned_order_stays_with_its_writer_and_out_of_the_pool(app, story, factory):
    """Given back to the pool, a returned order would show its text and the editor's comments
    to every writer who may claim it: once delivered, an order is never released."""
    from portal.orders import policies

    order, writer, editor = story
    with app.app_context():
        stored = db.session.get(Order, order.id)
        author = db.session.get(User, writer.id)
        redeliver(stored, author, "Première version.")
        review.return_to_writer(stored, db.session.get(User, editor.id), "Reprenez la fin.")
        db.session.commit()
        assert stored.status is S.IN_PROGRESS
        assert not policies.can(author, stored, "release")
        with pytest.raises(Conflict, match="ne peut plus retourner dans la liste"):
            service.release(stored, author, "Je n'ai plus le temps.")
        db.session.rollback()
        stored = db.session.get(Order, order.id)
        assert (stored.status, stored.writer_id) == (S.IN_PROGRESS, writer.id)
        # An order in progress that was never delivered may still be given back.
        fresh = db.session.get(Order, factory.order(tier=stored.tier, writer=author,
                                                    status=S.IN_PROGRESS).id)
        assert policies.can(db.session.get(User, writer.id), fresh, "release")


@pytest.mark.parametrize("comments", ["", "   ", "x" * (review.COMMENTS_MAX + 1)])
def test_a_return_without_usable_comments_changes_nothing(app, story, comments):
    order, writer, editor = story
    with app.app_context():
        stored = db.session.get(Order, order.id)
        redeliver(stored, db.session.get(User, writer.id), "Texte.")
        db.session.commit()
        with pytest.raises(Conflict) as refused:
            review.return_to_writer(stored, db.session.get(User, editor.id), comments)
        assert refused.value.field == "comments"
        db.session.rollback()
        assert db.session.get(Order, order.id).status is S.IN_REVIEW


def test_only_editors_and_managers_review(app, story, factory):
    order, writer, editor = story
    manager = factory.user(Role.MANAGER)
    former = factory.user(Role.EDITOR, active=False)
    with app.app_context():
        stored = db.session.get(Order, order.id)
        redeliver(stored, db.session.get(User, writer.id), "Texte.")
        db.session.commit()
        for someone in (order.client, writer, former):
            with pytest.raises(NotAllowed):
                review.pass_to_client(stored, db.session.get(User, someone.id))
            with pytest.raises(NotAllowed):
                review.return_to_writer(stored, db.session.get(User, someone.id), "Non.")
            db.session.rollback()
        # Managers hold the editor's rights.
        review.pass_to_client(stored, db.session.get(User, manager.id))
        db.session.commit()
        assert stored.status is S.DELIVERED
        # Passed once: a second pass (another editor a moment later) is refused.
        with pytest.raises(InvalidTransition):
            review.pass_to_client(stored, db.session.get(User, editor.id))
        db.session.rollback()


def test_the_price_is_captured_at_the_approval_only(app, factory):
    """Money follows the moves as for any order: held at submission, nothing while in review,
    captured once the client approves what the editor passed."""
    from portal.billing.models import Company

    client = factory.user(Role.CLIENT, billing="prepaid", funds=50_000)
    editor = factory.user(Role.EDITOR)
    order = factory.order(client=client, status=S.IN_REVIEW)
    with app.app_context():
        company = db.session.get(Company, order.company_id)
        assert (company.balance, company.held) == (50_000, order.price_total)
        stored = db.session.get(Order, order.id)
        review.pass_to_client(stored, db.session.get(User, editor.id))
        db.session.commit()
        db.session.refresh(company)
        assert (company.balance, company.held) == (50_000, order.price_total)
        service.approve(stored, db.session.get(User, client.id), 5)
        db.session.commit()
        db.session.refresh(company)
        assert (company.balance, company.held) == (50_000 - order.price_total, 0)


def test_personal_data_keep_the_review_inside_the_agency(app, story):
    """A client's export holds no delivery they never received and no editor's comment; an
    editor's holds the orders they reviewed, with their comments."""
    from portal.orders.personal_data import export

    order, writer, editor = story
    with app.app_context():
        stored = db.session.get(Order, order.id)
        author = db.session.get(User, writer.id)
        redeliver(stored, author, "Première version.")
        review.return_to_writer(stored, db.session.get(User, editor.id), "Trop court.")
        redeliver(stored, author, "Deuxième version.")
        review.pass_to_client(stored, db.session.get(User, editor.id))
        db.session.commit()

        theirs = export(db.session.get(User, order.client.id)).data["orders"][0]
        assert [d["number"] for d in theirs["deliveries"]] == [2]
        assert "Trop court." not in str(theirs)
        reviewed = export(db.session.get(User, editor.id)).data["orders"]
        assert [o["reference"] for o in reviewed] == [stored.reference]
        assert "Trop court." in str(reviewed[0]["timeline"])


def test_a_text_late_in_review_is_overdue_and_the_editors_are_told(app, story):
    """Past its deadline while an editor has it, an order is late for the agency: counted and
    listed as overdue, and the overdue email goes to the editors and managers, not the writer."""
    from portal.orders import jobs, queries

    order, writer, editor = story
    with app.app_context():
        stored = db.session.get(Order, order.id)
        redeliver(stored, db.session.get(User, writer.id), "Une version à relire.")
        db.session.commit()
        deadline = stored.deadline
    with time_machine.travel(deadline + timedelta(hours=2), tick=False), app.app_context():
        stored = db.session.get(Order, order.id)
        assert stored.status is S.IN_REVIEW and stored.is_overdue
        assert queries.overdue_count(Order.id == order.id) == 1
        jobs.send_reminders()
        db.session.commit()
        told = {who for who, _text in emails("overdue")}
        assert editor.id in told and writer.id not in told
