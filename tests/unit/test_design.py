"""The design system holds: AA contrast of its colours, icons that exist, no emoji as icons,
and an order's progress told right for every status."""

from __future__ import annotations

import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask_babel import force_locale

from portal.branding import WHITE, BrandSettingError, contrast, ink_for, parse_color
from portal.orders.models import OrderStatus
from portal.orders.progress import ICONS, caption, order_progress
from portal.ui import STATUS_ICONS, _symbols, icon

ROOT = Path(__file__).resolve().parents[2]
CSS = (ROOT / "portal/static/css/portal.css").read_text(encoding="utf-8")
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))


def css_value(selector_line: str, name: str) -> str:
    return re.search(rf"{name}:\s*(#[0-9a-fA-F]{{6}})", selector_line).group(1)


@pytest.mark.parametrize("status", list(OrderStatus), ids=[s.value for s in OrderStatus])
def test_each_status_chip_has_its_colours_with_aa_contrast(status):
    rule = re.search(rf"\.status-{status.value} \{{([^}}]+)\}}", CSS)
    assert rule, f"no .status-{status.value} rule in portal.css"
    ink, background = css_value(rule.group(1), "--chip-ink"), css_value(rule.group(1), "--chip-bg")
    assert contrast(parse_color(ink), parse_color(background)) >= 4.5, (ink, background)


def test_status_chips_differ_by_colour_and_icon():
    backgrounds = {css_value(re.search(rf"\.status-{s.value} \{{([^}}]+)\}}", CSS).group(1),
                             "--chip-bg") for s in OrderStatus}
    assert len(backgrounds) == len(OrderStatus)
    assert len(set(STATUS_ICONS.values())) == len(OrderStatus)


@pytest.mark.parametrize("name", ["--portal-muted", "--portal-ink"])
def test_text_colours_read_on_the_page_and_on_cards(name):
    colour = parse_color(re.search(rf"{name}:\s*(#[0-9a-fA-F]{{6}})", CSS).group(1))
    page = parse_color(re.search(r"--portal-page:\s*(#[0-9a-fA-F]{6})", CSS).group(1))
    assert contrast(colour, page) >= 4.5
    assert contrast(colour, WHITE) >= 4.5


@pytest.mark.parametrize("value", ["#ffd400", "#7fd1ff", "#eeeeee", "#1f5f8b", "#000"])
def test_the_brand_ink_carries_white_text_whatever_the_colour(value):
    assert contrast(ink_for(parse_color(value)), WHITE) >= 4.5


def test_a_dark_enough_colour_is_kept_as_it_is():
    assert ink_for(parse_color("#1f5f8b")) == parse_color("#1f5f8b")


@pytest.mark.parametrize("value", ["blue", "#12345", "#gggggg", "", "rgb(1,2,3)", "#1234567"])
def test_a_colour_that_is_not_one_is_refused(value):
    with pytest.raises(BrandSettingError):
        parse_color(value)


def test_every_icon_the_templates_name_exists():
    used = set(STATUS_ICONS.values()) | set(ICONS) | {"x-lg", "check-lg"}
    for path in TEMPLATES:
        text = path.read_text(encoding="utf-8")
        used |= set(re.findall(r"(?:icon|empty_state)\(\s*'([a-z0-9-]+)'", text))
    home = (ROOT / "templates/main/home.html").read_text(encoding="utf-8")
    used |= set(re.findall(r": '([a-z0-9-]+)'", home))
    missing = sorted(used - set(_symbols()))
    assert not missing
    assert len(used) > 20


def test_an_unknown_icon_fails_loudly():
    with pytest.raises(KeyError):
        icon("no-such-icon")


def test_an_icon_is_hidden_from_screen_readers_unless_it_has_a_label():
    assert 'aria-hidden="true"' in icon("bell")
    labelled = icon("bell", label="Notifications <b>")
    assert '<span class="visually-hidden">Notifications &lt;b&gt;</span>' in labelled


# Emoji, dingbats and arrows drawn as text: they show as empty boxes without an emoji font.
EMOJI = re.compile("[\U0001F300-\U0001FAFF\u2600-\u27BF\u2190-\u21FF\u2B00-\u2BFF\uFE0F]")


@pytest.mark.parametrize("path", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT / "templates")))
def test_no_template_draws_an_icon_with_an_emoji(path):
    found = EMOJI.findall(path.read_text(encoding="utf-8"))
    assert not found, found


# --- an order's progress --------------------------------------------------------------------


def order(status, revisions=0):
    return SimpleNamespace(status=status, revisions_used=revisions)


def cancelled_from(status):
    return SimpleNamespace(to_status=OrderStatus.CANCELLED, from_status=status)


def states(progress):
    return [(step.state, step.current) for step in progress.steps]


@pytest.fixture
def english(app):
    with app.test_request_context(), force_locale("en"):
        yield


@pytest.mark.parametrize(("status", "expected"), [
    (OrderStatus.DRAFT, ["current", "upcoming", "upcoming", "upcoming", "upcoming"]),
    (OrderStatus.AWAITING_PAYMENT, ["done", "waiting", "upcoming", "upcoming", "upcoming"]),
    (OrderStatus.OPEN, ["done", "current", "upcoming", "upcoming", "upcoming"]),
    (OrderStatus.IN_PROGRESS, ["done", "done", "current", "upcoming", "upcoming"]),
    (OrderStatus.REVISION_REQUESTED, ["done", "done", "loop", "upcoming", "upcoming"]),
    (OrderStatus.DELIVERED, ["done", "done", "done", "current", "upcoming"]),
    (OrderStatus.APPROVED, ["done", "done", "done", "done", "done"]),
])
def test_the_steps_of_each_status(english, status, expected):
    progress = order_progress(order(status))
    assert [state for state, _current in states(progress)] == expected
    assert sum(current for _state, current in states(progress)) == 1


def test_a_revision_is_a_loop_back_to_writing_and_is_counted(english):
    progress = order_progress(order(OrderStatus.REVISION_REQUESTED, revisions=2))
    writing = progress.steps[2]
    assert writing.current and writing.note == "Revision requested"
    delivered = order_progress(order(OrderStatus.DELIVERED, revisions=2))
    assert delivered.steps[2].note == "2 revisions"
    assert caption(delivered) == "Step 4 of 5: Delivered"


def test_a_cancelled_order_shows_how_far_it_went_then_the_cancellation(english):
    events = [SimpleNamespace(to_status=OrderStatus.OPEN, from_status=OrderStatus.DRAFT),
              SimpleNamespace(to_status=OrderStatus.IN_PROGRESS, from_status=OrderStatus.OPEN),
              cancelled_from(OrderStatus.IN_PROGRESS)]
    progress = order_progress(order(OrderStatus.CANCELLED), events)
    assert states(progress) == [("done", False)] * 3 + [("cancelled", True)]
    assert progress.steps[-1].label == "Cancelled"
    assert caption(progress) == "Step 4 of 4: Cancelled"


def test_a_draft_cancelled_without_a_timeline_shows_the_draft_then_the_cancellation(english):
    progress = order_progress(order(OrderStatus.CANCELLED), [])
    assert states(progress) == [("done", False), ("cancelled", True)]


@pytest.mark.parametrize("root", ["", "/portail"])
def test_a_rows_link_is_url_for_built_once_with_each_rows_id(app, root):
    """row_url builds the URL once (application root, prefix, query) and puts each row's id
    in; what it gives is what url_for gives, escaped as the page escapes it."""
    from flask import url_for
    from markupsafe import escape

    from portal.ui import row_url

    with app.test_request_context("/", base_url=f"http://localhost{root}/"):
        detail = row_url("orders.detail", "order_id")
        paged = row_url("agency.dashboard", "page", q="a&b <c>", status="open")
        anchored = row_url("orders.detail", "order_id", _anchor="conversation")
        for order_id in (1, 42, 987_654_321, 10**15):
            assert detail(order_id) == escape(url_for("orders.detail", order_id=order_id))
            assert detail(order_id).startswith(f"{root}/orders/")
            assert anchored(order_id) == escape(
                url_for("orders.detail", order_id=order_id, _anchor="conversation"))
        assert paged(3) == escape(url_for("agency.dashboard", page=3, q="a&b <c>",
                                          status="open"))
        assert "&amp;" in paged(3) and "<" not in paged(3)
        with pytest.raises(ValueError):
            detail("1 onclick=x")  # an id is an int, nothing else goes into the link
        # A search that holds the marker's digits: each link is built by url_for, not a 500.
        searched = row_url("agency.dashboard", "page", q="x987654321987")
        assert searched(2) == escape(url_for("agency.dashboard", page=2, q="x987654321987"))
