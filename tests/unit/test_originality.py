"""Originality (portal/orders/originality.py): a delivery against every earlier delivery of the
agency and its brief's reference texts, on fixed texts, through the real `service.deliver`."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from flask_babel import force_locale

from portal.accounts.models import Role, User
from portal.errors import Conflict
from portal.extensions import db
from portal.orders import originality, service
from portal.orders.models import Delivery, Order, OrderStatus, TextShingle
from portal.orders.text import word_count

# About 150 words of French, each sentence its own.
ORIGINAL = (
    "# Le marché de nuit de Lomé\n\n"
    "Quand le soleil descend sur la lagune, les premières lampes s'allument entre les étals du "
    "marché de nuit. Les vendeuses installent leurs braseros et le parfum du poisson grillé "
    "attire les passants pressés qui rentrent du travail. On y trouve des brochettes, des "
    "beignets de haricots et du piment écrasé dans de petites calebasses.\n\n"
    "Les familles viennent surtout le vendredi, quand la chaleur retombe enfin. Les enfants "
    "courent entre les tables pendant que les parents discutent des nouvelles du quartier. "
    "Un musicien joue parfois de la guitare près de la station de taxis-motos.\n\n"
    "Pour bien profiter de la soirée, arrivez avant vingt heures et gardez de la monnaie : "
    "les vendeuses n'ont pas toujours de quoi rendre sur un gros billet. Goûtez l'akpan, ce "
    "yaourt de maïs fermenté que l'on boit très frais, et terminez par une mangue coupée en "
    "cubes. Le marché reste animé jusqu'à minuit, même pendant la saison des pluies.\n"
)

# The same story reworded: synonyms, other constructions, sentences in another order.
REWORDED = (
    "# Une soirée au marché nocturne de la capitale\n\n"
    "Le vendredi attire surtout les familles, car la température baisse enfin à cette "
    "heure-là. Pendant que les adultes échangent les potins du voisinage, les petits filent "
    "entre les tables. Il arrive qu'un guitariste s'installe à côté de l'arrêt des zémidjans.\n"
    "\nÀ la tombée du jour, au bord de la lagune, des lanternes éclairent une à une les "
    "comptoirs de ce bazar nocturne. Les marchandes allument leurs réchauds à charbon, et "
    "l'odeur des poissons braisés retient les travailleurs qui regagnent leur domicile. Au "
    "menu : viande en brochette, galettes de niébé frites, sauce pimentée servie dans des "
    "demi-calebasses.\n\n"
    "Venez plutôt vers dix-neuf heures et prévoyez des petites coupures, car rendre la "
    "monnaie d'un grand billet est souvent impossible. Essayez l'akpan, boisson lactée à base "
    "de maïs, servie glacée, puis finissez avec des dés de mangue. L'endroit vit jusque tard "
    "dans la nuit, y compris quand il pleut.\n"
)

# A reference page the client pastes in the brief.
REFERENCE = (
    "Le karité pousse à l'état sauvage dans les savanes du nord du Togo. Ses noix sont "
    "ramassées par les femmes des coopératives, séchées au soleil puis broyées et barattées "
    "à la main pendant des heures. Le beurre obtenu nourrit la peau et les cheveux, et il "
    "sert aussi à la cuisine dans de nombreuses familles du pays."
)
FRESH = (
    "Notre coopérative travaille avec quarante productrices de la région des Savanes. "
    "Chaque lot est tracé depuis le village jusqu'au pot vendu en boutique, et les "
    "productrices reçoivent une prime pour chaque kilo livré à temps. Nos clients peuvent "
    "visiter l'atelier de Dapaong sur rendez-vous, du lundi au samedi, et repartir avec un "
    "échantillon offert. Les recettes changent avec les saisons : plus de beurre pur en "
    "saison sèche, davantage de savons parfumés pendant les pluies, quand la demande des "
    "hôtels de la côte augmente. Nous expédions partout au Togo en trois jours ouvrés et "
    "dans la sous-région en une semaine environ."
)


@pytest.fixture
def people(factory):
    tier = factory.tier()
    return {
        "tier": tier,
        "client_a": factory.user(Role.CLIENT),
        "client_b": factory.user(Role.CLIENT),
        "writer": factory.writer(languages=["fr"], tiers=[tier]),
        "manager": factory.user(Role.MANAGER),
    }


def deliver(app, order_id: int, writer: User, text: str) -> dict:
    """The writer saves `text` and delivers it; the stored originality."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        person = db.session.get(User, writer.id)
        service.save_draft(order, person, text, base_version=service.draft_for(order).version)
        delivery = service.deliver(order, person)
        db.session.commit()
        return delivery.report["originality"]


def claimed(factory, people, client, **brief) -> int:
    return factory.order(client=client, tier=people["tier"], writer=people["writer"],
                         status=OrderStatus.IN_PROGRESS, words_min=100, words_max=400,
                         **brief).id


def test_the_texts_are_long_enough_for_their_brief():
    assert 140 <= word_count(ORIGINAL) <= 400 and 140 <= word_count(REWORDED) <= 400
    assert word_count(FRESH) >= 100


def test_an_exact_copy_of_another_clients_delivery_scores_at_least_ninety_percent(
        app, factory, people):
    first = claimed(factory, people, people["client_a"], title="Le marché de nuit")
    assert deliver(app, first, people["writer"], ORIGINAL)["score"] == 0.0

    second = claimed(factory, people, people["client_b"], title="Sortir à Lomé")
    found = deliver(app, second, people["writer"], ORIGINAL)

    assert found["score"] >= 0.9
    [source] = found["sources"]
    with app.app_context():
        original = db.session.scalars(sa.select(Delivery).where(Delivery.order_id == first)).one()
        assert source == {"kind": "delivery", "score": found["score"],
                          "delivery_id": original.id, "order_id": first, "number": 1,
                          "client_id": people["client_a"].id, "writer_id": people["writer"].id}
        copy = db.session.scalars(sa.select(Delivery).where(Delivery.order_id == second)).one()
        assert originality.above_threshold(copy)
        assert not originality.above_threshold(original)
    # The whole text is one copied run, from its first word to its last.
    assert found["passages"] == [[2, len(ORIGINAL.rstrip()) - 1]]


def test_a_copied_paragraph_scores_its_share_and_marks_only_it(app, factory, people):
    first = claimed(factory, people, people["client_a"])
    deliver(app, first, people["writer"], ORIGINAL)
    paragraph = ORIGINAL.split("\n\n")[2]  # the families on Friday: 40 words
    second = claimed(factory, people, people["client_b"])
    found = deliver(app, second, people["writer"], FRESH + "\n\n" + paragraph)

    # FRESH has 104 words, the paragraph 40: 144 words, 140 phrases (all distinct), of which
    # the paragraph's own 36 are in the first delivery.
    assert len(originality.words(paragraph)) == 40 and len(originality.words(FRESH)) == 104
    assert found["phrases"] == 140
    assert found["score"] == round(36 / 140, 4)
    [[start, end]] = found["passages"]
    assert (FRESH + "\n\n" + paragraph)[start:end] == paragraph.rstrip(".\n")


def test_a_reworded_text_scores_low(app, factory, people):
    first = claimed(factory, people, people["client_a"])
    deliver(app, first, people["writer"], ORIGINAL)
    second = claimed(factory, people, people["client_b"])
    found = deliver(app, second, people["writer"], REWORDED)
    assert found["score"] < 0.2
    with app.app_context():
        copy = db.session.scalars(sa.select(Delivery).where(Delivery.order_id == second)).one()
        assert not originality.above_threshold(copy)


def test_a_reference_text_pasted_in_the_brief_is_found(app, factory, people):
    order_id = claimed(factory, people, people["client_a"], reference_texts=REFERENCE)
    found = deliver(app, order_id, people["writer"], REFERENCE + "\n\n" + FRESH)

    [source] = found["sources"]
    assert source == {"kind": "reference", "score": found["score"]}
    assert found["score"] == pytest.approx(
        len(set(originality.shingles(REFERENCE))) / len(set(originality.shingles(
            REFERENCE + "\n\n" + FRESH))), abs=0.01)
    assert found["score"] > 0.3


def test_the_same_orders_earlier_delivery_is_not_a_source(app, factory, people):
    order_id = claimed(factory, people, people["client_a"])
    assert deliver(app, order_id, people["writer"], ORIGINAL)["score"] == 0.0
    with app.app_context():
        order = db.session.get(Order, order_id)
        service.request_revision(order, db.session.get(User, people["client_a"].id),
                                 "Ajoutez une phrase.")
        db.session.commit()
    found = deliver(app, order_id, people["writer"], ORIGINAL + "\nUne phrase de plus ici.\n")
    assert found == {"version": 1, "score": 0.0, "phrases": found["phrases"], "sources": [],
                     "passages": []}


def test_a_delivery_indexes_its_sampled_phrases_in_the_same_transaction(app, factory, people):
    order_id = claimed(factory, people, people["client_a"])
    deliver(app, order_id, people["writer"], ORIGINAL)
    with app.app_context():
        delivery = db.session.scalars(sa.select(Delivery).where(Delivery.order_id == order_id)
                                      ).one()
        stored = set(db.session.scalars(sa.select(TextShingle.hash)
                                        .where(TextShingle.delivery_id == delivery.id)))
    expected = originality.sampled(originality.shingles(ORIGINAL))
    assert stored == expected and len(expected) >= 3
    # Half the hashes are above 2**63: stored as negative BIGINTs, read back the same.
    assert any(h < 0 for h in stored) and any(h > 0 for h in stored)
    # Roughly one phrase in SAMPLE_EVERY (about 150 phrases here).
    assert len(expected) < len(set(originality.shingles(ORIGINAL))) / 4


def test_a_delivery_refused_by_the_rules_indexes_nothing(app, factory, people):
    order_id = claimed(factory, people, people["client_a"])
    with app.app_context():
        order = db.session.get(Order, order_id)
        person = db.session.get(User, people["writer"].id)
        service.save_draft(order, person, "Trop court.", base_version=0)
        with pytest.raises(Conflict):
            service.deliver(order, person)
        db.session.rollback()
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TextShingle)) == 0


def test_reindex_rebuilds_the_index_from_every_delivery(app, factory, people):
    for client, text in ((people["client_a"], ORIGINAL), (people["client_b"], FRESH)):
        deliver(app, claimed(factory, people, client), people["writer"], text)
    with app.app_context():
        before = set(db.session.execute(sa.select(TextShingle.hash, TextShingle.delivery_id)))
        db.session.execute(sa.delete(TextShingle))
        db.session.commit()
        assert originality.reindex(batch=1) == (2, len(before))
        db.session.commit()
        assert set(db.session.execute(sa.select(TextShingle.hash, TextShingle.delivery_id))) \
            == before
        # Run again: the same rows, no duplicate.
        assert originality.reindex() == (2, len(before))
        db.session.commit()


def test_words_are_folded_and_punctuation_and_link_targets_are_not_read():
    assert originality.words("L'Évènement, [voir](https://x.test/a-b) **ici** !") == [
        "L", "Évènement", "voir", "ici"]
    assert originality.shingles("Un Évènement : très-attendu, à Lomé.") == \
        originality.shingles("un evenement tres attendu a lome")
    # A decomposed accent is the same word.
    assert originality.shingles("Cafe\u0301 du matin a\u0300 Lome\u0301 ici") == \
        originality.shingles("Café du matin à Lomé ici")
    assert originality.shingles("Quatre mots seulement ici") == []


def test_the_hash_is_a_stable_64_bit_number_stored_signed():
    [value] = originality.shingles("le marché de nuit ouvre")
    # Fixed forever: the index of an agency holds these numbers.
    assert value == originality.shingles("Le marché de nuit ouvre.")[0]
    assert value == FIXED_HASH
    assert originality.signed(value) == value - 2 ** 64 if value >= 2 ** 63 else value
    assert -(2 ** 63) <= originality.signed(value) < 2 ** 63
    # Rolled from phrase to phrase, a hash is the one computed for its five words alone.
    text = originality.words(ORIGINAL)
    rolled = originality.phrase_hashes(text)
    assert [originality.phrase_hashes(text[i:i + 5])[0] for i in (0, 17, len(text) - 5)] == \
        [rolled[0], rolled[17], rolled[-1]]


FIXED_HASH = 2921495753420770691  # frozen: changing the hash means reindexing every agency


def test_sampling_keeps_the_same_phrases_in_every_text():
    hashes = originality.shingles(ORIGINAL + " " + FRESH)
    kept = originality.sampled(hashes)
    assert kept == {originality.signed(h) for h in hashes if h % originality.SAMPLE_EVERY == 0}
    assert originality.sampled(originality.shingles(ORIGINAL)) <= kept
    # Over a thousand phrases, close to one in sixteen.
    many = originality.shingles(" ".join([ORIGINAL, REWORDED, FRESH, REFERENCE] * 3))
    share = len(originality.sampled(many)) / len(set(many))
    assert 1 / 32 < share < 1 / 8


def test_flask_orders_index_texts_rebuilds_the_index(app, factory, people):
    deliver(app, claimed(factory, people, people["client_a"]), people["writer"], ORIGINAL)
    with app.app_context():
        rows = db.session.scalar(sa.select(sa.func.count()).select_from(TextShingle))
        db.session.execute(sa.delete(TextShingle))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["orders", "index-texts"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == f"indexed 1 deliveries ({rows} phrases)"
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(TextShingle)) == rows


def test_a_source_is_named_only_to_who_may_see_it(app, factory, people):
    other_writer = factory.writer(languages=["fr"], tiers=[people["tier"]])
    source = claimed(factory, people, people["client_a"])
    deliver(app, source, people["writer"], ORIGINAL)
    # Client B's order, and another order of client A, both written by another writer.
    copies = {}
    for name, client in (("other_client", people["client_b"]), ("same_client",
                                                                 people["client_a"])):
        order_id = factory.order(client=client, tier=people["tier"], writer=other_writer,
                                 status=OrderStatus.IN_PROGRESS, words_min=100,
                                 words_max=400).id
        deliver(app, order_id, other_writer, ORIGINAL)
        copies[name] = order_id
    named = f"CMD-{source:05d}, delivery 1"
    expected = {
        ("other_client", "client_b"): "a text for another client",
        ("other_client", "other_writer"): "a text for another client",
        ("other_client", "writer"): named,  # wrote the source
        ("other_client", "manager"): named,
        # Written for them, but never named to a client: it may be in review or returned.
        ("same_client", "client_a"): "another text for this client",
        ("same_client", "other_writer"): "another text for this client",
    }
    viewers = dict(people, other_writer=other_writer)
    with app.test_request_context(), force_locale("en"):
        for (copy, viewer), label in expected.items():
            order = db.session.get(Order, copies[copy])
            delivery = db.session.scalars(sa.select(Delivery).where(
                Delivery.order_id == order.id)).one()
            shown = originality.for_display(delivery.report["originality"], delivery.text,
                                            order, db.session.get(User, viewers[viewer].id))
            # The same-client copy also finds the other client's copy (as well matched): the
            # first source is the first text.
            assert delivery.report["originality"]["sources"][0]["order_id"] == source
            entry = shown["sources"][0]
            assert entry["label"] == label, (copy, viewer)
            assert ("url" in entry) is (label == named), (copy, viewer)
            assert shown["above"] and shown["passages"]
