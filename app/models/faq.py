"""FAQ content: themes and their questions, loaded from `app/faq/content/faq.toml`.

Stored in the database (not read from the file at each request) so that a later
back-office can edit it; `flask --app wsgi faq load` brings the file's version in.
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.clock import utcnow
from app.extensions import db


class FaqTheme(db.Model):
    """A group of questions (« Adresses », « Trajets »…), shown in `position` order."""

    __tablename__ = "faq_themes"
    __table_args__ = (sa.CheckConstraint("length(title) > 0", name="title_not_empty"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(sa.String(80), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    position: Mapped[int]

    entries: Mapped[list[FaqEntry]] = relationship(
        back_populates="theme", order_by="FaqEntry.position", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<FaqTheme {self.slug}>"


class FaqEntry(db.Model):
    """One question and the client's answer; `slug` is its permanent address."""

    __tablename__ = "faq_entries"
    __table_args__ = (
        sa.CheckConstraint("length(question) > 0", name="question_not_empty"),
        sa.CheckConstraint("length(answer) > 0", name="answer_not_empty"),
        sa.Index("ix_faq_entries_theme_position", "theme_id", "position"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    theme_id: Mapped[int] = mapped_column(sa.ForeignKey("faq_themes.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(sa.String(100), unique=True)
    question: Mapped[str] = mapped_column(sa.String(300))
    answer: Mapped[str] = mapped_column(sa.Text)
    # Words parents use that the answer does not (« identifiant », « login »…), for search.
    keywords: Mapped[str] = mapped_column(sa.String(500), default="", server_default="")
    position: Mapped[int]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    theme: Mapped[FaqTheme] = relationship(back_populates="entries")

    def __repr__(self) -> str:
        return f"<FaqEntry {self.slug}>"
