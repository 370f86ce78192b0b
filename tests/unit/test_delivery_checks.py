"""The rules a text must meet before delivery (portal/orders/checks.py), on fixed French and
English texts whose figures are counted by hand in the comments."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from portal.orders.checks import delivery_checks, has_link, long_sentences
from portal.orders.models import Order
from portal.orders.text import keyword_occurrences, keyword_presence, match_key


@pytest.fixture(autouse=True)
def _english(app, monkeypatch):
    monkeypatch.setitem(app.config, "BABEL_DEFAULT_LOCALE", "en")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        yield


def brief(words=(1, 1000), keyword="", secondary=(), links=()) -> Order:
    return Order(words_min=words[0], words_max=words[1], primary_keyword=keyword,
                 secondary_keywords="\n".join(secondary), links_to_include="\n".join(links))


def codes(findings) -> list[str]:
    return [f.code for f in findings]


def words(n: int, word: str = "mot") -> str:
    """`n` words in sentences of five (so no sentence is long)."""
    out = []
    for i in range(0, n, 5):
        out.append(" ".join([word] * min(5, n - i)) + ".")
    return " ".join(out)


# 26 words, with the main keyword once.
SHORT_FR = ("Le pagne wax se choisit bien. Regardez le tissu, les couleurs et la lisière "
            "avant d'acheter. Une couturière vous conseillera sur la coupe et le motif.")


def test_26_words_on_a_900_to_1200_word_order_are_blocked():
    found = delivery_checks(brief((900, 1200), keyword="pagne wax"), SHORT_FR)

    assert found.words == 26 and not found.ok
    assert codes(found.blocking) == ["too_short"]
    assert found.blocking[0].figures == {"words": 26, "min": 900}
    assert found.blocking[0].message == (
        "The text has 26 words; the brief asks for at least 900.")


@pytest.mark.parametrize(("count", "blocked"), [(99, ["too_short"]), (100, []), (110, []),
                                                (111, ["too_long"])])
def test_the_length_goes_from_the_minimum_to_10_percent_above_the_maximum(count, blocked):
    # 100 to 100 words: up to 110 (100 + 10 %) pass, 111 do not.
    found = delivery_checks(brief((100, 100)), words(count))
    assert codes(found.blocking) == blocked
    if blocked == ["too_long"]:
        assert found.blocking[0].figures == {"words": 111, "limit": 110, "max": 100}
        assert "at most 110" in found.blocking[0].message


@pytest.mark.parametrize(("keyword", "text", "present"), [
    ("article de blog", "Nos Articles de Blog plaisent.", True),   # case and plural
    ("café", "Le CAFE de la place.", True),                          # accents
    ("hôtel à Kara", "Un hotel a Kara, au nord.", True),
    ("journal local", "Les journaux locaux en parlent.", True),      # -aux -> -al
    ("article", "L'article du jour.", True),                        # apostrophe splits
    ("blog post", "Two blog posts a week.", True),                   # English plural
    ("article de blog", "Un article sur le blog.", False),           # not one after the other
    ("art", "Un article.", False),                                   # whole words only
    ("pagne wax", "Un *pagne* **wax** neuf.", True),                 # Markdown is not a word
])
def test_the_main_keyword_is_found_whatever_the_case_accents_or_plural(keyword, text, present):
    found = delivery_checks(brief(keyword=keyword), text)
    assert ("keyword_missing" not in codes(found.blocking)) is present
    assert keyword_presence(text, [keyword]) == [(keyword, present)]


def test_the_plural_rules_are_the_documented_ones():
    # "articl": the final e goes too (rule 4); keys are compared, never read.
    assert [match_key(w) for w in ("Articles", "jeux", "journaux", "bateaux", "des", "bus",
                                   "Été")] == [
        "articl", "jeu", "journal", "bateau", "des", "bus", "ete"]
    assert keyword_occurrences("blog blog blog", "blog blog") == 1  # no overlap


# Each line: words that are one key (the masculine singular first), then its key.
FEMININES = [
    (("heureux", "heureuse", "heureuses"), "heureu"),        # -eux / -euse
    (("chanteur", "chanteuse", "chanteurs"), "chanteu"),     # -eur / -euse
    (("sportif", "sportive", "sportives"), "sportif"),       # -if / -ive
    (("ancien", "ancienne", "anciennes"), "ancien"),         # -en / -enne
    (("bon", "bonne", "bonnes"), "bon"),                     # -on / -onne
    (("cruel", "cruelle", "cruelles"), "cruel"),             # -el / -elle
    (("muet", "muette"), "muet"),                            # -et / -ette
    (("premier", "Première", "premières"), "premier"),       # -er / -ère
    (("grand", "grande", "grandes"), "grand"),               # a final e
    (("local", "locale", "locales", "locaux"), "local"),
    (("aimé", "aimée", "aimées"), "aime"),
]


@pytest.mark.parametrize(("forms", "key"), FEMININES)
def test_a_feminine_is_its_masculine(forms, key):
    assert [match_key(w) for w in forms] == [key] * len(forms)


@pytest.mark.parametrize(("word", "key"), [
    ("elle", "elle"), ("mère", "mere"), ("mer", "mer"),      # under five letters: as they are
    ("heure", "heur"), ("leurs", "leur"),                    # not heureu, not leu
])
def test_short_words_keep_their_ending(word, key):
    assert match_key(word) == key


def test_a_feminine_keyword_is_found_in_a_masculine_text_and_back():
    assert keyword_presence("Des artisanes locales et heureuses.",
                            ["artisan local", "heureux"]) == [
        ("artisan local", True), ("heureux", True)]
    assert keyword_occurrences("Une cuisine sportive. Des repas sportifs.", "sportif") == 2
    assert keyword_presence("Le port de Lomé.", ["mère"]) == [("mère", False)]


def test_the_workspace_script_gives_the_same_keys():
    """portal/static/js/workspace.js repeats match_key for the live checklist: Node.js runs
    its function on the words of these tests and on accented capitals."""
    import json
    import re
    import shutil
    import subprocess
    from pathlib import Path

    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("Node.js is not installed")
    script = (Path(__file__).parents[2] / "portal/static/js/workspace.js").read_text()
    source = re.search(r"  var FEMININE = .*?\n  }\n", script, re.DOTALL)[0]
    words = [w for forms, _key in FEMININES for w in forms] + [
        "Articles", "jeux", "journaux", "bateaux", "EAUX", "des", "bus", "Été", "elle", "mère",
        "heure", "leurs", "NAÏVE", "Évènements", "cœur", "2026", "blog"]
    program = source + f"console.log(JSON.stringify({json.dumps(words)}.map(matchKey)));"
    out = subprocess.run([node, "-e", program], capture_output=True, text=True, check=True,
                         timeout=30)
    assert json.loads(out.stdout) == [match_key(w) for w in words]


def test_a_missing_keyword_blocks_with_its_name():
    found = delivery_checks(brief(keyword="pain au levain"), "Du pain de mie.")
    assert found.blocking[0].code == "keyword_missing"
    assert found.blocking[0].figures == {"keyword": "pain au levain"}
    assert "“pain au levain”" in found.blocking[0].message


@pytest.mark.parametrize(("text", "present"), [
    ("Voir [la boutique](https://shop.test/pagnes).", True),
    ("Voir https://shop.test/pagnes.", True),
    ("Voir <https://shop.test/pagnes>, merci.", True),
    ("Voir https://shop.test/pagnes/ ici", True),                   # a final slash
    ("Voir HTTPS://SHOP.TEST/pagnes", True),                        # the case
    ("Voir https://shop.test/pagnes-2025 ici", False),              # another address
    ("Voir https://shop.test/pagnes.html", False),
    ("Voir https://shop.test/", False),
    ("Voir xhttps://shop.test/pagnes", False),
])
def test_a_required_link_is_found_as_a_markdown_link_or_bare(text, present):
    assert has_link(text, "https://shop.test/pagnes") is present
    found = delivery_checks(brief(links=["https://shop.test/pagnes", ""]), text)
    assert (codes(found.blocking) == []) is present


def test_each_missing_link_is_a_reason():
    found = delivery_checks(brief(links=["https://a.test/x", "https://b.test/y"]),
                            "Voir https://a.test/x.")
    assert [f.figures for f in found.blocking] == [{"url": "https://b.test/y"}]


def test_keyword_density_below_half_a_percent_or_above_3_percent_is_a_warning():
    ok = delivery_checks(brief(keyword="wax"), "wax. " + words(199))         # 1/200 = 0.5 %
    low = delivery_checks(brief(keyword="wax"), "wax. " + words(200))        # 1/201 = 0.497 %
    high = delivery_checks(brief(keyword="wax"), "wax wax wax wax. " + words(96))  # 4/100
    edge = delivery_checks(brief(keyword="wax"), "wax wax wax. " + words(97))      # 3/100

    assert "density_low" not in codes(ok.warnings) and ok.ok
    assert codes(low.warnings) == ["density_low"] and low.ok  # a warning never blocks
    assert low.warnings[0].figures == {"keyword": "wax", "count": 1, "words": 201,
                                       "density": 0.5}
    assert "appears 1 time in 201 words (0.5 %)" in low.warnings[0].message
    assert codes(high.warnings) == ["density_high"]
    assert high.warnings[0].figures["density"] == 4.0
    assert "appears 4 times in 100 words (4.0 %)" in high.warnings[0].message
    assert codes(edge.warnings) == []


def test_more_than_300_words_without_a_heading_is_a_warning():
    assert codes(delivery_checks(brief(), words(300)).warnings) == []
    assert codes(delivery_checks(brief(), words(301)).warnings) == ["no_heading"]
    assert codes(delivery_checks(brief(), "## Titre\n\n" + words(301)).warnings) == []
    assert codes(delivery_checks(brief(), "#Titre\n\n" + words(301)).warnings) == [
        "no_heading"]  # not a Markdown heading


def test_sentences_longer_than_35_words_are_counted():
    s35 = " ".join(["mot"] * 35) + "."
    s36 = " ".join(["mot"] * 36) + "."
    text = f"# Un titre sans point\n{s35}\n\n{s36} Court ! {s36}\n- {s35}"
    # The heading is a block of its own: it does not lengthen the sentence after it.
    assert long_sentences(text) == 2
    found = delivery_checks(brief(), text)
    assert codes(found.warnings) == ["long_sentences"]
    assert found.warnings[0].figures == {"count": 2, "limit": 35}
    assert found.warnings[0].message == "2 sentences are longer than 35 words."
    # A paragraph written on several lines is one run of text.
    assert long_sentences("mot " * 20 + "\n" + "mot " * 20 + ".") == 1


def test_missing_secondary_keywords_are_listed_in_a_warning():
    found = delivery_checks(brief(secondary=["Lomé", "couturière", "entretien du pagne"]),
                            "À LOME, les couturieres savent tout.")
    assert found.ok and codes(found.warnings) == ["secondary_missing"]
    assert found.warnings[0].figures == {"keywords": ["entretien du pagne"]}


def test_an_english_text_that_meets_its_brief_passes_clean():
    text = ("# Choosing a wax print\n\nA good wax print feels dense and its colours are as "
            "bright on the back as on the front. Ask your tailor which print suits the cut. "
            "See [our prints](https://shop.test/prints) before you visit.\n")
    # 4 + 19 + 8 + 6 = 37 words (the link target is not read); "wax print" twice:
    # 2 / 37 = 5.41 %, stuffing.
    found = delivery_checks(brief((30, 40), keyword="wax prints",
                                  links=["https://shop.test/prints"]), text)
    assert found.words == 37 and found.ok
    assert codes(found.warnings) == ["density_high"]
    assert found.warnings[0].figures["density"] == 5.41


def test_the_reasons_are_in_french_for_a_french_reader():
    with force_locale("fr"):
        found = delivery_checks(brief((900, 1200), keyword="article de blog"), SHORT_FR)
    assert [f.message for f in found.blocking] == [
        "Le texte compte 26 mots\u202f; le brief en demande au moins 900.",
        "Le mot-clé principal «\u202farticle de blog\u202f» n\u2019est pas dans le texte.",
    ]


@pytest.mark.parametrize("keyword", ["&", "🍕", "—", "_"])
def test_a_keyword_of_signs_alone_never_blocks_a_delivery(keyword):
    """The brief form refuses such a keyword; one stored before must not make the order
    impossible to deliver (nothing could ever match it)."""
    found = delivery_checks(brief(keyword=keyword), f"{keyword} {words(20)}")

    assert "keyword_missing" not in codes(found.blocking)
    assert found.ok
