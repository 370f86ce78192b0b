"""Building emails: render both parts in the recipient's language and add an outbox row.

Nothing here talks to SMTP. The row joins the caller's transaction, so a change that is rolled
back sends nothing, and the dispatcher delivers what was committed.
"""

from __future__ import annotations

import hashlib
from email.utils import make_msgid
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select

from portal.extensions import db
from portal.notifications.models import OutboxEmail


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute link for an email, built from BASE_URL and never from a request's Host."""
    base = urlsplit(current_app.config["BASE_URL"])
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "http"
    )
    return adapter.build(endpoint, values, force_external=True)


def _render(name: str, context: dict[str, Any]) -> str:
    # Only what queue_email passes: the pages' context processors (current user, layout forms,
    # the request) have no place in an email, and there is no request in the CLI or the worker.
    return current_app.jinja_env.get_template(name).render(context)


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
    header (a signed reply address from portal.notifications.replies.reply_address).
    `document_id` names a stored document (portal.billing.models.Document) the dispatcher
    attaches.
    """
    if db.session.scalar(select(OutboxEmail.id).where(OutboxEmail.idempotency_key == key)):
        return None
    with force_locale(locale):
        subject_text = str(subject)
        context.update(
            subject=subject_text,
            agency_name=current_app.config["AGENCY_NAME"],
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

