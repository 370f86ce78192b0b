"""The shortcuts that keep list pages cheap give exactly what the slow paths give: dates and
amounts as Babel formats them (in the portal's named forms), the templates' strings in the
language of the moment (emails included, under force_locale), WTForms' messages translated,
badges translated and escaped. Each test compares with the library's own answer, so a shortcut
that drifts fails here."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from babel.dates import format_date, format_skeleton, format_time, get_datetime_format
from babel.numbers import format_currency, format_decimal, get_currency_precision
from flask import render_template_string, session
from flask_babel import force_locale
from wtforms import IntegerField, SelectChoice, SelectField

from portal import forms as portal_forms
from portal.forms import PortalForm
from portal.i18n import format_local, format_money, format_number
from portal.messaging.service import render_message
from portal.messaging.views import unread_badge
from portal.orders.models import STATUS_LABELS, OrderStatus
from portal.ui import status_badge

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


@pytest.fixture(autouse=True)
def agency_zone(app):
    """`_request` sets the agency's zone on the shared app: every test here puts it back."""
    saved = app.config["AGENCY_TIMEZONE"]
    yield
    app.config["AGENCY_TIMEZONE"] = saved


def _babel_three_steps(instant, form, language, zone):
    """What Babel's own functions give for one of the portal's named forms: the date and the
    time formatted apart and put into the locale's glue, as babel.dates.format_datetime does."""
    local = instant.astimezone(ZoneInfo(zone))
    forms = {"short": ("medium", "short", "medium"), "long": ("full", "short", "long")}
    if form in forms:
        date_format, time_format, glue = forms[form]
        return (get_datetime_format(glue, locale=language).replace("'", "")
                .replace("{0}", format_time(local, time_format, locale=language))
                .replace("{1}", format_date(local.date(), date_format, locale=language)))
    if form == "date":
        return format_date(local.date(), "medium", locale=language)
    if form == "day":
        return format_date(local.date(), "long", locale=language)
    if form == "time":
        return format_time(local, "short", locale=language)
    return format_skeleton("yMMMM", local, locale=language)


@pytest.mark.parametrize("language", ["fr", "en"])
@pytest.mark.parametrize("zone", ZONES)
def test_dates_read_as_babel_writes_them(app, agency_zone, language, zone):
    context = _request(app, language, zone)
    try:
        for form in ("short", "long", "date", "day", "time", "month"):
            for instant in INSTANTS:
                expected = _babel_three_steps(instant, form, language, zone)
                assert format_local(instant, form) == expected, (form, instant)
                # A second call reuses the parsed pattern and must not differ either.
                assert format_local(instant, form) == expected
                assert ":07" not in expected  # never seconds (the last instant has 7)
        naive = datetime(2026, 6, 1, 8, 0)  # naive values are UTC
        assert format_local(naive, "short") == _babel_three_steps(
            naive.replace(tzinfo=UTC), "short", language, zone)
        assert format_local(None) == ""
        with pytest.raises(ValueError):
            format_local(INSTANTS[0], "d MMM y, HH:mm")  # no page invents its own pattern
    finally:
        context.pop()


@pytest.mark.parametrize(("language", "currency"), [
    ("fr", "XOF"), ("fr", "EUR"), ("fr", "USD"), ("fr", "JPY"), ("fr", "GHS"),
    ("en", "EUR"), ("en", "USD"), ("en", "JPY"),  # a sign: Babel's English form
])
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


def test_numbers_read_as_babel_writes_them_in_each_language_in_turn(app):
    """The kept numbers are per language (and per type: 2 and 2.5 are not 2.0)."""
    for language in ("fr", "en", "fr"):
        context = _request(app, language, "UTC")
        try:
            for value in (0, 7, 1_200, 987_654_321, -45, 2.0, 2.5, 1234.5678):
                assert format_number(value) == format_decimal(value, locale=language), value
            assert format_number(None) == ""
            # -0.0 equals 0.0 (one key of the cache), whichever comes first: both are 0.
            assert [format_number(v) for v in (-0.0, 0.0, -0.0)] == ["0", "0", "0"]
        finally:
            context.pop()


def test_the_cfa_franc_is_written_after_the_amount_in_both_languages(app):
    """English CLDR writes "F CFA12,000": a symbol of letters goes after the amount."""
    context = _request(app, "en", "UTC")
    try:
        assert format_money(12_000, "XOF") == "12,000\u00a0F\u202fCFA"
        assert format_money(-500, "XOF") == "-500\u00a0F\u202fCFA"
        assert format_money(1_234_50, "GHS") == "1,234.50\u00a0GHS"
        with force_locale("fr"):
            assert format_money(12_000, "XOF") == format_currency(12_000, "XOF", locale="fr")
            assert format_money(12_000, "XOF") == "12\u202f000\u00a0F\u202fCFA"
    finally:
        context.pop()


def test_one_process_two_languages_never_mix(app, agency_zone):
    """The parsed patterns are kept per language: a French reader never gets an English date
    or amount that an English reader's request prepared a moment before."""
    instant = INSTANTS[-1]
    english = _request(app, "en", "America/New_York")
    try:
        seen_en = (format_local(instant, "long"), format_money(150000, "XOF"))
    finally:
        english.pop()
    french = _request(app, "fr", "Africa/Lome")
    try:
        seen_fr = (format_local(instant, "long"), format_money(150000, "XOF"))
        assert seen_fr == (_babel_three_steps(instant, "long", "fr", "Africa/Lome"),
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
            english_date = _babel_three_steps(when, "long", "en", "UTC")
        again = render_template_string(template, status=OrderStatus.APPROVED, when=when,
                                       amount=150000)
    finally:
        context.pop()
    assert french == again
    assert french.split("|")[0] == "Mes commandes"
    assert english.split("|")[0] == "My orders"
    assert french.split("|")[1] != english.split("|")[1]
    assert english.split("|")[2] == english_date
    assert english_date.startswith("Tuesday, December 31, 2030")
    assert french.split("|")[2].startswith("mardi 31 décembre 2030")


def test_status_badges_are_translated_per_language(app):
    """The chips are kept per language (an lru_cache keyed by it): each language gets its own."""
    context = _request(app, "fr", "UTC")
    try:
        french = str(STATUS_LABELS[OrderStatus.DRAFT])
        assert french in status_badge(OrderStatus.DRAFT)
        with force_locale("en"):
            english = str(STATUS_LABELS[OrderStatus.DRAFT])
            assert 'data-testid="status"' in status_badge(OrderStatus.DRAFT)
            assert english in status_badge(OrderStatus.DRAFT)
            assert french not in status_badge(OrderStatus.DRAFT)
        assert french != english
        assert french in status_badge(OrderStatus.DRAFT)
        assert english not in status_badge(OrderStatus.DRAFT)
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


class _Probe(PortalForm):
    class Meta:
        csrf = False

    choice = SelectField(choices=[SelectChoice("a", "A")])
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


def test_a_message_is_rendered_without_a_per_process_memo():
    """The HTML is stored with the message when it is posted (Message.html), so the renderer
    keeps no cache of its own (issue 14: up to about 60 MB per worker)."""
    body = "**Bonjour** <script>alert(1)</script> https://example.com\n\n- un\n- deux"
    first = render_message(body)
    assert "<script>" not in first and "**Bonjour**" in first
    assert '<a href="https://example.com"' in first
    assert render_message(body) == first
    assert not hasattr(render_message, "cache_info")



def test_an_email_is_dated_in_its_recipients_zone(app, agency_zone):
    """in_zone (queue_email's, with the recipient's setting) wins over the viewer's zone, and
    only inside its block; an unknown name leaves the viewer's zone."""
    from portal.i18n import format_in_zone, in_zone

    instant = datetime(2026, 12, 9, 1, 0, tzinfo=UTC)
    context = _request(app, "fr", "Africa/Lome")
    try:
        assert format_local(instant) == "9 déc. 2026, 01:00"
        with in_zone("Europe/Paris"):
            assert format_local(instant) == "9 déc. 2026, 02:00"
            assert render_template_string("{{ when|datetime }}", when=instant) \
                == "9 déc. 2026, 02:00"
        assert format_local(instant) == "9 déc. 2026, 01:00"
        with in_zone("Nowhere/Atlantis"):
            assert format_local(instant) == "9 déc. 2026, 01:00"
        assert format_in_zone(instant, "Asia/Kolkata", "time") == "06:30"
    finally:
        context.pop()


def test_int_parameters_of_translated_strings_are_grouped(app):
    """Templates and Python alike: "%(num)d words" with 1200 reads "1 200 mots"; text
    parameters and %% are left alone."""
    from flask_babel import gettext, lazy_gettext

    context = _request(app, "fr", "UTC")
    try:
        page = render_template_string(
            "{{ ngettext('%(num)d word', '%(num)d words', 1200) }}|"
            "{{ _('%(min)d to %(max)d words', min=1000, max=20000) }}")
        assert page == "1\u202f200 mots|1\u202f000 à 20\u202f000 mots"
        assert gettext("At most %(max)d characters.", max=10_000) \
            == "Au plus 10\u202f000 caractères."
        assert str(lazy_gettext("At most %(max)d characters.", max=5000)) \
            == "Au plus 5\u202f000 caractères."
        with force_locale("en"):
            assert gettext("At most %(max)d characters.", max=10_000) \
                == "At most 10,000 characters."
    finally:
        context.pop()
