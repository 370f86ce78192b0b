"""An order's progress as the steps of a stepper (templates/orders/_stepper.html).

The happy path is draft → open → in progress → delivered → approved. Waiting for payment is
the "open" step, not reached yet; a text in review waits on the writing step; a revision goes
back to the writing step (counted there);
a cancelled order shows the steps it reached, then the cancellation instead of the rest.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_babel import gettext as _
from flask_babel import ngettext

from portal.orders.models import STATUS_LABELS, OrderEvent, OrderStatus

PATH = (OrderStatus.DRAFT, OrderStatus.OPEN, OrderStatus.IN_PROGRESS, OrderStatus.DELIVERED,
        OrderStatus.APPROVED)
# Where each status stands on the path.
RANK = {
    OrderStatus.DRAFT: 0,
    OrderStatus.AWAITING_PAYMENT: 1,
    OrderStatus.OPEN: 1,
    OrderStatus.IN_PROGRESS: 2,
    OrderStatus.REVISION_REQUESTED: 2,
    OrderStatus.IN_REVIEW: 2,  # written, read by an editor before the client
    OrderStatus.DELIVERED: 3,
    OrderStatus.APPROVED: 4,
}
ICONS = ("pencil", "send", "vector-pen", "inbox", "check-lg")


@dataclass(frozen=True)
class Step:
    label: str
    state: str  # done, current, waiting (payment), loop (a revision), upcoming, cancelled
    icon: str
    note: str = ""
    current: bool = False  # the step the order stands at (aria-current)


@dataclass(frozen=True)
class Progress:
    steps: list[Step]

    @property
    def current(self) -> tuple[int, Step]:
        for number, step in enumerate(self.steps, start=1):
            if step.current:
                return number, step
        return len(self.steps), self.steps[-1]


def order_progress(order, events: Iterable[OrderEvent] = ()) -> Progress:
    """The steps of `order`; `events` (its timeline, already loaded by the page) tell where a
    cancelled order stood when it was cancelled."""
    labels = STATUS_LABELS
    status = order.status
    revisions = order.revisions_used or 0
    revision_note = (ngettext("%(num)d revision", "%(num)d revisions", revisions)
                     if revisions else "")
    if status is OrderStatus.CANCELLED:
        reached = 0
        for event in events:
            if event.to_status is OrderStatus.CANCELLED and event.from_status in RANK:
                reached = RANK[event.from_status]
        steps = [Step(labels[PATH[i]], "done", ICONS[i]) for i in range(reached + 1)]
        return Progress([*steps, Step(labels[OrderStatus.CANCELLED], "cancelled", "x-lg",
                                      current=True)])

    rank = RANK[status]
    steps = []
    for i, path_status in enumerate(PATH):
        note = revision_note if i == 2 else ""
        if i < rank or status is OrderStatus.APPROVED:
            state = "done"
        elif i > rank:
            state = "upcoming"
        elif status is OrderStatus.AWAITING_PAYMENT:
            state, note = "waiting", labels[OrderStatus.AWAITING_PAYMENT]
        elif status is OrderStatus.REVISION_REQUESTED:
            state, note = "loop", labels[OrderStatus.REVISION_REQUESTED]
        elif status is OrderStatus.IN_REVIEW:
            state, note = "waiting", labels[OrderStatus.IN_REVIEW]
        else:
            state = "current"
        is_here = i == rank
        steps.append(Step(labels[path_status], state, ICONS[i], note, current=is_here))
    return Progress(steps)


def caption(progress: Progress) -> str:
    number, step = progress.current
    return _("Step %(number)d of %(total)d: %(label)s", number=number,
             total=len(progress.steps), label=step.label)
