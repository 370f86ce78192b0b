"""An approved text as the files a client takes away: Word (.docx), PDF, HTML (a clean fragment,
or a whole page), Markdown and plain text.

Each converter takes the delivery's Markdown and the order's title and returns bytes. They all
read the Markdown with the parser that shows it on the order page (portal.orders.text), with
raw HTML off: a `<script>` written in a text is text, shown as such in every format, and the
HTML formats reuse `render_markdown`, which escapes it and cleans the result with an
allow-list. Links keep only http, https and mailto targets, as on the page.
"""

from __future__ import annotations

import io
import re
import unicodedata
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from itertools import groupby
from typing import BinaryIO
from urllib.parse import quote

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.opc.constants import RELATIONSHIP_TYPE
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Pt
from fpdf.enums import XPos, YPos
from markupsafe import escape

from portal.billing.pdf import FAMILY, FONTS, GREY, Sheet
from portal.orders.text import markdown_tokens, render_markdown

LINK_SCHEMES = ("http://", "https://", "mailto:")
# Characters no document format may hold: C0 controls but tab and line ends, DEL, and the two
# noncharacters XML refuses (python-docx's lxml raises on U+FFFE and U+FFFF).
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def _clean(text: str | None) -> str:
    """The text without control characters, and a lone surrogate (never valid UTF-8) as "?":
    what is stored should hold neither, but a file must still be made."""
    text = _CONTROL.sub("", text or "")
    return text.encode("utf-8", "replace").decode("utf-8")


# --- the text as blocks of runs -----------------------------------------------------------


@dataclass
class Run:
    """A piece of a line with one look."""

    text: str
    bold: bool = False
    italic: bool = False
    code: bool = False
    href: str | None = None
    br: bool = False  # a hard line break (the text is "\n")


@dataclass
class Block:
    """A heading, a paragraph, a list item, a code block or a rule."""

    kind: str  # "heading", "paragraph", "item", "code", "rule"
    runs: list[Run] = field(default_factory=list)
    level: int = 0  # a heading's level, 1 to 6
    depth: int = 0  # how deep in lists (0: outside any list)
    marker: str = ""  # a list item's "-" or "3."
    quote: bool = False  # inside a blockquote
    first: bool = False  # the first item of its list

    @property
    def plain(self) -> str:
        return "".join(run.text for run in self.runs)


def _safe_href(href: str | None) -> str | None:
    if href and href.strip().lower().startswith(LINK_SCHEMES):
        return href.strip()
    return None


def _runs(children) -> list[Run]:
    runs: list[Run] = []
    bold = italic = 0
    href: str | None = None
    for token in children or ():
        kind = token.type
        if kind == "strong_open":
            bold += 1
        elif kind == "strong_close":
            bold -= 1
        elif kind == "em_open":
            italic += 1
        elif kind == "em_close":
            italic -= 1
        elif kind == "link_open":
            href = _safe_href(str(token.attrs.get("href") or ""))
        elif kind == "link_close":
            href = None
        elif kind in ("text", "html_inline"):
            runs.append(Run(token.content, bold > 0, italic > 0, href=href))
        elif kind == "code_inline":
            runs.append(Run(token.content, bold > 0, italic > 0, code=True, href=href))
        elif kind == "image":
            alt = "".join(child.content for child in token.children or ())
            if alt:
                runs.append(Run(alt, bold > 0, italic > 0, href=href))
        elif kind == "softbreak":
            runs.append(Run(" ", href=href))
        elif kind == "hardbreak":
            runs.append(Run("\n", br=True))
    return [run for run in runs if run.text]


def blocks(markdown: str) -> list[Block]:
    """The Markdown as a flat list of blocks, lists flattened into items with their depth."""
    tokens = markdown_tokens(_clean(markdown))
    out: list[Block] = []
    lists: list[list] = []  # per open list: [ordered, next number, first item still to come]
    quote = 0
    pending_marker: str | None = None  # the marker of a list item whose text is not seen yet
    first = False
    heading_level = 0
    for token in tokens:
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            start = int(token.attrs.get("start") or 1) if kind == "ordered_list_open" else 0
            lists.append([kind == "ordered_list_open", start, True])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            ordered, number, first = lists[-1]
            pending_marker = f"{number}." if ordered else "-"
            lists[-1][1:] = [number + 1, False]
        elif kind == "list_item_close":
            if pending_marker is not None:  # an empty item
                out.append(Block("item", depth=len(lists), marker=pending_marker,
                                 quote=quote > 0, first=first))
            pending_marker = None
        elif kind == "blockquote_open":
            quote += 1
        elif kind == "blockquote_close":
            quote -= 1
        elif kind == "heading_open":
            heading_level = int(token.tag[1])
        elif kind == "heading_close":
            heading_level = 0
        elif kind == "inline":
            runs = _runs(token.children)
            if heading_level:
                out.append(Block("heading", runs, level=heading_level, depth=len(lists),
                                 quote=quote > 0))
            elif pending_marker is not None:
                out.append(Block("item", runs, depth=len(lists), marker=pending_marker,
                                 quote=quote > 0, first=first))
                pending_marker = None
            else:
                out.append(Block("paragraph", runs, depth=len(lists), quote=quote > 0))
        elif kind in ("fence", "code_block", "html_block"):
            if pending_marker is not None:
                out.append(Block("item", depth=len(lists), marker=pending_marker,
                                 quote=quote > 0, first=first))
                pending_marker = None
            out.append(Block("code", [Run(token.content.rstrip("\n"), code=True)],
                             depth=len(lists), quote=quote > 0))
        elif kind == "hr":
            out.append(Block("rule", depth=len(lists), quote=quote > 0))
    return out


# --- Markdown, plain text, HTML -----------------------------------------------------------


def to_markdown(markdown: str, title: str) -> bytes:
    """The text as the writer wrote it, in UTF-8, with Unix line ends."""
    text = _clean(markdown).replace("\r\n", "\n").replace("\r", "\n").rstrip("\n")
    return (text + "\n").encode("utf-8")


def _plain_runs(runs: list[Run]) -> str:
    """Runs as plain text; a link reads "text (url)", or the URL alone when it is the text."""
    out: list[str] = []
    for href, group in groupby(runs, key=lambda run: run.href):
        label = "".join(run.text for run in group)
        target = href.removeprefix("mailto:") if href is not None else None
        out.append(label if target is None or label.strip() in (href, target)
                   else f"{label} ({target})")
    return "".join(out)


def to_text(markdown: str, title: str) -> bytes:
    """Plain text: the Markdown's marks taken away, each heading on its own line, list items
    after "- " (or their number), links written "text (url)", a blank line between blocks."""
    parts: list[tuple[Block, str]] = []
    for block in blocks(markdown):
        indent = "  " * max(block.depth - 1, 0)
        if block.kind == "rule":
            text = "----------"
        elif block.kind == "item":
            text = f"{indent}{block.marker} {_plain_runs(block.runs)}"
            text = text.replace("\n", "\n" + indent + " " * (len(block.marker) + 1))
        elif block.kind == "code":
            text = block.plain
        else:
            text = _plain_runs(block.runs).strip()
            if block.depth:
                text = "\n".join(indent + "  " + line for line in text.split("\n"))
        if block.quote:
            text = "\n".join("> " + line for line in text.split("\n"))
        parts.append((block, text))
    out = []
    for n, (block, text) in enumerate(parts):
        if n:  # items of one list follow each other; other blocks have a blank line between
            follows = block.kind == "item" and parts[n - 1][0].kind == "item" \
                and not (block.first and block.depth == 1)
            out.append("\n" if follows else "\n\n")
        out.append(text)
    return ("".join(out).strip("\n") + "\n").encode("utf-8")


def html_fragment(markdown: str) -> str:
    """The clean HTML of the text (what the order page shows), without a page around it."""
    return str(render_markdown(_clean(markdown)))


def to_html_fragment(markdown: str, title: str) -> bytes:
    """The clean fragment, for pasting into a site's editor."""
    return (html_fragment(markdown).rstrip("\n") + "\n").encode("utf-8")


_PAGE = """<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; line-height: 1.6; max-width: 42rem;
       margin: 2rem auto; padding: 0 1rem; color: #1f2328; }}
a {{ color: #0a58ca; overflow-wrap: anywhere; }}
pre {{ white-space: pre-wrap; }}
</style>
</head>
<body>
<article>
{body}</article>
</body>
</html>
"""


def to_html_page(markdown: str, title: str, language: str = "fr") -> bytes:
    """A whole page that opens by itself: charset, title and the text's language declared."""
    lang = language if re.fullmatch(r"[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*", language or "") \
        else "fr"
    page = _PAGE.format(lang=lang, title=escape(_clean(title)), body=html_fragment(markdown))
    return page.encode("utf-8")


# --- Word ---------------------------------------------------------------------------------


def _add_hyperlink(paragraph, url: str, runs: list[Run]) -> None:
    """A w:hyperlink element around the runs, pointing at `url` through an external
    relationship of the document part (python-docx has no API for it)."""

    rel_id = paragraph.part.relate_to(url, RELATIONSHIP_TYPE.HYPERLINK, is_external=True)
    link = OxmlElement("w:hyperlink")
    link.set(qn("r:id"), rel_id)
    for run in runs:
        element = OxmlElement("w:r")
        props = OxmlElement("w:rPr")
        if run.bold:
            props.append(OxmlElement("w:b"))
        if run.italic:
            props.append(OxmlElement("w:i"))
        for tag, value in (("w:color", "0563C1"), ("w:u", "single")):
            prop = OxmlElement(tag)
            prop.set(qn("w:val"), value)
            props.append(prop)
        element.append(props)
        text = OxmlElement("w:t")
        text.text = run.text
        text.set(qn("xml:space"), "preserve")
        element.append(text)
        link.append(element)
    paragraph._p.append(link)


def _docx_runs(paragraph, runs: list[Run]) -> None:
    # A line break has no link: a link's runs are those between two breaks.
    for href, group in groupby(runs, key=lambda run: run.href):
        if href is not None:
            _add_hyperlink(paragraph, href, list(group))
            continue
        for run in group:
            if run.br:
                paragraph.add_run().add_break()
                continue
            added = paragraph.add_run(run.text)
            added.bold = run.bold or None
            added.italic = run.italic or None
            if run.code:
                added.font.name = "Courier New"


def to_docx(markdown: str, title: str, language: str = "fr") -> bytes:
    """A Word document: Markdown headings as Heading 1 to 6, bullet items in the List Bullet
    styles (by depth), numbered items with their number in List Number's indent, bold and
    italic runs, links as real hyperlinks."""

    document = Document()
    document.core_properties.title = _clean(title)[:255]
    document.core_properties.language = language
    styles = {style.name for style in document.styles}
    for block in blocks(markdown):
        if block.kind == "heading":
            paragraph = document.add_heading(level=min(block.level, 6))
        elif block.kind == "item":
            depth = min(block.depth, 3)
            if block.marker == "-":
                name = "List Bullet" if depth <= 1 else f"List Bullet {depth}"
                paragraph = document.add_paragraph(style=name if name in styles else None)
            else:
                name = "List Paragraph" if "List Paragraph" in styles else None
                paragraph = document.add_paragraph(style=name)
                paragraph.paragraph_format.left_indent = Pt(18 * depth)
                paragraph.add_run(f"{block.marker} ")
        elif block.kind == "rule":
            document.add_paragraph("—" * 3).alignment = WD_ALIGN_PARAGRAPH.CENTER
            continue
        elif block.kind == "code":
            paragraph = document.add_paragraph(style="No Spacing" if "No Spacing" in styles
                                               else None)
            lines = block.plain.split("\n")
            for n, line in enumerate(lines):
                added = paragraph.add_run(line)
                added.font.name = "Courier New"
                if n < len(lines) - 1:
                    added.add_break()
            continue
        else:
            style = "Quote" if block.quote and "Quote" in styles else None
            paragraph = document.add_paragraph(style=style)
            if block.depth:
                paragraph.paragraph_format.left_indent = Pt(18 * block.depth)
        _docx_runs(paragraph, block.runs)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


# --- PDF ----------------------------------------------------------------------------------


_HEADING_SIZES = {1: 18, 2: 15, 3: 13, 4: 12, 5: 11, 6: 11}
_LINK_BLUE = (10, 88, 202)


def to_pdf(markdown: str, title: str, language: str = "fr") -> bytes:
    """An A4 PDF in DejaVu Sans: headings larger and bold, paragraphs, list items indented
    after their marker, bold and italic runs, links clickable and underlined in blue."""
    pdf = Sheet(_clean(title))
    pdf.set_lang(language)
    pdf.add_font(FAMILY, "I", FONTS.joinpath("DejaVuSans-Oblique.ttf"))
    pdf.add_font(FAMILY, "BI", FONTS.joinpath("DejaVuSans-BoldOblique.ttf"))
    left = pdf.l_margin

    def write_runs(runs: list[Run], size: float, bold: bool = False) -> None:
        height = size * 0.5
        for run in runs:
            if run.br:
                pdf.ln(height)
                continue
            style = ("B" if bold or run.bold else "") + ("I" if run.italic else "")
            if run.href:
                style += "U"
                pdf.set_text_color(*_LINK_BLUE)
            elif run.code:
                pdf.set_text_color(70, 70, 70)
            pdf.set_font(FAMILY, style, size)
            pdf.write(height, run.text, link=run.href or "")
            pdf.set_text_color(0, 0, 0)
        pdf.set_font(FAMILY, "", 11)

    previous: Block | None = None
    for block in blocks(markdown):
        depth = min(block.depth, 8)  # deeper lists stay at the eighth step
        steps = depth - 1 if block.kind == "item" else depth  # an item's marker hangs out
        indent = left + 6 * steps + (6 if block.quote else 0)
        if previous is not None and previous.kind == "item" and (
                block.kind != "item" or (block.first and block.depth == 1)):
            pdf.ln(2)  # a list ends: the space between blocks
        previous = block
        pdf.set_left_margin(indent)
        pdf.set_x(indent)
        top, page = pdf.get_y(), pdf.page
        if block.kind == "heading":
            size = _HEADING_SIZES[block.level]
            pdf.ln(2)
            write_runs(block.runs, size, bold=True)
            pdf.ln(size * 0.5 + 2)
        elif block.kind == "item":
            pdf.set_font(FAMILY, "", 11)
            marker_width = 7 if block.marker == "-" else max(7, pdf.get_string_width(
                block.marker) + 2)
            pdf.cell(marker_width, 5.5, "•" if block.marker == "-" else block.marker)
            pdf.set_left_margin(indent + marker_width)
            write_runs(block.runs, 11)
            pdf.ln(7)
        elif block.kind == "code":
            pdf.set_font(FAMILY, "", 9.5)
            pdf.set_text_color(70, 70, 70)
            pdf.multi_cell(0, 5, block.plain, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
            pdf.set_text_color(0, 0, 0)
            pdf.set_font(FAMILY, "", 11)
            pdf.ln(2)
        elif block.kind == "rule":
            y = pdf.get_y() + 2
            pdf.line(indent, y, pdf.w - pdf.r_margin, y)
            pdf.ln(6)
        else:
            write_runs(block.runs, 11)
            pdf.ln(5.5)
            if block.quote and pdf.page == page:  # a bar along a quotation
                pdf.set_draw_color(*GREY)
                pdf.line(indent - 3, top, indent - 3, pdf.get_y())
                pdf.set_draw_color(0, 0, 0)
            pdf.ln(2.5)
    pdf.set_left_margin(left)
    return pdf.output_bytes()


# --- formats and file names ---------------------------------------------------------------


@dataclass(frozen=True)
class Format:
    extension: str
    mimetype: str
    build: Callable[[str, str, str], bytes]


FORMATS: dict[str, Format] = {
    "docx": Format("docx", "application/vnd.openxmlformats-officedocument."
                   "wordprocessingml.document", to_docx),
    "pdf": Format("pdf", "application/pdf", to_pdf),
    "html": Format("html", "text/html; charset=utf-8", to_html_page),
    "fragment.html": Format("html", "text/html; charset=utf-8",
                            lambda text, title, _language: to_html_fragment(text, title)),
    "md": Format("md", "text/markdown; charset=utf-8",
                 lambda text, title, _language: to_markdown(text, title)),
    "txt": Format("txt", "text/plain; charset=utf-8",
                  lambda text, title, _language: to_text(text, title)),
}


def export(markdown: str, title: str, fmt: str, language: str = "fr") -> bytes:
    """The text in format `fmt` (a key of FORMATS; KeyError for another)."""
    return FORMATS[fmt].build(markdown, title, language)


# Letters that have no ASCII base in Unicode's decomposition (Ewe, Kabiye, French, others;
# U+0263 is the Ewe gamma, U+028B the v with hook).
_LATIN = str.maketrans({
    "ɖ": "d", "Ɖ": "D", "ƒ": "f", "Ƒ": "F", "\u0263": "g", "Ɣ": "G", "ŋ": "ng", "Ŋ": "Ng",
    "ɔ": "o", "Ɔ": "O", "ɛ": "e", "Ɛ": "E", "\u028b": "v", "Ʋ": "V", "œ": "oe", "Œ": "Oe",
    "æ": "ae", "Æ": "Ae", "ß": "ss", "ø": "o", "Ø": "O", "đ": "d", "Đ": "D", "ł": "l",
    "Ł": "L",
})


def slug(title: str, fallback: str = "text") -> str:
    """A file name's stem from a title: ASCII letters and digits joined by hyphens, lower
    case, at most 80 characters; `fallback` when nothing is left."""
    ascii_title = unicodedata.normalize("NFKD", (title or "").translate(_LATIN))
    ascii_title = ascii_title.encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")[:80].rstrip("-")
    return stem or fallback


def file_name(title: str, fmt: str, fallback: str = "text") -> tuple[str, str]:
    """The ASCII name and the UTF-8 name of the file of `title` in format `fmt`."""
    extension = FORMATS[fmt].extension
    suffix = "-fragment" if fmt == "fragment.html" else ""
    readable = re.sub(r"[\x00-\x1f\x7f/\\:*?\"<>|]+", " ", _clean(title)).strip(" .")[:120]
    readable = " ".join(readable.split()) or fallback
    return (f"{slug(title, fallback)}{suffix}.{extension}",
            f"{readable}{suffix}.{extension}")


def content_disposition(title: str, fmt: str, fallback: str = "text") -> str:
    """`attachment` with the ASCII name and, for browsers that read it, the UTF-8 one
    (RFC 6266 and 5987)."""
    ascii_name, utf8_name = file_name(title, fmt, fallback)
    return (f'attachment; filename="{ascii_name}"; '
            f"filename*=UTF-8''{quote(utf8_name, safe='')}")


# --- many texts in one archive ------------------------------------------------------------


def write_archive(rows: Iterable, out: BinaryIO) -> int:
    """Each text of `rows` (id, title, language, closed_at, text) as .docx and .md in a zip
    written to `out`, one text at a time; file names start with the approval date and the
    order's reference, so that they sort by date and never collide. Returns how many texts."""
    count = 0
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for order_id, title, language, closed_at, text in rows:
            day = closed_at.strftime("%Y-%m-%d") if isinstance(closed_at, datetime) else "text"
            stem = f"{day}-cmd-{order_id:05d}-{slug(title)}"[:100]
            stamp = closed_at.timetuple()[:6] if isinstance(closed_at, datetime) \
                else (1980, 1, 1, 0, 0, 0)
            for fmt in ("docx", "md"):
                entry = zipfile.ZipInfo(f"{stem}.{fmt}", date_time=stamp)
                entry.compress_type = zipfile.ZIP_DEFLATED
                archive.writestr(entry, export(text, title, fmt, language))
            count += 1
    return count
