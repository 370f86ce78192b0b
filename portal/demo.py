"""The demo agency loaded by `flask seed-demo` and `make run`."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from portal.accounts.models import Role, User
from portal.auth.passwords import hash_password
from portal.extensions import db, utcnow

DEMO_PASSWORD = "portail-demo-2026"  # noqa: S105 - published demo password, listed in the README

DEMO_PEOPLE = [
    ("manager@demo.test", "Akossiwa Mensah", Role.MANAGER),
    ("writer@demo.test", "Kodjo Amouzou", Role.WRITER),
    ("redaction.afi@demo.test", "Afi Lawson", Role.WRITER),
    ("redaction.yao@demo.test", "Yao Agbéko", Role.WRITER),
    ("client@demo.test", "Boutique Zénith (Mawuli Dogbé)", Role.CLIENT),
    ("contact@cafe-atakpame.demo.test", "Café d'Atakpamé (Essi Kpodar)", Role.CLIENT),
]


def seed_demo() -> bool:
    """Create the demo people unless they exist; True when something was created.

    The caller commits."""
    existing = set(
        db.session.scalars(
            sa.select(User.email).where(User.email.in_([email for email, *_ in DEMO_PEOPLE]))
        )
    )
    missing = [person for person in DEMO_PEOPLE if person[0] not in existing]
    if not missing:
        return False
    password_hash = hash_password(DEMO_PASSWORD)
    now = utcnow()
    for email, name, role in missing:
        db.session.add(
            User(
                email=email,
                display_name=name,
                role=role,
                password_hash=password_hash,
                email_confirmed_at=now,
                locale="fr",
                timezone=current_app.config["AGENCY_TIMEZONE"],
            )
        )
    db.session.flush()
    return True
