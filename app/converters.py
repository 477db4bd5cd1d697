"""URL converters."""

from werkzeug.routing import IntegerConverter

# PostgreSQL's INTEGER: an id beyond it cannot exist, and asking the database would fail.
MAX_DATABASE_ID = 2**31 - 1


class DatabaseIdConverter(IntegerConverter):
    """`<int:…>` in every URL: a positive id a database column can hold, otherwise 404."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_DATABASE_ID)
        super().__init__(map, *args, **kwargs)
