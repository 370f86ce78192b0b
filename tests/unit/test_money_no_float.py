"""No float touches money: the money code of the portal (portal/billing, the pricing of orders,
the formatting of amounts) has no float literal, no float(), no round() and no true division.
Read from the source, so a change that brings one back fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import portal

ROOT = Path(portal.__file__).parent
MONEY_CODE = [*sorted((ROOT / "billing").glob("*.py")), ROOT / "orders" / "pricing.py",
              ROOT / "i18n.py"]


def floats_in(source: str) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(source)):
        line = getattr(node, "lineno", "?")
        if isinstance(node, ast.Constant) and isinstance(node.value, float):
            found.append(f"{line}: float literal {node.value!r}")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in ("float", "round"):
            found.append(f"{line}: {node.func.id}()")
        elif isinstance(node, ast.BinOp | ast.AugAssign) and isinstance(node.op, ast.Div):
            found.append(f"{line}: true division")
    return found


def test_the_money_code_has_no_float():
    found = [f"{path.relative_to(ROOT.parent)}:{line}" for path in MONEY_CODE
             for line in floats_in(path.read_text())]
    assert found == [], "money is integers of the minor unit:\n" + "\n".join(found)


def test_the_check_sees_a_float_when_there_is_one():
    sample = "def vat(total):\n    return round(total * 0.18)\n\nthird = 1 / 3\nx = float('1')\n"
    assert sorted(line.split(": ", 1)[1] for line in floats_in(sample)) == \
        ["float literal 0.18", "float()", "round()", "true division"]


def test_amounts_with_a_minor_unit_are_formatted_exactly(app):
    from flask_babel import force_locale

    from portal.i18n import format_money

    with app.test_request_context(), force_locale("en"):
        assert format_money(1_234_567_890_123_456_7, "EUR") == "€123,456,789,012,345.67"
        assert format_money(12_500, "XOF") == "12,500\u00a0F\u202fCFA"
