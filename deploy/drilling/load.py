"""The load: logged-in families reading their pages and booking trips, and newcomers
registering, all through nginx; every request and booking is recorded with the phase it
was sent in, for the checks."""

from __future__ import annotations

import random
import threading
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from datetime import time as clock_time

from deploy.drilling.client import Browser, Page
from deploy.drilling.seed import PASSWORD, Family, Newcomer

STANDBY = "Service momentanément indisponible"
REGISTERED = "Confirmez votre adresse e-mail"
# Hours booked by the load: every quarter from 06:00 to 19:45, in order.
HOURS = tuple(clock_time(h, m) for h in range(6, 20) for m in (0, 15, 30, 45))


@dataclass
class Sent:
    """One request and what came back."""

    phase: str
    method: str
    path: str
    status: int  # 0: no answer at all
    clear: bool  # an error answered with a page in French, without a traceback
    at: float
    session_lost: bool = False  # a logged-in page sent the visitor back to the login

    @property
    def failed(self) -> bool:
        return self.status == 0 or self.status >= 400 or self.session_lost


@dataclass
class BookingAttempt:
    """Recorded before it is sent: a row the checks find is never one nobody asked for."""

    phase: str
    family: int
    child_id: int
    day: date
    hour: clock_time
    status: int | None = None  # None: no answer yet
    acknowledged: bool = False  # the portal answered with the trip's page


@dataclass
class Registration:
    phase: str
    email: str
    status: int
    acknowledged: bool  # the portal answered « vérifiez votre boîte »


@dataclass
class Record:
    """Everything the load did, shared by its threads."""

    phase: str = "connexion des familles"
    sent: list[Sent] = field(default_factory=list)
    bookings: list[BookingAttempt] = field(default_factory=list)
    registrations: list[Registration] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, item) -> None:
        with self.lock:
            {Sent: self.sent, BookingAttempt: self.bookings, Registration: self.registrations}[
                type(item)
            ].append(item)


def is_clear(page: Page) -> bool:
    """An error the visitor can read: a French page, no traceback, no server's bare text."""
    return (
        '<html lang="fr">' in page.text
        and "Traceback" not in page.text
        and ("<h1>" in page.text or STANDBY in page.text)
    )


def bookable_days(today: date, count: int) -> list[date]:
    """Weekdays from the fourth day on (48 h ahead with room), holidays left out."""
    from app.trips.rules import public_holiday

    days, day = [], today + timedelta(days=4)
    while len(days) < count:
        if day.weekday() < 5 and public_holiday(day) is None:
            days.append(day)
        day += timedelta(days=1)
    return days


class Load:
    def __init__(
        self,
        base_url: str,
        families: list[Family],
        newcomers: list[Newcomer],
        days: list[date],
        think: float,
        registration_every: float,
    ) -> None:
        self.base_url = base_url
        self.families = families
        self.newcomers = newcomers
        self.days = days
        self.think = think
        self.registration_every = registration_every
        self.record = Record()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.logged_in: set[int] = set()

    # --- Requests ---

    def _send(self, browser: Browser, method: str, path: str, **kwargs) -> Page:
        phase = self.record.phase
        try:
            if method == "GET":
                page = browser.get(path, **kwargs)
            else:
                page = browser.request("POST", path, **kwargs)
        except OSError:
            page = Page(0, {}, "")
        clear = 0 < page.status < 400 or is_clear(page)
        lost = path.startswith("/trajets") and "/connexion" in page.location
        self.record.add(Sent(phase, method, path, page.status, clear, time.monotonic(), lost))
        return page

    def _log_in(self, browser: Browser, family: Family) -> bool:
        form = self._send(browser, "GET", "/connexion")
        token = form.csrf_token()
        if token is None:
            return False
        page = self._send(
            browser,
            "POST",
            "/connexion",
            body={"csrf_token": token, "email": family.email, "password": PASSWORD},
        )
        return page.status == 302

    # --- Families ---

    def _family(self, family: Family, source: str) -> None:
        browser = Browser.of(self.base_url, source_address=source)
        rng = random.Random(family.number)  # noqa: S311 - pacing, not secrets
        slots = [(day, hour) for day in self.days for hour in HOURS]
        rng.shuffle(slots)
        # Families arrive in turn, as they would: a login checks its password with
        # production's argon2 cost, and fifty at once would only measure the CPU.
        self.stopping.wait(family.number * self.think / 10 + rng.uniform(0, self.think))
        logged_in = False
        cycle = 0
        while not self.stopping.is_set():
            if not logged_in:
                logged_in = self._log_in(browser, family)
                if logged_in:
                    with self.record.lock:
                        self.logged_in.add(family.number)
                else:
                    self.stopping.wait(self.think)
                    continue
            day, hour = slots[cycle % len(slots)]
            child = family.children[cycle % len(family.children)]
            cycle += 1
            calendar = self._send(browser, "GET", f"/trajets?mois={day:%Y-%m}")
            if "/connexion" in calendar.location:
                logged_in = False  # a session lost: the checks count it as an error
                continue
            path = f"/trajets/{day.isoformat()}"
            page = self._send(browser, "GET", path)
            token = page.csrf_token()
            if token is not None:
                self._book(browser, family, path, token, child, day, hour)
            if cycle % 5 == 0:
                self._send(browser, "GET", "/trajets/mes-trajets")
            self.stopping.wait(self.think * rng.uniform(0.5, 1.5))

    def _book(self, browser, family, path, token, child, day, hour) -> None:
        attempt = BookingAttempt(self.record.phase, family.number, child, day, hour)
        self.record.add(attempt)
        home, school = family.addresses
        page = self._send(
            browser,
            "POST",
            path,
            body={
                "csrf_token": token,
                "child": child,
                "hour": hour.strftime("%H:%M"),
                "from_address": home,
                "to_address": school,
                "purpose": "ecole",
            },
        )
        attempt.status = page.status
        attempt.acknowledged = page.status == 302 and "#trajet-" in page.location

    # --- Newcomers ---

    def _registrations(self) -> None:
        for newcomer in self.newcomers:
            if self.stopping.wait(self.registration_every):
                return
            source = f"127.0.2.{newcomer.number % 250 + 1}"
            browser = Browser.of(self.base_url, source_address=source)
            phase = self.record.phase
            form = self._send(browser, "GET", "/inscription")
            token = form.csrf_token()
            status, acknowledged = form.status, False
            if token is not None:
                page = self._send(
                    browser,
                    "POST",
                    "/inscription",
                    body={
                        "csrf_token": token,
                        "member_number": newcomer.member_number,
                        "first_name": newcomer.first_name,
                        "last_name": newcomer.last_name,
                        "email": newcomer.email,
                        "phone": "07 11 22 33 44",
                        "password": PASSWORD,
                        "password_confirm": PASSWORD,
                    },
                )
                status = page.status
                acknowledged = page.status == 200 and REGISTERED in page.text
            self.record.add(Registration(phase, newcomer.email, status, acknowledged))

    # --- Running ---

    def start(self) -> None:
        for family in self.families:
            # Each family from its own loopback address, as from its own home.
            source = f"127.0.1.{family.number % 250 + 1}"
            self.threads.append(
                threading.Thread(target=self._family, args=(family, source), daemon=True)
            )
        self.threads.append(threading.Thread(target=self._registrations, daemon=True))
        for thread in self.threads:
            thread.start()

    def all_logged_in(self) -> bool:
        with self.record.lock:
            return len(self.logged_in) == len(self.families)

    def stop(self) -> None:
        self.stopping.set()
        for thread in self.threads:
            thread.join(30)
