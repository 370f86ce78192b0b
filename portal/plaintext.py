"""Text that people write as plain text (messages): shown escaped, with its paragraphs and line
breaks, and web addresses made into links. Nothing else is markup: `**bold**` stays as typed.

A message is rendered once, when it is posted (portal.messaging.service.render_message, stored
as `messages.html`); the pages (templates/messaging/_conversation.html) and the message emails
(templates/email/messages_burst.html, digest.html) show that stored HTML, so a message reads
the same wherever it is shown, the replies received by email included.

What becomes a link (`linkify`):
  1. an address that starts with http:// or https://, or a bare one that starts with "www."
     (its link gets https://); any other scheme (javascript:, data:, mailto:…) stays text;
  2. the address is not glued to a word before it ("xhttps://", "foo@www.x" stay text);
  3. it ends at a space, at < > " « » or a backtick, and loses the punctuation a sentence puts
     after it (. , ; : ! ? quotes * _) and a closing ) ] } that opened before it, so
     "(voir https://x.fr/a)." links https://x.fr/a while https://fr.wikipedia.org/wiki/Lomé_(ville)
     keeps its parenthesis.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

LINK_REL = "nofollow noopener noreferrer ugc"

_URL = re.compile(
    r"(?<![\w@/.:+-])(?:https?://|www\.)[^\s<>\"«»`\u00a0\u202f\u2009]+",
    re.IGNORECASE,
)
# Quotes as their code points: . , ; : ! ? ' " and the typographic ones, then * and _.
_TRAILING = set(".,;:!?'\"\u2019\u201d\u2018\u201c\u203a*_")
_PAIRS = {")": "(", "]": "[", "}": "{"}
_HAS_HOST = re.compile(r"^(?:https?://|www\.)[^\W_]", re.IGNORECASE)


def _trim(url: str) -> str:
    """The address without what the sentence around it added (rule 3)."""
    while url:
        last = url[-1]
        unopened = last in _PAIRS and url.count(_PAIRS[last]) < url.count(last)
        if last in _TRAILING or unopened:
            url = url[:-1]
        else:
            break
    return url


def links_in(text: str) -> list[tuple[int, int, str]]:
    """Each address of `text` that `linkify` links: (start, end, href)."""
    found = []
    for match in _URL.finditer(text):
        url = _trim(match[0])
        if not _HAS_HOST.match(url):
            continue
        href = url if url.lower().startswith(("http://", "https://")) else "https://" + url
        found.append((match.start(), match.start() + len(url), href))
    return found


def linkify(text: str) -> Markup:
    """`text` escaped, its web addresses as links (rules above); line breaks left as they are."""
    out, position = [], 0
    for start, end, href in links_in(text):
        out.append(escape(text[position:start]))
        out.append(Markup('<a href="{}" rel="{}" target="_blank">{}</a>').format(
            href, LINK_REL, text[start:end]))
        position = end
    out.append(escape(text[position:]))
    return Markup("").join(out)


def render_plain(text: str) -> Markup:
    """Plain text as HTML: a blank line starts a paragraph, a line break stays a line break,
    everything escaped, web addresses as links."""
    text = (text or "").replace("\r\n", "\n").replace("\r", "\n").strip("\n")
    paragraphs = [part.strip("\n") for part in re.split(r"\n[ \t]*\n", text) if part.strip()]
    return Markup("\n").join(
        Markup("<p>{}</p>").format(Markup("<br>\n").join(map(linkify, part.split("\n"))))
        for part in paragraphs
    )
