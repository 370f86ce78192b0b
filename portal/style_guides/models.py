"""The style guide of a company (one per company, made the first time someone saves it)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import UTCDateTime, db, foreign_key, utcnow


class StyleGuide(db.Model):
    """How a company wants its texts written. Lists (words to use, forbidden words) are kept
    one per line, as typed and cleaned by the form. `version` counts saves: a form made from an
    older version is refused (portal/style_guides/service.py), as a draft's brief is."""

    __tablename__ = "style_guides"

    # The company's guide: its key is the company's (one guide each), gone with the company.
    company_id: Mapped[int] = foreign_key("companies.id", "CASCADE", primary_key=True)
    tone: Mapped[str] = mapped_column(sa.String(200), default="")
    audience: Mapped[str] = mapped_column(sa.String(300), default="")
    words_to_use: Mapped[str] = mapped_column(sa.Text, default="")
    forbidden_words: Mapped[str] = mapped_column(sa.Text, default="")
    formatting: Mapped[str] = mapped_column(sa.Text, default="")
    examples: Mapped[str] = mapped_column(sa.Text, default="")
    version: Mapped[int] = mapped_column(default=1)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Who saved it last (a person of the company or a manager); an account deleted later
    # leaves it empty (an erased one stays, shown as its "former member" name).
    updated_by_id: Mapped[int | None] = foreign_key("users.id", "SET NULL")

    def __repr__(self) -> str:
        return f"<StyleGuide of company {self.company_id} v{self.version}>"
