"""Text helpers for briefs and deliveries: word counts, keyword checks and Markdown rendering
(the comparison of two deliveries is in portal/orders/compare.py)."""

from __future__ import annotations

import re
import unicodedata

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup

_WORD = re.compile(r"[\w\u2019'-]+", re.UNICODE)
_MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
_ALLOWED_TAGS = {
    "p", "br", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "ul", "ol", "li",
    "blockquote", "code", "pre", "a", "hr",
}


def word_count(text: str) -> int:
    """Words as a reader counts them: runs of letters and digits, apostrophes and hyphens
    inside a word keep it whole (l'article, peut-être)."""
    return len(words_of(text))


def words_of(text: str) -> list[str]:
    """The words `word_count` counts, in their order (Markdown marks and link targets left
    out)."""
    return [match[0] for match in _WORD.finditer(_strip_markdown(text))
            if re.search(r"\w", match[0])]


def nonblank_lines(text: str | None) -> list[str]:
    """The lines of `text` that hold something, stripped: a list stored one item a line."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def _strip_markdown(text: str) -> str:
    # Markup characters are not words; link targets are not read.
    text = re.sub(r"\]\([^)]*\)", "]", text)
    return re.sub(r"[#*_`>\[\]]", " ", text)


# --- keywords -------------------------------------------------------------------------------
#
# A keyword is found in a text when its words appear in the text one after the other, compared
# through `match_key`:
#   1. case and accents do not count: "Évènement" and "evenement" are the same word;
#   2. apostrophes and hyphens separate words: "l'article" holds "article";
#   3. a French (or English) plural is its singular: a word ending in "eaux" loses its "x"
#      (bateaux -> bateau), another ending in "aux" of five letters or more ends in "al"
#      (journaux -> journal), and a word of four letters or more loses a final "s" or "x"
#      (articles -> article, jeux -> jeu);
#   4. a French feminine is its masculine, on what rule 3 left, for words of five letters or
#      more: -euse and -eur end in -eu, as -eux does after rule 3 (heureuse, heureux -> heureu;
#      chanteuse, chanteur -> chanteu); -ive ends in -if (sportive -> sportif); -enne, -onne,
#      -elle and -ette lose their last two letters (ancienne -> ancien, bonne -> bon,
#      cruelle -> cruel, muette -> muet); -ere ends in -er (première -> premier); then any
#      other final "e" goes (grande -> grand, nationale -> national, aimée -> aime).
# Both the keyword and the text go through the same rules, so "article de blog" is found in
# "Articles de blog" and "artisan local" in "artisanes locales". The keys are for comparing,
# not for reading ("articles" -> "articl"). The rules are simple on purpose: a rare false match
# ("prix" and "pris", "porte" and "port") beats a missed plural or feminine.
# portal/static/js/workspace.js applies the same rules while the writer types
# (tests/unit/test_delivery_checks.py runs both on the same words when Node.js is there).

_KEY_WORD = re.compile(r"[^\W_]+", re.UNICODE)


def match_key(word: str) -> str:
    """The form of one word that keyword matching compares (see the rules above)."""
    bare = "".join(c for c in unicodedata.normalize("NFKD", word.lower())
                   if not unicodedata.combining(c))
    if bare.endswith("eaux"):
        bare = bare[:-1]
    elif len(bare) >= 5 and bare.endswith("aux"):
        bare = bare[:-3] + "al"
    elif len(bare) >= 4 and bare[-1] in "sx":
        bare = bare[:-1]
    if len(bare) < 5:
        return bare
    for ending, replacement in _FEMININE:
        if bare.endswith(ending):
            return bare[:-len(ending)] + replacement
    return bare


_FEMININE = (("euse", "eu"), ("eur", "eu"), ("ive", "if"), ("enne", "en"), ("onne", "on"),
             ("elle", "el"), ("ette", "et"), ("ere", "er"), ("e", ""))


def match_keys(text: str) -> list[str]:
    """The text's words as keyword matching sees them (Markdown and link targets left out)."""
    return [match_key(word) for word in _KEY_WORD.findall(_strip_markdown(text))]


def keyword_occurrences(text: str | list[str], keyword: str) -> int:
    """How many times `keyword` appears in `text` (or in its `match_keys`), without overlaps."""
    haystack = match_keys(text) if isinstance(text, str) else text
    needle = match_keys(keyword)
    if not needle:
        return 0
    count, i, size = 0, 0, len(needle)
    while i + size <= len(haystack):
        if haystack[i:i + size] == needle:
            count += 1
            i += size
        else:
            i += 1
    return count


def keyword_presence(text: str, keywords: list[str]) -> list[tuple[str, bool]]:
    """Each keyword with whether it appears in the text, as whole words, whatever the case,
    the accents or a plural (rules above)."""
    haystack = match_keys(text)
    return [(keyword, keyword_occurrences(haystack, keyword) > 0) for keyword in keywords]


def markdown_tokens(text: str) -> list:
    """The block tokens of markdown-it for `text`, parsed as render_markdown parses it (raw
    HTML is text): what the exports (portal/orders/exports.py) build their documents from."""
    return _MARKDOWN.parse(text)


def render_markdown(text: str) -> Markup:
    """Markdown to HTML that is safe to show: raw HTML in the source is escaped by the parser,
    and the result is cleaned again with an allow-list."""
    html = _MARKDOWN.render(text)
    clean = nh3.clean(
        html,
        tags=_ALLOWED_TAGS,
        attributes={"a": {"href", "title"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # noqa: S704  # nosec B704  # cleaned by nh3 just above (allow-list)
