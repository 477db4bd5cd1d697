"""Browser fixtures: Debian's Chromium driven by Playwright against the app served by waitress.

Every test of this directory is skipped when /usr/bin/chromium is missing. Playwright's own
browser builds are never used (nor downloaded): Chromium is launched from its Debian path.

- `live_server`: the test application (the `app` fixture) served by waitress in a thread on
  127.0.0.1; `live_server.url` is its base URL and also its PUBLIC_URL, so links in e-mails
  received by the `mailbox` fixture can be followed by the browser.
- `page`: a Playwright page in French whose context bypasses the CSP, so that axe-core can
  be injected. `strict_page`: a page under the real CSP that fails the test on any console
  error (a CSP violation, a script error, a failed resource).
- `axe(page)`: runs axe-core on the page and fails on serious or critical violations.
"""

import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from flask import Flask
from playwright.sync_api import expect
from waitress.server import create_server

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ABSENT = "Chromium absent : apt-get install -y chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
AXE_SCRIPT = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
BLOCKING_IMPACTS = ("serious", "critical")
BROWSER_TESTS_DIR = Path(__file__).resolve().parent

# A loaded CI machine can take more than Playwright's 5 s to render a page.
expect.set_options(timeout=15_000)


# --- Chromium -----------------------------------------------------------------------------


def pytest_collection_modifyitems(config, items):
    """Without Debian's Chromium, every browser test is skipped with the way to install it."""
    if CHROMIUM.exists():
        return
    skip = pytest.mark.skip(reason=CHROMIUM_ABSENT)
    for item in items:
        if BROWSER_TESTS_DIR in Path(item.path).resolve().parents:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args, browser_name) -> dict:
    """Launch /usr/bin/chromium, headless unless --headed; never a Playwright-managed build."""
    if browser_name != "chromium":
        pytest.skip(f"only Debian's Chromium is used, not {browser_name}")
    # A channel (--browser-channel) names a Google build that Playwright would look for.
    launch_args = {k: v for k, v in browser_type_launch_args.items() if k != "channel"}
    launch_args.setdefault("headless", True)
    return {**launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def base_url(pytestconfig) -> str | None:
    """Replaces pytest-playwright's fallback fixture, an instance method that pytest 9
    deprecates (a warning, hence an error here); tests use `live_server.url` anyway."""
    return pytestconfig.getoption("--base-url", default=None) or None


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args) -> dict:
    """French pages; the CSP is bypassed so that axe-core can be injected as a script tag."""
    return {**browser_context_args, "locale": "fr-FR", "bypass_csp": True}


@dataclass
class ConsoleErrors:
    """What a page reported as broken: console errors and uncaught exceptions."""

    messages: list[str]

    def record_console(self, message) -> None:
        if message.type == "error":
            location = message.location or {}
            self.messages.append(f"{message.text} ({location.get('url', '?')})")

    def record_exception(self, error) -> None:
        self.messages.append(f"uncaught exception: {error}")


@pytest.fixture
def strict_page(browser, browser_context_args, live_server) -> Iterator:
    """A page under the application's real CSP; any console error fails the test.

    It depends on `live_server` so that it is closed before the server stops: a request
    still in flight (the icon) would otherwise fail with a connection reset.
    """
    args = {k: v for k, v in browser_context_args.items() if k != "bypass_csp"}
    context = browser.new_context(**args)
    page = context.new_page()
    errors = ConsoleErrors([])
    page.on("console", errors.record_console)
    page.on("pageerror", errors.record_exception)
    try:
        yield page
        # Resources loaded after the `load` event (the icon) may still report an error.
        page.wait_for_load_state("networkidle")
    finally:
        context.close()
    assert not errors.messages, "console errors:\n" + "\n".join(errors.messages)


# --- The application, served --------------------------------------------------------------


@pytest.fixture
def live_server_socket() -> Iterator[socket.socket]:
    """The listening socket, bound before the app is built so PUBLIC_URL knows its port."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(64)
    yield listener
    listener.close()


@pytest.fixture
def app_config(app_config, live_server_socket) -> dict:
    """The test settings, with links in e-mails pointing at the live server."""
    host, port = live_server_socket.getsockname()
    return {**app_config, "PUBLIC_URL": f"http://{host}:{port}"}


@dataclass
class LiveServer:
    url: str
    app: Flask


@pytest.fixture
def live_server(app, live_server_socket) -> Iterator[LiveServer]:
    """The test application served by waitress in a background thread."""
    server = create_server(
        app,
        sockets=[live_server_socket],
        threads=4,
        channel_timeout=30,
        ident="cartable-tests",
    )
    thread = threading.Thread(target=server.run, name="live-server", daemon=True)
    thread.start()
    try:
        yield LiveServer(url=app.config["PUBLIC_URL"], app=app)
    finally:
        _stop(server, thread)


def _stop(server, thread: threading.Thread) -> None:
    """Close every channel from waitress's own loop thread, so the loop ends, then wait."""

    def close_everything() -> None:
        # Run by the loop thread: closing sockets under a poll() running in another thread
        # would make it fail on a bad file descriptor.
        for channel in list(server._map.values()):
            channel.handle_close()

    # A browser may still hold keep-alive connections: closing them is expected, not news.
    logging.getLogger("waitress").setLevel(logging.CRITICAL)
    try:
        try:
            server.trigger.pull_trigger(close_everything)
        except OSError:
            # The loop already closed its trigger pipe (after a poll error on a busy
            # machine): it wakes for nothing now, so its channels are closed from here and
            # the loop ends on its next pass over an empty map.
            close_everything()
        thread.join(timeout=10)
        assert not thread.is_alive(), "the live server did not stop"
        server.task_dispatcher.shutdown()
    finally:
        logging.getLogger("waitress").setLevel(logging.NOTSET)


# --- Accessibility ------------------------------------------------------------------------


def _describe(violation: dict) -> str:
    nodes = violation["nodes"]
    lines = [
        f"- [{violation['impact']}] {violation['id']}: {violation['help']} "
        f"({len(nodes)} élément(s)) {violation['helpUrl']}"
    ]
    for node in nodes[:5]:
        summary = " ".join((node.get("failureSummary") or "").split())
        lines.append(f"    {' '.join(node['target'])}: {summary}")
    return "\n".join(lines)


@pytest.fixture
def axe():
    """`axe(page)`: fail on any serious or critical axe-core violation of the current page."""
    if not AXE_SCRIPT.exists():
        pytest.fail(f"{AXE_SCRIPT} is missing: run `npm ci` (or `make test`) first")

    def check(page, *, exclude: list[str] | None = None) -> list[dict]:
        if not page.evaluate("() => typeof window.axe !== 'undefined'"):
            page.add_script_tag(path=str(AXE_SCRIPT))
        results = page.evaluate(
            """async (exclude) => {
                const context = exclude.length ? {exclude: exclude.map((s) => [s])} : document;
                return await axe.run(context, {resultTypes: ['violations']});
            }""",
            exclude or [],
        )
        blocking = [v for v in results["violations"] if v["impact"] in BLOCKING_IMPACTS]
        assert not blocking, f"axe-core on {page.url}:\n" + "\n".join(map(_describe, blocking))
        return results["violations"]

    return check
