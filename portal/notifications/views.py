from __future__ import annotations

import email
import mailbox
from email import policy
from pathlib import Path

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext

from portal.accounts.models import Role
from portal.extensions import db
from portal.forms import ActionForm
from portal.notifications.dispatcher import retry_failed
from portal.notifications.models import OutboxEmail, OutboxStatus
from portal.roles import role_required

bp = Blueprint("notifications", __name__)


@bp.get("/admin/emails")
@role_required(Role.MANAGER)
def outbox():
    status = request.args.get("status", "failed")
    if status not in {s.value for s in OutboxStatus}:
        status = OutboxStatus.FAILED.value
    stmt = sa.select(OutboxEmail).where(OutboxEmail.status == status).order_by(
        OutboxEmail.id.desc()
    )
    page = db.paginate(stmt, per_page=50, error_out=False)
    counts = dict(
        db.session.execute(
            sa.select(OutboxEmail.status, sa.func.count()).group_by(OutboxEmail.status)
        ).all()
    )
    return render_template(
        "notifications/outbox.html",
        page=page,
        status=status,
        counts={s.value: counts.get(s, 0) for s in OutboxStatus},
        action_form=ActionForm(),
    )


@bp.post("/admin/emails/retry")
@role_required(Role.MANAGER)
def retry_all():
    if not ActionForm().validate_on_submit():
        abort(400)
    count = retry_failed()
    db.session.commit()
    flash(ngettext("%(num)d email will be tried again.", "%(num)d emails will be tried again.",
                   count), "success")
    return redirect(url_for("notifications.outbox"))


@bp.post("/admin/emails/<int:email_id>/retry")
@role_required(Role.MANAGER)
def retry_one(email_id: int):
    if not ActionForm().validate_on_submit():
        abort(400)
    count = retry_failed([email_id])
    if not count:
        abort(404)
    db.session.commit()
    flash(_("The email will be tried again."), "success")
    return redirect(url_for("notifications.outbox"))


# --- development mailbox ------------------------------------------------------------------


def _mailbox_enabled() -> bool:
    return bool(current_app.config["MAILBOX_PAGE"])


def _read_mailbox(limit: int = 200) -> list[dict]:
    path = Path(current_app.config["MAILBOX_DIR"])
    if not path.exists():
        return []
    box = mailbox.Maildir(path, create=False)
    items = []
    for key in box.iterkeys():
        with box.get_file(key) as handle:
            msg = email.message_from_binary_file(handle, policy=policy.default)
        items.append(_describe(key, msg))
    items.sort(key=lambda item: item["received"], reverse=True)
    return items[:limit]


def _describe(key: str, msg) -> dict:
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    return {
        "key": key,
        "subject": str(msg.get("Subject", "")),
        "to": str(msg.get("To", "")),
        "sender": str(msg.get("From", "")),
        "date": str(msg.get("Date", "")),
        "received": str(msg.get("X-Sink-Received", "")),
        "kind": str(msg.get("X-Portal-Kind", "")),
        "text": text.get_content() if text else "",
        "html": html.get_content() if html else "",
    }


@bp.get("/dev/mailbox")
@role_required(Role.MANAGER)
def dev_mailbox():
    if not _mailbox_enabled():
        abort(404)
    return render_template("notifications/mailbox.html", messages=_read_mailbox())


@bp.get("/dev/mailbox/<key>")
@role_required(Role.MANAGER)
def dev_mailbox_message(key: str):
    if not _mailbox_enabled():
        abort(404)
    found = next((m for m in _read_mailbox(limit=10_000) if m["key"] == key), None)
    if found is None:
        abort(404)
    return render_template("notifications/mailbox_message.html", message=found)


@bp.get("/dev/mailbox/<key>/html")
@role_required(Role.MANAGER)
def dev_mailbox_html(key: str):
    if not _mailbox_enabled():
        abort(404)
    found = next((m for m in _read_mailbox(limit=10_000) if m["key"] == key), None)
    if found is None or not found["html"]:
        abort(404)
    # Shown in a sandboxed frame: the email's HTML can neither run script nor reach the portal.
    return found["html"], 200, {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:; frame-ancestors 'self'",
        "X-Frame-Options": "SAMEORIGIN",
    }
