"""The month calendar's table rows, written in Python.

The grid is the heaviest part of the calendar page: some 35 cells, each with a link or a
disabled link and its reasons. Jinja spends more on those cells (a node and an escape per
attribute) than the rest of the page costs, so they are written here from format strings,
every text escaped. The markup is the one the page has always had:

- a selectable day is a link to its day page, with « Disponible » for the list of days;
- a disabled day is a link without `href`, `aria-disabled`, described by its full reason,
  with the short reason shown in the cell and the full one as the cell's title;
- today carries `aria-current="date"` and « Aujourd'hui »; a day with trips says how many.
"""

from datetime import date

from markupsafe import Markup, escape

from app.trips import rules
from app.trips.french import long_day

# The day's full name is read by screen readers, and shown instead of the number where the
# month is a list of days (a narrow screen: app/static/css/trips.css).
_NUMBER = '<span class="day-number">{number}</span><span class="day-name"> {label}</span>'
_OPEN = (
    '<td class="{classes}"><a class="day-link" href="{url}/{iso}"{current}>' + _NUMBER + "</a>"
    '<span class="day-state" aria-hidden="true">Disponible</span>'
)
_DISABLED = (
    '<td class="{classes}" title="{reason}"><a class="day-link" role="link" aria-disabled="true"'
    ' aria-describedby="raison-{iso}"{current}>' + _NUMBER + "</a>"
    '<span class="day-reason" aria-hidden="true">{short}</span>'
    '<span class="visually-hidden" id="raison-{iso}">{reason}</span>'
)
_TODAY = '<span class="day-mark">Aujourd\'hui</span>'
_EMPTY = '<td class="day-empty"></td>'


def _cell(cell: rules.Day, count: int, today: date, calendar_url: str) -> str:
    day = cell.day
    is_today = day == today
    current = ' aria-current="date"' if is_today else ""
    if cell.selectable:
        classes = "day day-open day-today" if is_today else "day day-open"
        html = _OPEN.format(
            classes=classes,
            url=calendar_url,
            iso=day.isoformat(),
            current=current,
            number=day.day,
            label=escape(long_day(day)),
        )
    else:
        classes = f"day day-disabled day-{cell.state}" + (" day-today" if is_today else "")
        html = _DISABLED.format(
            classes=classes,
            reason=escape(cell.reason),
            iso=day.isoformat(),
            current=current,
            number=day.day,
            label=escape(long_day(day)),
            short=escape(cell.short_reason),
        )
    if is_today:
        html += _TODAY
    if count:
        html += f'<span class="day-trips">{count} trajet{"s" if count > 1 else ""}</span>'
    return html + "</td>"


def calendar_rows(
    days: list[rules.Day], counts: dict[date, int], today: date, calendar_url: str
) -> Markup:
    """The `<tr>` of the month's weeks, from Monday to Sunday, empty cells outside the month."""
    calendar_url = escape(calendar_url)
    rows = []
    for week in rules.month_weeks(days):
        cells = (
            _EMPTY if cell is None else _cell(cell, counts.get(cell.day, 0), today, calendar_url)
            for cell in week
        )
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return Markup("\n".join(rows))  # noqa: S704 - every text above is escaped or ours
