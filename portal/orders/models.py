"""Orders and what hangs on them: the catalogue (content types, tiers), the brief, the timeline,
the writer's working draft, the immutable deliveries and the attachments."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.accounts.models import User
from portal.extensions import UTCDateTime, db, foreign_key, string_enum, utcnow
from portal.orders.text import nonblank_lines


class OrderStatus(enum.StrEnum):
    DRAFT = "draft"
    AWAITING_PAYMENT = "awaiting_payment"  # submitted, the company's balance is short
    OPEN = "open"
    IN_PROGRESS = "in_progress"
    # Delivered by the writer on a tier that requires review: an editor reads it before the
    # client may (portal/orders/review.py).
    IN_REVIEW = "in_review"
    DELIVERED = "delivered"
    REVISION_REQUESTED = "revision_requested"
    APPROVED = "approved"
    CANCELLED = "cancelled"


STATUS_LABELS = {
    OrderStatus.DRAFT: _l("Draft"),
    OrderStatus.AWAITING_PAYMENT: _l("Awaiting payment"),
    OrderStatus.OPEN: _l("Waiting for a writer"),
    OrderStatus.IN_PROGRESS: _l("In progress"),
    OrderStatus.IN_REVIEW: _l("In review"),
    OrderStatus.DELIVERED: _l("Delivered"),
    OrderStatus.REVISION_REQUESTED: _l("Revision requested"),
    OrderStatus.APPROVED: _l("Approved"),
    OrderStatus.CANCELLED: _l("Cancelled"),
}

# The colour of each status's badge (Bootstrap's text-bg-*).
STATUS_STYLES = {
    OrderStatus.DRAFT: "secondary",
    OrderStatus.AWAITING_PAYMENT: "warning",
    OrderStatus.OPEN: "info",
    OrderStatus.IN_PROGRESS: "primary",
    OrderStatus.IN_REVIEW: "light border",
    OrderStatus.DELIVERED: "warning",
    OrderStatus.REVISION_REQUESTED: "danger",
    OrderStatus.APPROVED: "success",
    OrderStatus.CANCELLED: "dark",
}

# The timeline's line of each event (an action of the workflow, or another change).
TIMELINE_LABELS = {
    "created": _l("Brief created"),
    "edited": _l("Brief edited"),
    "submit": _l("Order submitted"),
    "await_payment": _l("Submitted: waiting for payment"),
    "payment_received": _l("Paid: sent to the writers"),
    "cancel": _l("Order cancelled"),
    "claim": _l("Taken by a writer"),
    "assign": _l("Assigned to a writer"),
    "reassign": _l("Given to another writer"),
    "release": _l("Given back to the pool"),
    "deliver": _l("Text delivered"),
    "send_to_review": _l("Text sent to the editor"),
    "pass_review": _l("Reviewed and delivered"),
    "return_to_writer": _l("Returned to the writer by the editor"),
    "request_revision": _l("Revision requested"),
    "approve": _l("Approved"),
    "auto_approve": _l("Approved automatically"),
    "deadline_extended": _l("Deadline extended"),
    "revision_granted": _l("Extra revision granted"),
    "reference_texts_changed": _l("Reference texts updated by the agency"),
}

FINAL_STATUSES = frozenset({OrderStatus.APPROVED, OrderStatus.CANCELLED})


def _order_status() -> sa.Enum:
    return string_enum(OrderStatus, "order_status", length=30)


class ContentType(db.Model):
    """A kind of text the agency sells (blog article, press release…); managers keep the list."""

    __tablename__ = "content_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    name_fr: Mapped[str] = mapped_column(sa.String(80), unique=True)
    name_en: Mapped[str] = mapped_column(sa.String(80))
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())

    def name(self, locale: str) -> str:
        return self.name_fr if locale == "fr" else self.name_en


class Tier(db.Model):
    """A quality level: its prices per word (integers of the currency's minor unit), the
    revision rounds it includes and the shortest lead time it accepts."""

    __tablename__ = "tiers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(60), unique=True)
    description: Mapped[str] = mapped_column(sa.String(300), default="")
    client_price_per_word: Mapped[int]
    writer_pay_per_word: Mapped[int]
    included_revisions: Mapped[int] = mapped_column(default=2)
    min_lead_hours: Mapped[int] = mapped_column(default=48)
    position: Mapped[int] = mapped_column(default=0)
    active: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Every delivery of its orders goes to an editor before the client (portal/orders/review.py).
    requires_review: Mapped[bool] = mapped_column(default=False, server_default=sa.false())


writer_tiers = sa.Table(
    "writer_tiers",
    db.metadata,
    sa.Column("user_id", sa.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("tier_id", sa.ForeignKey("tiers.id", ondelete="CASCADE"), primary_key=True),
)


class WriterLanguage(db.Model):
    """A language a writer may take orders in."""

    __tablename__ = "writer_languages"

    user_id: Mapped[int] = foreign_key("users.id", "CASCADE", primary_key=True)
    language: Mapped[str] = mapped_column(sa.String(8), primary_key=True, index=True)


# The statuses in which the writer has the text in hand.
WRITING_STATUSES = (OrderStatus.IN_PROGRESS, OrderStatus.REVISION_REQUESTED)

# The statuses in which a passed deadline is the agency's to answer for: waiting for a writer,
# being written, or read by an editor.
LATE_STATUSES = (OrderStatus.OPEN, *WRITING_STATUSES, OrderStatus.IN_REVIEW)

# The brief's reference texts: enough for a few web pages (about 3,000 words), little enough
# that comparing a delivery with them stays a matter of milliseconds.
REFERENCE_TEXTS_MAX = 20_000


class Order(db.Model):
    __tablename__ = "orders"
    __table_args__ = (
        sa.Index("ix_orders_status_deadline", "status", "deadline"),
        sa.Index("ix_orders_client_id_status_created_at", "client_id", "status", "created_at"),
        sa.Index("ix_orders_writer_id_status_deadline", "writer_id", "status", "deadline"),
        # The open orders per writer (writer_loads recounted), from the index alone.
        sa.Index("ix_orders_status_writer_id", "status", "writer_id"),
        # "All orders" and "My orders", newest first: read in index order, never sorted whole.
        sa.Index("ix_orders_created_at_id", "created_at", "id"),
        sa.Index("ix_orders_client_id_created_at_id", "client_id", "created_at", "id"),
        # The pool filtered by language and tier, in the order of its pages (deadline, id), and
        # its count: from the index alone (whether an offer keeps an order out is read there).
        sa.Index("ix_orders_pool", "status", "language", "tier_id", "deadline", "id",
                 "offered_until", "preferred_writer_id"),
        # A company's orders waiting for its payment, oldest first.
        sa.Index("ix_orders_company_id_status_submitted_at", "company_id", "status",
                 "submitted_at"),
        sa.CheckConstraint("words_min >= 1 AND words_min <= words_max", name="word_range"),
        # The landing page's samples, newest first, without a scan of the orders.
        sa.Index("ix_orders_showcased_at", "showcased_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    client_id: Mapped[int] = foreign_key("users.id", "RESTRICT")
    # The company that pays (portal.billing): the client's, when the order was created.
    company_id: Mapped[int] = foreign_key("companies.id", "RESTRICT")
    writer_id: Mapped[int | None] = foreign_key("users.id", "RESTRICT")
    preferred_writer_id: Mapped[int | None] = foreign_key("users.id", "SET NULL")
    # While set and in the future, only the preferred writer may claim the open order.
    offered_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    status: Mapped[OrderStatus] = mapped_column(
        _order_status(), default=OrderStatus.DRAFT
    )
    # Every edit of the brief bumps it; an edit made from an older version is refused.
    version: Mapped[int] = mapped_column(default=1)

    title: Mapped[str] = mapped_column(sa.String(200))
    content_type_id: Mapped[int] = mapped_column(sa.ForeignKey("content_types.id"), index=True)
    language: Mapped[str] = mapped_column(sa.String(8))
    words_min: Mapped[int]
    words_max: Mapped[int]
    tier_id: Mapped[int] = mapped_column(sa.ForeignKey("tiers.id"), index=True)
    tone: Mapped[str] = mapped_column(sa.String(120), default="")
    audience: Mapped[str] = mapped_column(sa.String(200), default="")
    primary_keyword: Mapped[str] = mapped_column(sa.String(120), default="")
    secondary_keywords: Mapped[str] = mapped_column(sa.Text, default="")
    links_to_include: Mapped[str] = mapped_column(sa.Text, default="")
    reference_urls: Mapped[str] = mapped_column(sa.Text, default="")
    # Texts pasted in the brief for the writer to read; a delivery that copies them is found
    # by the originality check (portal/orders/originality.py).
    reference_texts: Mapped[str] = mapped_column(sa.Text, default="", server_default=sa.text("''"))
    instructions: Mapped[str] = mapped_column(sa.Text, default="")
    deadline: Mapped[datetime] = mapped_column(UTCDateTime())
    # The company's style guide as it was at submission (portal/style_guides/service.py,
    # `snapshot`): the writer, the checks and the report read this one, never the live guide.
    # None before submission, or when the company had no guide then.
    style_guide: Mapped[dict | None] = mapped_column(sa.JSON)

    # Frozen at submission: a later change of the tier's prices never touches this order.
    currency: Mapped[str] = mapped_column(sa.String(3))
    price_per_word: Mapped[int | None]
    rush_surcharge: Mapped[int | None]
    price_total: Mapped[int | None]
    writer_pay_total: Mapped[int | None]
    included_revisions: Mapped[int | None]
    extra_revisions: Mapped[int] = mapped_column(default=0)
    revisions_used: Mapped[int] = mapped_column(default=0)

    rating: Mapped[int | None]
    rating_comment: Mapped[str | None] = mapped_column(sa.Text)

    # The client allows the agency to show the approved text as a sample on the landing page
    # (portal/orders/showcase.py); withdrawing it also clears `showcased_at`.
    sample_consent: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    # When a manager put the text on the landing page; None while it is not there.
    showcased_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    client: Mapped[User] = relationship(foreign_keys=[client_id])
    writer: Mapped[User | None] = relationship(foreign_keys=[writer_id])
    preferred_writer: Mapped[User | None] = relationship(foreign_keys=[preferred_writer_id])
    content_type: Mapped[ContentType] = relationship()
    tier: Mapped[Tier] = relationship()
    # The brief's files, for reading them with the order (uploads.py adds and removes them).
    attachments: Mapped[list[Attachment]] = relationship(
        viewonly=True, order_by=lambda: (Attachment.created_at, Attachment.id)
    )

    def __repr__(self) -> str:
        return f"<Order {self.id} {self.status.value}>"

    @property
    def reference(self) -> str:
        return self.reference_of(self.id)

    @staticmethod
    def reference_of(order_id: int) -> str:
        return f"CMD-{order_id:05d}"

    @property
    def revisions_allowed(self) -> int:
        return (self.included_revisions or 0) + self.extra_revisions

    @property
    def revisions_left(self) -> int:
        return max(0, self.revisions_allowed - self.revisions_used)

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    @property
    def is_overdue(self) -> bool:
        return (
            self.status in LATE_STATUSES
            and self.deadline < utcnow()
        )

    def keyword_list(self) -> list[str]:
        words = [self.primary_keyword] if self.primary_keyword else []
        words += nonblank_lines(self.secondary_keywords)
        return words


class OrderStatusCount(db.Model):
    """How many orders are in a status, kept up to date in the transaction that changes them
    (see portal/orders/status_counts.py): the agency's counts without counting every order."""

    __tablename__ = "order_status_counts"

    status: Mapped[OrderStatus] = mapped_column(_order_status(),
                                                primary_key=True)
    count: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))


class WriterLoad(db.Model):
    """A writer's orders being written and under review, kept like OrderStatusCount: the
    dashboard's busiest writers without grouping every open order."""

    __tablename__ = "writer_loads"

    writer_id: Mapped[int] = foreign_key("users.id", "CASCADE", primary_key=True)
    writing: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))
    review: Mapped[int] = mapped_column(default=0, server_default=sa.text("0"))


class OrderEvent(db.Model):
    """One line of an order's timeline: who did what, when, from which status to which."""

    __tablename__ = "order_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = foreign_key("orders.id", "CASCADE", index=True)
    actor_id: Mapped[int | None] = foreign_key("users.id", "SET NULL")
    action: Mapped[str] = mapped_column(sa.String(40))
    from_status: Mapped[OrderStatus | None] = mapped_column(_order_status())
    to_status: Mapped[OrderStatus | None] = mapped_column(_order_status())
    note: Mapped[str] = mapped_column(sa.Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    actor: Mapped[User | None] = relationship()


class Draft(db.Model):
    """The writer's working text. Clients never see it; they see deliveries."""

    __tablename__ = "drafts"

    order_id: Mapped[int] = foreign_key("orders.id", "CASCADE", primary_key=True)
    text: Mapped[str] = mapped_column(sa.Text, default="")
    version: Mapped[int] = mapped_column(default=0)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = foreign_key("users.id", "SET NULL")


class Delivery(db.Model):
    """A version of the text handed to the client. Never changed once written."""

    __tablename__ = "deliveries"
    __table_args__ = (sa.UniqueConstraint("order_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = foreign_key("orders.id", "CASCADE", index=True)
    number: Mapped[int]
    writer_id: Mapped[int | None] = foreign_key("users.id", "SET NULL")
    text: Mapped[str] = mapped_column(sa.Text)
    word_count: Mapped[int]
    note: Mapped[str] = mapped_column(sa.Text, default="")
    # The compliance report computed at delivery (portal/orders/report.py); None for a
    # delivery stored before reports existed.
    report: Mapped[dict | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # When the client could first read it: at delivery, or when an editor passed it. Empty
    # while it is in review and for ever once returned to the writer: the client never sees
    # such a delivery.
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    writer: Mapped[User | None] = relationship()

    @property
    def is_released(self) -> bool:
        return self.released_at is not None


class TextShingle(db.Model):
    """One sampled phrase of a delivery, by its hash: the index the originality check looks
    texts up in (portal/orders/originality.py). A delivery's rows are written when it is
    delivered, in the same transaction; `flask orders index-texts` rebuilds them all.

    The primary key (hash, delivery_id) is the lookup index itself: a phrase's rows are found
    by their hash, the delivery is read from the index. Deliveries are never deleted but with
    their order (a draft has none), so no second index on delivery_id is kept for the cascade.
    On SQLite the table has no rowid: the key is the table, half the size."""

    __tablename__ = "text_shingles"
    __table_args__ = {"sqlite_with_rowid": False}

    hash: Mapped[int] = mapped_column(sa.BigInteger, primary_key=True, autoincrement=False)
    delivery_id: Mapped[int] = foreign_key("deliveries.id", "CASCADE", primary_key=True,
                                           autoincrement=False)


class Attachment(db.Model):
    """A file joined to a brief, stored outside the web root under a random name."""

    __tablename__ = "attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = foreign_key("orders.id", "CASCADE", index=True)
    uploaded_by_id: Mapped[int | None] = foreign_key("users.id", "SET NULL")
    original_name: Mapped[str] = mapped_column(sa.String(255))
    stored_name: Mapped[str] = mapped_column(sa.String(64), unique=True)
    media_type: Mapped[str] = mapped_column(sa.String(100))
    size: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class BriefTemplate(db.Model):
    """A brief kept to start new ones from: a client's own (`owner_id`, seen by that client
    only) or the agency's (`owner_id` empty, written by managers, offered to clients once
    published). No deadline, no files, no price: those belong to each order."""

    __tablename__ = "brief_templates"
    __table_args__ = (
        sa.UniqueConstraint("owner_id", "name", name="uq_brief_templates_owner_id_name"),
        sa.Index("ix_brief_templates_published_content_type_id", "published",
                 "content_type_id"),
        sa.CheckConstraint("words_min >= 1 AND words_min <= words_max",
                           name="template_word_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Empty for the agency's templates; a client's go with the client's account.
    owner_id: Mapped[int | None] = foreign_key("users.id", "CASCADE")
    content_type_id: Mapped[int] = mapped_column(sa.ForeignKey("content_types.id"))
    name: Mapped[str] = mapped_column(sa.String(120))
    published: Mapped[bool] = mapped_column(default=False, server_default=sa.false())

    title: Mapped[str] = mapped_column(sa.String(200), default="")
    language: Mapped[str] = mapped_column(sa.String(8))
    words_min: Mapped[int]
    words_max: Mapped[int]
    # Empty: the client chooses (or the tier was withdrawn since).
    tier_id: Mapped[int | None] = foreign_key("tiers.id", "SET NULL")
    tone: Mapped[str] = mapped_column(sa.String(120), default="")
    audience: Mapped[str] = mapped_column(sa.String(200), default="")
    primary_keyword: Mapped[str] = mapped_column(sa.String(120), default="")
    secondary_keywords: Mapped[str] = mapped_column(sa.Text, default="")
    links_to_include: Mapped[str] = mapped_column(sa.Text, default="")
    reference_urls: Mapped[str] = mapped_column(sa.Text, default="")
    instructions: Mapped[str] = mapped_column(sa.Text, default="")

    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    content_type: Mapped[ContentType] = relationship()
    tier: Mapped[Tier | None] = relationship()
