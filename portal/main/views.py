from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, session, url_for
from flask_login import current_user, login_required

from portal.auth.forms import ResendConfirmationForm
from portal.auth.views import safe_next
from portal.extensions import db
from portal.main.forms import LanguageForm
from portal.messaging.queries import unread_counts
from portal.orders.queries import home_summary

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    return redirect(url_for("auth.login"))


@bp.get("/home")
@login_required
def home():
    summary = home_summary(current_user)
    return render_template(
        "main/home.html", resend_form=ResendConfirmationForm(), summary=summary,
        unread=unread_counts(current_user, [order.id for order in summary.recent]),
    )


@bp.post("/language")
def set_language():
    form = LanguageForm(prefix="lang")
    if not form.validate_on_submit():
        abort(400)
    session["locale"] = form.locale.data
    if current_user.is_authenticated:
        current_user.locale = form.locale.data
        db.session.commit()
    return redirect(safe_next(form.next.data) or url_for("main.index"))


@bp.get("/healthz")
def health():
    # A bare endpoint: no database, no template. Load balancers and the benchmark's ceiling.
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}

