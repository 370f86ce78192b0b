"""Coarse access checks by role. Pages of another role answer 404, as if they did not exist."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from flask import abort
from flask_login import current_user, login_required

from portal import security_log
from portal.accounts.models import Role


def role_required(*roles: Role) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if current_user.role not in roles:
                security_log.access_refused("role", role=current_user.role)
                abort(404)
            return view(*args, **kwargs)

        wrapped.allowed_roles = roles  # read by the access table tests
        return wrapped

    return decorator
