"""An approved text as files: each converter read back with the tool a client would open it
with (python-docx for Word, pypdf for PDF), and the exact bytes of the text formats."""

from __future__ import annotations

import io
import re
from urllib.parse import unquote

import docx
import pytest
from pypdf import PdfReader

from portal.orders import exports

TEXT = """# Écrire pour le web à Lomé

Un texte **clair**, des mots *choisis* et un [guide utile](https://example.com/guide?a=1&b=2).

## Trois conseils

- Parler au lecteur
- Donner des **exemples** concrets
  - tirés du marché
- Relire à voix haute

1. Écrire
2. Couper

<script>alert("vol")</script>

Fin, voir <https://example.org/fin> et [nous écrire](mailto:bonjour@example.test).
"""


def test_the_word_document_has_the_headings_lists_emphasis_and_links_of_the_markdown():
    document = docx.Document(io.BytesIO(exports.to_docx(TEXT, "Écrire pour le web")))
    paragraphs = [(p.style.name, p.text) for p in document.paragraphs]

    assert ("Heading 1", "Écrire pour le web à Lomé") in paragraphs
    assert ("Heading 2", "Trois conseils") in paragraphs
    assert [text for style, text in paragraphs if style == "List Bullet"] == [
        "Parler au lecteur", "Donner des exemples concrets", "Relire à voix haute"]
    assert ("List Bullet 2", "tirés du marché") in paragraphs
    assert ("List Paragraph", "1. Écrire") in paragraphs
    assert ("List Paragraph", "2. Couper") in paragraphs
    assert ("Normal", '<script>alert("vol")</script>') in paragraphs  # text, never code

    runs = [(r.text, bool(r.bold), bool(r.italic)) for p in document.paragraphs for r in p.runs]
    assert ("clair", True, False) in runs
    assert ("choisis", False, True) in runs
    assert ("exemples", True, False) in runs
    assert ("Un texte ", False, False) in runs

    first = document.paragraphs[1]
    assert first.text == "Un texte clair, des mots choisis et un guide utile."
    assert [(link.text, link.url) for link in first.hyperlinks] == [
        ("guide utile", "https://example.com/guide?a=1&b=2")]
    external = {rel.target_ref for rel in document.part.rels.values() if rel.is_external}
    assert external == {"https://example.com/guide?a=1&b=2", "https://example.org/fin",
                        "mailto:bonjour@example.test"}
    assert document.core_properties.title == "Écrire pour le web"


def test_a_link_to_a_script_is_not_a_link_in_the_word_document():
    document = docx.Document(io.BytesIO(exports.to_docx(
        "[piège](javascript:alert(1)) et [ok](https://example.com)", "T")))

    assert {rel.target_ref for rel in document.part.rels.values() if rel.is_external} == {
        "https://example.com"}
    assert document.paragraphs[0].text == "[piège](javascript:alert(1)) et ok"


def test_the_pdf_holds_the_words_of_the_text_in_order_and_its_links(app):
    with app.app_context():
        data = exports.to_pdf(TEXT * 4, "Écrire pour le web")
    reader = PdfReader(io.BytesIO(data))
    text = " ".join(page.extract_text() for page in reader.pages)
    words = re.findall(r"\w+", text)
    expected = re.findall(r"\w+", exports.to_text(TEXT, "").decode().replace(
        "(https://example.com/guide?a=1&b=2)", "").replace("(bonjour@example.test)", ""))
    position = 0
    for word in expected * 4:  # every word of the text, in its order, four times over
        position = words.index(word, position) + 1
    assert len(reader.pages) >= 2
    assert reader.metadata.title == "Écrire pour le web"
    targets = {annotation.get_object()["/A"]["/URI"]
               for page in reader.pages for annotation in page.get("/Annots", [])}
    assert targets == {"https://example.com/guide?a=1&b=2", "https://example.org/fin",
                       "mailto:bonjour@example.test"}


def test_the_plain_text_has_no_markdown_marks_and_writes_links_out():
    assert exports.to_text(TEXT, "T").decode() == """Écrire pour le web à Lomé

Un texte clair, des mots choisis et un guide utile (https://example.com/guide?a=1&b=2).

Trois conseils

- Parler au lecteur
- Donner des exemples concrets
  - tirés du marché
- Relire à voix haute

1. Écrire
2. Couper

<script>alert("vol")</script>

Fin, voir https://example.org/fin et nous écrire (bonjour@example.test).
"""


def test_the_markdown_is_the_text_as_written_with_unix_line_ends():
    assert exports.to_markdown("# Titre\r\n\r\nUn *mot*.\r\n\r\n\r\n", "T") == \
        b"# Titre\n\nUn *mot*.\n"


def test_the_html_fragment_escapes_html_written_in_the_text():
    fragment = exports.to_html_fragment(
        TEXT + '\n<img src=x onerror="alert(1)">\n\n[x](javascript:alert(2))', "T").decode()

    assert "<script" not in fragment
    assert "&lt;script&gt;" in fragment
    assert "<img" not in fragment
    assert "javascript:" not in fragment.replace("[x](javascript:alert(2))", "")
    assert "<h1>Écrire pour le web à Lomé</h1>" in fragment
    assert "<strong>clair</strong>" in fragment
    assert '<a href="https://example.com/guide?a=1&amp;b=2"' in fragment
    assert "<html" not in fragment


def test_the_html_page_stands_alone_with_its_charset_title_and_language():
    page = exports.to_html_page(TEXT, 'Un titre <b>"gras"</b> & co', "fr").decode()

    assert page.startswith("<!DOCTYPE html>\n<html lang=\"fr\">")
    assert '<meta charset="utf-8">' in page
    assert "<title>Un titre &lt;b&gt;&#34;gras&#34;&lt;/b&gt; &amp; co</title>" in page
    assert exports.html_fragment(TEXT) in page
    assert "<script" not in page
    assert '<html lang="fr">' in exports.to_html_page("x", "T", 'en"><script>').decode()


@pytest.mark.parametrize(("title", "fmt", "ascii_name", "utf8_name"), [
    ("Écrire pour le web à Lomé", "docx", "ecrire-pour-le-web-a-lome.docx",
     "Écrire pour le web à Lomé.docx"),
    ("Guide: 10 conseils / été", "pdf", "guide-10-conseils-ete.pdf", "Guide 10 conseils été.pdf"),
    ('"Quotes"\r\nand\\slashes', "fragment.html", "quotes-and-slashes-fragment.html",
     "Quotes and slashes-fragment.html"),
    ("Ɖevi ƒe ŋkɔ, cœur", "txt", "devi-fe-ngko-coeur.txt", "Ɖevi ƒe ŋkɔ, cœur.txt"),
    ("日本語", "md", "CMD-00007.md", "日本語.md"),
])
def test_file_names_are_safe_ascii_with_the_title_in_utf8_beside(title, fmt, ascii_name,
                                                                   utf8_name):
    header = exports.content_disposition(title, fmt, fallback="CMD-00007")

    found = re.fullmatch(r'attachment; filename="([^"]+)"; filename\*=UTF-8\'\'(\S+)', header)
    assert found is not None, header
    assert found[1] == ascii_name
    assert unquote(found[2]) == utf8_name
    assert found[1].isascii() and found[2].isascii()


NASTY = {
    "empty": "",
    "blank": "   \n\n  ",
    "emoji and ideograms": "# 🎉 Fête\n\nDu texte 😀 et 漢字 et ɖ ƒ ŋ.",
    "long address": "Voir https://example.com/" + "a" * 500 + " fin.\n\n[lien](https://example.com/"
                    + "b" * 400 + ")",
    "long word": "x" * 3000,
    "deep lists": "".join("  " * i + f"- niveau {i}\n" for i in range(40)),
    "deep quotes": "> " * 30 + "citation profonde",
    "control characters": "Texte \x01\x02\x0b\x0c avec contrôle\x7f\x1f.",
    "blocks in items": "- # titre dans une liste\n- ```\ncode\n```\n-\n- > cité",
    "table": "| a | b |\n|---|---|\n| 1 | 2 |",
    "images": "![le texte](https://example.com/x.png) et ![](javascript:alert(1))",
    "raw html": "<div>bloc</div>\n\n<b>gras</b>",
    "rules": "a\n\n---\n\nb\n\n***",
    "numbers": "3. trois\n4. quatre\n\n999999999. grand",
    "lone surrogate": "a\ud800b",
}


@pytest.mark.parametrize("case", NASTY)
@pytest.mark.parametrize("fmt", exports.FORMATS)
def test_any_text_makes_a_file(app, case, fmt):
    with app.app_context():
        data = exports.export(NASTY[case], f"Titre \x01 {case} \ud800", fmt)

    assert data
    if fmt == "docx":
        document = docx.Document(io.BytesIO(data))
        assert "\x01" not in " ".join(p.text for p in document.paragraphs)
    elif fmt == "pdf":
        assert data.startswith(b"%PDF-")
    else:
        text = data.decode("utf-8")
        assert "\x01" not in text and "\x7f" not in text
