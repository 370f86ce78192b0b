from __future__ import annotations

import email
import mailbox
from datetime import UTC, datetime
from email import policy
from email.utils import parsedate_to_datetime
from pathlib import Path

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required

from portal.accounts.models import Role
from portal.errors import InvalidToken
from portal.extensions import db
from portal.forms import ActionForm, page_arg, safe_next
from portal.notifications import service
from portal.notifications.dispatcher import retry_failed, stuck_before, stuck_condition
from portal.notifications.forms import PreferencesForm
from portal.notifications.models import OutboxEmail, OutboxStatus
from portal.roles import role_required
from portal.view_helpers import render_form, submitted, validated_or_400

bp = Blueprint("notifications", __name__)


# The tabs of the emails page; "stuck" is a sending email whose claim is older than the lease.
OUTBOX_TABS = ("failed", "stuck", "pending", "sending", "sent")


@bp.get("/admin/emails")
@role_required(Role.MANAGER)
def outbox():
    status = request.args.get("status", "failed")
    if status not in OUTBOX_TABS:
        status = OutboxStatus.FAILED.value
    condition = stuck_condition() if status == "stuck" else OutboxEmail.status == status
    stmt = sa.select(OutboxEmail).where(condition).order_by(OutboxEmail.id.desc())
    page = db.paginate(stmt, page=page_arg(request.args), per_page=50, error_out=False)
    counts = dict(
        db.session.execute(
            sa.select(OutboxEmail.status, sa.func.count()).group_by(OutboxEmail.status)
        ).all()
    )
    stuck = db.session.scalar(
        sa.select(sa.func.count()).select_from(OutboxEmail).where(stuck_condition())
    )
    return render_template(
        "notifications/outbox.html",
        page=page,
        status=status,
        counts={s.value: counts.get(s, 0) for s in OutboxStatus} | {"stuck": stuck},
        tabs=OUTBOX_TABS,
        stuck_before=stuck_before(),
        action_form=ActionForm(),
    )


@bp.post("/admin/emails/retry")
@role_required(Role.MANAGER)
def retry_all():
    validated_or_400(ActionForm())
    count = retry_failed()
    db.session.commit()
    flash(ngettext("%(num)d email will be tried again.", "%(num)d emails will be tried again.",
                   count), "success")
    return redirect(url_for("notifications.outbox"))


@bp.post("/admin/emails/<int:email_id>/retry")
@role_required(Role.MANAGER)
def retry_one(email_id: int):
    validated_or_400(ActionForm())
    count = retry_failed([email_id])
    if not count:
        abort(404)
    db.session.commit()
    flash(_("The email will be tried again."), "success")
    return redirect(url_for("notifications.outbox"))


# --- development mailbox ------------------------------------------------------------------


def _read_mailbox(limit: int = 200) -> list[dict]:
    """The development mailbox's messages, newest first; 404 where the page is off."""
    if not current_app.config["MAILBOX_PAGE"]:
        abort(404)
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


def _header_time(value) -> datetime | None:
    """A Date header as an aware datetime (shown in the viewer's zone), None when unreadable."""
    try:
        found = parsedate_to_datetime(str(value)) if value else None
    except (TypeError, ValueError):
        return None
    if found is not None and found.tzinfo is None:
        found = found.replace(tzinfo=UTC)
    return found


def _describe(key: str, msg) -> dict:
    text = msg.get_body(preferencelist=("plain",))
    html = msg.get_body(preferencelist=("html",))
    return {
        "key": key,
        "subject": str(msg.get("Subject", "")),
        "to": str(msg.get("To", "")),
        "sender": str(msg.get("From", "")),
        "date": _header_time(msg.get("Date")),
        "received": str(msg.get("X-Sink-Received", "")),
        "kind": str(msg.get("X-Portal-Kind", "")),
        "text": text.get_content() if text else "",
        "html": html.get_content() if html else "",
    }


def _mailbox_message(key: str) -> dict:
    found = next((m for m in _read_mailbox(limit=10_000) if m["key"] == key), None)
    if found is None:
        abort(404)
    return found


@bp.get("/dev/mailbox")
@role_required(Role.MANAGER)
def dev_mailbox():
    return render_template("notifications/mailbox.html", messages=_read_mailbox())


@bp.get("/dev/mailbox/<key>")
@role_required(Role.MANAGER)
def dev_mailbox_message(key: str):
    return render_template("notifications/mailbox_message.html", message=_mailbox_message(key))


@bp.get("/dev/mailbox/<key>/html")
@role_required(Role.MANAGER)
def dev_mailbox_html(key: str):
    found = _mailbox_message(key)
    if not found["html"]:
        abort(404)
    # Shown in a sandboxed frame: the email's HTML can neither run script nor reach the portal.
    return found["html"], 200, {
        "Content-Type": "text/html; charset=utf-8",
        "Content-Security-Policy": "sandbox; default-src 'none'; style-src 'unsafe-inline'; "
        "img-src data:; frame-ancestors 'self'",
        "X-Frame-Options": "SAMEORIGIN",
    }


@bp.get("/notifications")
@login_required
def bell_list():
    page = db.paginate(service.bell_page_query(current_user), page=page_arg(request.args),
                       error_out=False,
                       per_page=current_app.config["NOTIFICATIONS_PER_PAGE"])
    return render_template("notifications/bell_list.html", page=page,
                           action_form=ActionForm())


@bp.post("/notifications/<int:notification_id>/read")
@login_required
def mark_read(notification_id: int):
    validated_or_400(ActionForm())
    notification = service.mark_read(current_user, notification_id)
    if notification is None:
        abort(404)
    db.session.commit()
    endpoint, values = service.target_endpoint(notification)
    return redirect(url_for(endpoint, **values))


@bp.post("/notifications/read-all")
@login_required
def mark_all_read():
    validated_or_400(ActionForm())
    count = service.mark_all_read(current_user)
    db.session.commit()
    if count:
        flash(ngettext("%(num)d notification marked as read.",
                       "%(num)d notifications marked as read.", count), "success")
    return redirect(safe_next(request.form.get("next")) or url_for("notifications.bell_list"))


# --- email preferences --------------------------------------------------------------------


def _edit_preferences(user, action: str, *, by_link: bool):
    form = PreferencesForm()
    if request.method == "GET":
        for kind, mode in service.preferences(user).items():
            form[kind.value].data = mode.value
        form.digest_hour.data = user.digest_hour
    call = submitted(form, lambda: service.set_preferences(user, form.modes(),
                                                           form.digest_hour.data))
    if call.ok:
        flash(_("Your email preferences are saved."), "success")
        return redirect(action)
    return render_form("notifications/preferences.html", form=form, action=action, person=user,
                       by_link=by_link)


@bp.route("/settings/notifications", methods=["GET", "POST"])
@login_required
def preferences():
    return _edit_preferences(current_user, url_for("notifications.preferences"), by_link=False)


@bp.route("/notifications/preferences/<token>", methods=["GET", "POST"])
def preferences_link(token: str):
    """The one-click link of every notification email: works without logging in."""
    try:
        user = service.user_for_preferences_token(token)
    except InvalidToken as error:
        return render_template("auth/link_problem.html", message=error.message), 400
    return _edit_preferences(user, url_for("notifications.preferences_link", token=token),
                             by_link=True)
