"""Column types shared by the models."""

import enum

import sqlalchemy as sa


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
