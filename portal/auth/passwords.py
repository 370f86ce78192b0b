"""The password rule: 10 to 128 characters, no composition rules, nothing easy to guess."""

from __future__ import annotations

import re
from collections.abc import Iterable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.security import check_password_hash, generate_password_hash
from zxcvbn import zxcvbn

MIN_LENGTH = 10
MAX_LENGTH = 128
# zxcvbn scores 0 to 4; 3 means "safely unguessable" against an online attack with throttling
# and is what its authors recommend as the floor.
MIN_SCORE = 3

# zxcvbn explains itself in English; its warnings are a fixed list, translated here.
_WARNINGS = {
    "This is a top-10 common password.": _l("This is one of the most common passwords."),
    "This is a top-100 common password.": _l("This is one of the most common passwords."),
    "This is a very common password.": _l("This is a very common password."),
    "This is similar to a commonly used password.": _l(
        "This is too close to a commonly used password."
    ),
    "A word by itself is easy to guess.": _l("A single word on its own is easy to guess."),
    "Names and surnames by themselves are easy to guess.": _l(
        "Names on their own are easy to guess."
    ),
    "Common names and surnames are easy to guess.": _l("Common names are easy to guess."),
    "Straight rows of keys are easy to guess.": _l("Rows of keyboard keys are easy to guess."),
    "Short keyboard patterns are easy to guess.": _l("Keyboard patterns are easy to guess."),
    'Repeats like "aaa" are easy to guess.': _l("Repeated characters are easy to guess."),
    'Repeats like "abcabcabc" are only slightly harder to guess than "abc".': _l(
        "Repeated patterns are barely harder to guess than the pattern itself."
    ),
    'Sequences like "abc" or "6543" are easy to guess.': _l(
        "Sequences such as abc or 6543 are easy to guess."
    ),
    "Recent years are easy to guess.": _l("Recent years are easy to guess."),
    "Dates are often easy to guess.": _l("Dates are easy to guess."),
}


def hash_password(password: str) -> str:
    return generate_password_hash(password, method="scrypt")


def verify_password(password_hash: str | None, password: str) -> bool:
    if not password_hash:
        # Spend the same time as a real check, so a missing account is not told apart by timing.
        check_password_hash(_DUMMY_HASH, password)
        return False
    return check_password_hash(password_hash, password)


_DUMMY_HASH = generate_password_hash("not-a-real-password-used-for-timing", method="scrypt")


def password_problem(password: str, personal: Iterable[str] = ()) -> str | None:
    """Why `password` is refused, translated, or None when it is acceptable.

    `personal` holds what the account already tells about its owner (email, name), which a
    password must not lean on.
    """
    if len(password) < MIN_LENGTH:
        return _("Use at least %(count)d characters.", count=MIN_LENGTH)
    if len(password) > MAX_LENGTH:
        return _("Use at most %(count)d characters.", count=MAX_LENGTH)
    inputs = []
    for item in personal:
        if item:
            inputs.append(item)
            inputs.extend(part for part in re.split(r"[\W_]+", item) if part)
    # zxcvbn scores a string of several personal words as if it were random: check that what
    # is left without them would still be a password.
    rest = password.lower()
    for token in sorted({t.lower() for t in inputs if len(t) >= 3}, key=len, reverse=True):
        rest = rest.replace(token, "")
    if len(re.sub(r"[\W_\d]", "", rest)) < 6 and len(rest) < MIN_LENGTH:
        return _("This password leans on your name or email address.") + " " + _(
            "Try a few unrelated words, or a longer phrase only you would think of."
        )
    # zxcvbn's cost grows with length; the first 100 characters decide its score.
    result = zxcvbn(password[:100], user_inputs=inputs)
    if result["score"] >= MIN_SCORE:
        return None
    warning = result["feedback"].get("warning") or ""
    reason = _WARNINGS.get(warning)
    lead = str(reason) if reason else _("This password is too easy to guess.")
    return lead + " " + _("Try a few unrelated words, or a longer phrase only you would think of.")
