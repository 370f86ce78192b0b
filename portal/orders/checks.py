"""The rules a text must meet before it leaves the agency.

`delivery_checks(order, text)` is the one place that judges a text against its brief. The writer's
workspace shows its answer live (on each autosave) and `service.deliver` refuses a text it blocks,
so a hand-made POST cannot deliver what the page would not.

Blocking (the text cannot be delivered):
- fewer words than the brief's minimum;
- more than 10 % above the brief's maximum (1,200 words allow up to 1,320);
- the main keyword missing (matched as `text.keyword_presence` does: case, accents and plurals
  do not count);
- a link the brief requires missing (each URL of `links_to_include`, as a Markdown link or bare).

Warnings (shown, never blocking):
- the main keyword's density outside 0.5 % to 3 %: its occurrences divided by the text's words (the
  common SEO figure; below, search engines may miss the subject, above, it reads as stuffing);
- more than 300 words without a Markdown heading (`#`, `##`… at the start of a line);
- sentences longer than 35 words (counted);
- secondary keywords missing;
- a word the client's style guide forbids (the guide as the order kept it at submission,
  portal/style_guides/service.py), matched as keywords are: whole words, case, accents,
  plurals and feminines do not count ("leader" forbids "leaders", "révolutionnaire" forbids
  "Révolutionnaires"). The client's call, not a rule of the brief: it warns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask_babel import format_decimal, ngettext
from flask_babel import gettext as _

from portal.orders.text import (
    keyword_occurrences,
    keyword_presence,
    match_keys,
    nonblank_lines,
    word_count,
)

if TYPE_CHECKING:
    from portal.orders.models import Order

MAX_OVERRUN_PERCENT = 10
DENSITY_MIN = 0.5  # % of the text's words
DENSITY_MAX = 3.0
HEADING_AFTER_WORDS = 300
LONG_SENTENCE_WORDS = 35

_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+\S", re.MULTILINE)
_BLOCK_START = re.compile(r"^ {0,3}(#{1,6}[ \t]|[-*+][ \t]|\d+[.)][ \t]|>)")
_SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'»”)\]]*\s+")
_URL_AFTER = r"(?=[.,;:!?]*(?:[\s)\]>\"'<»]|$))"
_URL_BEFORE = r"(?<![^\s(\[<\"'«])"


@dataclass(frozen=True)
class Finding:
    """One reason or warning: a code for programs, a translated message with its figures."""

    code: str
    message: str
    figures: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"code": self.code, "message": self.message, "figures": self.figures}


@dataclass(frozen=True)
class Checks:
    words: int
    blocking: list[Finding]
    warnings: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.blocking

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "words": self.words,
            "blocking": [f.as_dict() for f in self.blocking],
            "warnings": [f.as_dict() for f in self.warnings],
        }


def delivery_checks(order: Order, text: str) -> Checks:
    """Judge `text` against `order`'s brief: what blocks its delivery and what only deserves a
    look (the rules are in this module's docstring). Messages are translated for the current
    locale."""
    words = word_count(text)
    keys = match_keys(text)
    blocking: list[Finding] = []
    warnings: list[Finding] = []

    limit = order.words_max * (100 + MAX_OVERRUN_PERCENT) // 100
    if words < order.words_min:
        blocking.append(Finding("too_short", _(
            "The text has %(words)s words; the brief asks for at least %(min)s.",
            words=words, min=order.words_min), {"words": words, "min": order.words_min}))
    elif words > limit:
        blocking.append(Finding("too_long", _(
            "The text has %(words)s words: at most %(limit)s are accepted (the brief's "
            "maximum of %(max)s plus 10 %%).", words=words, limit=limit, max=order.words_max),
            {"words": words, "limit": limit, "max": order.words_max}))

    keyword = order.primary_keyword.strip()
    # A keyword of signs alone (stored before the brief form refused it) cannot be looked for:
    # it must not keep an order from ever being delivered.
    if keyword and match_keys(keyword):
        occurrences = keyword_occurrences(keys, keyword)
        if not occurrences:
            blocking.append(Finding("keyword_missing", _(
                "The main keyword “%(keyword)s” is not in the text.", keyword=keyword),
                {"keyword": keyword}))
        elif words:
            density = occurrences * 100 / words
            if not DENSITY_MIN <= density <= DENSITY_MAX:
                figures = {"keyword": keyword, "count": occurrences, "words": words,
                           "density": round(density, 2)}
                shown = format_decimal(round(density, 1), format="0.0")
                if density < DENSITY_MIN:
                    code, message = "density_low", ngettext(
                        "The main keyword “%(keyword)s” appears %(num)d time in %(words)s words "
                        "(%(density)s %%): aim for 0.5 to 3 %%.",
                        "The main keyword “%(keyword)s” appears %(num)d times in %(words)s words "
                        "(%(density)s %%): aim for 0.5 to 3 %%.",
                        occurrences, keyword=keyword, words=words, density=shown)
                else:
                    code, message = "density_high", ngettext(
                        "The main keyword “%(keyword)s” appears %(num)d time in %(words)s words "
                        "(%(density)s %%): above 3 %%, it reads as stuffing.",
                        "The main keyword “%(keyword)s” appears %(num)d times in %(words)s words "
                        "(%(density)s %%): above 3 %%, it reads as stuffing.",
                        occurrences, keyword=keyword, words=words, density=shown)
                warnings.append(Finding(code, message, figures))

    for url in links_required(order):
        if not has_link(text, url):
            blocking.append(Finding("link_missing", _(
                "The link %(url)s asked for in the brief is not in the text.", url=url),
                {"url": url}))

    if words > HEADING_AFTER_WORDS and not _HEADING.search(text):
        warnings.append(Finding("no_heading", _(
            "%(words)s words without a heading: add section headings (H2 button) to guide the "
            "reader.",
            words=words), {"words": words}))

    long = long_sentences(text)
    if long:
        warnings.append(Finding("long_sentences", ngettext(
            "%(num)d sentence is longer than %(limit)d words.",
            "%(num)d sentences are longer than %(limit)d words.", long,
            limit=LONG_SENTENCE_WORDS), {"count": long, "limit": LONG_SENTENCE_WORDS}))

    secondary = nonblank_lines(order.secondary_keywords)
    missing = [k for k, present in keyword_presence(text, secondary) if not present]
    if missing:
        warnings.append(Finding("secondary_missing", _(
            "Secondary keywords missing: %(keywords)s.", keywords=", ".join(missing)),
            {"keywords": missing}))

    found = forbidden_found(order, keys)
    if found:
        names = [word for word, _count in found]
        warnings.append(Finding("forbidden_words", ngettext(
            "The client's style guide forbids this word, found in the text: %(words)s.",
            "The client's style guide forbids these words, found in the text: %(words)s.",
            len(names), words=", ".join(names)), {"words": names}))
    return Checks(words=words, blocking=blocking, warnings=warnings)


def forbidden_found(order: Order, keys: list[str]) -> list[tuple[str, int]]:
    """The forbidden words of the order's style guide (its copy, `order.style_guide`) that
    the text of `keys` (`text.match_keys`) holds, each with its occurrences, in the guide's
    order. A word of signs alone matches nothing."""
    words = (order.style_guide or {}).get("forbidden_words") or []
    found = []
    for word in words:
        count = keyword_occurrences(keys, word)
        if count:
            found.append((word, count))
    return found


def links_required(order: Order) -> list[str]:
    """The brief's links to include, one URL a line."""
    return nonblank_lines(order.links_to_include)


def has_link(text: str, url: str) -> bool:
    """Whether `text` holds `url` as a Markdown link target or bare: the whole address (a
    longer address that starts the same does not count; a final slash and the case do not
    matter), possibly followed by punctuation."""
    bare = url.rstrip("/")
    pattern = _URL_BEFORE + re.escape(bare) + "/?" + _URL_AFTER
    return re.search(pattern, text, re.IGNORECASE) is not None


def long_sentences(text: str) -> int:
    """How many sentences (as `sentences` splits them) have more than LONG_SENTENCE_WORDS
    words."""
    return sum(1 for sentence in sentences(text) if word_count(sentence) > LONG_SENTENCE_WORDS)


def sentences(text: str) -> list[str]:
    """The text's sentences, those with at least one word. Paragraphs are split on blank
    lines; a heading, a list item or a quote line is a block of its own (so a heading or an
    item without a final stop is one sentence); a sentence ends with . ! ? or … followed by a
    space (closing quotes and brackets allowed in between)."""
    blocks: list[list[str]] = []
    current: list[str] = []
    for line in text.splitlines():
        if not line.strip() or _BLOCK_START.match(line):
            if current:
                blocks.append(current)
            current = [line] if line.strip() else []
            if _HEADING.match(line):  # a heading never runs into the next line
                blocks.append(current)
                current = []
            continue
        current.append(line)
    if current:
        blocks.append(current)
    return [sentence for block in blocks for sentence in _SENTENCE_END.split(" ".join(block))
            if word_count(sentence)]
