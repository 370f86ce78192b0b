"""The order workflow driven by random people (Hypothesis RuleBasedStateMachine).

A client, two writers who both qualify, a manager, an editor and the scheduler act on a few
orders (some on a tier that requires review) through the pages a person uses (claim, release,
deliver, pass a delivery in review to the client or return it to the writer, ask for a
revision, approve, cancel, assign, grant a revision, submit) and the scheduled auto-approval,
in any order, each trying what they
may and what they may not. A model written from the issue's table says what each attempt must
do; after every step the database must agree with it, and:

- only moves of the table happened, each by someone the table allows;
- an order has one writer at a time: none while it is open, one while it is written or
  reviewed;
- approved and cancelled orders are final: nothing about them changes any more;
- every move wrote exactly one timeline event;
- the price frozen at submission never changes;
- a submission the client's balance does not cover waits for payment, and goes on by itself
  (the system's move) once money is added or released, oldest first;
- the counts per status (order_status_counts) are the orders' statuses counted;
- the unread counters (read_markers.unread) of every person and order equal what the query that
  defines them counts, while people write, write notes and read along the way;
- no answer is a 5xx.
"""

from __future__ import annotations

import os
from collections import Counter
from datetime import timedelta
from types import SimpleNamespace

import sqlalchemy as sa
from hypothesis import Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from portal.accounts.models import Role, User
from portal.extensions import db, utcnow
from portal.i18n import to_local
from portal.messaging.models import ReadMarker
from portal.messaging.queries import recount_unread
from portal.orders import service
from portal.orders.models import Draft, Order, OrderEvent, OrderStatus, OrderStatusCount
from portal.orders.workflow import Action
from tests.conftest import empty_database
from tests.factories import deliverable
from tests.security.fuzz_support import (
    SLOW_IS_FINE,
    csrf_token,
    example_counter,
    examples,
    log_in,
)

S = OrderStatus
RUNS = examples(int(os.environ.get("PORTAL_WORKFLOW_RUNS", "40")))
STEPS = 40
MAX_ORDERS = 8  # in all, at most 3 of them not finished
PRICE = 12_000  # 600 words at 20 per word
# What the delivery rules read of the briefs `place_order` sends.
BRIEF = SimpleNamespace(words_min=400, words_max=600, primary_keyword="", links_to_include="")
FUNDS = 2 * PRICE  # the client's prepaid balance at the start: two orders, not three
PEOPLE = ("client", "writer_a", "writer_b", "manager", "editor")
NATURAL = "natural"
ACTORS = st.sampled_from((NATURAL,) * 5 + PEOPLE)
SOMETIMES = st.sampled_from([False, False, False, True])
WRITERS = ("writer_a", "writer_b")
FINAL = (S.APPROVED, S.CANCELLED)
FROZEN = ("price_total", "price_per_word", "writer_pay_total", "rush_surcharge", "currency",
          "included_revisions", "submitted_at", "client_id")

# Who may make each move, written from the issue (not read from workflow.MOVES):
# (status, action) -> (status after, who). "writer" is any writer; "assigned" the order's one.
TABLE: dict[tuple[OrderStatus, str], tuple[OrderStatus, set[str]]] = {
    (S.DRAFT, "submit"): (S.OPEN, {"client"}),
    (S.DRAFT, "await_payment"): (S.AWAITING_PAYMENT, {"client"}),
    (S.AWAITING_PAYMENT, "payment_received"): (S.OPEN, {"system"}),
    (S.AWAITING_PAYMENT, "cancel"): (S.CANCELLED, {"client", "manager"}),
    (S.DRAFT, "cancel"): (S.CANCELLED, {"manager"}),
    (S.OPEN, "cancel"): (S.CANCELLED, {"client", "manager"}),
    (S.OPEN, "claim"): (S.IN_PROGRESS, {"writer"}),
    (S.OPEN, "assign"): (S.IN_PROGRESS, {"manager"}),
    (S.IN_PROGRESS, "cancel"): (S.CANCELLED, {"manager"}),
    (S.IN_PROGRESS, "reassign"): (S.IN_PROGRESS, {"manager"}),
    (S.IN_PROGRESS, "release"): (S.OPEN, {"assigned", "manager"}),
    (S.IN_PROGRESS, "deliver"): (S.DELIVERED, {"assigned"}),
    (S.DELIVERED, "cancel"): (S.CANCELLED, {"manager"}),
    (S.DELIVERED, "request_revision"): (S.REVISION_REQUESTED, {"client", "manager"}),
    (S.DELIVERED, "approve"): (S.APPROVED, {"client", "manager"}),
    (S.DELIVERED, "auto_approve"): (S.APPROVED, {"system"}),
    (S.REVISION_REQUESTED, "cancel"): (S.CANCELLED, {"manager"}),
    (S.REVISION_REQUESTED, "reassign"): (S.REVISION_REQUESTED, {"manager"}),
    (S.REVISION_REQUESTED, "deliver"): (S.DELIVERED, {"assigned"}),
    # On a tier that requires review, a delivery goes to the editor (or a manager) first.
    (S.IN_PROGRESS, "send_to_review"): (S.IN_REVIEW, {"assigned"}),
    (S.REVISION_REQUESTED, "send_to_review"): (S.IN_REVIEW, {"assigned"}),
    (S.IN_REVIEW, "pass_review"): (S.DELIVERED, {"editor", "manager"}),
    (S.IN_REVIEW, "return_to_writer"): (S.IN_PROGRESS, {"editor", "manager"}),
    (S.IN_REVIEW, "cancel"): (S.CANCELLED, {"manager"}),
}
MOVE_NAMES = {action.value for action in Action}


class Model:
    """What the machine expects of one order."""

    def __init__(self, order_id: int, status: OrderStatus, included: int,
                 reviewed: bool = False) -> None:
        self.id = order_id
        self.reviewed = reviewed  # on the tier that requires review
        self.delivered = False  # delivered once (to the client or to the editor)
        self.status = status
        self.writer: str | None = None
        self.included = included
        self.extra = 0
        self.used = 0
        self.moves = 1 if status is S.OPEN else 0  # submitted at once, or a draft
        self.submitted = status is S.OPEN
        self.frozen: dict | None = None  # the price and what goes with it, once submitted
        self.final_row: dict | None = None  # the whole row, once approved or cancelled

    @property
    def revisions_left(self) -> int:
        return self.included + self.extra - self.used


class WorkflowMachine(RuleBasedStateMachine):
    app = None
    factory = None
    make_client = None
    counter = None

    def __init__(self) -> None:
        super().__init__()
        app, factory = self.app, self.factory
        empty_database(app)
        self.tier = factory.tier(included_revisions=1, min_lead_hours=24)
        self.reviewed_tier = factory.tier(included_revisions=1, min_lead_hours=24,
                                          requires_review=True)
        self.content_type = factory.content_type()
        tiers = [self.tier, self.reviewed_tier]
        self.people = {
            "client": factory.user(Role.CLIENT, billing="prepaid", funds=FUNDS),
            "writer_a": factory.writer(tiers=tiers),
            "writer_b": factory.writer(tiers=tiers),
            "manager": factory.user(Role.MANAGER),
            "editor": factory.user(Role.EDITOR),
        }
        self.ids = {person.id: name for name, person in self.people.items()}
        self.company_id = factory.company_of(self.people["client"]).id
        self.browsers = {}
        for name, person in self.people.items():
            browser = self.make_client()
            log_in(browser, person)
            browser.token = csrf_token(app, browser)
            self.browsers[name] = browser
        self.orders: list[Model] = []
        self.balance = FUNDS  # the model of the client's money: what approvals took is gone
        self.seen_events = 0
        self.counter.add("workflow runs")

    # --- helpers --------------------------------------------------------------------------

    def post(self, who: str, path: str, data: dict | None = None):
        browser = self.browsers[who]
        response = browser.post(path, data={"csrf_token": browser.token, **(data or {})})
        assert response.status_code < 500, f"{who} POST {path}: {response.status_code}"
        self.counter.add("workflow steps")
        if os.environ.get("PORTAL_FUZZ_DEBUG"):
            self.counter.add(f"  POST {path.split('/')[-1]} by {who}: {response.status_code}")
        return response

    def pick(self, index: int, who: str, action: str) -> tuple[Model, str]:
        """The order and the person of a step. Anyone tries anything on any order, but most of
        the time ("natural") the person the move is for tries it on an order where it applies,
        so that orders go through whole lives, revisions and all."""
        if who != NATURAL:
            return self.orders[index % len(self.orders)], who
        fitting = [o for o in self.orders if (o.status, action) in TABLE
                   or (action == "assign" and (o.status, "reassign") in TABLE)]
        order = (fitting or self.orders)[index % len(fitting or self.orders)]
        parties = TABLE.get((order.status, action), (None, {"manager"}))[1]
        if "assigned" in parties:
            return order, order.writer or WRITERS[index % 2]
        if "writer" in parties:
            return order, WRITERS[index % 2]
        if "editor" in parties:
            return order, "editor"
        return order, "client" if "client" in parties else "manager"

    def row(self, order_id: int) -> dict:
        with self.app.app_context():
            row = db.session.execute(
                sa.select(Order.__table__).where(Order.id == order_id)
            ).mappings().one()
            db.session.remove()
        return dict(row)

    def draft_version(self, order_id: int) -> int:
        with self.app.app_context():
            draft = db.session.get(Draft, order_id)
            version = draft.version if draft else 0
            db.session.remove()
        return version

    def available(self) -> int:
        holding = sum(1 for o in self.orders if o.status in (S.OPEN, S.IN_PROGRESS, S.IN_REVIEW,
                                                             S.DELIVERED, S.REVISION_REQUESTED))
        return self.balance - PRICE * holding

    def submitted(self, order: Model) -> None:
        """A submission: to the writers when the balance covers it, else waiting for it."""
        order.status = S.OPEN if self.available() >= PRICE else S.AWAITING_PAYMENT
        order.moves += 1
        order.submitted = True

    def money_freed(self) -> None:
        """Money added or released pays the orders waiting for it, oldest first."""
        for order in self.orders:
            if order.status is S.AWAITING_PAYMENT and self.available() >= PRICE:
                order.status = S.OPEN
                order.moves += 1

    def expect(self, order: Model, action: str, who: str, *, succeeds: bool = True) -> bool:
        """Apply `action` by `who` to the model if the table allows it (and the rest of the
        request is acceptable: `succeeds`); True when it moved."""
        move = TABLE.get((order.status, action))
        if move is None or not succeeds:
            return False
        target, parties = move
        mine = {who}
        if who in WRITERS:
            mine.add("writer")
            if order.writer == who:
                mine.add("assigned")
        if not parties & mine:
            return False
        order.status = target
        order.moves += 1
        return True

    # --- rules: the client ----------------------------------------------------------------

    @initialize(submit=st.booleans(), reviewed=st.booleans())
    def first_order(self, submit, reviewed):
        self.place_order(submit, reviewed)

    @precondition(lambda self: len(self.orders) < MAX_ORDERS
                  and sum(o.status not in FINAL for o in self.orders) < 3)
    @rule(submit=st.booleans(), reviewed=st.booleans())
    def place_order(self, submit, reviewed):
        tier = self.reviewed_tier if reviewed else self.tier
        deadline = to_local(utcnow() + timedelta(days=10), "Africa/Lome")
        response = self.post("client", "/orders/new", {
            "title": "Un article pour la machine", "content_type_id": str(self.content_type.id),
            "language": "fr", "words_min": "400", "words_max": "600",
            "tier_id": str(tier.id), "deadline": deadline.strftime("%Y-%m-%dT%H:%M"),
            "save_submit" if submit else "save_draft": "1",
        })
        assert response.status_code == 302, response.get_data(as_text=True)[:300]
        order_id = int(response.headers["Location"].rstrip("/").split("/")[-1])
        order = Model(order_id, S.DRAFT, included=1, reviewed=reviewed)
        self.orders.append(order)
        if submit:
            self.submitted(order)

    @rule(index=st.integers(0, MAX_ORDERS - 1), who=ACTORS, stale=SOMETIMES)
    def submit(self, index, who, stale):
        order, who = self.pick(index, who, "submit")
        version = self.row(order.id)["version"] + (1 if stale else 0)
        self.post(who, f"/orders/{order.id}/submit", {"version": str(version)})
        if order.status is S.DRAFT and who == "client" and not stale:
            self.submitted(order)

    @rule(index=st.integers(0, MAX_ORDERS - 1), who=ACTORS,
          reason=st.sampled_from(["L'introduction est trop longue.", "Plus de chiffres.", "  "]))
    def request_revision(self, index, who, reason):
        order, who = self.pick(index, who, "request_revision")
        self.post(who, f"/orders/{order.id}/revision", {"reason": reason})
        if self.expect(order, "request_revision", who,
                       succeeds=bool(reason.strip()) and order.revisions_left > 0):
            order.used += 1

    @rule(index=st.integers(0, MAX_ORDERS - 1), who=ACTORS,
          rating=st.integers(1, 5), comment=st.sampled_from(["", "Merci, parfait."]))
    def approve(self, index, who, rating, comment):
        order, who = self.pick(index, who, "approve")
        self.post(who, f"/orders/{order.id}/approve", {"rating": str(rating), "comment": comment})
        if self.expect(order, "approve", who, succeeds=rating >= 3 or bool(comment)):
            self.balance -= PRICE  # captured

    @rule(index=st.integers(0, MAX_ORDERS - 1), who=st.sampled_from(PEOPLE))
    def cancel(self, index, who):  # nobody cancels "naturally": orders would not live long
        order, who = self.pick(index, who, "cancel")
        self.post(who, f"/orders/{order.id}/cancel", {"reason": "Plus besoin."})
        if self.expect(order, "cancel", who):
            self.money_freed()  # what it held is released

    # --- rules: writers -------------------------------------------------------------------

    @rule(index=st.integers(0, MAX_ORDERS - 1), who=ACTORS)
    def claim(self, index, who):
        order, who = self.pick(index, who, "claim")
        self.post(who, f"/work/orders/{order.id}/claim")
        if self.expect(order, "claim", who):
            order.writer = who

    @rule(index=st.integers(0, MAX_ORDERS - 1), who=ACTORS,
          reason=st.sampled_from(["Je suis malade.", "Pas le temps.", ""]))
    def release(self, index, who, reason):
        order, who = self.pick(index, who, "release")
        self.post(who, f"/work/orders/{order.id}/release", {"reason": reason})
        # Once delivered (even returned by the editor) an order never goes back to the pool.
        if self.expect(order, "release", who, succeeds=bool(reason) and not order.delivered):
            order.writer = None

    @rule(index=st.integers(0, MAX_ORDERS - 1), who=ACTORS,
          text=st.sampled_from(["# Titre\n\nUn texte livré.", "Un autre texte, revu.",
                                "Version finale.", "   "]),
          stale=SOMETIMES)
    def deliver(self, index, who, text, stale):
        order, who = self.pick(index, who, "deliver")
        version = self.draft_version(order.id) + (1 if stale else 0)
        if text.strip():  # long enough for the brief (the delivery rules are not under test)
            text = deliverable(BRIEF, text)
        self.post(who, f"/work/orders/{order.id}/deliver",
                  {"text": text, "base_version": str(version), "note": "Voici."})
        if self.expect(order, "send_to_review" if order.reviewed else "deliver", who,
                       succeeds=bool(text.strip()) and not stale):
            order.delivered = True

    # --- rules: the editor ----------------------------------------------------------------

    @rule(index=st.integers(0, MAX_ORDERS - 1), who=ACTORS,
          note=st.sampled_from(["", "Relu, prêt à publier."]))
    def pass_review(self, index, who, note):
        order, who = self.pick(index, who, "pass_review")
        self.post(who, f"/orders/{order.id}/review/pass", {"note": note})
        self.expect(order, "pass_review", who)

    @rule(index=st.integers(0, MAX_ORDERS - 1), who=ACTORS,
          comments=st.sampled_from(["Le deuxième intertitre manque.", "  "]))
    def return_to_writer(self, index, who, comments):
        order, who = self.pick(index, who, "return_to_writer")
        self.post(who, f"/orders/{order.id}/review/return", {"comments": comments})
        self.expect(order, "return_to_writer", who, succeeds=bool(comments.strip()))

    # --- a rule that moves an order along its usual life --------------------------------

    @rule(index=st.integers(0, MAX_ORDERS - 1), revise=st.booleans())
    def the_next_usual_step(self, index, revise):
        """What the person the order waits on usually does next, so that orders reach review,
        revisions and approval (where the other rules then try everything on them)."""
        if os.environ.get("PORTAL_FUZZ_DEBUG"):
            self.counter.add("  next usual step")
        live = [o for o in self.orders if o.status not in FINAL] or self.orders
        order = live[index % len(live)]
        position = self.orders.index(order)
        if order.status is S.DRAFT:
            self.submit(position, "client", False)
        elif order.status is S.AWAITING_PAYMENT:
            self.money_is_added("manager")
        elif order.status is S.OPEN:
            self.claim(position, WRITERS[index % 2])
        elif order.status in (S.IN_PROGRESS, S.REVISION_REQUESTED):
            self.deliver(position, order.writer, f"Le texte, version {index}.", False)
        elif order.status is S.IN_REVIEW and revise:
            self.return_to_writer(position, "editor", "Reprenez la conclusion.")
        elif order.status is S.IN_REVIEW:
            self.pass_review(position, "editor", "")
        elif order.status is S.DELIVERED and revise:
            self.request_revision(position, "client", "Reprenez la conclusion.")
        elif order.status is S.DELIVERED:
            self.approve(position, "client", 4, "")

    # --- rules: the conversation (whoever may, writes; anyone opens the order) -------------

    @rule(index=st.integers(0, MAX_ORDERS - 1), who=st.sampled_from(PEOPLE), note=SOMETIMES)
    def say(self, index, who, note):
        order = self.orders[index % len(self.orders)]
        self.post(who, f"/orders/{order.id}/messages",
                  {"body": "Un mot.", **({"internal": "y"} if note else {})})

    @rule(index=st.integers(0, MAX_ORDERS - 1), who=st.sampled_from(PEOPLE))
    def read(self, index, who):
        order = self.orders[index % len(self.orders)]
        response = self.browsers[who].get(f"/orders/{order.id}")
        assert response.status_code < 500, f"{who} GET /orders/{order.id}"

    # --- rules: the manager and the scheduler ---------------------------------------------

    @rule(index=st.integers(0, MAX_ORDERS - 1), who=ACTORS,
          writer=st.sampled_from(WRITERS))
    def assign(self, index, who, writer):
        order, who = self.pick(index, who, "assign")
        self.post(who, f"/agency/orders/{order.id}/assign",
                  {"assign-writer": self.people[writer].email, "assign-note": ""})
        action = "assign" if order.status is S.OPEN else "reassign"
        if self.expect(order, action, who, succeeds=order.writer != writer):
            order.writer = writer

    @rule(who=st.sampled_from(("manager", "manager", "client")))
    def money_is_added(self, who):
        """A manager adds money to the client's balance (a client may not)."""
        self.post(who, f"/agency/finance/companies/{self.company_id}/adjust",
                  {"amount": str(PRICE), "reason": "Paiement reçu en espèces."})
        if who == "manager":
            self.balance += PRICE
            self.money_freed()

    @rule(index=st.integers(0, MAX_ORDERS - 1), who=ACTORS)
    def grant_revision(self, index, who):
        order, who = self.pick(index, who, "grant_revision")
        self.post(who, f"/agency/orders/{order.id}/revisions", {"revision-note": ""})
        if who == "manager" and order.status not in (*FINAL, S.DRAFT):
            order.extra += 1

    @rule(days=st.integers(0, 10))
    def time_passes_and_the_scheduler_approves(self, days):
        now = utcnow() + timedelta(days=days)
        window = timedelta(days=self.app.config["AUTO_APPROVE_DAYS"])
        due = [o for o in self.orders if o.status is S.DELIVERED
               and self.row(o.id)["delivered_at"] <= now - window]
        with self.app.app_context():
            service.auto_approve_due(now)
            db.session.commit()
            db.session.remove()
        self.counter.add("workflow steps")
        for order in due:
            assert self.expect(order, "auto_approve", "system")
            self.balance -= PRICE

    # Each move, by the people who could make it were the order not finished.
    ATTEMPTS = (
        ("submit", ("client",), (False,)),
        ("cancel", ("client", "manager"), ()),
        ("claim", WRITERS, ()),
        ("assign", ("manager",), ("writer_a",)),
        ("assign", ("manager",), ("writer_b",)),
        ("release", ("assigned", "manager"), ("Je rends.",)),
        ("deliver", ("assigned",), ("Un texte de plus.", False)),
        ("pass_review", ("editor", "manager"), ("Relu.",)),
        ("return_to_writer", ("editor", "manager"), ("Reprenez.",)),
        ("request_revision", ("client", "manager"), ("Encore.",)),
        ("approve", ("client", "manager"), (5, "Bien.")),
        ("grant_revision", ("manager",), ()),
    )

    def everyone_tries_everything_on(self, order: Model) -> None:
        """Once an order is approved or cancelled, every move is tried on it by everyone who
        could have made it before (the invariant then finds the order unchanged)."""
        position = self.orders.index(order)
        for action, people, arguments in self.ATTEMPTS:
            for who in people:
                who = (order.writer or "writer_a") if who == "assigned" else who
                getattr(self, action)(position, who, *arguments)

    # --- what must always hold ------------------------------------------------------------

    @invariant()
    def the_unread_counters_agree_with_their_definition(self):
        with self.app.app_context():
            stored = {(user_id, order_id): count for user_id, order_id, count in
                      db.session.execute(sa.select(ReadMarker.user_id, ReadMarker.order_id,
                                                   ReadMarker.unread)
                                         .where(ReadMarker.unread != 0))}
            counted = {(person.id, order_id): count for person in self.people.values()
                       for order_id, count in
                       recount_unread(db.session.get(User, person.id)).items()}
            db.session.remove()
        assert stored == counted, "unread counters differ from their definition"
        if counted:
            self.counter.add("workflow steps with something unread")

    @invariant()
    def the_database_agrees_with_the_table(self):
        with self.app.app_context():
            rows = {row["id"]: dict(row) for row in db.session.execute(
                sa.select(Order.__table__)).mappings()}
            events = db.session.execute(
                sa.select(OrderEvent.__table__).order_by(OrderEvent.id)).mappings().all()
            counted = {status: n for status, n in db.session.execute(
                sa.select(OrderStatusCount.status, OrderStatusCount.count)) if n}
            db.session.remove()
        moves = [e for e in events if e["action"] in MOVE_NAMES]
        assert set(rows) == {o.id for o in self.orders}
        # The counts per status are the orders' statuses counted, whatever happened.
        assert counted == Counter(row["status"] for row in rows.values())
        for order in self.orders:
            row = rows[order.id]
            writer = self.ids.get(row["writer_id"])
            assert (row["status"], writer) == (order.status, order.writer), (
                f"order {order.id} is {row['status'].value} by {writer}; the table says "
                f"{order.status.value} by {order.writer}")
            assert row["revisions_used"] == order.used
            assert row["extra_revisions"] == order.extra
            # One writer at a time: nobody while open, someone while written or reviewed.
            if order.status in (S.DRAFT, S.AWAITING_PAYMENT, S.OPEN):
                assert row["writer_id"] is None
            elif order.status in (S.IN_PROGRESS, S.IN_REVIEW, S.DELIVERED,
                                  S.REVISION_REQUESTED):
                assert row["writer_id"] is not None
            # One timeline event per move.
            made = len([e for e in moves if e["order_id"] == order.id])
            assert made == order.moves, f"order {order.id}: {made} events for {order.moves} moves"
            # The price is frozen at submission.
            if order.submitted:
                frozen = {column: row[column] for column in FROZEN}
                assert frozen["price_total"] is not None
                if order.frozen is None:
                    order.frozen = frozen
                assert frozen == order.frozen, "the price changed after submission"
            # Approved and cancelled are final: nothing changes any more.
            if order.status in FINAL:
                if order.final_row is None:
                    order.final_row = row
                    self.everyone_tries_everything_on(order)
                assert row == order.final_row, "a final order changed"
        # Every move is one the table allows, made by someone it allows.
        for event in moves[self.seen_events:]:
            key = (event["from_status"], event["action"])
            assert key in TABLE, f"a move outside the table: {key}"
            target, parties = TABLE[key]
            assert event["to_status"] is target
            actor = self.ids.get(event["actor_id"], "system")
            roles = {actor, "writer"} if actor in WRITERS else {actor}
            if event["action"] in ("deliver", "send_to_review", "release") \
                    and actor in WRITERS:
                roles.add("assigned")  # checked against the model's writer above
            assert parties & roles, f"{actor} made {event['action']}"
            self.counter.add("workflow moves")
            if os.environ.get("PORTAL_FUZZ_DEBUG"):
                self.counter.add(f"  move {event['action']} by {actor}")
        self.seen_events = len(moves)


def test_random_people_never_break_the_workflow(app, factory, make_client, request):
    machine = type("Workflow", (WorkflowMachine,), {
        "app": app, "factory": factory, "make_client": staticmethod(make_client),
        "counter": example_counter(request.config),
    })
    run_state_machine_as_test(machine, settings=settings(
        max_examples=RUNS, stateful_step_count=STEPS, deadline=None, database=None,
        suppress_health_check=SLOW_IS_FINE,
        # Shrinking replays HTTP steps for minutes; the failing sequence is printed anyway.
        phases=[Phase.explicit, Phase.reuse, Phase.generate],
    ))
