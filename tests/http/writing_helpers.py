"""Starting points for the writing stories: a catalogue, qualified writers and orders in each
status, made through the order services (and plain model rows where a story needs a past state
such as an old deadline or an offer to a preferred writer)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa

from portal.accounts.models import User
from portal.extensions import db, utcnow
from portal.orders import service
from portal.orders.models import ContentType, Order, Tier, WriterLanguage, writer_tiers

ARTICLE = (
    "# Le baobab\n\nLe baobab est l'arbre emblématique de l'Afrique de l'Ouest. Son tronc "
    "garde l'eau de la saison des pluies, et ses fruits, le pain de singe, nourrissent "
    "peut-être plus de monde qu'on ne le croit.\n\n"
    "## Un arbre à tout faire\n\nSes feuilles se mangent en sauce, son écorce donne des "
    "cordes solides et son ombre accueille les palabres du village. Dans bien des régions, "
    "on dit qu'un baobab a vu passer des siècles d'histoire.\n\n"
    "Le fruit se conserve longtemps, et sa poudre acidulée parfume les boissons fraîches des "
    "marchés de Lomé. Les enfants le croquent à la sortie de l'école, tandis que les anciens "
    "racontent les légendes de l'arbre.\n"
)

# Another text on the same brief, none of its phrases in ARTICLE: two orders delivered with the
# same text would read as a copy and wait for an editor (portal/orders/originality.py).
SECOND_ARTICLE = (
    "# Sous le baobab du village\n\nAu centre de la place, un vieux baobab sert de point de "
    "rendez-vous depuis des générations. Les marchandes y posent leurs paniers dès l'aube, "
    "et les voyageurs fatigués cherchent son ombre épaisse vers midi.\n\n"
    "## Des usages sans fin\n\nAvec la pulpe blanche du fruit, les familles préparent une "
    "boisson sucrée appelée bouye. Les graines grillées se grignotent, et les fibres de "
    "l'écorce deviennent des nattes ou des filets de pêche.\n\n"
    "Quand vient la saison sèche, l'arbre perd ses feuilles mais garde sa réserve d'eau. "
    "Les guides racontent aux visiteurs qu'il faut parfois dix personnes, bras tendus, pour "
    "faire le tour de son tronc.\n"
)


@dataclass(frozen=True)
class Catalogue:
    standard: int  # tier ids
    premium: int
    blog: int  # content type ids
    news: int


def catalogue(app) -> Catalogue:
    with app.app_context():
        standard = Tier(name="Standard", client_price_per_word=20, writer_pay_per_word=12,
                        included_revisions=2, min_lead_hours=24, position=1)
        premium = Tier(name="Premium", client_price_per_word=40, writer_pay_per_word=25,
                       included_revisions=3, min_lead_hours=48, position=2)
        blog = ContentType(name_fr="Article de blog", name_en="Blog article", position=1)
        news = ContentType(name_fr="Actualité", name_en="News article", position=2)
        db.session.add_all([standard, premium, blog, news])
        db.session.commit()
        return Catalogue(standard.id, premium.id, blog.id, news.id)


def qualify(app, writer: User, *, languages=("fr",), tiers=()) -> None:
    """Give the writer the languages and tiers a manager would set."""
    with app.app_context():
        for language in languages:
            db.session.add(WriterLanguage(user_id=writer.id, language=language))
        for tier_id in tiers:
            db.session.execute(sa.insert(writer_tiers).values(user_id=writer.id, tier_id=tier_id))
        db.session.commit()


def place_order(app, client: User, cat: Catalogue, *, title: str = "Le baobab",
                language: str = "fr", tier_id: int | None = None,
                content_type_id: int | None = None, days: int = 5, words=(300, 600),
                primary_keyword: str = "baobab",
                secondary_keywords=("pain de singe", "saison des pluies")) -> int:
    """A brief submitted by `client`: the order is open in the pool. Returns its id."""
    with app.app_context():
        owner = db.session.get(User, client.id)
        brief = service.Brief(
            title=title,
            content_type_id=content_type_id or cat.blog,
            language=language,
            words_min=words[0],
            words_max=words[1],
            tier_id=tier_id or cat.standard,
            deadline=utcnow().replace(microsecond=0) + timedelta(days=days),
            tone="Chaleureux",
            audience="Voyageurs curieux",
            primary_keyword=primary_keyword,
            secondary_keywords=list(secondary_keywords),
            instructions="Parlez des usages du fruit.\nCitez une légende.",
        )
        order = service.create_draft(owner, brief)
        service.submit(order, owner)
        db.session.commit()
        return order.id


def change(app, order_id: int, **values) -> None:
    """Set stored columns of an order, as an earlier part of the story would have."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        for name, value in values.items():
            setattr(order, name, value)
        db.session.commit()


def act(app, order_id: int, user: User, what: str, *args, **kwargs):
    """Run one order service as `user` and commit: act(app, id, writer, "claim")."""
    with app.app_context():
        order = db.session.get(Order, order_id)
        actor = db.session.get(User, user.id)
        result = getattr(service, what)(order, actor, *args, **kwargs)
        db.session.commit()
        return result


def stored_order(app, order_id: int) -> Order:
    with app.app_context():
        order = db.session.get(Order, order_id)
        db.session.expunge(order)
        return order


META_CSRF = re.compile(r'<meta name="csrf-token" content="([^"]+)"')


def page_csrf(response) -> str:
    """The token the workspace gives its script (the <meta name="csrf-token">)."""
    match = META_CSRF.search(response.get_data(as_text=True))
    assert match, "no csrf-token meta on this page"
    return match.group(1)
