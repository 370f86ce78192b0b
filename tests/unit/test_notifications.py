"""Notifications and their emails, over a real SMTP server on loopback, with the clock moved
by time_machine: each person's choice per kind (at once, digest, never), order emails through
the same path, messages posted in a burst gathered into one email, internal notes that never
reach a client, and the one-click settings link in every notification email."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from portal.accounts.models import Role, User
from portal.extensions import db
from portal.messaging.models import ReadMarker
from portal.notifications import service
from portal.notifications.inbox import EmailMode, Notification, NotificationKind
from portal.notifications.models import OutboxEmail
from portal.orders import emails as order_emails
from portal.orders import service as orders
from portal.orders.models import Order, OrderStatus
from tests.factories import deliverable
from tests.unit.notification_helpers import at, choose, notifications_of, post, run_job

S = OrderStatus
K = NotificationKind
T0 = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)


@pytest.fixture
def story(factory):
    """An order being written: its client and writer read English; of the two managers one
    reads French, one English."""
    tier = factory.tier()
    client = factory.user(Role.CLIENT, email="client@golfe.test", name="Boulangerie du Golfe",
                          locale="en")
    writer = factory.writer(tiers=[tier], email="grace@writers.test", name="Grace Writer",
                            locale="en")
    managers = [factory.user(Role.MANAGER, email="akossiwa@agence.test", name="Akossiwa"),
                factory.user(Role.MANAGER, email="john@agence.test", name="John", locale="en")]
    factory.user(Role.MANAGER, email="gone@agence.test", active=False)
    with at(T0 - timedelta(hours=1)):
        order = factory.order(client=client, writer=writer, tier=tier, status=S.IN_PROGRESS,
                              title="Le pain de Lomé")
    return {"order": order, "client": client, "writer": writer, "managers": managers}


def run_bursts(app, when) -> int:
    return run_job(app, service.send_message_bursts, when)


def outbox(app, kind=None) -> list[OutboxEmail]:
    with app.app_context():
        query = sa.select(OutboxEmail).order_by(OutboxEmail.id)
        if kind:
            query = query.where(OutboxEmail.kind == kind)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
    return list(rows)


def deliver_story(app, order, client, *, when=T0):
    """The writer delivers: the client hears of it (a change of status)."""
    with at(when), app.app_context():
        stored = db.session.get(Order, order.id)
        writer = db.session.get(User, order.writer_id)
        orders.save_draft(stored, writer, deliverable(stored, "Le texte."),
                          base_version=orders.draft_for(stored).version)
        orders.deliver(stored, writer, "Voici")
        db.session.commit()


# --- preferences per kind -----------------------------------------------------------------


def test_without_a_choice_every_kind_is_emailed_at_once(app, story):
    with app.app_context():
        assert service.preferences(db.session.get(User, story["client"].id)) == {
            K.STATUS: EmailMode.IMMEDIATE, K.MESSAGE: EmailMode.IMMEDIATE,
            K.DEADLINE: EmailMode.IMMEDIATE}


@pytest.mark.parametrize(("mode", "emails"), [("immediate", 1), ("digest", 0), ("never", 0)])
def test_a_change_of_status_follows_the_persons_choice(app, story, mailbox, mode, emails):
    client = story["client"]
    choose(app, client, status=mode)
    mailbox.deliver()
    mailbox.messages.clear()
    deliver_story(app, story["order"], client)
    mailbox.deliver()
    assert len(mailbox.to(client.email)) == emails
    delivered = [n for n in notifications_of(app, client) if n.event == "order.delivered"]
    assert len(delivered) == 1  # the bell always has it
    assert delivered[0].email_mode == EmailMode(mode)
    assert (delivered[0].emailed_at is not None) == (mode == "immediate")


def test_the_choice_for_one_kind_leaves_the_others_alone(app, story, mailbox):
    writer = story["writer"]
    choose(app, writer, deadline="never")
    mailbox.deliver()
    mailbox.messages.clear()
    order = story["order"]
    with at(T0), app.app_context():
        order_emails.notify_deadline_soon(db.session.get(Order, order.id))
        db.session.commit()
    with at(T0 + timedelta(minutes=1)), app.app_context():  # the job runs again
        order_emails.notify_deadline_soon(db.session.get(Order, order.id))
        db.session.commit()
    deliver_story(app, order, story["client"])
    with at(T0 + timedelta(hours=1)), app.app_context():
        orders.request_revision(db.session.get(Order, order.id),
                                db.session.get(User, story["client"].id), "Plus court")
        db.session.commit()
    mailbox.deliver()
    subjects = [str(m["Subject"]) for m in mailbox.to(writer.email)]
    assert subjects == ["Revision requested: Le pain de Lomé"]
    soon = [n for n in notifications_of(app, writer) if n.event == "order.deadline-soon"]
    assert len(soon) == 1  # once in the bell, however often the reminder job runs
    assert soon[0].kind is K.DEADLINE and soon[0].emailed_at is None


def test_an_inactive_person_gets_nothing(app, factory, story):
    with app.app_context():
        gone = db.session.scalar(sa.select(User).where(User.email == "gone@agence.test"))
        assert service.notify(gone, kind=K.STATUS, event="order.new",
                              params={"ref": "X", "title": "Y"}) is None
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)
                                 .where(Notification.user_id == gone.id)) == 0


def test_security_emails_always_go(app, factory, mailbox):
    user = factory.user(Role.CLIENT, email="ama@example.test")
    choose(app, user, status="never", message="never", deadline="never")
    with app.app_context():
        from portal.auth import service as auth

        auth.request_password_reset(user.email)
        db.session.commit()
    mailbox.deliver()
    assert len(mailbox.to(user.email)) == 1
    assert notifications_of(app, user) == []


def test_a_bad_choice_is_refused_and_nothing_stored(app, story):
    from portal.errors import DomainError

    client = story["client"]
    with app.app_context():
        me = db.session.get(User, client.id)
        with pytest.raises(DomainError):
            service.set_preferences(me, {"status": "sometimes"}, 18)
        with pytest.raises(DomainError):
            service.set_preferences(me, {"status": "never"}, 24)
        db.session.rollback()
        me = db.session.get(User, client.id)
        assert service.preferences(me)[K.STATUS] is EmailMode.IMMEDIATE
        assert me.digest_hour == 18


# --- order emails through notify() --------------------------------------------------------


def test_order_emails_keep_their_text_and_carry_the_settings_link(app, client, story, mailbox):
    mailbox.deliver()
    mailbox.messages.clear()
    deliver_story(app, story["order"], story["client"])
    mailbox.deliver()
    email = mailbox.last_to(story["client"].email)
    assert str(email["Subject"]) == "Your text is delivered: Le pain de Lomé"
    text, html = mailbox.text(email), mailbox.html(email)
    assert text.startswith("Hello Boulangerie du Golfe,")
    assert f"/orders/{story['order'].id}" in mailbox.link(email)  # the order comes first
    settings = mailbox.link(email, "/notifications/preferences/")
    assert settings.split("://", 1)[1].split("/", 1)[1] in html.replace("&amp;", "&")
    assert "notification" in text.split("-- \n")[-1]  # the footer line says why, and how
    with at(T0 + timedelta(days=59)):  # the link works for 60 days
        page = client.get(mailbox.path(email, "/notifications/preferences/"))
    assert page.status_code == 200
    assert "client@golfe.test" in page.get_data(as_text=True)


def test_the_order_events_show_in_the_bell_of_each_person(app, story):
    client, writer = story["client"], story["writer"]
    assert [n.event for n in notifications_of(app, client)] == ["order.received", "order.taken"]
    assert [n.event for n in notifications_of(app, story["managers"][0])] == ["order.new"]
    assert notifications_of(app, writer) == []  # the writer took it: nobody told them
    with app.app_context(), force_locale("en"):
        taken = notifications_of(app, client)[-1]
        assert service.event_text(taken) == \
            f"Your order {story['order'].reference} is being written"
        assert taken.order_id == story["order"].id and taken.kind is K.STATUS


# --- messages -----------------------------------------------------------------------------


def test_a_message_concerns_everyone_on_the_order_but_its_author(app, story):
    post(app, story["order"], story["client"], "Bonjour, une question.")
    told = {p.email for p in (story["writer"], *story["managers"])}
    for person in (story["writer"], *story["managers"]):
        events = [n.event for n in notifications_of(app, person)]
        assert events.count("order.message") == 1, person.email
    assert "order.message" not in [n.event for n in notifications_of(app, story["client"])]
    with app.app_context():
        receivers = set(db.session.scalars(
            sa.select(User.email).join(Notification, Notification.user_id == User.id)
            .where(Notification.event == "order.message")))
    assert receivers == told  # the inactive manager is not among them


def test_messages_posted_in_a_burst_go_out_as_one_email(app, story, mailbox):
    order, client, writer = story["order"], story["client"], story["writer"]
    mailbox.deliver()
    mailbox.messages.clear()
    post(app, order, writer, "Premier point : le titre.", when=T0)
    post(app, order, writer, "Deuxième point : **le ton**.", when=T0 + timedelta(minutes=1))
    post(app, order, writer, "Troisième point : la longueur.", when=T0 + timedelta(minutes=2))
    # Still talking: nothing goes while the conversation is not quiet.
    for minute in (2, 3, 4):
        assert run_bursts(app, T0 + timedelta(minutes=minute, seconds=30)) == 0
    assert run_bursts(app, T0 + timedelta(minutes=5)) == 3  # the client and two managers
    assert run_bursts(app, T0 + timedelta(minutes=6)) == 0
    mailbox.deliver()

    mails = mailbox.to(client.email)
    assert len(mails) == 1
    email = mails[0]
    assert str(email["Subject"]) == f"3 new messages on {order.reference}: Le pain de Lomé"
    text = mailbox.text(email)
    for body in ("Premier point", "Deuxième point", "Troisième point"):
        assert body in text
    assert text.index("Premier") < text.index("Deuxième") < text.index("Troisième")
    assert "Grace Writer" in text
    assert mailbox.link(email, "/notifications/preferences/")
    assert "/notifications/preferences/" in mailbox.html(email)
    assert len(mailbox.to(writer.email)) == 0  # never to the author

    # A later message, once the first burst went: a second email.
    post(app, order, writer, "Un oubli : les sources.", when=T0 + timedelta(minutes=20))
    assert run_bursts(app, T0 + timedelta(minutes=21)) == 0
    assert run_bursts(app, T0 + timedelta(minutes=23)) == 3
    mailbox.deliver()
    mails = mailbox.to(client.email)
    assert len(mails) == 2
    assert str(mails[1]["Subject"]) == f"1 new message on {order.reference}: Le pain de Lomé"
    assert "Un oubli" in mailbox.text(mails[1]) and "Premier point" not in mailbox.text(mails[1])


def test_a_long_paragraph_arrives_whole_in_lines_every_relay_accepts(app, story, mailbox):
    """A message may hold 10,000 characters in one paragraph; RFC 5322 allows 998 octets per
    line. The parts that quote it go out quoted-printable, which the reader's client decodes
    back to the paragraph, accents and all."""
    order, client = story["order"], story["client"]
    mailbox.deliver()
    mailbox.messages.clear()
    sentence = ("Élodie a relu le deuxième paragraphe à Lomé\u202f: les délais de livraison, "
                "l\u2019accueil des clients et les prix du pain de mie sont à préciser. ")
    paragraph = (sentence * 60)[:4999] + "."
    assert len(paragraph) == 5000 and "\n" not in paragraph
    post(app, order, story["writer"], paragraph, when=T0)
    assert run_bursts(app, T0 + timedelta(minutes=5)) == 3
    report = mailbox.deliver()

    # aiosmtpd, as relays do, refuses a line longer than SMTP allows (1,000 octets with CRLF).
    assert (report.sent, report.errors) == (3, [])
    assert len(mailbox.messages) == 3  # the client and the two managers
    for email in mailbox.messages:
        assert max(map(len, email.raw_bytes.split(b"\r\n"))) <= 998
        assert paragraph in mailbox.text(email)
        assert paragraph in mailbox.html(email)
    # Ordinary lines stay as they were: only the parts with a long line are encoded.
    assert b"Content-Transfer-Encoding: 8bit" not in mailbox.last_to(client.email).raw_bytes


def test_a_conversation_that_never_pauses_is_emailed_after_the_longest_wait(app, story):
    order, writer = story["order"], story["writer"]
    longest = app.config["MESSAGE_BURST_MAX_SECONDS"]
    sent_at = None
    for minute in range(0, 20, 2):
        when = T0 + timedelta(minutes=minute)
        post(app, order, writer, f"Message {minute}", when=when)
        if run_bursts(app, when + timedelta(seconds=30)) and sent_at is None:
            sent_at = when + timedelta(seconds=30)
    assert sent_at is not None
    assert timedelta(seconds=longest) <= sent_at - T0 < timedelta(seconds=longest + 150)


def test_the_message_email_answers_to_the_conversation(app, story, mailbox):
    pytest.importorskip("portal.notifications.replies")
    mailbox.deliver()
    mailbox.messages.clear()
    post(app, story["order"], story["writer"], "Une question sur le titre.", when=T0)
    run_bursts(app, T0 + timedelta(minutes=4))
    mailbox.deliver()
    email = mailbox.last_to(story["client"].email)
    assert str(email["Reply-To"]).startswith("reply+")


def test_messages_already_read_in_the_portal_are_not_emailed(app, story, mailbox):
    order, client = story["order"], story["client"]
    post(app, order, story["writer"], "Vous avez vu le plan ?", when=T0)
    with at(T0 + timedelta(minutes=1)), app.app_context():
        db.session.add(ReadMarker(user_id=client.id, order_id=order.id))  # opened the order
        db.session.commit()
    run_bursts(app, T0 + timedelta(minutes=5))
    assert [r.recipient for r in outbox(app, "messages_burst")] != [] and \
        client.email not in [r.recipient for r in outbox(app, "messages_burst")]
    message_notes = [n for n in notifications_of(app, client) if n.event == "order.message"]
    assert message_notes[0].read_at is not None


def test_an_internal_note_never_reaches_the_client(app, story, mailbox):
    order, client, writer = story["order"], story["client"], story["writer"]
    mailbox.deliver()
    mailbox.messages.clear()
    post(app, order, writer, "Note interne : le client est pressé.", internal=True, when=T0)
    for minute in range(1, 30, 5):
        run_bursts(app, T0 + timedelta(minutes=minute))
    with at(T0 + timedelta(days=1, hours=23)), app.app_context():
        service.send_digests()
        db.session.commit()
    mailbox.deliver()

    assert mailbox.to(client.email) == []
    assert [n for n in notifications_of(app, client) if n.message_id is not None] == []
    # Staff hear of it, marked as internal.
    manager_mail = mailbox.last_to(story["managers"][1].email)  # John reads English
    assert "[Internal note, staff only] Grace Writer" in mailbox.text(manager_mail)
    assert "Note interne : le client est pressé." in mailbox.text(manager_mail)
    assert mailbox.to(writer.email) == []  # the author
    assert not any("le client est pressé" in mailbox.text(m) for m in mailbox.to(client.email))


def test_an_email_that_shows_an_internal_note_invites_no_reply(app, story, mailbox):
    """A reply by email is posted as a message the client reads: an email showing a note must
    not carry a reply address, in a burst or in a digest."""
    order, writer = story["order"], story["writer"]
    john = story["managers"][1]
    choose(app, story["managers"][0], digest_hour=18, message="digest")
    mailbox.deliver()
    mailbox.messages.clear()
    post(app, order, writer, "Note interne : il paie toujours en retard.", internal=True, when=T0)
    run_bursts(app, T0 + timedelta(minutes=10))
    with at(T0 + timedelta(days=1)), app.app_context():
        service.send_digests()
        db.session.commit()
    mailbox.deliver()
    burst = mailbox.last_to(john.email)
    digest = mailbox.last_to(story["managers"][0].email)
    assert "il paie toujours en retard" in mailbox.text(burst)
    assert "il paie toujours en retard" in mailbox.text(digest)
    assert burst["Reply-To"] is None and digest["Reply-To"] is None

    # A message without notes still answers to the conversation.
    post(app, order, writer, "Le plan est prêt.", when=T0 + timedelta(hours=2))
    run_bursts(app, T0 + timedelta(hours=2, minutes=10))
    mailbox.deliver()
    assert str(mailbox.last_to(john.email)["Reply-To"]).startswith("reply+")


def test_a_writer_taken_off_the_order_hears_no_more_of_it(app, story, factory, mailbox):
    order, writer, client = story["order"], story["writer"], story["client"]
    tier_id = order.tier_id
    other = factory.user(Role.WRITER, locale="en")
    with app.app_context():
        from portal.orders.models import WriterLanguage, writer_tiers

        db.session.add(WriterLanguage(user_id=other.id, language="fr"))
        db.session.execute(sa.insert(writer_tiers).values(user_id=other.id, tier_id=tier_id))
        db.session.commit()
    post(app, order, client, "Pouvez-vous raccourcir l'introduction ?", when=T0)
    post(app, order, story["managers"][1], "Note : à surveiller.", internal=True, when=T0)
    with at(T0 + timedelta(minutes=1)), app.app_context():
        boss = db.session.get(User, story["managers"][1].id)
        orders.assign(db.session.get(Order, order.id), boss, db.session.get(User, other.id))
        db.session.commit()
    mailbox.deliver()
    mailbox.messages.clear()
    run_bursts(app, T0 + timedelta(minutes=20))
    mailbox.deliver()
    assert not any("raccourcir" in mailbox.text(m) or "surveiller" in mailbox.text(m)
                   for m in mailbox.to(writer.email))


def test_a_new_choice_also_applies_to_what_still_waits(app, story, mailbox):
    order, client = story["order"], story["client"]
    post(app, order, story["writer"], "Voici une question.", when=T0)
    choose(app, client, message="never")
    run_bursts(app, T0 + timedelta(minutes=20))
    mailbox.deliver()
    assert not any("Voici une question" in mailbox.text(m) for m in mailbox.to(client.email))


def test_the_notification_jobs_run_in_the_mail_worker(app):
    from portal.notifications.worker import PERIODIC_JOBS

    names = [name for name, *_rest in PERIODIC_JOBS]
    assert names.count("notifications") == 1
    assert ("notifications", 30.0, service.run_notification_jobs) in PERIODIC_JOBS
    assert app.config["MESSAGE_BURST_QUIET_SECONDS"] == 180
    assert app.config["MESSAGE_BURST_MAX_SECONDS"] == 900
