"""What each feature holds about a person, and what it does when the person leaves.

A feature contributes one `Part`: the section of the export it writes (its data as JSON, and
the files it holds), what it erases, and what it keeps after an erasure and why (shown to the
manager on the confirmation page). `parts()` lists them, in the order the erasure runs them: a
feature that needs the person's old name or address runs before the accounts part replaces
them. A new feature adds its part there.

A part's files are either stored files (`stored_name`, a key of `portal.storage`) or kept in the
database (the PDF of an invoice as issued): those a part gives as `Section.stored`, a function
that reads them in one statement while the zip is written, one at a time, so that a company's
ten years of documents are never all in memory at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from portal.accounts.models import User


def when(value: datetime | None) -> str | None:
    """A timestamp of the export, ISO 8601; None for none."""
    return value.isoformat() if value else None


@dataclass
class ExportFile:
    """A file to put in the zip at `path` (under files/): a stored file (`stored_name`), or bytes
    read from the database (`content`). The index lists the bytes written and their hash."""

    path: str
    name: str
    stored_name: str | None = None
    content: bytes | None = None


@dataclass
class Section:
    """One feature's share of the export: JSON-ready data, the stored files it names, and the
    files it keeps in the database (read by `stored` as the zip is written)."""

    data: Any
    files: list[ExportFile] = field(default_factory=list)
    stored: Callable[[], Iterator[ExportFile]] | None = None


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
    # What stays after an erasure, and why, for the confirmation page and the person's page
    # (lazy strings); or a function of the person giving them (what a client's company keeps
    # is not what a writer's payouts keep).
    kept: tuple | Callable[[User], Iterable] = ()

    def kept_for(self, person: User) -> Iterable:
        return self.kept(person) if callable(self.kept) else self.kept


def parts() -> tuple[Part, ...]:
    """Every feature's part, in the order the erasure runs them."""
    from portal.accounts.personal_data import PART as accounts
    from portal.billing.personal_data import PART as billing
    from portal.messaging.personal_data import PART as messaging
    from portal.notifications.personal_data import PART as notifications
    from portal.orders.personal_data import PART as orders

    return (orders, billing, messaging, notifications, accounts)
