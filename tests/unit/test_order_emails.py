"""The emails of an order's story, received by a real SMTP server on loopback: who hears of
what, in their own language, exactly once.

The client reads French, the writer English; of the two managers one reads French, one
English.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from portal.accounts.models import Role, User
from portal.extensions import db
from portal.orders import service
from portal.orders.models import Order, OrderStatus
from tests.factories import deliverable

S = OrderStatus
TITLE = "Le pain de Lomé"


@pytest.fixture
def people(factory):
    tier = factory.tier(included_revisions=2)
    return {
        "tier": tier,
        "client": factory.user(Role.CLIENT, locale="fr", name="Boulangerie du Golfe",
                               email="client@boulangerie.test"),
        "writer": factory.writer(languages=["fr"], tiers=[tier], locale="en",
                                 name="Grace Writer", email="grace@writers.test"),
        "manager_fr": factory.user(Role.MANAGER, locale="fr", name="Akossiwa Mensah",
                                   email="akossiwa@agence.test"),
        "manager_en": factory.user(Role.MANAGER, locale="en", name="John Manager",
                                   email="john@agence.test"),
    }


def subjects(mailbox) -> Counter:
    """(recipient, subject) -> how many times it arrived. A long encoded subject is folded
    right after "Subject:" (Flask-Mail's encoding); Python's parser keeps that folding space,
    which mail clients drop: so do we."""
    return Counter((str(m["To"]).split("<")[-1].rstrip(">"), str(m["Subject"]).lstrip())
                   for m in mailbox.messages)


def act(app, step) -> None:
    """Run one service call the way a request does: own session, one commit."""
    with app.app_context():
        step(db.session)
        db.session.commit()


def test_the_story_of_an_order_told_by_email(app, factory, mailbox, people):
    client, writer = people["client"], people["writer"]
    order = factory.order(client=client, status=S.DRAFT, tier=people["tier"], title=TITLE)
    ref = order.reference

    def on(session, model, obj):
        return session.get(model, obj.id)

    act(app, lambda s: service.submit(on(s, Order, order), on(s, User, client)))
    act(app, lambda s: service.claim(on(s, Order, order), on(s, User, writer)))

    def deliver(session, text, note):
        stored, me = on(session, Order, order), on(session, User, writer)
        service.save_draft(stored, me, deliverable(stored, text),
                           base_version=service.draft_for(stored).version)
        service.deliver(stored, me, note)

    act(app, lambda s: deliver(s, "Première version du texte sur le pain.", "Première version"))
    act(app, lambda s: service.request_revision(on(s, Order, order), on(s, User, client),
                                                "Parlez davantage du pain de mie."))
    act(app, lambda s: deliver(s, "Deuxième version, avec le pain de mie.", "Corrigé"))
    act(app, lambda s: service.approve(on(s, Order, order), on(s, User, client), 4,
                                       "Très bon texte, merci."))

    report = mailbox.deliver()
    assert report.failed == 0 and report.retried == 0
    again = mailbox.deliver()
    assert again.claimed == 0  # nothing is sent twice

    expected = Counter({
        # the client, in French
        ("client@boulangerie.test", f"Commande {ref} reçue\u202f: {TITLE}"): 1,
        ("client@boulangerie.test", f"Votre commande {ref} est en cours de rédaction"): 1,
        ("client@boulangerie.test", f"Votre texte est livré\u202f: {TITLE}"): 2,  # two deliveries
        # the managers, each in their language
        ("akossiwa@agence.test", f"Nouvelle commande {ref}\u202f: {TITLE}"): 1,
        ("john@agence.test", f"New order {ref}: {TITLE}"): 1,
        # the writer, in English
        ("grace@writers.test", f"Revision requested: {TITLE}"): 1,
        ("grace@writers.test", f"Approved: {TITLE}"): 1,
    })
    assert subjects(mailbox) == expected

    taken = mailbox.text(mailbox.to("client@boulangerie.test")[1])
    assert taken.startswith("Bonjour Boulangerie du Golfe,")
    assert "Grace Writer rédige maintenant «\u202fLe pain de Lomé\u202f»." in taken

    revision = next(m for m in mailbox.to("grace@writers.test")
                    if str(m["Subject"]).startswith("Revision"))
    text = mailbox.text(revision)
    assert text.startswith("Hello Grace Writer,")
    assert "> Parlez davantage du pain de mie." in text  # the reason, quoted

    approved = mailbox.last_to("grace@writers.test")
    text = mailbox.text(approved)
    assert "Rating: 4 out of 5." in text
    assert "> Très bon texte, merci." in text
    assert f"/orders/{order.id}" in mailbox.link(approved)


def test_an_assignment_tells_the_client_and_the_writer(app, factory, mailbox, people):
    client, writer = people["client"], people["writer"]
    order = factory.order(client=client, status=S.OPEN, tier=people["tier"], title=TITLE)
    mailbox.deliver()
    mailbox.messages.clear()
    act(app, lambda s: service.assign(s.get(Order, order.id),
                                      s.get(User, people["manager_fr"].id),
                                      s.get(User, writer.id)))
    mailbox.deliver()
    assert subjects(mailbox) == Counter({
        ("client@boulangerie.test", f"Votre commande {order.reference} est en cours de "
                                    "rédaction"): 1,
        ("grace@writers.test", f"An order is assigned to you: {TITLE}"): 1,
    })


def test_a_client_who_cancels_tells_the_agency(app, factory, mailbox, people):
    client = people["client"]
    order = factory.order(client=client, status=S.OPEN, tier=people["tier"], title=TITLE)
    mailbox.deliver()
    mailbox.messages.clear()
    act(app, lambda s: service.cancel(s.get(Order, order.id), s.get(User, client.id),
                                      "Nous avons changé de projet."))
    mailbox.deliver()
    assert subjects(mailbox) == Counter({
        ("akossiwa@agence.test", f"Commande annulée\u202f: {TITLE}"): 1,
        ("john@agence.test", f"Order cancelled: {TITLE}"): 1,
    })
    assert "> Nous avons changé de projet." in mailbox.text(mailbox.last_to("john@agence.test"))


def test_a_manager_who_cancels_tells_the_client_and_the_writer(app, factory, mailbox, people):
    client, writer = people["client"], people["writer"]
    order = factory.order(client=client, status=S.IN_PROGRESS, writer=writer,
                          tier=people["tier"], title=TITLE)
    mailbox.deliver()
    mailbox.messages.clear()
    act(app, lambda s: service.cancel(s.get(Order, order.id),
                                      s.get(User, people["manager_en"].id), "Doublon"))
    mailbox.deliver()
    assert subjects(mailbox) == Counter({
        ("client@boulangerie.test", f"Commande annulée\u202f: {TITLE}"): 1,
        ("grace@writers.test", f"Order cancelled: {TITLE}"): 1,
    })


def test_a_rolled_back_move_sends_nothing(app, factory, mailbox, people):
    order = factory.order(client=people["client"], status=S.DELIVERED, tier=people["tier"],
                          writer=people["writer"])
    mailbox.deliver()
    mailbox.messages.clear()
    with app.app_context():
        service.approve(db.session.get(Order, order.id),
                        db.session.get(User, people["client"].id), 5)
        db.session.rollback()
    assert mailbox.deliver().claimed == 0
    assert mailbox.messages == []


def _title(words: str) -> str:
    """A title of the longest length an order takes (200 characters)."""
    return (words * 20)[:200].strip(" -")


@pytest.mark.parametrize(("title", "folded"), [
    (_title("Guide complet de la boulangerie et de la patisserie "), True),
    (_title("Le pain de mie à Lomé, à Kpalimé et à Atakpamé\u202f: "), True),
    # One word of 200 letters is not broken (compat32 folds at spaces): its line stays far
    # under the 998 octets every line must keep to.
    (_title("guide-complet-de-la-boulangerie-"), False),
])
def test_a_long_title_is_folded_in_the_subject(app, factory, mailbox, people, title, folded):
    """RFC 5322, 2.1.1: a line SHOULD be at most 78 octets and MUST be at most 998. Python's
    Header.encode, which Flask-Mail's sanitize_subject calls, writes encoded words of up to 78
    characters, so a folded subject in encoded words has lines of 79 octets."""
    order = factory.order(client=people["client"], status=S.OPEN, tier=people["tier"],
                          title=title)
    mailbox.deliver()
    mailbox.messages.clear()
    act(app, lambda s: service.cancel(s.get(Order, order.id), s.get(User, people["client"].id),
                                      "Nous avons changé de projet."))
    mailbox.deliver()
    assert subjects(mailbox) == Counter({
        ("akossiwa@agence.test", f"Commande annulée\u202f: {title}"): 1,
        ("john@agence.test", f"Order cancelled: {title}"): 1,
    })
    for email in mailbox.messages:
        headers = email.raw_bytes.split(b"\r\n\r\n", 1)[0].decode("ascii")
        [subject] = re.findall(r"^Subject:[^\r\n]*(?:\r\n[ \t][^\r\n]*)*", headers,
                               re.MULTILINE)
        lines = subject.split("\r\n")
        assert max(map(len, lines)) <= 998
        if folded:
            assert len(lines) > 2
            assert all(len(line) <= (79 if "=?utf-8?" in line else 78) for line in lines)
