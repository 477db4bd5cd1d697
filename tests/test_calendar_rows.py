"""The calendar's rows (trips/_calendar_rows.html): links, disabled days, today, counts,
escaping."""

import re
from datetime import date

import pytest
from flask import render_template

from app.trips.routes import calendar_weeks
from app.trips.rules import Day, DayState

HOSTILE = "\"<script>&'"


def _month() -> list[Day]:
    """May 2026 (starts on a Friday): open days, a holiday with a hostile name, Sundays."""
    days = []
    for number in range(1, 32):
        day = date(2026, 5, number)
        if day.weekday() == 6:
            days.append(Day(day, DayState.SUNDAY, "Aucun trajet n'est organisé le dimanche."))
        elif number == 14:
            days.append(Day(day, DayState.HOLIDAY, f"Férié : {HOSTILE}", holiday=HOSTILE))
        else:
            days.append(Day(day, DayState.SELECTABLE))
    return days


@pytest.fixture
def calendar_rows(app):
    """Renders the rows as the calendar page does, from the month's days."""

    def render(days: list[Day], counts: dict, today: date, calendar_url: str) -> str:
        with app.test_request_context():
            return render_template(
                "trips/_calendar_rows.html",
                weeks=calendar_weeks(days, counts, today),
                calendar_url=calendar_url,
            )

    return render


def test_weeks_run_monday_to_sunday_with_empty_cells_outside_the_month(calendar_rows):
    html = calendar_rows(_month(), {}, date(2026, 5, 4), "/trajets")
    # Whitespace between cells does not count.
    rows = [
        re.sub(r">\s+<", "><", row.strip()) for row in re.findall(r"<tr>(.*?)</tr>", html, re.S)
    ]
    assert len(rows) == 5
    assert all(row.count("<td") == 7 for row in rows)
    assert rows[0].startswith('<td class="day-empty"></td>' * 4)  # Monday to Thursday
    assert "day-empty" not in rows[-1] and "raison-2026-05-31" in rows[-1]  # a Sunday


def test_open_days_link_to_their_day_page_and_disabled_ones_say_why(calendar_rows):
    html = calendar_rows(_month(), {}, date(2026, 5, 4), "/trajets")
    assert (
        '<td class="day day-open"><a class="day-link" href="/trajets/2026-05-05">'
        '<span class="day-number">5</span><span class="day-name"> mardi 5 mai 2026</span></a>'
        '<span class="day-state" aria-hidden="true">Disponible</span></td>'
    ) in html
    sunday = re.search(r'<td class="day day-disabled day-sunday"[^>]*>.*?</td>', html).group(0)
    assert 'title="Aucun trajet n&#39;est organisé le dimanche."' in sunday
    assert 'role="link" aria-disabled="true" aria-describedby="raison-2026-05-03"' in sunday
    assert "href" not in sunday
    assert '<span class="day-reason" aria-hidden="true">Dimanche</span>' in sunday


def test_every_text_is_escaped(calendar_rows):
    html = calendar_rows(_month(), {}, date(2026, 5, 4), '/t"<x>')
    assert "<script>" not in html and '"<x>' not in html
    assert "Férié : &#34;&lt;script&gt;&amp;&#39;" in html
    assert 'href="/t&#34;&lt;x&gt;/2026-05-05"' in html


def test_today_is_marked_and_trips_are_counted(calendar_rows):
    counts = {date(2026, 5, 4): 1, date(2026, 5, 5): 3}
    html = calendar_rows(_month(), counts, date(2026, 5, 4), "/trajets")
    today = re.search(r'<td class="day day-open day-today">.*?</td>', html).group(0)
    assert 'aria-current="date"' in today
    assert '<span class="day-mark">Aujourd\'hui</span>' in today
    assert '<span class="day-trips">1 trajet</span>' in today
    assert '<span class="day-trips">3 trajets</span>' in html
    assert html.count('aria-current="date"') == 1


def test_a_disabled_today_keeps_its_reason_and_its_mark(calendar_rows):
    html = calendar_rows(_month(), {}, date(2026, 5, 10), "/trajets")  # a Sunday
    cell = re.search(r'<td class="day day-disabled day-sunday day-today".*?</td>', html).group(0)
    assert 'aria-current="date"' in cell and "Aujourd'hui" in cell
