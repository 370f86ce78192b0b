"""Building emails: render both parts in the recipient's language and add an outbox row.

Nothing here talks to SMTP. The row joins the caller's transaction, so a change that is rolled
back sends nothing, and the dispatcher delivers what was committed: each row once, except that
a worker dying between the relay's answer and its commit sends at most one group
(MAIL_GROUP_SIZE) again (portal/notifications/dispatcher.py).

Emails are rendered by their own Jinja environment (`email_templates`), where every value a
template prints is escaped unless it is real Markup: see `as_text`.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections import ChainMap
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from jinja2 import Environment, pass_context, pass_eval_context
from jinja2.filters import do_join, make_attrgetter
from markupsafe import Markup, escape
from sqlalchemy import select

from portal.branding import email_brand
from portal.extensions import db
from portal.i18n import in_zone
from portal.notifications.models import OutboxEmail


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link for an email, built from BASE_URL and never from a request's Host."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http"
    )
    return adapter.build(endpoint, values, force_external=True)


def as_text(value: Any) -> Any:
    """What an email may print of a value: plain text, which Jinja escapes, unless the value
    is Markup (built by escaping what went into it).

    Anything else that has `__html__` only claims to be safe HTML: flask_babel's lazy strings
    have it, so `_l("New order: %(title)s", title=order.title)` would put a person's title in
    the HTML part as markup. Lists, tuples, sets, dicts and dataclasses are converted item by
    item (filters such as `join`, and `~`, trust items with `__html__` too)."""
    if isinstance(value, Markup):
        return value
    if hasattr(value, "__html__"):
        return str(value)
    kind = type(value)
    if kind is dict:
        return {key: as_text(item) for key, item in value.items()}
    if kind in (list, tuple, set, frozenset):
        return kind(as_text(item) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{
            f.name: as_text(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init
        })
    return value


def _translations_as_text(translate):
    """The templates' newstyle gettext with its %-parameters as text: Jinja formats them into
    Markup, which escapes a value unless it has `__html__` (a lazy string)."""

    @pass_context
    def translated(context, *args, **variables):
        return translate(context, *args, **{k: as_text(v) for k, v in variables.items()})

    return translated


@pass_eval_context
def _join(eval_ctx, value, separator="", attribute=None):
    """Jinja's `join`, which keeps items with `__html__` unescaped, over text."""
    if attribute is not None:
        value = map(make_attrgetter(eval_ctx.environment, attribute), value)
    return do_join(eval_ctx, [as_text(item) for item in value], as_text(separator))


def _escape(value):
    return escape(as_text(value))


_TRANSLATIONS = ("gettext", "ngettext", "pgettext", "npgettext")


def email_templates() -> Environment:
    """The app's Jinja environment for emails: the pages' templates, filters and globals, where
    what a template prints, the parameters of `_()` and the items of `join` go through
    `as_text` (so are escaped in the HTML part) whatever object carries them. Built once per
    app. queue_email also converts its whole context, for what the template combines itself
    (`~`)."""
    app = current_app._get_current_object()
    env = app.extensions.get("portal.email_templates")
    if env is None:
        pages = app.jinja_env
        # Its own template cache: a template compiled for the pages has no finalize step.
        env = pages.overlay(finalize=as_text, cache_size=100)
        env.globals = ChainMap(
            {name: _translations_as_text(pages.globals[name]) for name in _TRANSLATIONS
             if pages.globals.get(name) is not None},
            pages.globals,
        )
        env.filters = ChainMap({"join": _join, "e": _escape, "escape": _escape}, pages.filters)
        app.extensions["portal.email_templates"] = env
    return env


def _render(name: str, context: dict[str, Any]) -> str:
    # Only what queue_email passes: the pages' context processors (current user, layout forms,
    # the request) have no place in an email, and there is no request in the CLI or the worker.
    return email_templates().get_template(name).render(context)


def _recipient_zone(user_id: int | None) -> str:
    from portal.accounts.models import User

    recipient = db.session.get(User, user_id) if user_id is not None else None
    return (recipient.timezone if recipient is not None and recipient.timezone
            else current_app.config["AGENCY_TIMEZONE"])


def queue_email(
    *,
    kind: str,
    key: str,
    to: str,
    subject: Any,
    locale: str,
    user_id: int | None = None,
    reply_to: str | None = None,
    document_id: int | None = None,
    **context: Any,
) -> OutboxEmail | None:
    """Add an email to the outbox in the current transaction.

    `key` identifies the event: a second call with the same key adds nothing and returns None.
    `subject` may be a lazy string; it is rendered, like both bodies from
    `templates/email/<kind>.txt` and `.html`, in `locale`. `reply_to` becomes the Reply-To
    header (a signed reply address from portal.notifications.replies.reply_address). Every
    value of the context is escaped in the HTML part, lazy strings included (`as_text`).
    `document_id` names a stored document (portal.billing.models.Document) the dispatcher
    attaches. Dates are written in the recipient's time zone (`user_id`'s setting, else the
    agency's), never in that of the person whose request queued the email.
    """
    if db.session.scalar(select(OutboxEmail.id).where(OutboxEmail.idempotency_key == key)):
        return None
    with force_locale(locale), in_zone(_recipient_zone(user_id)):
        subject_text = str(subject)
        context = as_text(context)
        context.update(
            subject=subject_text,
            agency_name=current_app.config["AGENCY_NAME"],
            brand=email_brand(),
            base_url=current_app.config["BASE_URL"],
            url_for=external_url,
            locale=locale,
        )
        text_body = _render(f"email/{kind}.txt", context)
        html_body = _render(f"email/{kind}.html", context)
    domain = urlsplit(current_app.config["BASE_URL"]).hostname or "portal.localhost"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    row = OutboxEmail(
        idempotency_key=key,
        kind=kind,
        recipient=to,
        recipient_user_id=user_id,
        subject=subject_text,
        text_body=text_body,
        html_body=html_body,
        message_id=make_msgid(idstring=digest, domain=domain),
        reply_to=reply_to,
        document_id=document_id,
    )
    db.session.add(row)
    db.session.flush()
    return row

