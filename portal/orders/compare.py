"""What changed between two deliveries, as the client reads them: the Markdown of each is parsed
into blocks (headings, paragraphs, list items, quotes, code), the two sequences of blocks are
aligned, and inside each block that changed the words added and removed are marked.

The rules:
  1. a block is its kind and its words as rendered (Markdown marks and link targets left out);
  2. blocks are aligned with difflib on their (kind, text); where a run of old blocks was
     replaced by a run of new ones, they are paired in order while they look alike (at least
     a third of their words in common, same kind of block), the rest is removed or added whole;
  3. inside a pair, words are compared with difflib, each removed or added run marked once;
  4. the work is bounded: a pair whose word comparison would cost more than PAIR_BUDGET
     (old words x new words), or that comes after TOTAL_BUDGET has been spent, is shown as the
     old block removed and the new one added, without word marks;
  5. a run of at least COLLAPSE_AFTER unchanged blocks is folded away.
"""

from __future__ import annotations

import difflib
import re
from collections import Counter
from dataclasses import dataclass, field

from portal.orders.text import markdown_tokens

PAIR_BUDGET = 250_000  # two paragraphs of 500 words
TOTAL_BUDGET = 1_500_000  # about half a second in the worst case measured
COLLAPSE_AFTER = 3
_SIMILAR = 1 / 3


@dataclass(frozen=True)
class DiffPart:
    kind: str  # "same", "added", "removed"
    text: str


@dataclass(frozen=True)
class Block:
    kind: str  # "h1"…"h6", "p", "li", "quote", "code"
    text: str
    # A list item's bullet or number ("•", "3."): not compared, so that an item inserted in a
    # numbered list does not mark every item after it as changed.
    marker: str = field(default="", compare=False)


@dataclass(frozen=True)
class Row:
    state: str  # "same", "changed", "added", "removed"
    old: Block | None
    new: Block | None
    old_parts: tuple[DiffPart, ...] = ()
    new_parts: tuple[DiffPart, ...] = ()


@dataclass
class Section:
    """Consecutive rows shown together; `folded` for a run of unchanged blocks."""
    rows: list[Row] = field(default_factory=list)
    folded: bool = False


def _inline_text(token) -> str:
    parts = []
    for child in token.children or ():
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return re.sub(r"\s+", " ", "".join(parts)).strip()


def blocks_of(markdown: str) -> list[Block]:
    """The blocks of a text as its rendering shows them (rule 1)."""
    tokens = markdown_tokens(markdown or "")
    blocks: list[Block] = []
    lists: list[list] = []  # [ordered, next number]
    quote = 0
    heading = None
    item_marker = None
    for token in tokens:
        kind = token.type
        if kind in ("bullet_list_open", "ordered_list_open"):
            start = int(token.attrGet("start") or 1) if kind == "ordered_list_open" else 0
            lists.append([kind == "ordered_list_open", start])
        elif kind in ("bullet_list_close", "ordered_list_close"):
            lists.pop()
        elif kind == "list_item_open":
            ordered, number = lists[-1]
            item_marker = f"{number}." if ordered else "•"
            lists[-1][1] = number + 1
        elif kind == "blockquote_open":
            quote += 1
        elif kind == "blockquote_close":
            quote -= 1
        elif kind == "heading_open":
            heading = token.tag
        elif kind == "heading_close":
            heading = None
        elif kind == "inline":
            text = _inline_text(token)
            if not text:
                continue
            if heading:
                blocks.append(Block(heading, text))
            elif lists and item_marker is not None:
                blocks.append(Block("li", text, item_marker))
                item_marker = None
            elif lists:
                blocks.append(Block("li", text))  # a second paragraph of the same item
            else:
                blocks.append(Block("quote" if quote else "p", text))
        elif kind in ("fence", "code_block"):
            text = token.content.strip("\n")
            if text:
                blocks.append(Block("code", text))
    return blocks


def _words(text: str) -> list[str]:
    # A word, or a sign on its own ("pagne." is "pagne" then "."), with the space after it.
    return re.findall(r"(?:\w[\w\u2019'-]*|[^\w\s])\s*", text)


STEP_COST = 200  # the least one comparison counts for: at most 7,500 of them per page


class _Budget:
    def __init__(self) -> None:
        self.left = TOTAL_BUDGET

    def allows(self, cost: int) -> bool:
        # Each comparison has a fixed cost too: thousands of one-word blocks must not pass
        # for free.
        cost = max(cost, STEP_COST)
        if cost > PAIR_BUDGET or cost > self.left:
            return False
        self.left -= cost
        return True


def _word_parts(old: str, new: str) -> tuple[tuple[DiffPart, ...], tuple[DiffPart, ...]]:
    """The old block with its removed words marked, the new one with its added words (rule 3)."""
    a, b = _words(old), _words(new)
    matcher = difflib.SequenceMatcher(a=[w.strip() for w in a], b=[w.strip() for w in b],
                                      autojunk=False)
    old_parts: list[DiffPart] = []
    new_parts: list[DiffPart] = []
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            old_parts.append(DiffPart("same", "".join(a[a1:a2])))
            new_parts.append(DiffPart("same", "".join(b[b1:b2])))
            continue
        if a2 > a1:
            old_parts.append(DiffPart("removed", "".join(a[a1:a2])))
        if b2 > b1:
            new_parts.append(DiffPart("added", "".join(b[b1:b2])))
    return tuple(old_parts), tuple(new_parts)


def _alike(old: Block, new: Block, budget: _Budget) -> bool:
    if old.kind != new.kind:
        return False
    a, b = old.text.split(), new.text.split()
    if not budget.allows(len(a) + len(b)):
        return False
    common = sum((Counter(a) & Counter(b)).values())
    return common >= _SIMILAR * max(len(a), len(b), 1)


def _pair(old: Block, new: Block, budget: _Budget) -> list[Row]:
    cost = len(old.text.split()) * len(new.text.split())
    if not budget.allows(cost):
        return [Row("removed", old, None, (DiffPart("removed", old.text),)),
                Row("added", None, new, (), (DiffPart("added", new.text),))]
    old_parts, new_parts = _word_parts(old.text, new.text)
    return [Row("changed", old, new, old_parts, new_parts)]


BLOCK_PAIRS_MAX = 250_000  # 500 by 500 blocks: far beyond a real article


def compare(old_text: str, new_text: str) -> list[Row]:
    """The rows of the comparison of two texts, in reading order (rules 1 to 4)."""
    old, new = blocks_of(old_text), blocks_of(new_text)
    budget = _Budget()
    # Aligning blocks costs up to len(old) * len(new) when blocks repeat (a text of thousands
    # of identical paragraphs): past BLOCK_PAIRS_MAX, blocks found in more than 1 % of the text
    # no longer anchor the alignment (difflib's autojunk), which keeps the cost near linear.
    matcher = difflib.SequenceMatcher(a=old, b=new,
                                      autojunk=len(old) * len(new) > BLOCK_PAIRS_MAX)
    rows: list[Row] = []
    for tag, a1, a2, b1, b2 in matcher.get_opcodes():
        if tag == "equal":
            rows.extend(Row("same", block, new[b1 + i]) for i, block in enumerate(old[a1:a2]))
            continue
        i, j = a1, b1
        while i < a2 or j < b2:
            if i < a2 and j < b2 and _alike(old[i], new[j], budget):
                rows.extend(_pair(old[i], new[j], budget))
                i, j = i + 1, j + 1
            elif i < a2 and (j >= b2 or a2 - i >= b2 - j):
                rows.append(Row("removed", old[i], None, (DiffPart("removed", old[i].text),)))
                i += 1
            else:
                rows.append(Row("added", None, new[j], (), (DiffPart("added", new[j].text),)))
                j += 1
    return rows


def sections(rows: list[Row]) -> list[Section]:
    """The rows grouped for display: runs of COLLAPSE_AFTER unchanged blocks or more folded
    (rule 5)."""
    out: list[Section] = []
    run: list[Row] = []

    def flush_run() -> None:
        if not run:
            return
        if len(run) >= COLLAPSE_AFTER:
            out.append(Section(list(run), folded=True))
        elif out and not out[-1].folded:
            out[-1].rows.extend(run)
        else:
            out.append(Section(list(run)))
        run.clear()

    for row in rows:
        if row.state == "same":
            run.append(row)
            continue
        flush_run()
        if out and not out[-1].folded:
            out[-1].rows.append(row)
        else:
            out.append(Section([row]))
    flush_run()
    return out


def counts(rows: list[Row]) -> dict[str, int]:
    """How many blocks changed, were added and were removed."""
    found = {"changed": 0, "added": 0, "removed": 0}
    for row in rows:
        if row.state in found:
            found[row.state] += 1
    return found
