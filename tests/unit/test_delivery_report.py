"""The compliance report of a delivery (portal/orders/report.py), on fixed French and English
texts whose figures are counted by hand in the comments."""

from __future__ import annotations

import pytest
from flask_babel import force_locale

from portal.orders.models import Order
from portal.orders.report import band, build_report, for_display, headings, links_in, syllables


@pytest.fixture(autouse=True)
def _request(app):
    with app.test_request_context():
        yield


def brief(language="fr", words=(20, 40), keyword="", secondary=(), links=()) -> Order:
    return Order(language=language, words_min=words[0], words_max=words[1],
                 primary_keyword=keyword, secondary_keywords="\n".join(secondary),
                 links_to_include="\n".join(links))


FR = ("# Le pagne wax\n\n"
      "Le pagne wax se choisit bien. Regardez les pagnes et leurs couleurs avant d'acheter !\n\n"
      "## Une couturière heureuse\n\n"
      "Une couturière vous conseillera. Voir [la boutique](https://shop.test/pagnes).\n")
# Sentences (a heading is one) and words, with syllables as pyphen's French dictionary
# hyphenates them (points + 1; a part without a vowel, the "d" of d'acheter, counts none):
#   Le(1) pagne(1) wax(1)                                                     3 words,  3 syl.
#   Le(1) pagne(1) wax(1) se(1) choi-sit(2) bien(1)                           6 words,  7 syl.
#   Re-gar-dez(3) les(1) pagnes(1) et(1) leurs(1) cou-leurs(2) avant(1) d'ache-ter(2)
#                                                                             8 words, 12 syl.
#   Une(1) cou-tu-rière(3) heu-reuse(2)                                       3 words,  6 syl.
#   Une(1) cou-tu-rière(3) vous(1) conseille-ra(2)                            4 words,  7 syl.
#   Voir(1) la(1) bou-tique(2)  (the link's address is not read)              3 words,  4 syl.
# 27 words, 6 sentences, 39 syllables.
# Kandel-Moles: 207 - 1.015 * 27 / 6 - 73.6 * 39 / 27 = 207 - 4.5675 - 106.3111 = 96.1214.

EN = ("# Choosing a wax print\n\n"
      "A good wax print feels dense, and its colours are as bright on the back as on the "
      "front. Ask your tailor which print suits the occasion you have in mind. Wax prints "
      "wash beautifully in cold water.\n")
# Choos-ing(2) a wax print: 4 words, 5 syl.; the second sentence: 19 words of one syllable
# each (pyphen does not break "colours"); the third: 12 words, tai-lor(2) oc-ca-sion(3) and
# ten of one, 15 syl.; the last: 7 words, beau-ti-ful-ly(4) wa-ter(2) and five of one, 11 syl.
# 42 words, 4 sentences, 50 syllables.
# Flesch: 206.835 - 1.015 * 42 / 4 - 84.6 * 50 / 42 = 206.835 - 10.6575 - 100.7143 = 95.4632.


@pytest.mark.parametrize(("word", "language", "count"), [
    ("couturière", "fr", 3), ("conseillera", "fr", 2), ("Regardez", "fr", 3),
    ("d'acheter", "fr", 2), ("pagne", "fr", 1), ("peut-être", "fr", 2), ("2026", "fr", 0),
    ("beautifully", "en", 4), ("occasion", "en", 3), ("tailor", "en", 2), ("print", "en", 1),
])
def test_syllables_are_hyphenation_points_plus_one_per_part_with_a_vowel(word, language, count):
    assert syllables(word, language) == count


def test_a_french_report_counts_words_keywords_links_headings_sentences_and_readability():
    report = build_report(brief(keyword="pagne wax", secondary=["couturier heureux", "Lomé"],
                                links=["https://shop.test/pagnes", "https://shop.test/contact"]),
                          FR)

    assert report["version"] == 1 and report["language"] == "fr"
    assert report["words"] == {"count": 27, "min": 20, "max": 40, "in_range": True}
    assert report["keywords"] == [
        # In the first heading and the first sentence: 2 / 27 = 7.41 %.
        {"keyword": "pagne wax", "main": True, "occurrences": 2, "found": True,
         "density": 7.41},
        # "couturière heureuse": the feminine is the masculine; 1 / 27 = 3.70 %.
        {"keyword": "couturier heureux", "main": False, "occurrences": 1, "found": True,
         "density": 3.7},
        {"keyword": "Lomé", "main": False, "occurrences": 0, "found": False, "density": 0.0},
    ]
    assert report["links"] == {
        "present": ["https://shop.test/pagnes"],
        "required": [{"url": "https://shop.test/pagnes", "found": True},
                     {"url": "https://shop.test/contact", "found": False}]}
    assert report["headings"] == [{"level": 1, "text": "Le pagne wax"},
                                  {"level": 2, "text": "Une couturière heureuse"}]
    assert report["sentences"] == {"count": 6, "average_words": 4.5, "long": 0,
                                   "long_limit": 35}
    assert report["readability"] == {"formula": "kandel_moles", "score": 96.12,
                                     "band": "very_easy", "words": 27, "sentences": 6,
                                     "syllables": 39}
    assert round(report["readability"]["score"], 1) == 96.1
    # Not built yet: named, empty, never shown.
    assert report["forbidden_words"] is None and report["originality"] is None


def test_an_english_report_uses_flesch_reading_ease():
    report = build_report(brief("en", keyword="wax prints", secondary=["tailor", "color"]), EN)

    assert report["words"] == {"count": 42, "min": 20, "max": 40, "in_range": False}
    # "wax print" twice and "Wax prints" once: 3 / 42 = 7.14 %; "tailor" 1 / 42 = 2.38 %.
    assert [(k["keyword"], k["occurrences"], k["density"]) for k in report["keywords"]] == [
        ("wax prints", 3, 7.14), ("tailor", 1, 2.38), ("color", 0, 0.0)]
    assert report["links"] == {"present": [], "required": []}
    assert report["sentences"] == {"count": 4, "average_words": 10.5, "long": 0,
                                   "long_limit": 35}
    assert report["readability"] == {"formula": "flesch", "score": 95.46,
                                     "band": "very_easy", "words": 42, "sentences": 4,
                                     "syllables": 50}


def test_long_sentences_and_a_hard_text_are_counted_and_labelled():
    long = " ".join(["développement"] * 36) + "."  # 36 words of 5 syllables
    report = build_report(brief(words=(1, 100)), f"{long} Court. {long}")
    # 73 words, 3 sentences, 36 * 5 * 2 + 1 (Court) = 361 syllables.
    assert syllables("développement", "fr") == 5  # dé-ve-lop-pe-ment
    assert report["sentences"] == {"count": 3, "average_words": 24.33, "long": 2,
                                   "long_limit": 35}
    # 207 - 1.015 * 73 / 3 - 73.6 * 361 / 73 = 207 - 24.6983 - 363.9671 = -181.67
    assert report["readability"]["syllables"] == 361
    assert report["readability"]["score"] == -181.67
    assert report["readability"]["band"] == "very_difficult"


def test_no_readability_for_another_language_or_an_empty_text():
    assert build_report(brief("ee"), "Woezɔ loo.")["readability"] is None
    empty = build_report(brief(), "")
    assert empty["readability"] is None and empty["sentences"]["count"] == 0
    assert empty["words"]["count"] == 0 and empty["headings"] == []


@pytest.mark.parametrize(("score", "name"), [
    (100.5, "very_easy"), (90, "very_easy"), (89.99, "easy"), (80, "easy"),
    (70, "fairly_easy"), (60, "standard"), (59.9, "fairly_difficult"), (50, "fairly_difficult"),
    (30, "difficult"), (29.9, "very_difficult"), (-12, "very_difficult"),
])
def test_the_bands_are_flesch_s(score, name):
    assert band(score) == name


def test_links_are_found_as_markdown_links_autolinks_or_bare_each_once():
    text = ("Voir [ici](https://a.test/x), <https://b.test/y?q=1> et https://c.test/z. "
            "Encore https://a.test/x ; pas ftp://d.test ni www.e.test.")
    assert links_in(text) == ["https://a.test/x", "https://b.test/y?q=1", "https://c.test/z"]


def test_the_outline_keeps_the_levels_and_the_words_a_reader_sees():
    text = ("Intro\n===\n\n## Un **bon** [choix](https://x.test)\n\ntexte\n\n"
            "#### `wax` et *pagne*\n\n#pas un titre\n")
    assert headings(text) == [{"level": 1, "text": "Intro"}, {"level": 2, "text": "Un bon choix"},
                              {"level": 4, "text": "wax et pagne"}]


def test_the_display_writes_decimals_and_words_in_the_reader_s_language():
    report = build_report(brief(keyword="pagne wax"), FR)
    with force_locale("fr"):
        shown = for_display(report)
    assert shown["keywords"][0]["density"] == "7,4"
    assert shown["sentences"]["average_words"] == "4,5"
    assert shown["readability"]["score"] == "96,1"
    assert shown["readability"]["band_label"] == "très facile"
    assert shown["readability"]["name"] == "Score de Kandel\u2013Moles (français)"
    with force_locale("en"):
        shown = for_display(report)
    assert (shown["keywords"][0]["density"], shown["readability"]["band_label"]) == (
        "7.4", "very easy")
    assert shown["forbidden_words"] is None and shown["originality"] is None
