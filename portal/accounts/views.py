from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal.accounts import service
from portal.accounts.forms import (
    AccountActionForm,
    EmailForm,
    EraseForm,
    InviteForm,
    PasswordForm,
    PeopleFilterForm,
    ProfileForm,
    RoleForm,
)
from portal.accounts.models import Invitation, Role, User
from portal.auth import service as auth_service
from portal.auth.sessions import start_session
from portal.extensions import db, utcnow
from portal.orders import uploads
from portal.privacy import service as privacy
from portal.roles import role_required
from portal.view_helpers import service_call, submitted, validated_or_400

bp = Blueprint("accounts", __name__)


def _settings_page(profile=None, password=None, email=None, status=200):
    return render_template(
        "accounts/settings.html",
        profile_form=profile or ProfileForm(formdata=None, obj=current_user),
        password_form=password or PasswordForm(formdata=None),
        email_form=email or EmailForm(formdata=None),
        action_form=AccountActionForm(),
    ), status


@bp.get("/settings")
@login_required
def settings():
    return _settings_page()


@bp.post("/settings/profile")
@login_required
def update_profile():
    form = ProfileForm()
    if not form.validate_on_submit():
        return _settings_page(profile=form, status=422)
    service.update_profile(
        current_user,
        display_name=form.display_name.data,
        locale=form.locale.data,
        timezone=form.timezone.data,
    )
    db.session.commit()
    flash(_("Your settings are saved."), "success")
    return redirect(url_for("accounts.settings"))


@bp.post("/settings/password")
@login_required
def change_password():
    form = PasswordForm()
    call = submitted(form, lambda: service.change_password(
        current_user,
        current_password=form.current_password.data,
        new_password=form.password.data,
    ))
    if call.ok:
        # The token rotated, which ended every session; this one continues under the new one,
        # and stays remembered on this device if it was.
        remembered = current_app.config["REMEMBER_COOKIE_NAME"] in request.cookies
        start_session(current_user._get_current_object(), remember=remembered)
        flash(_("Your password is changed. Your other sessions have been closed."), "success")
        return redirect(url_for("accounts.settings"))
    return _settings_page(password=form, status=422)


@bp.post("/settings/email")
@login_required
def change_email():
    form = EmailForm()
    call = submitted(form, lambda: service.request_email_change(
        current_user,
        current_password=form.current_password.data,
        new_email=form.email.data,
    ))
    if call.ok:
        flash(_("We sent a link to %(email)s. Your address changes once you follow it.",
                email=current_user.waiting_email), "success")
        return redirect(url_for("accounts.settings"))
    return _settings_page(email=form, status=422)


@bp.post("/settings/email/cancel")
@login_required
def cancel_email_change():
    validated_or_400(AccountActionForm())
    service.cancel_email_change(current_user)
    db.session.commit()
    flash(_("The change of address is cancelled."), "info")
    return redirect(url_for("accounts.settings"))


@bp.get("/settings/data")
@login_required
def export_data():
    return _send_export(current_user)


def _send_export(person: User):
    archive = privacy.export_zip(person, asked_by=current_user)
    return send_file(archive, mimetype="application/zip", as_attachment=True,
                     download_name=privacy.export_filename(person))


# --- people (managers) --------------------------------------------------------------------


@bp.get("/people")
@role_required(Role.MANAGER)
def people():
    filters = PeopleFilterForm(request.args)
    filters.validate()
    role = Role(filters.role.data) if filters.role.data in {r.value for r in Role} else None
    stmt = service.people_query(
        query=filters.q.data or "", role=role, status=filters.status.data or ""
    )
    page = db.paginate(stmt, per_page=current_app.config["PEOPLE_PER_PAGE"], error_out=False)
    invitations = db.session.scalars(
        sa.select(Invitation)
        .where(
            Invitation.accepted_at.is_(None),
            Invitation.revoked_at.is_(None),
            Invitation.expires_at > utcnow(),
        )
        .order_by(Invitation.created_at.desc())
        .limit(50)
    ).all()
    return render_template(
        "accounts/people.html",
        filters=filters,
        page=page,
        invitations=invitations,
        action_form=AccountActionForm(),
    )


@bp.route("/people/invite", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def invite():
    form = InviteForm()
    if request.method == "GET":
        form.locale.data = current_app.config["BABEL_DEFAULT_LOCALE"]
    call = submitted(form, lambda: auth_service.invite(
        manager=current_user,
        email=form.email.data,
        display_name=form.display_name.data,
        role=Role(form.role.data),
        locale=form.locale.data,
    ))
    if call.ok:
        flash(_("Invitation sent to %(email)s.", email=call.result.email), "success")
        return redirect(url_for("accounts.people"))
    return render_template("accounts/invite.html", form=form)


@bp.get("/people/<int:user_id>")
@role_required(Role.MANAGER)
def person(user_id: int):
    user = db.get_or_404(User, user_id)
    role_form = RoleForm(formdata=None, role=user.role.value)
    return render_template(
        "accounts/person.html", person=user, role_form=role_form, action_form=AccountActionForm(),
        kept=privacy.kept_after_erasure(user) if user.is_erased else [],
    )


@bp.post("/people/<int:user_id>/role")
@role_required(Role.MANAGER)
def change_role(user_id: int):
    user = db.get_or_404(User, user_id)
    form = RoleForm()
    if not form.validate_on_submit():
        flash(_("Choose a role from the list."), "danger")
        return redirect(url_for("accounts.person", user_id=user.id))
    with service_call() as call:
        service.change_role(current_user, user, Role(form.role.data))
    if call.ok:
        flash(_("%(name)s's role is saved.", name=user.display_name), "success")
    return redirect(url_for("accounts.person", user_id=user.id))


@bp.post("/people/<int:user_id>/deactivate")
@role_required(Role.MANAGER)
def deactivate(user_id: int):
    return _toggle(user_id, service.deactivate, _("%(name)s can no longer log in."))


@bp.post("/people/<int:user_id>/reactivate")
@role_required(Role.MANAGER)
def reactivate(user_id: int):
    return _toggle(user_id, service.reactivate, _("%(name)s can log in again."))


def _toggle(user_id: int, action, done_message: str):
    user = db.get_or_404(User, user_id)
    validated_or_400(AccountActionForm())
    with service_call() as call:
        action(current_user, user)
    if call.ok:
        flash(done_message % {"name": user.display_name}, "success")
    return redirect(url_for("accounts.person", user_id=user.id))


@bp.post("/people/invitations/<int:invitation_id>/revoke")
@role_required(Role.MANAGER)
def revoke_invitation(invitation_id: int):
    invitation = db.get_or_404(Invitation, invitation_id)
    validated_or_400(AccountActionForm())
    with service_call() as call:
        service.revoke_invitation(current_user, invitation)
    if call.ok:
        flash(_("The invitation to %(email)s has been withdrawn.", email=invitation.email), "info")
    return redirect(url_for("accounts.people"))


@bp.get("/people/<int:user_id>/data")
@role_required(Role.MANAGER)
def export_person(user_id: int):
    return _send_export(db.get_or_404(User, user_id))


@bp.route("/people/<int:user_id>/erase", methods=["GET", "POST"])
@role_required(Role.MANAGER)
def erase(user_id: int):
    person = db.get_or_404(User, user_id)
    form = EraseForm()
    if form.validate_on_submit():
        with service_call() as call:
            erasure = privacy.erase_person(current_user, person)
        if call.ok:
            for stored_name in erasure.files_to_remove:
                uploads.discard_file(stored_name)
            flash(_("The person's data are erased. What the agency must keep is listed below."),
                  "success")
            return redirect(url_for("accounts.person", user_id=person.id))
    return render_template("accounts/erase.html", person=person, form=form,
                           blockers=privacy.erasure_blockers(person),
                           kept=privacy.kept_after_erasure(person)), 422 if form.errors else 200
