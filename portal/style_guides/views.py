"""The style guide pages: a client's own company's, and any company's for managers (from the
company's page in Money)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from portal.accounts.models import Role, User
from portal.billing.models import Company
from portal.extensions import db
from portal.roles import role_required
from portal.style_guides import service
from portal.style_guides.forms import StyleGuideForm
from portal.view_helpers import own_company, render_form, submitted

bp = Blueprint("style_guides", __name__)


def _edit(company: Company, done_url: str):
    guide = service.guide_of(company.id)
    form = StyleGuideForm()
    if request.method == "GET":
        form.fill(service.values_of(guide), guide.version if guide else 0)
    call = submitted(form, lambda: service.save_guide(company, current_user, form.values(),
                                                      version=form.version_number()))
    if call.ok:
        flash(_("The style guide is saved. Orders submitted from now on follow it; those "
                "already submitted keep the guide they were submitted with."), "success")
        return redirect(done_url)
    return render_form("style_guides/edit.html", form=form, company=company, guide=guide,
                       updated_by=guide and guide.updated_by_id
                       and db.session.get(User, guide.updated_by_id))


@bp.route("/style-guide", methods=["GET", "POST"])
@role_required(Role.CLIENT)
def edit_own():
    return _edit(own_company(), url_for("style_guides.edit_own"))


@bp.route("/agency/companies/<int:company_id>/style-guide", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def edit_company(company_id: int):
    company = db.get_or_404(Company, company_id)
    return _edit(company, url_for("finance.company_detail", company_id=company.id))
