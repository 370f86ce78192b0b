"""Text people type is text. A one-line field (a title, a name, a search) refuses line breaks,
tabs and every other control character; a multi-line field keeps its line breaks, stored as
LF, and its tabs, and refuses the other control characters. The rule is PortalForm's, so every
form of the portal has it, JSON bodies (the editor's autosave) included.

A title with a line break went into email subjects: `A\\r\\nBcc: x@example.test` stalled the
whole outbox (issue 10).
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
import wtforms

import portal
from portal.extensions import db
from portal.forms import PortalForm, PortalSubForm
from portal.notifications.models import OutboxEmail
from portal.orders.models import Draft, Order
from tests.http.orders_helpers import OrderWorld
from tests.http.pages import field_error
from tests.http.writing_helpers import act, catalogue, page_csrf, place_order, qualify

ONE_LINE = "Write this on one line of plain text: line breaks and invisible control " \
           "characters are not accepted."
LINES = "This text holds invisible control characters: remove them and send it again."
HEADER_INJECTION = "A\r\nBcc: x@example.test"
NOT_ONE_LINE = [HEADER_INJECTION, "A\nB", "A\rB", "tab\there", "\x1b[31mred", "bell\x07",
                "del\x7f", "next\x85line", "line\u2028separator", "para\u2029graph", "c1\x9b"]


@pytest.fixture(autouse=True)
def known_day(time_machine):
    # The brief's deadlines stay within the agency's horizon whatever day the suite runs.
    time_machine.move_to(datetime(2026, 11, 26, 9, 0, tzinfo=UTC), tick=True)


@pytest.fixture
def world(app, factory) -> OrderWorld:
    return OrderWorld(app, factory)


@pytest.fixture
def ama(signed_in):
    return signed_in("client")


def post_brief(client, data):
    return client.submit("/orders/new", data, page="/orders/new")


# --- every form ---------------------------------------------------------------------------


def portal_forms() -> set[type]:
    """Every form class the portal's modules define."""
    for module in pkgutil.walk_packages(portal.__path__, "portal."):
        importlib.import_module(module.name)
    found, todo = set(), [wtforms.form.BaseForm]
    while todo:
        for sub in todo.pop().__subclasses__():
            todo.append(sub)
            if sub.__module__.startswith("portal."):
                found.add(sub)
    return found


def test_every_form_of_the_portal_is_a_portal_form():
    forms = portal_forms()
    assert len(forms) > 30  # the walk found them
    assert sorted(f.__qualname__ for f in forms
                  if not issubclass(f, PortalForm | PortalSubForm)) == []
    # Nor is one built elsewhere on Flask-WTF's or WTForms' own base (a class made in a view).
    root = Path(portal.__file__).parent
    base = re.compile(r"\bFlaskForm\b|\bwtforms\.(?:form\.)?(?:Base)?Form\b"
                      r"|\(\s*(?:Base)?Form\s*[,)]")
    offenders = [str(path.relative_to(root)) for path in root.rglob("*.py")
                 if path.name != "forms.py" or path.parent != root
                 if base.search(path.read_text(encoding="utf-8"))]
    assert offenders == []


# --- one-line fields ----------------------------------------------------------------------


def test_a_title_with_a_header_in_it_is_refused_and_nothing_is_stored(ama, world, stored):
    response = post_brief(ama, world.form(title=HEADER_INJECTION, save_draft=None,
                                          save_submit="Save and submit"))
    assert response.status_code == 422
    assert ONE_LINE in field_error(response, "title")
    assert stored(Order) == 0
    assert stored(OutboxEmail) == 0


@pytest.mark.parametrize("value", NOT_ONE_LINE, ids=repr)
def test_one_line_fields_refuse_line_breaks_and_control_characters(ama, world, stored, value):
    for field in ("title", "tone", "audience", "primary_keyword"):
        data = world.form(**{field: f"Dix idées {value}"})
        response = post_brief(ama, data)
        assert response.status_code == 422, field
        assert ONE_LINE in field_error(response, field)
    assert stored(Order) == 0


def test_one_line_fields_keep_what_people_write(ama, world, load):
    title = "Lomé « la belle » — 10 idées, café & thé ☕ \u202f!"
    response = post_brief(ama, world.form(title=title))
    assert response.status_code == 302
    assert load(Order, client_id=ama.user.id).title == title


def test_a_display_name_with_a_line_break_is_refused(signed_in, load):
    browser = signed_in("client", name="Ama Mensah")
    response = browser.submit("/settings/profile", {
        "display_name": "Ama\r\nBcc: x@example.test", "locale": "en", "timezone": "UTC"})
    assert response.status_code == 422
    assert ONE_LINE in field_error(response, "display_name")
    assert load(type(browser.user), id=browser.user.id).display_name == "Ama Mensah"


# --- multi-line fields --------------------------------------------------------------------


def test_multi_line_fields_keep_their_lines_as_lf_and_their_tabs(ama, world, load):
    # A vertical tab is the manual line break of text pasted from PowerPoint or Word.
    response = post_brief(ama, world.form(
        instructions="Line one\r\nLine two\rthree\u2028four\n\tindented\x0bpasted\x0cpage"
                     "\x85next"))
    assert response.status_code == 302
    order = load(Order, client_id=ama.user.id)
    assert order.instructions == \
        "Line one\nLine two\nthree\nfour\n\tindented\npasted\npage\nnext"


@pytest.mark.parametrize("value", ["\x1b[31m", "\x00", "\x07", "\x7f", "\x1c", "\x9b",
                                   "\ufffe", "\uffff"], ids=repr)
def test_multi_line_fields_refuse_other_control_characters(ama, world, stored, value):
    response = post_brief(ama, world.form(instructions=f"Un ton vivant.{value}\nFin."))
    if value == "\x00":
        assert response.status_code == 400  # the request guard: PostgreSQL cannot hold it
    else:
        assert response.status_code == 422
        assert LINES in field_error(response, "instructions")
    assert stored(Order) == 0


# --- JSON: the editor's autosave ----------------------------------------------------------


@pytest.fixture
def claimed(app, person):
    cat = catalogue(app)
    shop = person("client")
    writer = person("writer")
    qualify(app, writer, languages=["fr"], tiers=[cat.standard])
    order_id = place_order(app, shop, cat)
    act(app, order_id, writer, "claim")
    return order_id, writer


def test_the_autosave_keeps_lines_and_tabs_and_refuses_other_controls(app, claimed,
                                                                      signed_in):
    order_id, writer = claimed
    browser = signed_in(writer)
    token = page_csrf(browser.get(f"/work/orders/{order_id}"))
    headers = {"Accept": "application/json", "X-CSRFToken": token}

    refused = browser.post(f"/work/orders/{order_id}/draft", headers=headers,
                           json={"text": "Un texte\x1b[2J effacé", "base_version": 0})
    assert refused.status_code == 400
    assert refused.json["ok"] is False and refused.json["error"] == LINES
    with app.app_context():
        assert db.session.get(Draft, order_id) is None

    saved = browser.post(f"/work/orders/{order_id}/draft", headers=headers,
                         json={"text": "# Titre\r\n\n\tcode\rfin", "base_version": 0})
    assert saved.status_code == 200, saved.json
    with app.app_context():
        assert db.session.get(Draft, order_id).text == "# Titre\n\n\tcode\nfin"


# --- addresses the portal writes to -------------------------------------------------------


def test_sign_up_refuses_an_address_smtp_cannot_carry(visitor, stored):
    from portal.accounts.models import User

    response = visitor.submit("/signup", {
        "display_name": "Élodie", "email": "élodie@exemple.test",
        "password": "une phrase de passe assez longue 2031",
        "confirm": "une phrase de passe assez longue 2031", "locale": "en", "timezone": "UTC"})
    assert response.status_code in (200, 422)  # the form again
    assert "cannot reach an address with accents" in field_error(response, "email")
    assert stored(User) == 0 and stored(OutboxEmail) == 0


def test_an_account_with_such_an_address_still_logs_in(factory, make_client):
    # Stored before the rule: its owner is not locked out.
    user = factory.user("client", email="élodie@exemple.test")
    response = make_client().login(user.email, factory.PASSWORD)
    assert response.status_code == 302


# --- the outbox keeps going ---------------------------------------------------------------


def test_a_hostile_title_between_ordinary_orders_stops_no_email(app, ctx, world, signed_in,
                                                                 person, mailbox):
    """Issue 10's story: a title with a header in it, submitted between ordinary orders, is
    refused at the form; a row an older version stored with line breaks (in its subject, in its
    address) waits in the outbox among the others. One pass of the running worker delivers
    every ordinary email, the subject made safe, and fails the row that cannot be sent."""
    import signal

    from portal.notifications.models import OutboxStatus
    from portal.notifications.outbox import queue_email
    from portal.notifications.worker import run_worker

    managers = [person("manager"), person("manager")]
    first, attacker, last = signed_in("client"), signed_in("client"), signed_in("client")
    submit = {"save_draft": None, "save_submit": "Save and submit"}

    assert post_brief(first, world.form(title="Un premier article", **submit)).status_code == 302
    refused = post_brief(attacker, world.form(title=HEADER_INJECTION, **submit))
    assert refused.status_code == 422 and ONE_LINE in field_error(refused, "title")
    with ctx() as session:  # stored before the forms refused line breaks
        for key, address, subject in (
                ("old:subject", "old-reader@example.test", HEADER_INJECTION),
                ("old:address", "victim@example.test\r\nBcc: x@example.test", "Bonjour")):
            queue_email(kind="reset_password", key=key, to=address, subject=subject,
                        locale="en", user=attacker.user, link="http://127.0.0.1/x", minutes=60)
        session.commit()
    assert post_brief(last, world.form(title="Un dernier article", **submit)).status_code == 302

    said: list[str] = []
    handlers = signal.getsignal(signal.SIGTERM), signal.getsignal(signal.SIGINT)
    try:
        run_worker(app, interval=0, once=True, echo=said.append)
    finally:
        signal.signal(signal.SIGTERM, handlers[0])
        signal.signal(signal.SIGINT, handlers[1])

    ordinary = [first.user.email, last.user.email, "old-reader@example.test",
                *(m.email for m in managers for _order in (1, 2))]
    delivered = [str(m["To"]) for m in mailbox.messages]
    assert sorted(delivered) == sorted(ordinary)
    assert str(mailbox.last_to("old-reader@example.test")["Subject"]) == \
        "A Bcc: x@example.test"
    assert not any("x@example.test" in str(m.get("Bcc", "")) for m in mailbox.messages)
    assert attacker.user.email not in delivered  # refused: nothing was queued for it
    with ctx() as session:
        statuses = dict(session.execute(
            sa.select(OutboxEmail.recipient, OutboxEmail.status)).all())
    assert statuses.pop("victim@example.test\r\nBcc: x@example.test") is OutboxStatus.FAILED
    assert set(statuses.values()) == {OutboxStatus.SENT}
    assert f"sent {len(ordinary)}, retry 0, failed 1" in " ".join(said)


def test_a_cancellation_reason_with_a_control_character_is_refused_plainly(world, ama, load):
    # Found by the fuzzing of every text field: the refusal's message reached a view that
    # joins a field's errors as text (a 500 while it was a lazy string).
    from portal.orders.models import OrderStatus

    order_id = world.order(ama.user, OrderStatus.OPEN)
    response = ama.submit(f"/orders/{order_id}/cancel", {"reason": "Plus besoin\x1b[2J"},
                          page=f"/orders/{order_id}")
    assert response.status_code < 500
    assert load(Order, id=order_id).status is OrderStatus.OPEN


def test_a_sub_form_takes_the_rule_of_text_fields_too(app):
    """A payout line (a sub-form of the batch's form) refuses a header in its reference."""
    from werkzeug.datastructures import MultiDict

    from portal.billing.forms import PayoutLineForm

    with app.test_request_context():
        form = PayoutLineForm(formdata=MultiDict({"reference": "TX-1\r\nBcc: x@example.test",
                                                  "method": "flooz"}))
        assert not form.validate()
        assert form.reference.errors and "ligne" in form.reference.errors[0]
