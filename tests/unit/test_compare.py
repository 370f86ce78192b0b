"""What changed between two deliveries, block by block (portal/orders/compare.py states the
rules): headings stay headings, paragraphs paragraphs, and words are marked inside a block."""

from __future__ import annotations

import difflib
import random

from portal.orders import compare
from portal.orders.compare import Block, blocks_of


def marked(parts, kind: str) -> list[str]:
    return [part.text.strip() for part in parts if part.kind == kind]


def test_a_text_is_read_as_its_blocks_without_markdown_marks():
    text = ("# Le pagne wax\n\nUn tissu **imprimé** de [Lomé](https://lome.tg).\n\n"
            "## Les motifs\n\n- le *premier*\n- le second\n\n3. trois\n4. quatre\n\n"
            "> Une citation\n\n```\ncode\n```\n")
    assert blocks_of(text) == [
        Block("h1", "Le pagne wax"), Block("p", "Un tissu imprimé de Lomé."),
        Block("h2", "Les motifs"), Block("li", "le premier"), Block("li", "le second"),
        Block("li", "trois"), Block("li", "quatre"), Block("quote", "Une citation"),
        Block("code", "code"),
    ]
    assert [b.marker for b in blocks_of(text) if b.kind == "li"] == ["•", "•", "3.", "4."]


def test_words_are_marked_inside_the_block_that_changed_and_headings_stay_apart():
    old = "# Le pagne\n\nLa plage est belle le matin.\n\n## Partie\n\nFin du texte."
    new = "# Le pagne wax\n\nLa plage est magnifique le soir.\n\n## Partie\n\nFin du texte."
    rows = compare.compare(old, new)
    assert [row.state for row in rows] == ["changed", "changed", "same", "same"]
    heading, paragraph = rows[0], rows[1]
    assert heading.old.kind == heading.new.kind == "h1"
    assert marked(heading.new_parts, "added") == ["wax"] and marked(heading.old_parts,
                                                                    "removed") == []
    assert marked(paragraph.old_parts, "removed") == ["belle", "matin"]
    assert marked(paragraph.new_parts, "added") == ["magnifique", "soir"]
    # A sign next to a word is its own token: "matin." and "soir." share the full stop.
    assert "".join(p.text for p in paragraph.new_parts) == "La plage est magnifique le soir."


def test_an_inserted_block_is_added_and_the_neighbours_are_not_disturbed():
    old = "Premier paragraphe.\n\nDeuxième paragraphe sur le marché."
    new = ("Premier paragraphe.\n\nUn paragraphe tout neuf ici.\n\n"
           "Deuxième paragraphe sur le grand marché.")
    rows = compare.compare(old, new)
    assert [row.state for row in rows] == ["same", "added", "changed"]
    assert rows[1].new.text == "Un paragraphe tout neuf ici." and rows[1].old is None
    assert marked(rows[2].new_parts, "added") == ["grand"]


def test_unlike_blocks_are_removed_and_added_not_paired():
    rows = compare.compare("- deux\n- trois", "- deux\n- quatre cinq six")
    assert [row.state for row in rows] == ["same", "removed", "added"]
    # A renumbered item is the same item.
    assert [r.state for r in compare.compare("1. un\n2. deux", "1. zéro\n2. un\n3. deux")] == [
        "added", "same", "same"]


def test_runs_of_unchanged_blocks_are_folded():
    old = "\n\n".join(f"Paragraphe {n}." for n in range(8))
    new = old.replace("Paragraphe 5.", "Paragraphe cinq.")
    sections = compare.sections(compare.compare(old, new))
    assert [(len(s.rows), s.folded) for s in sections] == [(5, True), (3, False)]
    assert compare.counts(compare.compare(old, new)) == {"changed": 1, "added": 0, "removed": 0}


WORDS = ["le", "pagne", "wax", "est", "un", "tissu", "de", "coton", "imprimé", "que", "les",
         "revendeuses", "du", "grand", "marché", "Lomé", "vendent", "chaque", "matin", "aux",
         "clientes", "venues", "loin"]


def text_of(seed: int, words: int, per_paragraph: int) -> str:
    draw = random.Random(seed)
    paragraphs = [" ".join(draw.choice(WORDS) for _ in range(per_paragraph))
                  for _ in range(words // per_paragraph)]
    return "\n\n".join(f"## Partie {n}\n\n{p}" if n % 5 == 0 else p
                       for n, p in enumerate(paragraphs))


class CountedMatcher(difflib.SequenceMatcher):
    """difflib's matcher, counting the words it is given to compare and noting autojunk."""

    words = 0
    autojunk: list[bool] = []

    def __init__(self, *args, autojunk=True, **kwargs):
        super().__init__(*args, autojunk=autojunk, **kwargs)
        type(self).autojunk.append(autojunk)

    def get_opcodes(self):
        type(self).words += len(self.a) * len(self.b)
        return super().get_opcodes()


def comparison_work(monkeypatch, a: str, b: str) -> tuple[int, list[bool]]:
    CountedMatcher.words, CountedMatcher.autojunk = 0, []
    monkeypatch.setattr(compare.difflib, "SequenceMatcher", CountedMatcher)
    assert compare.compare(a, b)
    monkeypatch.undo()
    return CountedMatcher.words, CountedMatcher.autojunk


def test_two_texts_of_5000_words_are_compared_within_the_budget(monkeypatch):
    old = text_of(1, 5000, 100)
    edited = old.replace("coton", "soie").replace("matin", "soir")
    rewritten = text_of(2, 5000, 100)
    one_block_a, one_block_b = text_of(3, 5000, 5000), text_of(4, 5000, 5000)
    # Few distinct words in long paragraphs: the slowest case for difflib.
    long_a, long_b = text_of(5, 5000, 480), text_of(6, 5000, 480)
    for a, b in ((old, edited), (old, rewritten), (one_block_a, one_block_b), (long_a, long_b)):
        words, _junk = comparison_work(monkeypatch, a, b)
        # The word-by-word work never passes the budget (the block alignment aside: 50 by 50).
        assert words <= compare.TOTAL_BUDGET + 50 * 50
    # One paragraph of 5,000 words against another costs too much to mark word by word: it is
    # shown removed then added, whole (after the heading both start with).
    assert [row.state for row in compare.compare(one_block_a, one_block_b)] == [
        "same", "removed", "added"]
    assert compare.counts(compare.compare(old, edited))["changed"] > 0


def test_thousands_of_identical_paragraphs_cost_no_more_than_the_budget(monkeypatch):
    """A hostile pair: 22,000 one-word paragraphs (the longest text a brief allows), the last
    one changed. Aligned as they are, the blocks would cost 22,000² steps; past BLOCK_PAIRS_MAX
    repeated blocks stop anchoring the alignment, and each comparison counts for STEP_COST."""
    n = 22_000
    old = "\n\n".join(["mot"] * n)
    new = "\n\n".join(["mot"] * (n - 1) + ["autre"])
    words, junk = comparison_work(monkeypatch, old, new)
    assert junk[0] is True  # the block alignment, the first matcher made
    assert words - n * n <= compare.TOTAL_BUDGET  # its own count aside: a fixed bound
    rows = compare.compare(old, new)
    assert len(rows) >= n and rows[-1].new.text == "autre"
