"""Originality: how much of a delivery is found in one other text the agency holds.

What a delivery is compared with:
- every earlier delivery of the agency, for every client (the same text sold twice is the worst
  case), except the earlier deliveries of its own order (a revision of one's own text is not a
  copy);
- the reference texts its brief supplies (`Order.reference_texts`, pasted by the client or a
  manager), as one source.

How:
- The text is cut into words as `words` says: runs of letters and digits (apostrophes, hyphens
  and punctuation separate words; Markdown marks and link targets are not read), lowercased,
  accents folded ("Évènement" is "evenement").
- A phrase (a "shingle") is SHINGLE_WORDS = 5 words in a row, at every position. Five, the
  short end of the usual 5 to 7: a copied sentence of 12 words still gives 8 phrases (6 at 7
  words), so a sentence lifted here and there is found; rewording breaks a phrase at every
  changed word either way, and a stock phrase of 5 words ("il est important de noter") is
  rarely more than a few phrases of a text, far from a threshold of 30 %.
- Each phrase has a stable 64-bit hash: each word's is the first 8 bytes of its BLAKE2b (the
  word lowercased, accents folded), the phrase's a polynomial of its words' hashes mod 2**64
  (Rabin-Karp: rolled from one phrase to the next), stored as a signed BIGINT. The same words
  always give the same number, in every process and database, for a few microseconds a word
  (the bench indexes 230,000 texts).
- The index (`text_shingles`, hash and delivery) keeps a deterministic sample: the phrases
  whose hash is 0 modulo SAMPLE_EVERY = 16, the same phrases in every text, so two copies
  share the same sample. The index is a sixteenth of the size, and only serves to *find* the
  candidates: the CANDIDATES deliveries sharing the most sampled phrases with the new text.
  A copied passage of L words is missed only when none of its L - 4 phrases is sampled,
  (15/16) ** (L - 4): 5 % for 50 words, 0.2 % for 100; a whole copied text is never missed.
- The score is then exact, not sampled: each candidate's text (and the brief's reference
  texts) is cut into all its phrases, and its score is the share of the delivery's distinct
  phrases found in it (containment). The best source wins; the SOURCES_KEPT best are stored.
  So sampling changes which texts are looked at, never a score.

Computed by `service.deliver` (`check`), stored in the delivery's report under "originality",
and the new delivery's sampled phrases are indexed in the same transaction (`index_delivery`)
so later deliveries are compared with it. `flask orders index-texts` rebuilds the index from
every delivery (`reindex`), after an upgrade.

The stored part (REPORT_VERSION 1):
    {"version": 1, "score": 0.93, "phrases": 812,
     "sources": [{"kind": "delivery", "score": 0.93, "delivery_id": 7, "order_id": 3,
                  "number": 1, "client_id": 12, "writer_id": 5},
                 {"kind": "reference", "score": 0.1}],
     "passages": [[start, end], ...]}   # character offsets of the copied runs in the text
It holds the ids of other clients' orders: it is only ever shown through `for_display`, which
names a source only to a reader who may see it (`policies.can_name_source`), and otherwise says
"a text for another client" and nothing else.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask import current_app, url_for
from flask_babel import format_percent
from flask_babel import gettext as _
from markupsafe import Markup, escape

from portal.extensions import db
from portal.orders import policies
from portal.orders.models import Delivery, Order, TextShingle

if TYPE_CHECKING:
    from collections.abc import Iterable

    from portal.accounts.models import User

VERSION = 1
SHINGLE_WORDS = 5
SAMPLE_EVERY = 16
CANDIDATES = 5
SOURCES_KEPT = 3
PASSAGES_KEPT = 40  # copied runs stored with the delivery, in the text's order
PASSAGES_SHOWN = 10
CONTEXT_CHARS = 60

# A word: letters, digits and combining accents (a text typed in decomposed form keeps "é" as
# one word); underscores are blanked first (Markdown emphasis), like link targets.
_WORD = re.compile(r"[\w\u0300-\u036f]+")
_LINK_TARGET = re.compile(r"\]\([^)\n]*\)")
_UNDERSCORE = str.maketrans("_", " ")
_MASK = (1 << 64) - 1
_MULTIPLIER = 0x9E3779B97F4A7C15  # odd: every word's place counts
_FIRST = pow(_MULTIPLIER, SHINGLE_WORDS - 1, 1 << 64)  # the weight of a phrase's first word


def _readable(text: str) -> str:
    """`text` with its link targets and underscores blanked, same length (offsets stay those
    of the text)."""
    if "](" in text:
        text = _LINK_TARGET.sub(lambda found: " " * len(found[0]), text)
    return text.translate(_UNDERSCORE)


def words(text: str) -> list[str]:
    """The words of `text` as the check reads them, before folding."""
    return _WORD.findall(_readable(text))


@lru_cache(maxsize=65536)  # texts repeat their words; the last tens of thousands are kept
def word_hash(word: str) -> int:
    """A word's 64-bit hash, lowercased and without accents."""
    folded = "".join(c for c in unicodedata.normalize("NFKD", word.lower())
                     if not unicodedata.combining(c))
    return int.from_bytes(hashlib.blake2b(folded.encode(), digest_size=8).digest(), "little")


def phrase_hashes(text_words: list[str]) -> list[int]:
    """The hash of each phrase of SHINGLE_WORDS words of `text_words`, at every position: the
    polynomial sum(h(word) * M ** (4 - place)) mod 2 ** 64 of its words' hashes, rolled from
    one phrase to the next (two multiplications a word). Unsigned; `signed` for storing."""
    hashes = list(map(word_hash, text_words))
    if len(hashes) < SHINGLE_WORDS:
        return []
    value = 0
    for word in hashes[:SHINGLE_WORDS]:
        value = (value * _MULTIPLIER + word) & _MASK
    out = [value]
    append = out.append
    for leaving, coming in zip(hashes, hashes[SHINGLE_WORDS:], strict=False):
        value = ((value - leaving * _FIRST) * _MULTIPLIER + coming) & _MASK
        append(value)
    return out


def signed(value: int) -> int:
    """An unsigned 64-bit hash as the signed BIGINT the index stores."""
    return value - (1 << 64) if value >> 63 else value


def shingles(text: str) -> list[int]:
    """The phrase hashes of `text`, at every position."""
    return phrase_hashes(words(text))


def sampled(hashes: Iterable[int]) -> set[int]:
    """The hashes the index keeps (the same phrases in every text: those whose low bits are
    0 modulo SAMPLE_EVERY, a power of two), as stored (signed)."""
    keep = SAMPLE_EVERY - 1
    return {signed(h) for h in hashes if not h & keep}


# --- the check ----------------------------------------------------------------------------


def check(order: Order, text: str) -> dict:
    """The originality of `text` delivered for `order` (the stored part described in this
    module's docstring): looks up the index for the deliveries of other orders that share the
    most sampled phrases, then scores them and the brief's reference texts exactly. Two
    statements at most; writes nothing."""
    found = list(_WORD.finditer(_readable(text)))
    positions = phrase_hashes([m[0] for m in found])
    mine = set(positions)
    result = {"version": VERSION, "score": 0.0, "phrases": len(mine), "sources": [],
              "passages": []}
    if not mine:
        return result
    scored: list[tuple[float, dict, set[int]]] = []
    for source, source_text in _candidates(order, sampled(mine)):
        common = mine.intersection(shingles(source_text))
        if common:
            source["score"] = round(len(common) / len(mine), 4)
            scored.append((source["score"], source, common))
    if order.reference_texts.strip():
        common = mine.intersection(shingles(order.reference_texts))
        if common:
            score = round(len(common) / len(mine), 4)
            scored.append((score, {"kind": "reference", "score": score}, common))
    scored.sort(key=lambda item: -item[0])
    kept = scored[:SOURCES_KEPT]
    if not kept:
        return result
    copied = set().union(*(common for _score, _source, common in kept))
    result |= {"score": kept[0][0], "sources": [source for _score, source, _c in kept],
               "passages": _passages(found, positions, copied)}
    return result


def _candidates(order: Order, hashes: set[int]) -> list[tuple[dict, str]]:
    """The deliveries of other orders sharing the most sampled phrases with the text, with
    their texts and what naming them takes."""
    if not hashes:
        return []
    shared = sa.func.count().label("shared")
    own = sa.select(Delivery.id).where(Delivery.order_id == order.id)
    best = (sa.select(TextShingle.delivery_id, shared)
            .where(TextShingle.hash.in_(hashes), TextShingle.delivery_id.not_in(own))
            .group_by(TextShingle.delivery_id)
            .order_by(shared.desc(), TextShingle.delivery_id).limit(CANDIDATES)).subquery()
    rows = db.session.execute(
        sa.select(Delivery.id, Delivery.number, Delivery.writer_id, Delivery.text, Order.id,
                  Order.client_id)
        .join(best, best.c.delivery_id == Delivery.id).join(Order, Order.id == Delivery.order_id)
        .order_by(best.c.shared.desc(), Delivery.id))
    return [({"kind": "delivery", "delivery_id": delivery_id, "order_id": order_id,
              "number": number, "client_id": client_id, "writer_id": writer_id}, source_text)
            for delivery_id, number, writer_id, source_text, order_id, client_id in rows]


def _passages(found: list[re.Match], positions: list[int], copied: set[int]) -> list[list[int]]:
    """The runs of the text covered by a copied phrase, as [start, end] character offsets."""
    runs: list[list[int]] = []
    last = SHINGLE_WORDS - 1
    for i, phrase in enumerate(positions):
        if phrase not in copied:
            continue
        start, end = found[i].start(), found[i + last].end()
        if runs and start <= runs[-1][1] + 1:
            runs[-1][1] = max(runs[-1][1], end)
        elif len(runs) < PASSAGES_KEPT:
            runs.append([start, end])
        else:
            break
    return runs


def index_delivery(delivery: Delivery) -> int:
    """Add the sampled phrases of `delivery` to the index (in the caller's transaction), so
    later deliveries are compared with it; returns how many rows."""
    rows = [{"hash": h, "delivery_id": delivery.id} for h in sampled(shingles(delivery.text))]
    if rows:
        db.session.execute(sa.insert(TextShingle), rows)
    return len(rows)


def reindex(batch: int = 500) -> tuple[int, int]:
    """Empty the index and fill it again from every delivery, `batch` texts at a time (in the
    caller's transaction); returns (deliveries, rows)."""
    db.session.execute(sa.delete(TextShingle))
    deliveries = rows = 0
    last_id = 0
    while True:
        chunk = db.session.execute(
            sa.select(Delivery.id, Delivery.text).where(Delivery.id > last_id)
            .order_by(Delivery.id).limit(batch)).all()
        if not chunk:
            return deliveries, rows
        values = [{"hash": h, "delivery_id": delivery_id}
                  for delivery_id, text in chunk for h in sampled(shingles(text))]
        if values:
            db.session.execute(sa.insert(TextShingle), values)
        deliveries += len(chunk)
        rows += len(values)
        last_id = chunk[-1][0]


def above_threshold(delivery: Delivery) -> bool:
    """Is the delivery's originality score at or above ORIGINALITY_REVIEW_THRESHOLD (as much
    of it found in one other text)? False for a delivery that was never checked."""
    found = (delivery.report or {}).get("originality")
    if not found:
        return False
    return found["score"] >= current_app.config["ORIGINALITY_REVIEW_THRESHOLD"]


# --- what a reader sees -------------------------------------------------------------------


def for_display(found: dict | None, text: str, order: Order, viewer: User) -> dict | None:
    """The stored originality of a delivery of `order` as `viewer` may see it: the score, each
    source named with a link when the viewer may see it (otherwise "a text for another client",
    and nothing of it), and the copied passages of the delivery marked. No statement."""
    if not found:
        return None
    sources = []
    for source in found["sources"]:
        entry = {"percent": format_percent(source["score"])}
        if source["kind"] == "reference":
            entry["label"] = _("the brief's reference texts")
        elif policies.can_name_source(viewer, client_id=source["client_id"],
                                      writer_id=source["writer_id"]):
            entry["label"] = _("%(reference)s, delivery %(number)d",
                               reference=Order.reference_of(source["order_id"]),
                               number=source["number"])
            entry["url"] = url_for("orders.delivery", order_id=source["order_id"],
                                   number=source["number"])
        elif viewer.can_review and viewer.active:
            # An editor judges the copy, so is told which text it is, but the source's page
            # is not theirs to open (editors see only the orders in review).
            entry["label"] = _("%(reference)s, delivery %(number)d",
                               reference=Order.reference_of(source["order_id"]),
                               number=source["number"])
        elif source["client_id"] == order.client_id:
            entry["label"] = _("another text for this client")
        else:
            entry["label"] = _("a text for another client")
        sources.append(entry)
    passages = marked_passages(text, found["passages"])
    return {"score": found["score"], "percent": format_percent(found["score"]),
            "above": found["score"] >= current_app.config["ORIGINALITY_REVIEW_THRESHOLD"],
            "sources": sources, "passages": passages[:PASSAGES_SHOWN],
            "more_passages": max(0, len(passages) - PASSAGES_SHOWN)}


def marked_passages(text: str, runs: list[list[int]]) -> list[Markup]:
    """Each copied run of `text` with up to CONTEXT_CHARS characters around it, the copied part
    in <mark>; runs closer than twice the context share one passage."""
    groups: list[list[list[int]]] = []
    for start, end in runs:
        if groups and start - groups[-1][-1][1] <= 2 * CONTEXT_CHARS:
            groups[-1].append([start, end])
        else:
            groups.append([[start, end]])
    out = []
    for group in groups:
        begin = max(0, group[0][0] - CONTEXT_CHARS)
        finish = min(len(text), group[-1][1] + CONTEXT_CHARS)
        parts = [Markup("…") if begin else Markup("")]
        cursor = begin
        for start, end in group:
            parts.append(escape(text[cursor:start]))
            parts.append(Markup("<mark>{}</mark>").format(text[start:end]))
            cursor = end
        parts.append(escape(text[cursor:finish]))
        parts.append(Markup("…") if finish < len(text) else Markup(""))
        out.append(Markup("").join(parts))
    return out
