"""Reading what a person sees on a page, and doing what a browser does with its forms.

Pages are read in English: `english(client)` picks the language the way a visitor does, with
the language menu. Users made by the fixtures of this folder read English too.
"""

from __future__ import annotations

from html.parser import HTMLParser
from urllib.parse import urlsplit

from itsdangerous import URLSafeTimedSerializer

# Passwords people choose in these stories (zxcvbn scores them 4 of 4).
STRONG = "lagune bleue sous la pluie"
OTHER_STRONG = "baobab rouge et marche du soir"

_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
         "track", "wbr"}


class _Grab(HTMLParser):
    """Collects the text of every element whose tag and attributes satisfy `match`."""

    def __init__(self, match) -> None:
        super().__init__(convert_charrefs=True)
        self.match = match
        self.depth = 0
        self.open: list[tuple[int, list[str]]] = []
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in _VOID:
            return
        self.depth += 1
        for _depth, parts in self.open:
            parts.append(" ")
        if self.match(tag, dict(attrs)):
            self.open.append((self.depth, []))

    def handle_endtag(self, tag):
        if tag in _VOID:
            return
        if self.open and self.open[-1][0] == self.depth:
            _depth, parts = self.open.pop()
            self.found.append(" ".join("".join(parts).split()))
        for _depth, parts in self.open:
            parts.append(" ")
        self.depth -= 1

    def handle_data(self, data):
        for _depth, parts in self.open:
            parts.append(data)


def texts(response, match) -> list[str]:
    grab = _Grab(match)
    grab.feed(response.get_data(as_text=True))
    return grab.found


def by_testid(response, testid: str) -> str:
    found = texts(response, lambda _tag, attrs: attrs.get("data-testid") == testid)
    return " ".join(found)


def field_error(response, field: str) -> str:
    """The message shown under a form field ('' when there is none)."""
    return " ".join(texts(response, lambda _tag, attrs: attrs.get("id") == f"{field}-error"))


def form_errors(response) -> list[str]:
    """Messages about the whole form, shown above it."""
    return texts(response, lambda _tag, attrs: attrs.get("role") == "alert")


def flashes(response) -> list[str]:
    """The one-time messages at the top of the page."""
    return texts(response, lambda _tag, attrs: attrs.get("role") == "status"
                 and "alert" in attrs.get("class", ""))


def flashed(response, *fragments: str) -> str:
    """The one flash message that says all `fragments` (wording around them may change)."""
    found = [text for text in flashes(response) if all(part in text for part in fragments)]
    assert len(found) == 1, f"no single flash with {fragments}; flashes: {flashes(response)}"
    return found[0]


def page_text(response) -> str:
    """Everything a person can read in the main part of the page."""
    return " ".join(texts(response, lambda tag, _attrs: tag == "main"))


def link_problem(response) -> str:
    """The reason shown when an emailed link cannot be used."""
    return by_testid(response, "link-problem")


def location(response) -> str:
    """Where a redirect sends the browser: path and query, for a redirect on this site."""
    assert response.status_code in (301, 302, 303, 307, 308), response.status_code
    parts = urlsplit(response.headers["Location"])
    assert parts.netloc in ("", "localhost"), response.headers["Location"]
    return parts.path + (f"?{parts.query}" if parts.query else "")


# --- doing what a browser does ------------------------------------------------------------


def english(client):
    """Pick English in the language menu, as a visitor would."""
    token = client.csrf_token("/login")
    response = client.post("/language", data={
        "lang-csrf_token": token, "lang-locale": "en", "lang-next": "",
    })
    assert response.status_code == 302, response.status_code
    return client


def log_out(client):
    token = client.csrf_token("/home")
    return client.post("/logout", data={"logout-csrf_token": token})


def copy_cookies(source, target, *names: str) -> None:
    """Replay cookies copied from one browser in another (what a thief of the cookie jar does)."""
    for name in names:
        cookie = source.get_cookie(name)
        assert cookie is not None, f"no {name} cookie to copy"
        target.set_cookie(name, cookie.value)


# --- links that were never sent -----------------------------------------------------------


def forged_token(purpose: str, payload: dict, key: str = "a-key-the-attacker-guessed") -> str:
    """A token shaped like the portal's, signed with the wrong key."""
    return URLSafeTimedSerializer(key, salt=f"portal.{purpose}").dumps(payload)


def tampered(token: str) -> str:
    """The token with one character of its payload changed."""
    index = 3
    swapped = "A" if token[index] != "A" else "B"
    return token[:index] + swapped + token[index + 1:]
