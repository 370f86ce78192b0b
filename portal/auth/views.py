from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user, login_required

from portal import rate_limits, security_log
from portal.auth import service
from portal.auth.forms import (
    AcceptInvitationForm,
    ConfirmEmailForm,
    ConfirmSignupForm,
    ForgotPasswordForm,
    LoginForm,
    LoginLinkForm,
    LogoutForm,
    ResendConfirmationForm,
    ResetPasswordForm,
    SignupForm,
)
from portal.auth.sessions import end_session, start_session
from portal.errors import DomainError, InvalidToken
from portal.extensions import db
from portal.forms import safe_next
from portal.i18n import current_language
from portal.view_helpers import service_call, submitted, validated_or_400

bp = Blueprint("auth", __name__)


@bp.route("/signup", methods=["GET", "POST"])
def signup():
    if current_user.is_authenticated:
        return redirect(url_for("main.home"))
    form = SignupForm()
    if request.method == "GET":
        form.locale.data = current_language()
        form.timezone.data = form.timezone.data or current_app.config["AGENCY_TIMEZONE"]
    call = submitted(form, lambda: service.sign_up_client(
        email=form.email.data,
        password=form.password.data,
        display_name=form.display_name.data,
        locale=form.locale.data,
        timezone=form.timezone.data,
        company_name=form.company_name.data or "",
    ))
    if call.ok:
        # The same answer for every address: nothing here says whether it has an account.
        flash(_("Check your inbox: we sent a message to %(email)s. Follow its link within "
                "48 hours to finish creating your account.",
                email=service.normalize_email(form.email.data)), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/signup.html", form=form)


@bp.route("/signup/confirm/<token>", methods=["GET", "POST"])
def confirm_signup(token: str):
    # The person types the password they chose: a link alone must not open an account whose
    # password may be someone else's (a sign-up made with another person's address).
    try:
        pending = service.pending_signup_for(token)
    except InvalidToken as error:
        return render_template("auth/link_problem.html", message=error.message,
                               retry=url_for("auth.signup")), 400
    form = ConfirmSignupForm()
    call = submitted(form, lambda: service.confirm_signup(token, form.password.data))
    if call.ok:
        start_session(call.result)
        flash(_("Welcome! Your address %(email)s is confirmed and your account is ready.",
                email=call.result.email), "success")
        return redirect(url_for("main.home"))
    return render_template("auth/confirm_signup.html", form=form, email=pending.email), \
        (422 if form.errors else 200)


@bp.route("/login", methods=["GET", "POST"])
def login():
    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or url_for("main.home"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = safe_next(request.args.get("next")) or ""
    if form.validate_on_submit():
        if rate_limits.login_needs_link():
            return _login_by_link(form)
        with service_call(form) as call:
            user = service.authenticate(form.email.data, form.password.data)
        if call.ok:
            start_session(user, remember=form.remember.data)
            return redirect(safe_next(form.next.data) or url_for("main.home"))
        rate_limits.count_failed_login()
    return render_template("auth/login.html", form=form)


def _login_by_link(form: LoginForm):
    """Past the account's ceiling of failed logins: the same answer whether the password was
    right (a login link is emailed) or not (one more failure counted)."""
    try:
        service.email_login_link(form.email.data, form.password.data)
    except DomainError:
        db.session.rollback()
        rate_limits.count_failed_login()
    else:
        db.session.commit()
    form.password.data = ""
    return render_template("auth/login.html", form=form, link_sent=True)


@bp.route("/login/link/<token>", methods=["GET", "POST"])
def login_link(token: str):
    # A click on a button (POST): mail scanners that open links must not log in.
    try:
        user = service.user_for_login_link(token)
    except InvalidToken as error:
        return render_template("auth/link_problem.html", message=error.message,
                               retry=url_for("auth.login")), 400
    form = LoginLinkForm()
    if form.validate_on_submit():
        try:
            user = service.log_in_by_link(token)
        except DomainError as error:
            db.session.rollback()
            return render_template("auth/link_problem.html", message=error.message), 400
        db.session.commit()
        start_session(user)
        flash(_("You are logged in."), "success")
        return redirect(url_for("main.home"))
    return render_template("auth/login_link.html", form=form, email=user.email)


@bp.post("/logout")
@login_required
def logout():
    validated_or_400(LogoutForm(prefix="logout"))
    service.end_all_sessions(current_user)
    db.session.commit()
    security_log.record("logout")
    end_session()
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    # Confirmation takes a click on a button (POST): mail scanners that open links with GET
    # must not confirm on the owner's behalf.
    form = ConfirmEmailForm()
    if form.validate_on_submit():
        try:
            user = service.confirm_email(token)
        except DomainError as error:
            db.session.rollback()
            return render_template("auth/link_problem.html", message=error.message), 400
        db.session.commit()
        flash(_("Thank you, your address %(email)s is confirmed.", email=user.email), "success")
        return redirect(
            url_for("main.home") if current_user.is_authenticated else url_for("auth.login")
        )
    try:
        email = service.address_to_confirm(token)
    except DomainError as error:
        return render_template("auth/link_problem.html", message=error.message), 400
    return render_template("auth/confirm.html", form=form, email=email)


@bp.post("/confirm/resend")
@login_required
def resend_confirmation():
    validated_or_400(ResendConfirmationForm())
    if not service.confirmation_resend_allowed(current_user):
        flash(_("A link was sent less than a minute ago. Check your inbox and spam folder."),
              "warning")
        return redirect(url_for("main.home"))
    with service_call(category="info") as call:
        service.send_confirmation(current_user)
    if call.ok:
        flash(_("A new confirmation link is on its way to %(email)s.",
                email=current_user.waiting_email or current_user.email), "success")
    return redirect(url_for("main.home"))


@bp.route("/password/forgot", methods=["GET", "POST"])
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        service.request_password_reset(form.email.data)
        db.session.commit()
        # Same answer whether or not the address has an account.
        flash(_("If an account uses %(email)s, a link to choose a new password is on its way. "
                "It works for one hour.", email=form.email.data), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/password/reset/<token>", methods=["GET", "POST"])
def reset_password(token: str):
    try:
        service.user_for_reset(token)
    except InvalidToken as error:
        return render_template("auth/link_problem.html", message=error.message,
                               retry=url_for("auth.forgot_password")), 400
    form = ResetPasswordForm()
    call = submitted(form, lambda: service.reset_password(token, form.password.data))
    if call.ok:
        end_session()
        flash(_("The password of %(email)s has been changed. Log in with it now.",
                email=call.result.email), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


@bp.route("/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):
    try:
        invitation = service.invitation_for(token)
    except InvalidToken as error:
        return render_template("auth/link_problem.html", message=error.message), 400
    form = AcceptInvitationForm()
    if request.method == "GET":
        form.display_name.data = invitation.display_name
        form.timezone.data = current_app.config["AGENCY_TIMEZONE"]
    call = submitted(form, lambda: service.accept_invitation(
        token,
        password=form.password.data,
        display_name=form.display_name.data,
        timezone=form.timezone.data,
    ))
    if call.ok:
        start_session(call.result)
        flash(_("Welcome to the team, %(name)s!", name=call.result.display_name), "success")
        return redirect(url_for("main.home"))
    return render_template("auth/accept_invitation.html", form=form, invitation=invitation)
