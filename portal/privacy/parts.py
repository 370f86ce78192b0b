"""What each feature holds about a person, and what it does when the person leaves.

A feature contributes one `Part`: the section of the export it writes (its data as JSON, and
the files it holds), what it erases, and what it keeps after an erasure and why (shown to the
manager on the confirmation page). `PARTS` lists them, in the order the erasure runs them: a
feature that needs the person's old name or address runs before the accounts part replaces
them. A new feature (invoices of a company, for one) adds its part to `PARTS`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portal.accounts.models import User


@dataclass
class ExportFile:
    """A stored file to put in the zip at `path` (under files/)."""

    path: str
    source: Path
    name: str
    size: int


@dataclass
class Section:
    """One feature's share of the export: JSON-ready data and the files it names."""

    data: Any
    files: list[ExportFile] = field(default_factory=list)


@dataclass
class Erasure:
    """What an erasure did so far, shared by the parts that run it."""

    person: User
    old_name: str
    old_email: str
    # Stored names of files whose rows were deleted: removed once the change is committed.
    files_to_remove: list[str] = field(default_factory=list)
    done: dict[str, int] = field(default_factory=dict)

    def count(self, what: str, n: int) -> None:
        self.done[what] = self.done.get(what, 0) + n


@dataclass(frozen=True)
class Part:
    name: str
    export: Callable[[User], Section]
    # Refusals before anything is erased (translated messages); empty: nothing stands in the way.
    blockers: Callable[[User], list[str]] = lambda _person: []
    erase: Callable[[Erasure], None] = lambda _erasure: None
    # What stays after an erasure, and why, for the confirmation page (lazy strings).
    kept: tuple = ()


def parts() -> tuple[Part, ...]:
    """Every feature's part, in the order the erasure runs them."""
    from portal.accounts.personal_data import PART as accounts
    from portal.messaging.personal_data import PART as messaging
    from portal.notifications.personal_data import PART as notifications
    from portal.orders.personal_data import PART as orders

    return (orders, messaging, notifications, accounts)
