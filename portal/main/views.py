from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, session, url_for
from flask_login import current_user, login_required

from portal.auth.forms import ResendConfirmationForm
from portal.extensions import db
from portal.forms import safe_next
from portal.i18n import current_language
from portal.main.forms import LanguageForm
from portal.messaging.queries import unread_counts
from portal.orders import showcase
from portal.orders.models import WRITING_STATUSES
from portal.orders.queries import catalogue, home_summary, pool_offer
from portal.orders.text import render_markdown
from portal.view_helpers import validated_or_400

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    # The agency's front page for visitors: its offer from the catalogue, and its samples.
    # Like every page, not stored by caches (portal/__init__.py): it carries the language
    # form's CSRF token, and a withdrawn consent must take a sample off at once.
    types, tiers = catalogue()
    return render_template("main/landing.html", types=types, tiers=tiers,
                           samples=showcase.public_samples(),
                           currency=current_app.config["AGENCY_CURRENCY"],
                           locale=current_language(), canonical=_public_url("main.index"),
                           # A variable, not a constant in the template: Jinja would format a
                           # constant once, at compile time, in the first reader's language.
                           example_words=1000)


@bp.get("/exemples/<int:order_id>")
def sample(order_id: int):
    found = showcase.get_sample(order_id)
    if found is None:
        abort(404)
    return render_template("main/sample.html", sample=found,
                           html=render_markdown(found.text), locale=current_language(),
                           canonical=_public_url("main.sample", order_id=order_id))


def _public_url(endpoint: str, **values) -> str:
    """The page's address as the world sees it (sharing tags, canonical link): BASE_URL, not
    whatever host the request named."""
    return current_app.config["BASE_URL"].rstrip("/") + url_for(endpoint, **values)


@bp.get("/home")
@login_required
def home():
    summary = home_summary(current_user)
    first_steps = pool = None
    if current_user.is_client and not any(summary.counts.values()):
        # A client with no order yet: what the agency writes and at what price, to start.
        first_steps = catalogue()
    elif current_user.is_writer and not sum(
            summary.counts[status] for status in WRITING_STATUSES):
        # A writer with nothing to write: what the pool holds for their skills.
        pool = pool_offer(current_user)
    return render_template(
        "main/home.html", resend_form=ResendConfirmationForm(), summary=summary,
        unread=unread_counts(current_user, [order.id for order in summary.recent]),
        first_steps=first_steps, pool=pool, currency=current_app.config["AGENCY_CURRENCY"],
        language_names=current_app.config["ORDER_LANGUAGES"], locale=current_language(),
    )


@bp.post("/language")
def set_language():
    form = validated_or_400(LanguageForm(prefix="lang"))
    session["locale"] = form.locale.data
    if current_user.is_authenticated:
        current_user.locale = form.locale.data
        db.session.commit()
    return redirect(safe_next(form.next.data) or url_for("main.index"))


@bp.get("/healthz")
def health():
    # A bare endpoint: no database, no template. Load balancers and the benchmark's ceiling.
    return "ok", 200, {"Content-Type": "text/plain; charset=utf-8"}

