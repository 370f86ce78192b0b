"""The rules of a company's style guide.

- Who keeps it: the people of the company (`companies.is_member`) and managers. Anyone else is
  refused (NotAllowed); the pages answer 404 before that (a client only ever reaches their own
  company's guide, a manager any company's).
- Saving is guarded by the guide's version, as a draft's brief is: a form made from an older
  version is refused (Conflict) and overwrites nothing. The first save makes the guide.
- A word may not be both a word to use and a forbidden word (compared as keywords are: case,
  accents, plurals and feminines do not count, see portal/orders/text.py).
- At submission an order keeps a copy of the guide as it is then (`snapshot`, stored in
  `orders.style_guide`). Everything downstream reads the copy: the writer's workspace, the
  order page, the delivery checks and the compliance report. Editing the guide later changes
  the company's next orders, never one already submitted.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import sqlalchemy as sa
from flask_babel import gettext as _

from portal.accounts.models import Role, User
from portal.billing.companies import is_member
from portal.billing.models import Company
from portal.errors import Conflict, NotAllowed
from portal.extensions import db, utcnow
from portal.orders.text import match_keys, nonblank_lines
from portal.style_guides.models import StyleGuide

SNAPSHOT_VERSION = 1
# Bounds of the form (portal/style_guides/forms.py) and of the pages that show a guide.
TONE_MAX = 200
AUDIENCE_MAX = 300
TEXT_MAX = 3000  # formatting rules, examples
WORDS_MAX = 50  # entries of each list
WORD_MAX = 60  # characters of one entry


@dataclass
class GuideValues:
    """What the style guide form holds, shaped by the form (lists without repeats)."""

    tone: str = ""
    audience: str = ""
    words_to_use: list[str] = field(default_factory=list)
    forbidden_words: list[str] = field(default_factory=list)
    formatting: str = ""
    examples: str = ""


def guide_of(company_id: int) -> StyleGuide | None:
    return db.session.get(StyleGuide, company_id)


def may_keep(user: User, company_id: int) -> bool:
    """Whether `user` may change the guide of this company: one of its people, or a manager."""
    if not user.active:
        return False
    return user.role is Role.MANAGER or is_member(user, company_id)


def values_of(guide: StyleGuide | None) -> GuideValues:
    if guide is None:
        return GuideValues()
    return GuideValues(tone=guide.tone, audience=guide.audience,
                       words_to_use=nonblank_lines(guide.words_to_use),
                       forbidden_words=nonblank_lines(guide.forbidden_words),
                       formatting=guide.formatting, examples=guide.examples)


def save_guide(company: Company, actor: User, values: GuideValues, *,
               version: int | None) -> StyleGuide:
    """Write the company's style guide; `version` is the one the form was made from (0 before
    the first save). Raises NotAllowed for anyone but the company's people and managers,
    Conflict when the form is stale (someone saved in between: nothing is overwritten) or a
    word is both to use and forbidden."""
    if not may_keep(actor, company.id):
        raise NotAllowed(_("Only the people of this company and the agency's managers can "
                           "change its style guide."))
    stale = Conflict(_("This style guide was changed in another window since you opened it. "
                       "Reload the page to see the latest version, then make your changes "
                       "again."))
    _check_overlap(values)
    columns = {
        "tone": values.tone.strip(), "audience": values.audience.strip(),
        "words_to_use": "\n".join(values.words_to_use),
        "forbidden_words": "\n".join(values.forbidden_words),
        "formatting": values.formatting.strip(), "examples": values.examples.strip(),
        "updated_at": utcnow(), "updated_by_id": actor.id,
    }
    guide = guide_of(company.id)
    if guide is None:
        if version != 0:
            raise stale
        guide = StyleGuide(company_id=company.id, version=1, **columns)
        try:
            # Two first saves at once: the second finds the row taken and is told to reload.
            with db.session.begin_nested():
                db.session.add(guide)
        except sa.exc.IntegrityError:
            raise stale from None
        return guide
    # Conditional, like an order's move: a save that landed in between wins, this one is
    # refused, whatever the version read above.
    result = db.session.execute(
        sa.update(StyleGuide)
        .where(StyleGuide.company_id == company.id, StyleGuide.version == version)
        .values(version=StyleGuide.version + 1, **columns)
        .execution_options(synchronize_session=False))
    if result.rowcount != 1:
        raise stale
    db.session.refresh(guide)
    return guide


def _check_overlap(values: GuideValues) -> None:
    used = {tuple(match_keys(word)): word for word in values.words_to_use}
    for word in values.forbidden_words:
        if tuple(match_keys(word)) in used:
            raise Conflict(_("“%(word)s” is both a word to use and a forbidden word: keep it "
                             "in one list only.", word=word), field="forbidden_words")


def snapshot(guide: StyleGuide | None) -> dict | None:
    """The guide as an order keeps it (plain values, lists as lists), or None when there is no
    guide or it says nothing."""
    if guide is None:
        return None
    values = values_of(guide)
    if not any((values.tone, values.audience, values.words_to_use, values.forbidden_words,
                values.formatting, values.examples)):
        return None
    return {"shape": SNAPSHOT_VERSION, "version": guide.version, "tone": values.tone,
            "audience": values.audience, "words_to_use": values.words_to_use,
            "forbidden_words": values.forbidden_words, "formatting": values.formatting,
            "examples": values.examples,
            "saved_at": guide.updated_at.isoformat() if guide.updated_at else None}


def snapshot_for(company_id: int) -> dict | None:
    """The copy of the company's guide an order submitted now keeps."""
    return snapshot(guide_of(company_id))
