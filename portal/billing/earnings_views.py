"""A writer's earnings: earned, pending and paid, per month and per order, and a statement."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user

from portal.accounts.models import Role
from portal.billing import earnings, pdf
from portal.forms import page_arg
from portal.roles import role_required
from portal.view_helpers import pdf_response

bp = Blueprint("earnings", __name__, url_prefix="/work/earnings")


@bp.get("")
@role_required(Role.WRITER)
def index():
    zone = current_app.config["AGENCY_TIMEZONE"]
    return render_template(
        "earnings/index.html", summary=earnings.summary(current_user),
        months=earnings.by_month(current_user, zone),
        page=earnings.earnings_page(current_user, page_arg(request.args), 25),
        currency=current_app.config["AGENCY_CURRENCY"])


@bp.get("/statement")
@role_required(Role.WRITER)
def statement():
    """The whole history, or one month (?month=2026-11)."""
    month = request.args.get("month", "")
    if month:
        try:
            start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
        except ValueError:
            abort(404)
        if not 2000 <= start.year <= 2100:
            abort(404)
        end = (start + timedelta(days=32)).replace(day=1)
        label = month
    else:
        start, end = datetime(2000, 1, 1, tzinfo=UTC), datetime(2101, 1, 1, tzinfo=UTC)
        label = current_user.display_name
    earned, paid = earnings.statement_rows(current_user, start, end)
    content = pdf.writer_statement_pdf(current_user, label, earned, paid,
                                       earnings.summary(current_user),
                                       current_app.config["AGENCY_CURRENCY"])
    return pdf_response(content, f"releve-gains-{month or 'complet'}.pdf")
