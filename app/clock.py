"""The one place the application reads the current time: Europe/Paris."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def now() -> datetime:
    """The current time in Paris, timezone-aware."""
    return datetime.now(PARIS)


def today() -> date:
    """Today's date in Paris."""
    return now().date()


def utcnow() -> datetime:
    """The current UTC time, naive, as every timestamp is stored in the database.

    SQLite keeps no time zone, so all stored instants are naive UTC everywhere.
    """
    return datetime.now(UTC).replace(tzinfo=None)


def paris_year(stored: datetime) -> int:
    """The year in Paris of a stored instant (naive UTC): a booking at 00:30 on 1 January
    in Paris is still 31 December in UTC."""
    return stored.replace(tzinfo=UTC).astimezone(PARIS).year
