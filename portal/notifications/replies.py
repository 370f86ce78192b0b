"""Reply by email: the signed reply address of a notification email, and the text of a reply
without the quoted email and the signature under it.

A reply address is `reply+<token>@REPLY_DOMAIN`. The token names one order and one person and
is signed with the app's SECRET_KEY (itsdangerous' HMAC, purpose "reply"); it expires after
REPLY_TOKEN_DAYS. It is written in lowercase letters, digits and dots only, so that a relay that
changes the case of an address cannot break it, and it stays under the 64 characters RFC 5321
allows a local part.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from ipaddress import ip_address
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import gettext as _
from itsdangerous import Signer

from portal.errors import InvalidToken
from portal.extensions import utcnow

LOCAL_PREFIX = "reply+"
_SIGNATURE_CHARS = 26  # 130 bits of the HMAC-SHA256, base32
_FUTURE_SLACK = timedelta(minutes=5)
_TOKEN_RE = re.compile(r"([0-9a-z]{1,13})\.([0-9a-z]{1,13})\.([0-9a-z]{1,13})\.([a-z2-7]{26})")


class ReplyTokenError(InvalidToken):
    """A reply token that is forged, garbled or expired; `reason` says which for the log."""

    def __init__(self, reason: str) -> None:
        super().__init__(_("This reply address is not valid any more."))
        self.reason = reason


@dataclass(frozen=True)
class ReplyToken:
    order_id: int
    user_id: int
    issued_at: datetime


def reply_domain() -> str:
    """REPLY_DOMAIN, else the BASE_URL host when it is a name (an IP cannot end an address),
    else portal.localhost."""
    configured = current_app.config.get("REPLY_DOMAIN")
    if configured:
        return configured.strip().lower()
    host = urlsplit(current_app.config["BASE_URL"]).hostname or ""
    try:
        ip_address(host)
    except ValueError:
        if host and "." in host:
            return host.lower()
    return "portal.localhost"


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def _signature(value: str) -> str:
    signer = Signer(current_app.config["SECRET_KEY"], salt="portal.reply",
                    key_derivation="hmac", digest_method=hashlib.sha256)
    raw = signer.algorithm.get_signature(signer.derive_key(), value.encode())
    return base64.b32encode(raw).decode().lower()[:_SIGNATURE_CHARS]


def make_reply_token(order_id: int, user_id: int, issued_at: datetime | None = None) -> str:
    issued = int((issued_at or utcnow()).timestamp())
    value = f"{_b36(order_id)}.{_b36(user_id)}.{_b36(issued)}"
    return f"{value}.{_signature(value)}"


def reply_address(order_id: int, user_id: int) -> str:
    """The address a person answers to in order to post on the order's conversation."""
    return f"{LOCAL_PREFIX}{make_reply_token(order_id, user_id)}@{reply_domain()}"


def read_reply_token(token: str, now: datetime | None = None) -> ReplyToken:
    """The order and person a reply token was made for.

    Raises ReplyTokenError with reason "forged" when it is garbled or its signature does not
    match, "expired" when it is older than REPLY_TOKEN_DAYS."""
    token = (token or "").strip().lower()
    match = _TOKEN_RE.fullmatch(token)
    if not match:
        raise ReplyTokenError("forged")
    value = token.rsplit(".", 1)[0]
    if not hmac.compare_digest(_signature(value), match.group(4)):
        raise ReplyTokenError("forged")
    order_id, user_id, issued = (int(match.group(i), 36) for i in (1, 2, 3))
    issued_at = datetime.fromtimestamp(issued, UTC)
    now = now or utcnow()
    if issued_at > now + _FUTURE_SLACK:
        raise ReplyTokenError("forged")
    if now - issued_at > timedelta(days=current_app.config["REPLY_TOKEN_DAYS"]):
        raise ReplyTokenError("expired")
    return ReplyToken(order_id=order_id, user_id=user_id, issued_at=issued_at)


def token_of(address: str) -> str | None:
    """The token of `reply+<token>@REPLY_DOMAIN`, or None when it is not a reply address."""
    local, at, domain = (address or "").strip().strip("<>").rpartition("@")
    if not at or domain.lower().rstrip(".") != reply_domain():
        return None
    if not local.lower().startswith(LOCAL_PREFIX):
        return None
    return local[len(LOCAL_PREFIX):]


# --- the new text of a reply ----------------------------------------------------------------

# "On Mon, 3 Mar 2026 at 10:00, Awa <awa@example.com> wrote:" — mail programs wrap it over up to
# three lines; "Le lun. 3 mars 2026 à 10:00, Awa a écrit :" (with a no-break space before ":").
_ATTRIBUTION = (
    re.compile(r"On\b.{0,400}\bwrote\s*:", re.S | re.I),
    re.compile(r"Le\b.{0,400}\ba\s+écrit\s*:", re.S | re.I),
)
_SEPARATOR = re.compile(
    r"-{2,}\s*(original message|message d['\u2019]origine|message original|"
    r"forwarded message|message transféré)\s*-{2,}|_{10,}",
    re.I,
)
_HEADER_FROM = re.compile(r"\*?(from|de)\s*:", re.I)
_HEADER_NEXT = re.compile(r"\*?(sent|date|envoyé|envoyé le|to|à|subject|objet)\s*:", re.I)
_MOBILE = re.compile(
    r"(sent from my|sent from mail for|sent from outlook|sent from yahoo mail|get outlook for|"
    r"envoyé de mon|envoyé depuis mon|envoyé à partir de|obtenir outlook pour|"
    r"télécharger outlook pour)\b",
    re.I,
)


def _attribution_length(lines: list[str], index: int) -> int:
    """How many lines the "… wrote:" line starting at `index` spans (0 when it is not one)."""
    if lines[index].strip()[:3].lower() not in ("on ", "le "):
        return 0
    for span in (1, 2, 3):
        if index + span > len(lines):
            break
        following = [line.strip() for line in lines[index + 1:index + span]]
        # A wrapped line goes on without a blank line, and is not the start of another one.
        if any(not line or line[:3].lower() in ("on ", "le ") for line in following):
            break
        candidate = " ".join([lines[index].strip(), *following])
        if any(pattern.fullmatch(candidate) for pattern in _ATTRIBUTION):
            return span
    return 0


def _outlook_header(lines: list[str], index: int) -> bool:
    if not _HEADER_FROM.match(lines[index].strip()):
        return False
    following = [line.strip() for line in lines[index + 1:index + 5] if line.strip()]
    return any(_HEADER_NEXT.match(line) for line in following[:3])


def strip_reply(text: str) -> str:
    """What the person wrote in a reply: without quoted lines (">"), the quoted email under an
    "On … wrote:" / "Le … a écrit :" line, an "Original Message" or Outlook header block, the
    signature after "-- " and the "Sent from my iPhone" / "Envoyé de mon iPhone" line.

    A reply written under the quote (each quoted line starting with ">") keeps its text."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if line.startswith(">"):
            index += 1
            continue
        span = _attribution_length(lines, index)
        if span:
            rest = [other for other in lines[index + span:] if other.strip()]
            if rest and rest[0].startswith(">"):
                index += span  # the quote is marked line by line: an answer may follow it
                continue
            break
        if line.rstrip("\n") in ("-- ", "--") or line.rstrip() == "--":
            break
        if _SEPARATOR.fullmatch(stripped) or _outlook_header(lines, index):
            break
        if len(stripped) < 80 and _MOBILE.match(stripped):
            break
        kept.append(line.rstrip())
        index += 1
    result = "\n".join(kept).strip("\n")
    return re.sub(r"\n{3,}", "\n\n", result).strip()


# --- HTML-only replies --------------------------------------------------------------------

_SKIP = {"head", "style", "script", "title", "template", "noscript"}
_BLOCKS = {"p", "div", "section", "article", "header", "footer", "table", "tr", "ul", "ol",
           "h1", "h2", "h3", "h4", "h5", "h6", "pre", "address", "center"}
_VOID = {"br", "hr", "img", "meta", "link", "input", "col", "area", "base", "wbr", "source"}
# Containers mail programs put the quoted email in: rendered as a quote, then dropped.
_QUOTE_CLASSES = {"gmail_quote", "yahoo_quoted", "moz-cite-prefix", "protonmail_quote"}


class _TextRenderer(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.lines: list[str] = []
        self.line = ""
        self.line_depth = 0
        self.depth = 0
        self.skipping = 0
        self.pre = 0
        self.stack: list[tuple[str, int]] = []
        self.links: list[tuple[str, int]] = []

    def newline(self, force: bool = False) -> None:
        if self.line.strip() or force:
            prefix = "> " * self.line_depth
            self.lines.append(prefix + self.line.rstrip())
        self.line = ""
        self.line_depth = self.depth

    def paragraph(self) -> None:
        self.newline()
        if self.lines and self.lines[-1] != "":
            self.lines.append("")

    def handle_starttag(self, tag: str, attrs) -> None:
        attributes = dict(attrs)
        if tag in _SKIP:
            self.skipping += 1
        if tag in _VOID:
            if tag == "br":
                self.newline(force=True)
            elif tag == "hr":
                self.paragraph()
                self.lines.append("_" * 32)
            return
        classes = set((attributes.get("class") or "").split())
        quote = tag == "blockquote" or bool(classes & _QUOTE_CLASSES)
        if tag in ("p", "blockquote", "table", "ul", "ol"):
            self.paragraph()
        elif quote or tag in _BLOCKS:
            self.newline()
        if tag == "li":
            self.newline()
            self.line = "- "
        if tag == "pre":
            self.pre += 1
        if tag == "a":
            self.links.append((attributes.get("href") or "", len(self.line)))
        self.stack.append((tag, 1 if quote else 0))
        if quote:
            self.depth += 1
            if not self.line.strip():
                self.line_depth = self.depth

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP:
            self.skipping = max(0, self.skipping - 1)
        if tag in _VOID or not any(name == tag for name, _added in self.stack):
            return
        while self.stack:
            name, added = self.stack.pop()
            if name == "a" and self.links:
                self._close_link()
            if added:
                self.newline()
                self.depth -= added
                self.line_depth = self.depth
            if name == "pre":
                self.pre = max(0, self.pre - 1)
            if name in _BLOCKS or name == "li":
                self.newline()
            if name == tag:
                break

    def _close_link(self) -> None:
        href, start = self.links.pop()
        label = self.line[start:].strip()
        if href.startswith(("http://", "https://")) and label and label != href:
            self.line += f" ({href})"

    def handle_data(self, data: str) -> None:
        if self.skipping:
            return
        if self.pre:
            chunks = data.split("\n")
            for number, chunk in enumerate(chunks):
                if number:
                    self.newline(force=True)
                self.line += chunk
            return
        data = re.sub(r"\s+", " ", data)
        if not self.line.strip():
            data = data.lstrip()
            if data:
                self.line_depth = self.depth
        self.line += data

    def text(self) -> str:
        self.close()
        self.newline()
        result = "\n".join(self.lines)
        return re.sub(r"\n{3,}", "\n\n", result).strip()


def html_to_text(html: str) -> str:
    """The text of an HTML email: paragraphs and line breaks kept, quotes marked with ">",
    links written out after their label, scripts and styles dropped."""
    renderer = _TextRenderer()
    renderer.feed(html)
    return renderer.text()
