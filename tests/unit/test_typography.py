"""French typography and completeness of the compiled French catalog (messages.mo, what the
portal really shows; `make translations` builds it).

- a narrow no-break space (U+202F) before : ; ! ? and inside « », never a plain space, a
  no-break space (U+00A0) or nothing; URLs ("https://"), times ("10:00") and placeholders
  ("%(a)s:%(b)s", "{0}") are left alone, and so is a colon glued on both sides ("a:b");
- no empty translation (the compiled catalog leaves them out: an id of the .po that the .mo
  lacks was empty or fuzzy), and no translation identical to its English source unless it is
  French too (ALLOWED_IDENTICAL);
- no common English word left in a French string (ENGLISH_WORDS holds only words that are not
  French; proper names that contain some are taken out first).

Each check is a function over one string, and the tests at the end feed it bad strings, so that
the checks over the catalog can fail.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
FRENCH_PO = ROOT / "portal" / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
FRENCH_MO = FRENCH_PO.with_suffix(".mo")

NNBSP = "\u202f"  # narrow no-break space
NBSP = "\u00a0"

_PLACEHOLDER = re.compile(r"%\(\w+\)[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa]|%[sd%]|\{\w*\}")
_URL = re.compile(r"\b[a-z][a-z0-9+.-]*://\S*|\bmailto:\S+")
_TIME = re.compile(r"\b\d+:\d+\b")  # 10:00, 1:2
_PUNCT = re.compile(r"[:;!?]+")
_SPACES = " " + NBSP + NNBSP + "\t\n"

# Words of everyday English that are not French words. Shared words stay out: "on", "or",
# "an", "as", "page", "date", "note", "type", "client", "message", "menu", "version", "pays"…
ENGLISH_WORDS = frozenset("""
the and your you yours order orders email emails with please click here sign login logout
password account accounts settings download upload submit cancel save delete edit view back
next previous of to is was were will can cannot not yes have has by at it its we our their
they them what when where which who how from this that these those for writer writers
deadline draft invoice invoices payment payments paid unpaid overdue delivered approved word
words review new open close should would could there been being into after before only just
out about more than then also if any some every each must does did done show send sent
received today yesterday tomorrow hour hours day days week month year none nothing
""".split())  # noqa: SIM905
# Proper names and trade words that hold English words.
ALLOWED_PHRASES = ("Mixx by Yas", "mobile money", "Mobile money", "Moov Africa", "Word")
_ALLOWED = re.compile(r"\b(?:" + "|".join(map(re.escape, ALLOWED_PHRASES)) + r")\b")
# Translations that may equal their source: French words and codes.
ALLOWED_IDENTICAL = frozenset({
    "%(rating)s/5", "Actions", "Client", "Conversation", "Date", "Description", "Original",
    "Flooz (Moov Africa)", "Menu", "Messages", "Mixx by Yas", "Note", "Notifications", "Pages",
    "Position", "Proforma %(number)s", "Type", "Version %(number)d", "absent",
    # file formats are names
    "Markdown (.md)", "PDF (.pdf)", "Word (.docx)",
    # a region and a rating, the same word in French
    "Europe", "Excellent",
})


def _masked(text: str) -> str:
    """The text with URLs, placeholders and times replaced by letters of the same length."""
    for pattern, letter in ((_URL, "U"), (_PLACEHOLDER, "P"), (_TIME, "T")):
        text = pattern.sub(lambda match, letter=letter: letter * len(match.group()), text)
    return text


def _name(space: str) -> str:
    return {" ": "a plain space", NBSP: "a no-break space U+00A0", "": "no space"}.get(
        space, repr(space))


def typography_faults(text: str) -> list[str]:
    """What breaks French typography in `text`, one line per fault (empty when right)."""
    masked = _masked(text)
    faults = []
    for match in _PUNCT.finditer(masked):
        start, end = match.span()
        if start == 0:
            continue  # nothing before it
        before = masked[start - 1]
        after = masked[end] if end < len(masked) else ""
        if before == NNBSP:
            continue
        if before not in _SPACES and after and after not in _SPACES + "»)\"'":
            continue  # glued on both sides: "a:b", "%(a)s:%(b)s"
        space = before if before in (" ", NBSP) else ""
        faults.append(f"{_name(space)} before {match.group()!r} in {text!r}")
    for match in re.finditer("«(.?)", text):
        if match.group(1) != NNBSP:
            space = match.group(1) if match.group(1) in (" ", NBSP) else ""
            faults.append(f"{_name(space)} after '«' in {text!r}")
    for match in re.finditer("(.?)»", text):
        if match.group(1) != NNBSP:
            space = match.group(1) if match.group(1) in (" ", NBSP) else ""
            faults.append(f"{_name(space)} before '»' in {text!r}")
    return faults


def english_words(text: str) -> set[str]:
    """The common English words (not French ones) left in `text`."""
    text = _URL.sub(" ", _PLACEHOLDER.sub(" ", _ALLOWED.sub(" ", text)))
    return {word for word in re.findall(r"[^\W\d_]+", text.lower())
            if word in ENGLISH_WORDS}


def _strings(message) -> tuple[str, ...]:
    found = message.string
    return tuple(found) if isinstance(found, (tuple, list)) else (found,)


def _ids(message) -> tuple[str, ...]:
    return tuple(message.id) if isinstance(message.id, (tuple, list)) else (message.id,)


@pytest.fixture(scope="module")
def compiled():
    assert FRENCH_MO.exists(), "run `make translations` to compile the French catalog"
    with FRENCH_MO.open("rb") as mo:
        return [m for m in read_mo(mo) if m.id]


@pytest.fixture(scope="module")
def source():
    with FRENCH_PO.open("rb") as po:
        return [m for m in read_po(po, locale="fr") if m.id]


def test_french_strings_have_a_narrow_no_break_space_before_double_punctuation(compiled):
    faults = [fault for message in compiled for text in _strings(message)
              for fault in typography_faults(text)]
    assert not faults, f"{len(faults)} French strings break the typography:\n" + "\n".join(
        faults)


def test_every_french_string_is_translated(compiled, source):
    shown = {_ids(m)[0]: m for m in compiled}
    missing = [repr(_ids(m)[0]) for m in source if _ids(m)[0] not in shown
               or not all(text and text.strip() for text in _strings(shown[_ids(m)[0]]))]
    assert not missing, "empty or fuzzy French translations (compiled out):\n" + "\n".join(
        missing)
    same = [repr(_ids(m)[0]) for m in compiled
            if _strings(m)[0] == _ids(m)[0] and _ids(m)[0] not in ALLOWED_IDENTICAL]
    assert not same, ("French translations identical to the English (translate them, or add a "
                      "French word or a name to ALLOWED_IDENTICAL):\n" + "\n".join(same))


def test_no_english_word_is_left_in_a_french_string(compiled):
    left = [f"{sorted(words)} in {text!r}" for message in compiled
            for text in _strings(message) if (words := english_words(text))]
    assert not left, "English words in French strings:\n" + "\n".join(left)


# --- the checks can fail ----------------------------------------------------------------------


@pytest.mark.parametrize(("text", "expected"), [
    ("Mots : %(n)s", "a plain space before ':'"),
    ("Mots:" + " %(n)s", "no space before ':'"),
    ("Mots" + NBSP + ": %(n)s", "a no-break space U+00A0 before ':'"),
    ("Vraiment ?", "a plain space before '?'"),
    ("Déjà fait !", "a plain space before '!'"),
    ("Oui ; non", "a plain space before ';'"),
    ("Le titre « %(title)s" + NNBSP + "»", "a plain space after '«'"),
    ("Le titre «" + NNBSP + "%(title)s»", "no space before '»'"),
])
def test_a_missing_narrow_space_is_reported(text, expected):
    faults = typography_faults(text)
    assert len(faults) == 1 and faults[0].startswith(expected), faults


@pytest.mark.parametrize("text", [
    "Mots" + NNBSP + ": %(n)s",
    "Voir https://exemple.test/a?b=c et mailto:x@exemple.test",
    "Rendez-vous à 10:00 ou 14:30.",
    "%(a)s:%(b)s",
    "Vraiment" + NNBSP + "?!",
    "«" + NNBSP + "%(title)s" + NNBSP + "»" + NNBSP + ":",
    ":%(n)s",
])
def test_right_typography_urls_times_and_placeholders_pass(text):
    assert typography_faults(text) == []


def test_english_words_are_found_and_french_ones_are_not():
    assert english_words("Votre order est prête : cliquez here") == {"order", "here"}
    assert english_words("The email") == {"the", "email"}
    assert english_words("On a une page, une note, un client, un type, une date.") == set()
    assert english_words("Payez par mobile money (Flooz, Mixx by Yas).") == set()
    assert english_words("Un fichier Word ; 300 words") == {"words"}
    assert english_words("Voir %(order)s sur https://the.example/your-order") == set()
