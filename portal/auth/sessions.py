"""Starting and ending a person's login session, for every view that logs someone in or out."""

from __future__ import annotations

from flask import current_app, request, session
from flask_login import login_user, logout_user

from portal.i18n import current_language


def end_session() -> None:
    """Log out and forget the session, but keep the language the person reads the portal in."""
    language = current_language()
    # Cleared first: logout_user() leaves the order to delete the remember cookie in it.
    session.clear()
    logout_user()
    session["locale"] = language


def start_session(user, remember: bool = False) -> None:
    # A new session at login: nothing a visitor planted before logging in survives it, nor the
    # remember cookie of whoever was logged in here before (clearing the session also drops
    # end_session()'s order to delete it, and it would log them back in once this session ends).
    session.clear()
    login_user(user, remember=remember)
    if not remember and current_app.config["REMEMBER_COOKIE_NAME"] in request.cookies:
        session["_remember"] = "clear"
    session.permanent = True
