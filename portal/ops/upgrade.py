"""`flask upgrade`: what the README's upgrade procedure does, as one command.

1. a backup archive of the database and files as they are (unless told not to);
2. the migrations up to this code's revision;
3. the counters recounted from what they count (orders per status, unread messages), in case
   the previous version ran while a migration backfilled them;
4. the messages an older renderer stored rendered again (none after most upgrades);
5. every company's stored balance and reserved amount checked against its ledger's sums.

The ledger sums are checked, not recounted: each entry moves them in the statement that writes
it (portal/billing/ledger.py), so no version running beside a migration can leave them behind,
and a difference is a fault to look into, not a lag to catch up. Rewriting them from the
entries would also silently change what a company may spend. The upgrade is done all the same
(the schema is this version's); the command then says which companies differ and exits with 1.

Then restart the web processes and the workers (the command cannot do that for you).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from flask_migrate import upgrade as migrate_to_head

from portal.billing.ledger import disagreements as ledger_disagreements
from portal.extensions import db
from portal.messaging.service import rerender as rerender_messages
from portal.messaging.unread import recount_everyone
from portal.ops.backup import BackupReport, create_backup, holds_rows, revision_of
from portal.orders import status_counts


@dataclass
class UpgradeReport:
    revision_before: str | None
    revision_after: str | None
    backup: BackupReport | None
    # {company id: ((stored balance, stored held), (summed balance, summed held))}
    ledger_disagreements: dict[int, tuple] = field(default_factory=dict)


def upgrade_portal(*, backup: bool = True,
                   echo: Callable[[str], object] = lambda _line: None) -> UpgradeReport:
    """Back up (when asked and there is something to keep), migrate to the head revision,
    recount the counters and check the ledger sums; commits. Raises BackupError when the
    backup fails: nothing is migrated then."""
    with db.engine.connect() as connection:
        before = revision_of(connection)
        has_data = bool(holds_rows(connection))
    archive = None
    if backup and has_data:
        archive = create_backup()
        echo(f"backup: {archive.path} ({archive.size} bytes)")
    migrate_to_head()
    status_counts.recount()
    recount_everyone()
    db.session.commit()
    with db.engine.connect() as connection:
        after = revision_of(connection)
    echo(f"schema: {before or 'empty'} -> {after}; counters recounted")
    read, changed = rerender_messages()
    echo(f"messages rendered again: {read}, HTML changed: {changed}")
    differ = ledger_disagreements()
    db.session.rollback()  # a read: end its transaction
    if differ:
        for company_id, (stored, summed) in sorted(differ.items()):
            echo(f"ledger: company {company_id} stores (balance, reserved) {stored}, "
                 f"its entries add up to {summed}")
    else:
        echo("ledger: every company's balance and reserved amount agree with its entries")
    return UpgradeReport(before, after, archive, differ)
