"""The shortcuts that keep list pages cheap give exactly what the slow paths give: dates and
amounts as Babel formats them, the templates' strings in the language of the moment (emails
included, under force_locale), WTForms' messages translated, badges translated and escaped.
Each test compares with the library's own answer, so a shortcut that drifts fails here."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from babel.numbers import format_currency, get_currency_precision
from flask import render_template_string, session
from flask_babel import force_locale, format_datetime
from wtforms import IntegerField, SelectField

from portal import forms as portal_forms
from portal.forms import PortalForm
from portal.i18n import format_local, format_money, translated
from portal.messaging.service import render_message
from portal.messaging.views import unread_badge
from portal.orders.models import STATUS_LABELS, OrderStatus
from portal.orders.views import status_badge

INSTANTS = [
    datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
    datetime(2026, 3, 29, 0, 59, 59, tzinfo=UTC),  # Europe's spring change, a second before
    datetime(2026, 3, 29, 1, 0, tzinfo=UTC),
    datetime(2026, 10, 25, 0, 30, tzinfo=UTC),  # autumn: the hour that happens twice
    datetime(2026, 10, 25, 1, 30, tzinfo=UTC),
    datetime(2024, 2, 29, 23, 59, tzinfo=UTC),
    datetime(2030, 12, 31, 12, 5, 7, tzinfo=UTC),
]
ZONES = ["Africa/Lome", "Europe/Paris", "America/New_York", "Asia/Kolkata", "Pacific/Chatham"]


def _request(app, language: str, zone: str):
    context = app.test_request_context("/")
    context.push()
    session["locale"] = language
    app.config["AGENCY_TIMEZONE"] = zone
    return context


@pytest.fixture
def agency_zone(app):
    saved = app.config["AGENCY_TIMEZONE"]
    yield
    app.config["AGENCY_TIMEZONE"] = saved


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("zone", ZONES)
def test_dates_read_as_babel_writes_them(app, agency_zone, language, zone):
    context = _request(app, language, zone)
    try:
        for fmt in ("short", "medium", "long", "full", "d MMM y, HH:mm", "HH:mm:ss"):
            for instant in INSTANTS:
                expected = format_datetime(instant, fmt)
                assert format_local(instant, fmt) == expected, (fmt, instant)
                # A second call comes from the memo and must not differ either.
                assert format_local(instant, fmt) == expected
        naive = datetime(2026, 6, 1, 8, 0)  # naive values are UTC, as flask_babel reads them
        assert format_local(naive, "short") == format_datetime(naive, "short")
        assert format_local(None) == ""
    finally:
        context.pop()


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("currency", ["XOF", "EUR", "USD", "JPY", "GHS"])
def test_amounts_read_as_babel_writes_them(app, language, currency):
    context = _request(app, language, "UTC")
    try:
        digits = get_currency_precision(currency)
        for minor in (0, 1, 99, 100, 12_345, 1_000_000, 987_654_321, 2**31 - 1):
            value = minor / 10**digits if digits else minor
            assert format_money(minor, currency) == format_currency(value, currency,
                                                                    locale=language)
        assert format_money(None, currency) == ""
    finally:
        context.pop()


def test_one_process_two_languages_never_mix(app, agency_zone):
    """The memos are keyed by language and zone: a French reader never gets an English date
    that an English reader put there a moment before."""
    instant = INSTANTS[-1]
    english = _request(app, "en", "America/New_York")
    try:
        seen_en = (format_local(instant, "long"), format_money(150000, "XOF"))
    finally:
        english.pop()
    french = _request(app, "fr", "Africa/Lome")
    try:
        seen_fr = (format_local(instant, "long"), format_money(150000, "XOF"))
        assert seen_fr == (format_datetime(instant, "long"),
                           format_currency(150000, "XOF", locale="fr"))
    finally:
        french.pop()
    assert seen_en != seen_fr


def test_templates_follow_force_locale(app):
    """An email written during a French request to an English reader is in English: the
    templates' catalog shortcut follows force_locale, and so do labels, dates and money."""
    template = ("{{ _('My orders') }}|{{ status_labels[status] }}|{{ when|datetime('long') }}|"
                "{{ amount|money('XOF') }}")
    when = INSTANTS[-1]
    context = _request(app, "fr", "UTC")
    try:
        french = render_template_string(template, status=OrderStatus.APPROVED, when=when,
                                        amount=150000)
        with force_locale("en"):
            english = render_template_string(template, status=OrderStatus.APPROVED, when=when,
                                             amount=150000)
            english_date = format_datetime(when, "long")
        again = render_template_string(template, status=OrderStatus.APPROVED, when=when,
                                       amount=150000)
    finally:
        context.pop()
    assert french == again
    assert french.split("|")[0] == "Mes commandes"
    assert english.split("|")[0] == "My orders"
    assert french.split("|")[1] != english.split("|")[1]
    assert english.split("|")[2] == english_date
    assert english_date.startswith("December 31, 2030")
    assert french.split("|")[2].startswith("31 décembre 2030")


def test_label_tables_are_translated_per_language(app):
    context = _request(app, "fr", "UTC")
    try:
        french = translated(STATUS_LABELS)
        assert french[OrderStatus.DRAFT] == str(STATUS_LABELS[OrderStatus.DRAFT])
        with force_locale("en"):
            english = translated(STATUS_LABELS)
            assert english[OrderStatus.DRAFT] == str(STATUS_LABELS[OrderStatus.DRAFT])
            assert 'data-testid="status"' in status_badge(OrderStatus.DRAFT)
            assert english[OrderStatus.DRAFT] in status_badge(OrderStatus.DRAFT)
        assert french[OrderStatus.DRAFT] != english[OrderStatus.DRAFT]
        assert french[OrderStatus.DRAFT] in status_badge(OrderStatus.DRAFT)
    finally:
        context.pop()


def test_unread_badge_is_translated_escaped_and_absent_at_zero(app):
    context = _request(app, "fr", "UTC")
    try:
        assert unread_badge(7, {7: 0}) == ""
        assert unread_badge(7, {}) == ""
        assert unread_badge(7, None) == ""
        one, three = unread_badge(7, {7: 1}), unread_badge(7, {7: 3})
        assert 'href="/orders/7#conversation"' in one
        assert "1 message non lu" in one and "3 messages non lus" in three
        with force_locale("en"):
            assert "3 unread messages" in unread_badge(7, {7: 3})
    finally:
        context.pop()


def test_the_portal_select_draws_what_wtforms_draws(app):
    """portal.forms.SelectField (PlainSelect) against WTForms' own Select: plain, selected,
    escaped, lazy labels, values that are not strings, extra attributes, groups."""
    import wtforms
    from flask_babel import lazy_gettext

    from portal.forms import SelectField

    choices = [("", lazy_gettext("All statuses")), ("a&b", 'Say "hi" <b>'), ("7", "Yao"),
               (8, "Eight"), ("x", "")]
    grouped = [wtforms.SelectChoice("g1", "One", optgroup="Group <1>"),
               wtforms.SelectChoice("g2", "Deux", render_kw={"disabled": True}, optgroup="Two")]

    class Ours(PortalForm):
        class Meta:
            csrf = False

        one = SelectField(choices=choices)
        many = SelectField(choices=grouped)
        flags = SelectField(choices=[(True, "Yes"), (False, "No")], coerce=bool)

    class Theirs(PortalForm):
        class Meta:
            csrf = False

        one = wtforms.SelectField(choices=choices)
        many = wtforms.SelectField(choices=grouped)
        flags = wtforms.SelectField(choices=[(True, "Yes"), (False, "No")], coerce=bool)

    for data in ({}, {"one": "a&b", "many": "g2", "flags": "1"}, {"one": "7"}, {"one": "8"}):
        with app.test_request_context("/", query_string=data):
            from flask import request

            ours, theirs = Ours(request.args), Theirs(request.args)
            for name in ("one", "many", "flags"):
                assert ours[name](class_="form-select") == theirs[name](class_="form-select")
                assert ours[name]() == theirs[name]()


class _Probe(PortalForm):
    class Meta:
        csrf = False

    choice = SelectField(choices=[("a", "A")])
    number = IntegerField()


@pytest.mark.parametrize(("language", "message"), [("fr", "N'est pas un choix valide."),
                                                   ("en", "Not a valid choice.")])
def test_wtforms_messages_in_the_reader_language_from_one_loaded_catalog(app, language,
                                                                          message):
    for _round in range(3):
        with app.test_request_context("/", method="POST", data={"choice": "z", "number": "x"}):
            session["locale"] = language
            form = _Probe()
            assert not form.validate()
            assert form.errors["choice"] == [message]
        if _round == 0:
            loaded = portal_forms._wtforms_catalog.cache_info().misses
    assert portal_forms._wtforms_catalog.cache_info().misses == loaded


def test_rendered_messages_are_memoised_and_identical():
    body = "**Bonjour** <script>alert(1)</script> [lien](https://example.com)\n\n- un\n- deux"
    first = render_message(body)
    assert "<script>" not in first and "<strong>Bonjour</strong>" in first
    assert render_message(body) is first  # from the memo, same object
    render_message.cache_clear()
    assert render_message(body) == first
    assert render_message.cache_info().maxsize <= 4096

