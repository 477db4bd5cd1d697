"""Column types and columns shared by the models."""

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.clock import utcnow


def enum_column(enum_class: type[enum.Enum], name: str) -> sa.Enum:
    """Store the enum's value as text with a CHECK, the same on SQLite and PostgreSQL."""
    return sa.Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
    )


def typed_null(type_: sa.types.TypeEngine | None = None) -> sa.Cast:
    """A NULL of a column's type: the filler of a UNION ALL part that has no such column."""
    return sa.cast(sa.null(), type_ if type_ is not None else sa.String())


class LoginSessionColumns:
    """What a login on one browser keeps, for members (user_sessions) and staff
    (staff_sessions) alike: the SHA-256 of its cookie's random token, when it opened, when it
    was last used (recorded at most once a minute; it ends after an idle delay) and from
    which address. Each table adds its owner and what only it needs."""

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ip: Mapped[str | None] = mapped_column(sa.String(45))
