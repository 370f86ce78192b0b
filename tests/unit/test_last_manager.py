"""Two managers demoting each other at the same moment: the agency keeps a manager."""

from __future__ import annotations

import threading

import pytest

from portal.accounts import service
from portal.accounts.models import Role, User
from portal.errors import NotAllowed
from portal.extensions import db


@pytest.mark.parametrize("action", ["demote", "deactivate"])
def test_two_managers_removing_each_other_at_once_leave_one(app, factory, ctx, action):
    first = factory.user(Role.MANAGER)
    second = factory.user(Role.MANAGER)
    barrier = threading.Barrier(2)
    outcomes: dict[int, str] = {}

    def remove(actor_id: int, target_id: int) -> None:
        with app.app_context():
            actor = db.session.get(User, actor_id)
            target = db.session.get(User, target_id)
            barrier.wait()
            try:
                if action == "demote":
                    service.change_role(actor, target, Role.WRITER)
                else:
                    service.deactivate(actor, target)
                db.session.commit()
                outcomes[actor_id] = "done"
            except NotAllowed as error:
                db.session.rollback()
                outcomes[actor_id] = error.message
            finally:
                db.session.remove()

    threads = [threading.Thread(target=remove, args=(first.id, second.id)),
               threading.Thread(target=remove, args=(second.id, first.id))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)

    # Both answered: one done, the other refused by the rule (not a deadlock's error, which
    # would leave no outcome for its thread).
    assert len(outcomes) == 2
    assert list(outcomes.values()).count("done") == 1
    with ctx() as session:
        managers = session.query(User).filter_by(role=Role.MANAGER, active=True).count()
    assert managers == 1
