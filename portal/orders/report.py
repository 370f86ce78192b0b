"""The compliance report of a delivery: what the text holds, measured against its brief.

`build_report(order, text)` is computed once, by `service.deliver`, and stored with the
Delivery (`deliveries.report`, JSON), so a report says what the brief asked at delivery time. A
delivery stored before reports existed has none; `report_of` computes its report on the fly
for the page (nothing is written). The report holds figures and codes only, never translated
words: the page translates them for each reader.

Its parts (keys of the dict, `REPORT_VERSION` says which shape it has):
- "words": the text's words (`text.word_count`) against the brief's range;
- "keywords": each keyword, the main one first then the secondary ones, with its occurrences,
  whether it is found and its density (occurrences per 100 words, as `checks` computes it),
  matched as `text.match_key` says (case, accents, plurals and feminines do not count);
- "links": the addresses written in the text (http and https, as Markdown links, <autolinks>
  or bare, in their order, each once) and each link the brief requires, found or missing
  (`checks.has_link`);
- "headings": the outline, each Markdown heading with its level (1 to 6) and its text;
- "sentences": how many (`checks.sentences`: a heading or a list item is one), the average of
  words per sentence, and how many are longer than `checks.LONG_SENTENCE_WORDS`;
- "readability": for a French text the Kandel-Moles score
  (207 - 1.015 * words/sentences - 73.6 * syllables/words), for an English one Flesch's
  reading ease (206.835 - 1.015 * words/sentences - 84.6 * syllables/words), with its band
  (`BANDS`); None for another language or a text without a sentence. Words and sentences are
  those of "sentences"; the syllables of a word are counted with pyphen's hyphenation
  dictionary of the language (its default minimum of two letters each side of a break): for
  each part of the word between apostrophes and hyphens that holds a vowel, its hyphenation
  points plus one ("l'article" is "l" + "ar-ticle": 2; "peut-être": 2; "2026": 0). This
  approximates spoken syllables from below: a dictionary does not break every syllable
  ("avant" stays whole, "acheter" is "ache-ter"), so scores run a little high (above 100 for
  very plain texts); good enough for a score read in bands;
- "forbidden_words": the words of the client's style guide (as the order kept it at
  submission) found in the text, each with its occurrences, matched as the keywords are
  (`checks.forbidden_found`); an empty list when the guide forbids words and none is there;
  None when the order's guide forbids none (or it has no guide);
- "originality": not built here but by `service.deliver` (portal/orders/originality.py, which
  describes it): the share of the text found in one other text, its sources and the copied
  passages. None for a report computed on the fly (`report_of`) or made before it existed.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING

import pyphen
from flask_babel import format_decimal
from flask_babel import lazy_gettext as _l

from portal.orders import checks
from portal.orders.text import (
    keyword_occurrences,
    markdown_tokens,
    match_keys,
    word_count,
    words_of,
)

if TYPE_CHECKING:
    from portal.orders.models import Delivery, Order

REPORT_VERSION = 1

# Readability formulas by the language of the text, and pyphen's dictionary for each.
FORMULAS = {"fr": "kandel_moles", "en": "flesch"}
DICTIONARIES = {"fr": "fr_FR", "en": "en_US"}

# Score bands, the same for both formulas (Flesch's table, which Kandel and Moles kept): a
# score at or above the bound is in the band.
BANDS = (
    (90, "very_easy"),
    (80, "easy"),
    (70, "fairly_easy"),
    (60, "standard"),
    (50, "fairly_difficult"),
    (30, "difficult"),
)
LOWEST_BAND = "very_difficult"

BAND_LABELS = {
    "very_easy": _l("very easy"),
    "easy": _l("easy"),
    "fairly_easy": _l("fairly easy"),
    "standard": _l("standard"),
    "fairly_difficult": _l("fairly difficult"),
    "difficult": _l("difficult"),
    "very_difficult": _l("very difficult"),
}
FORMULA_LABELS = {
    "kandel_moles": _l("Kandel-Moles score (French)"),
    "flesch": _l("Flesch reading ease (English)"),
}

_URL = re.compile(r"https?://[^\s<>()\[\]\"'«»]+", re.IGNORECASE)
_PART = re.compile(r"[^\W\d_]+", re.UNICODE)
_VOWELS = set("aeiouy")


def build_report(order: Order, text: str) -> dict:
    """The compliance report of `text` delivered for `order` (the parts are in this module's
    docstring). Pure: reads the order's brief, writes nothing."""
    words = word_count(text)
    split = checks.sentences(text)
    return {
        "version": REPORT_VERSION,
        "language": order.language,
        "words": {"count": words, "min": order.words_min, "max": order.words_max,
                  "in_range": order.words_min <= words <= order.words_max},
        "keywords": _keywords(order, text, words),
        "links": {"present": links_in(text),
                  "required": [{"url": url, "found": checks.has_link(text, url)}
                               for url in checks.links_required(order)]},
        "headings": headings(text),
        "sentences": _sentences(split),
        "readability": readability(split, order.language),
        "forbidden_words": _forbidden(order, text),
        "originality": None,  # set by service.deliver (portal/orders/originality.py)
    }


def report_of(order: Order, delivery: Delivery) -> dict:
    """The stored report of `delivery`, or for a delivery older than reports, one computed now
    from its text and the order's brief as it is (not stored)."""
    return delivery.report or build_report(order, delivery.text)


def _keywords(order: Order, text: str, words: int) -> list[dict]:
    keys = match_keys(text)
    has_main = bool(order.primary_keyword.strip())
    out = []
    for n, keyword in enumerate(order.keyword_list()):  # the main keyword first
        keyword, main = keyword.strip(), has_main and n == 0
        if not keyword:
            continue
        count = keyword_occurrences(keys, keyword)
        out.append({"keyword": keyword, "main": main, "occurrences": count, "found": count > 0,
                    "density": round(count * 100 / words, 2) if words else 0.0})
    return out


def _forbidden(order: Order, text: str) -> list[dict] | None:
    if not (order.style_guide or {}).get("forbidden_words"):
        return None
    return [{"word": word, "occurrences": count}
            for word, count in checks.forbidden_found(order, match_keys(text))]


def links_in(text: str) -> list[str]:
    """The http and https addresses written in `text`, in order, each once (a final stop or
    comma after a bare address is not part of it)."""
    seen: dict[str, None] = {}
    for match in _URL.finditer(text):
        seen.setdefault(match[0].rstrip(".,;:!?"), None)
    return list(seen)


def headings(text: str) -> list[dict]:
    """The Markdown headings of `text` (# to ######, or underlined), with their level and the
    text a reader sees (emphasis marks and link targets left out)."""
    tokens = markdown_tokens(text)
    out = []
    for token, inline in pairwise(tokens):
        if token.type == "heading_open":
            shown = "".join(child.content for child in inline.children or ()
                            if child.type in ("text", "code_inline"))
            out.append({"level": int(token.tag[1]), "text": shown.strip()})
    return out


def _sentences(split: list[str]) -> dict:
    counts = [word_count(sentence) for sentence in split]
    return {"count": len(counts),
            "average_words": round(sum(counts) / len(counts), 2) if counts else 0.0,
            "long": sum(1 for n in counts if n > checks.LONG_SENTENCE_WORDS),
            "long_limit": checks.LONG_SENTENCE_WORDS}


@lru_cache(maxsize=8)  # one per language of the dictionaries
def _hyphenator(language: str) -> pyphen.Pyphen:
    return pyphen.Pyphen(lang=DICTIONARIES[language])


@lru_cache(maxsize=16384)  # a text repeats its words; the last few thousand are kept
def syllables(word: str, language: str) -> int:
    """The syllables of one word as this module counts them (see its docstring)."""
    dictionary = _hyphenator(language)
    count = 0
    for part in _PART.findall(word):
        bare = "".join(c for c in unicodedata.normalize("NFKD", part.lower())
                       if not unicodedata.combining(c))
        if _VOWELS.intersection(bare):
            count += len(dictionary.positions(part)) + 1
    return count


def readability(split: list[str], language: str) -> dict | None:
    """The readability score of the sentences `split` in `language` with its band, or None
    when there is no formula for the language or no sentence."""
    formula = FORMULAS.get(language)
    if formula is None or not split:
        return None
    words = [word for sentence in split for word in words_of(sentence)]
    if not words:
        return None
    syllable_count = sum(syllables(w, language) for w in words)
    per_sentence = len(words) / len(split)
    per_word = syllable_count / len(words)
    score = (207 - 1.015 * per_sentence - 73.6 * per_word if formula == "kandel_moles"
             else 206.835 - 1.015 * per_sentence - 84.6 * per_word)
    return {"formula": formula, "score": round(score, 2), "band": band(score),
            "words": len(words), "sentences": len(split), "syllables": syllable_count}


def band(score: float) -> str:
    """The band of a readability score (`BANDS`)."""
    for bound, name in BANDS:
        if score >= bound:
            return name
    return LOWEST_BAND


def for_display(report: dict) -> dict:
    """The report as a page shows it: decimals written in the reader's language with one
    digit, the readability's formula and band in words. Parts the report does not have
    (`forbidden_words`, or a readability) are None, and the page leaves them out.
    "originality" is always None here: the stored part names other clients' orders, and only
    `originality.for_display`, which knows the reader, may show it."""
    readable = report.get("readability")
    return {
        "words": report["words"],
        "keywords": [dict(k, density=_one_decimal(k["density"])) for k in report["keywords"]],
        "links": report["links"],
        "headings": report["headings"],
        "sentences": dict(report["sentences"],
                          average_words=_one_decimal(report["sentences"]["average_words"])),
        "readability": readable and {
            "name": str(FORMULA_LABELS[readable["formula"]]),
            "score": _one_decimal(readable["score"]),
            "band": readable["band"],
            "band_label": str(BAND_LABELS[readable["band"]]),
        },
        "forbidden_words": report.get("forbidden_words"),
        "originality": None,
    }


def _one_decimal(value: float) -> str:
    return format_decimal(round(value, 1), format="0.0")
