"""The daily digest, with time controlled by time_machine: events over a day give exactly one
digest per person at the hour they chose in their own time zone, listing every event, and none
again however often the job runs that day; what happens after the hour waits for the next
day's digest. Digests cross a real SMTP server on loopback."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from portal.accounts.models import Role, User
from portal.extensions import db
from portal.notifications import service
from portal.notifications.inbox import EmailMode, Notification
from portal.notifications.models import OutboxEmail
from portal.orders import emails as order_emails
from portal.orders import service as orders
from portal.orders.models import Order
from tests.factories import deliverable
from tests.unit.notification_helpers import at, choose, notifications_of, post, run_job

EVERY = timedelta(minutes=15)


def digests(app) -> list[OutboxEmail]:
    with app.app_context():
        rows = db.session.scalars(sa.select(OutboxEmail).where(OutboxEmail.kind == "digest")
                                  .order_by(OutboxEmail.id)).all()
        db.session.expunge_all()
    return list(rows)


def deliver(app, order_id: int, when: datetime) -> None:
    with at(when), app.app_context():
        order = db.session.get(Order, order_id)
        writer = db.session.get(User, order.writer_id)
        orders.save_draft(order, writer, deliverable(order, "Le texte."),
                          base_version=orders.draft_for(order).version)
        orders.deliver(order, writer, "Voici le texte")
        db.session.commit()


def remind(app, order_id: int, when: datetime) -> None:
    with at(when), app.app_context():
        order_emails.notify_review_reminder(db.session.get(Order, order_id), 3)
        db.session.commit()


@pytest.mark.parametrize(("day", "paris_utc_hour"), [
    (datetime(2026, 6, 10, tzinfo=UTC), 16),  # summer time: Paris is UTC+2
    (datetime(2026, 1, 14, tzinfo=UTC), 17),  # winter time: Paris is UTC+1
], ids=["summer", "winter"])
def test_a_day_of_events_gives_one_digest_at_the_chosen_hour_in_each_time_zone(
    app, factory, mailbox, day, paris_utc_hour
):
    tier = factory.tier()
    writer = factory.writer(tiers=[tier], locale="en")
    lome = factory.user(Role.CLIENT, email="ama@lome.test", name="Ama", locale="en",
                        timezone="Africa/Lome")
    paris = factory.user(Role.CLIENT, email="claire@paris.test", name="Claire", locale="en",
                         timezone="Europe/Paris")
    for person in (lome, paris):
        choose(app, person, digest_hour=18, status="digest", message="digest",
               deadline="digest")
    # Who has no event gets no digest.
    quiet = factory.user(Role.CLIENT, email="quiet@lome.test", locale="en")
    choose(app, quiet, status="digest", message="digest", deadline="digest")

    def h(hour, minute=0, days=0):
        return day + timedelta(days=days, hours=hour, minutes=minute)

    order_ids = {}

    def make_orders():
        for person in (lome, paris):
            with at(h(6, 10)):
                order_ids[person.id] = factory.order(
                    client=person, writer=writer, tier=tier, status="in_progress",
                    deadline=day + timedelta(days=20),
                    title=f"Texte pour {person.display_name}",
                ).id

    def order_of(person):
        return factory.reload_order(order_ids[person.id])

    # The day's events, and one after each person's hour.
    events = {
        h(6, 10): make_orders,  # received, then being written
        h(9, 30): lambda: [post(app, order_of(p), writer, f"Une question pour {p.display_name}",
                                when=h(9, 30)) for p in (lome, paris)],
        h(13, 5): lambda: [deliver(app, order_ids[p.id], h(13, 5)) for p in (lome, paris)],
        h(15, 50): lambda: [remind(app, order_ids[p.id], h(15, 50)) for p in (lome, paris)],
        h(19, 40): lambda: [post(app, order_of(p), writer, f"Un oubli pour {p.display_name}",
                                 when=h(19, 40)) for p in (lome, paris)],
    }

    sent_at: dict[str, list[datetime]] = {"ama@lome.test": [], "claire@paris.test": []}
    moment = day
    while moment < day + timedelta(days=2):
        for when, happen in events.items():
            if moment < when <= moment + EVERY:
                happen()
        moment += EVERY
        before = len(digests(app))
        run_job(app, service.send_digests, moment)
        for row in digests(app)[before:]:
            sent_at[row.recipient].append(moment)

    # One digest per person per day, at 18:00 of their own clock.
    assert sent_at["ama@lome.test"] == [h(18), h(18, days=1)]
    assert sent_at["claire@paris.test"] == [h(paris_utc_hour), h(paris_utc_hour, days=1)]
    assert all(r.recipient != "quiet@lome.test" for r in digests(app))

    # Each digest lists every event that waited for it, and every event went exactly once.
    mailbox.deliver()
    for person in (lome, paris):
        first, second = mailbox.to(person.email)
        notes = notifications_of(app, person)
        assert all(n.email_mode is EmailMode.DIGEST and n.emailed_at for n in notes)
        with app.app_context(), force_locale("en"):
            texts = [(n.created_at, service.event_text(n)) for n in notes]
        boundary = sent_at[person.email][0]
        early = [text for when, text in texts if when <= boundary]
        late = [text for when, text in texts if when > boundary]
        # received, being written, a message, delivered, the review reminder; then a message
        assert len(early) == 5 and len(late) == 1
        for text in early:
            assert text in mailbox.text(first)
        for text in late:
            assert text in mailbox.text(second)
        assert f"Une question pour {person.display_name}" in mailbox.text(first)
        assert f"Un oubli pour {person.display_name}" in mailbox.text(second)
        assert f"Un oubli pour {person.display_name}" not in mailbox.text(first)
        assert "5 events" in mailbox.text(first) and "1 event)" in mailbox.text(second)
        assert mailbox.link(first, "/notifications/preferences/")
        assert "/notifications/preferences/" in mailbox.html(first)
        # A digest about one order answers to its conversation.
        if _replies_installed():
            assert str(first["Reply-To"]).startswith("reply+")
    with app.app_context():
        for person in (lome, paris):
            assert db.session.get(User, person.id).last_digest_at == sent_at[person.email][-1]


def _replies_installed() -> bool:
    try:
        import portal.notifications.replies  # noqa: F401
    except ImportError:
        return False
    return True


def test_a_digest_about_several_orders_groups_them_and_has_no_reply_address(app, factory,
                                                                             mailbox):
    tier = factory.tier()
    writer = factory.writer(tiers=[tier], locale="en")
    ama = factory.user(Role.CLIENT, email="ama@lome.test", locale="en")
    choose(app, ama, digest_hour=7, status="digest")
    day = datetime(2026, 3, 2, tzinfo=UTC)
    with at(day + timedelta(hours=1)):
        first = factory.order(client=ama, writer=writer, tier=tier, status="in_progress",
                              title="Premier texte", deadline=day + timedelta(days=9))
        second = factory.order(client=ama, writer=writer, tier=tier, status="open",
                               title="Second texte", deadline=day + timedelta(days=9))
    assert run_job(app, service.send_digests, day + timedelta(hours=6, minutes=59)) == 0
    assert run_job(app, service.send_digests, day + timedelta(hours=7)) == 1
    assert run_job(app, service.send_digests, day + timedelta(hours=7, minutes=15)) == 0
    mailbox.deliver()
    email = mailbox.last_to("ama@lome.test")
    text = mailbox.text(email)
    assert f"{first.reference} · Premier texte" in text
    assert f"{second.reference} · Second texte" in text
    assert text.index("Premier texte") < text.index("Second texte")
    assert email["Reply-To"] is None


def test_a_late_job_still_sends_the_days_digest_once(app, factory):
    """The worker was down at the hour: the next pass sends the day's digest, and only one."""
    ama = factory.user(Role.CLIENT, email="ama@lome.test", locale="en")
    choose(app, ama, digest_hour=18, status="digest")
    day = datetime(2026, 3, 2, tzinfo=UTC)
    with at(day + timedelta(hours=10)), app.app_context():
        service.notify(db.session.get(User, ama.id), kind=service.NotificationKind.STATUS,
                       event="order.new", params={"ref": "CMD-1", "title": "Un texte"})
        db.session.commit()
    assert run_job(app, service.send_digests, day + timedelta(hours=21, minutes=30)) == 1
    assert run_job(app, service.send_digests, day + timedelta(hours=23)) == 0
    assert run_job(app, service.send_digests, day + timedelta(days=1, hours=17)) == 0
    assert len(digests(app)) == 1


def test_the_digest_slot_is_the_chosen_hour_of_the_persons_clock(app, factory):
    tokyo = factory.user(Role.CLIENT, timezone="Asia/Tokyo")
    with app.app_context():
        person = db.session.get(User, tokyo.id)
        person.digest_hour = 8
        now = datetime(2026, 3, 2, 0, 30, tzinfo=UTC)  # 09:30 in Tokyo
        assert service.digest_slot(person, now) == datetime(2026, 3, 1, 23, 0, tzinfo=UTC)
        earlier = datetime(2026, 3, 1, 22, 30, tzinfo=UTC)  # 07:30 in Tokyo: yesterday's
        assert service.digest_slot(person, earlier) == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)


def test_nothing_in_digest_mode_means_no_digest(app, factory, mailbox):
    ama = factory.user(Role.CLIENT, email="ama@lome.test", locale="en")
    day = datetime(2026, 3, 2, tzinfo=UTC)
    with at(day + timedelta(hours=10)):
        factory.order(client=ama, status="open")  # emailed at once (the default)
    for hour in range(10, 24):
        run_job(app, service.send_digests, day + timedelta(hours=hour))
    assert digests(app) == []
    with app.app_context():
        assert db.session.scalar(
            sa.select(sa.func.count()).select_from(Notification)
            .where(Notification.user_id == ama.id, Notification.emailed_at.is_(None))) == 0
