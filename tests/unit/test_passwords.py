"""The password rule: length, guessability with a reason, nothing built from the account."""

from __future__ import annotations

import pytest
from werkzeug.security import check_password_hash

from portal.auth.passwords import hash_password, password_problem

PERSONAL = ["ama@example.test", "Ama Koffi"]


@pytest.fixture(autouse=True)
def _request(app):
    with app.test_request_context():
        yield


@pytest.mark.parametrize(
    ("password", "reason"),
    [
        ("court", "10"),
        ("x" * 129, "128"),
        ("motdepasse", "common"),
        ("azertyuiop", "common"),
        ("amaexampletest", "name or email"),
        ("AmaKoffi2024", "name or email"),
        ("ama.koffi@example.test!", "name or email"),
    ],
)
def test_refused_passwords_come_with_a_reason(password, reason, app):
    from flask_babel import force_locale

    with force_locale("en"):
        problem = password_problem(password, PERSONAL)
    assert problem is not None
    if reason == "common":
        assert "guess" in problem or "common" in problem
    else:
        assert reason in problem


@pytest.mark.parametrize("password", ["lagune bleue sous la pluie", "koffi les jardins de baguida",
                                      "Tr0mb0ne-Kpalimé-café-19"])
def test_strong_passwords_pass_without_composition_rules(password):
    assert password_problem(password, PERSONAL) is None


def test_passwords_are_stored_with_scrypt():
    stored = hash_password("lagune bleue sous la pluie")
    assert stored.startswith("scrypt:")
    assert check_password_hash(stored, "lagune bleue sous la pluie")
