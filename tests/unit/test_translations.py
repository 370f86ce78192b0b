"""The French catalog covers every string the code shows, and the portal speaks French by default.

The messages are extracted from the current sources here, the way `make extract-messages` does
(babel.cfg, Babel's default keywords plus _l and lazy_gettext), so a string added to a template or
a form without its French translation fails the run even when nobody ran `make
update-translations`.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
FRENCH_PO = ROOT / "portal" / "translations" / "fr" / "LC_MESSAGES" / "messages.po"
FRENCH_MO = FRENCH_PO.with_suffix(".mo")
# The Makefile's extract-messages target: `-k _l -k lazy_gettext -k lazy_ngettext:1,2` on top of
# Babel's defaults.
KEYWORDS = {**DEFAULT_KEYWORDS, "_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)[-#0 +]*(?:\d+|\*)?(?:\.\d+)?[diouxXeEfFgGcrsa]")


def _extract() -> dict[str | tuple[str, ...], list[str]]:
    """msgid (or (msgid, msgid_plural)) -> where it is used, from the sources as they are now."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, str(ROOT / "babel.cfg"))
    found: dict[str | tuple[str, ...], list[str]] = {}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=KEYWORDS
    ):
        key = message if isinstance(message, str) else tuple(message)
        found.setdefault(key, []).append(f"{filename}:{lineno}")
    return found


@pytest.fixture(scope="module")
def extracted() -> dict[str | tuple[str, ...], list[str]]:
    messages = _extract()
    assert len(messages) > 50, f"extraction found only {len(messages)} messages: check babel.cfg"
    return messages


@pytest.fixture(scope="module")
def french() -> Catalog:
    with FRENCH_PO.open("rb") as po:
        return read_po(po, locale="fr")


def _msgid(key: str | tuple[str, ...]) -> str:
    return key if isinstance(key, str) else key[0]


def _describe(key, where: list[str]) -> str:
    shown = " | ".join(key) if isinstance(key, tuple) else key
    return f"  {shown!r}  ({where[0]})"


def _failure(title: str, lines: list[str], todo: str = "run `make update-translations` and fill "
             "them in") -> str:
    return f"{title} ({len(lines)}); {todo} {FRENCH_PO.relative_to(ROOT)}:\n" \
        + "\n".join(sorted(lines))


def test_every_message_used_by_the_code_has_a_french_translation(extracted, french):
    missing = []
    for key, where in extracted.items():
        entry = french.get(_msgid(key))
        strings = () if entry is None else (
            entry.string if isinstance(entry.string, tuple) else (entry.string,))
        if entry is None or not strings or not all(s and s.strip() for s in strings):
            missing.append(_describe(key, where))
        elif isinstance(key, tuple) and not (
            isinstance(entry.id, tuple) and entry.id[1] == key[1]
            and len(strings) == french.num_plurals
        ):
            missing.append(_describe(key, where) + " [plural forms missing or out of date]")
    assert not missing, _failure("French translations missing", missing)


def test_no_message_used_by_the_code_is_fuzzy(extracted, french):
    fuzzy = [
        _describe(key, where)
        for key, where in extracted.items()
        if (entry := french.get(_msgid(key))) is not None and entry.fuzzy
    ]
    assert not fuzzy, _failure("French translations marked fuzzy", fuzzy,
                                 "check them and remove the fuzzy flag in")


class _AnyValue(dict):
    def __missing__(self, key):
        return 1


def test_translations_keep_the_placeholders_of_the_source(extracted, french):
    wrong = []
    for key, where in extracted.items():
        entry = french.get(_msgid(key))
        if entry is None:
            continue  # reported by the test above
        expected = set()
        for source in (key if isinstance(key, tuple) else (key,)):
            expected |= set(PLACEHOLDER.findall(source))
        strings = entry.string if isinstance(entry.string, tuple) else (entry.string,)
        for text in filter(None, strings):
            found = set(PLACEHOLDER.findall(text))
            if found != expected:
                wrong.append(f"{_describe(key, where)} -> {text!r}: "
                             f"expected {sorted(expected)}, found {sorted(found)}")
            elif expected:
                try:
                    text % _AnyValue()
                except (ValueError, TypeError) as exc:
                    wrong.append(f"{_describe(key, where)} -> {text!r}: {exc}")
    assert not wrong, "French translations whose placeholders differ from the source " \
                      f"({len(wrong)}):\n" + "\n".join(sorted(wrong))


# --- the portal as a visitor sees it --------------------------------------------------------


def test_login_page_is_in_french_by_default_and_english_after_switching(client):
    assert FRENCH_MO.exists(), "the French catalog is not compiled: run `make translations`"

    page = client.get("/login")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<html lang="fr">' in html
    assert "Se connecter" in html
    assert "Mot de passe" in html

    switch = {"lang-locale": "en", "lang-next": "/login",
              "lang-csrf_token": client.csrf_token("/login")}
    response = client.submit("/language", switch, page="/login")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    assert response.headers["Location"].endswith("/login")

    html = client.get("/login").get_data(as_text=True)
    assert '<html lang="en">' in html
    assert "Log in" in html
    assert "Password" in html
    assert "Se connecter" not in html
