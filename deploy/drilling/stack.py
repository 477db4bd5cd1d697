"""Start and stop the parts of the production stack on loopback, each on a free port.

Every part is a child process of the caller (or, for PostgreSQL, a cluster in the caller's
temporary directory) and is stopped by `stop()`, whatever happened before.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[2]
PYTHON_BIN = Path(sys.executable).parent
UNITS = REPOSITORY / "deploy" / "systemd"
DEPLOY_NGINX = REPOSITORY / "deploy" / "nginx"
# Where the units expect the portal: its checkout and its virtualenv.
INSTALLED = "/srv/cartable"


def unit_command(unit: str, instance: str = "") -> list[str]:
    """The `ExecStart=` of a unit of deploy/systemd, for this checkout and this virtualenv:
    the drill and the tests start each process exactly as systemd would."""
    text = re.sub(r"\\\n\s*", " ", (UNITS / unit).read_text(encoding="utf-8"))
    (line,) = [line for line in text.splitlines() if line.startswith("ExecStart=")]
    command = shlex.split(line.removeprefix("ExecStart="))
    return [
        part.replace("%i", instance).replace(f"{INSTALLED}/.venv/bin", str(PYTHON_BIN))
        for part in command
    ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(check, timeout: float, what: str, interval: float = 0.1) -> None:
    """Call `check` until it is true, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError):
            if check():
                return
        time.sleep(interval)
    raise TimeoutError(f"{what}: not ready after {timeout:.0f} s")


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def http_status(url: str, timeout: float = 2.0) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 - loopback
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def _stop_process(process: subprocess.Popen | None, timeout: float = 10) -> None:
    if process is None or process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout)


class Redis:
    """A redis-server of our own, nothing saved to disk."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            raise RuntimeError("redis-server is missing (apt-get install -y redis-server)")
        log = open(self.workdir / "redis.log", "ab")  # noqa: SIM115 - closed with the process
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        wait_until(lambda: port_open(self.port), 10, "redis-server")

    def stop(self) -> None:
        _stop_process(self.process)
        self.process = None

    def flush(self) -> None:
        import redis

        with redis.Redis(host="127.0.0.1", port=self.port) as client:
            client.flushall()


class Postgres:
    """A throw-away PostgreSQL cluster in `workdir`, on a free loopback port."""

    def __init__(self, workdir: Path, database: str = "cartable") -> None:
        self.workdir = workdir / "postgres"
        self.data = self.workdir / "pgdata"
        self.port = free_port()
        self.database = database
        bins = sorted(glob.glob("/usr/lib/postgresql/*/bin"))
        if not bins:
            raise RuntimeError("PostgreSQL is missing (apt-get install -y postgresql)")
        self.bin = Path(bins[-1])

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{self.database}"

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess:
        prefix: list[str] = []
        if os.geteuid() == 0:  # PostgreSQL refuses to run as root
            prefix = ["runuser", "-u", "postgres", "--"]
        return subprocess.run(
            [*prefix, *command], check=check, capture_output=True, text=True, cwd="/"
        )

    def create(self) -> None:
        self.data.mkdir(parents=True)
        if os.geteuid() == 0:
            postgres = pwd.getpwnam("postgres")
            for path in (self.workdir, self.data):
                os.chown(path, postgres.pw_uid, postgres.pw_gid)
            self.workdir.parent.chmod(0o711)  # the postgres user goes through, reads nothing
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres",
            "--auth=trust", "--encoding=UTF8", "--locale=C.UTF-8",
        )  # fmt: skip
        self.start()
        self._run(
            str(self.bin / "createdb"), "-h", "127.0.0.1", "-p", str(self.port),
            "-U", "postgres", self.database,
        )  # fmt: skip

    def start(self) -> None:
        options = f"-h 127.0.0.1 -p {self.port} -k {self.workdir} -c max_connections=200"
        self._run(
            str(self.bin / "pg_ctl"), "-D", str(self.data), "-o", options,
            "-l", str(self.workdir / "postgres.log"), "-w", "-t", "30", "start",
        )  # fmt: skip

    def stop(self, check: bool = True) -> None:
        if (self.data / "postmaster.pid").exists():
            self._run(
                str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop",
                check=check,
            )  # fmt: skip


class WebProcess:
    """One waitress process of the portal, as its systemd unit starts it."""

    def __init__(self, workdir: Path, name: str, environment: dict[str, str]) -> None:
        self.workdir = workdir
        self.name = name
        self.environment = environment
        self.port = free_port()
        self.process: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.workdir / f"{self.name}.log"

    def command(self) -> list[str]:
        return unit_command("cartable-web@.service", str(self.port))

    def start(self, wait: bool = True) -> None:
        log = open(self.log, "ab")  # noqa: SIM115 - closed once handed to the process
        self.process = subprocess.Popen(
            self.command(), cwd=REPOSITORY, env=self.environment,
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        if wait:
            self.wait_ready()

    def wait_ready(self, timeout: float = 180) -> None:
        def ready() -> bool:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.name} stopped: see {self.log}")
            return http_status(f"http://127.0.0.1:{self.port}/sante/pret") == 200

        wait_until(ready, timeout, self.name, interval=0.2)

    def kill(self) -> None:
        """SIGKILL: no chance to finish the requests in progress."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        _stop_process(self.process)
        self.process = None


class Nginx:
    """nginx in front of the web processes, with the production site's proxy settings."""

    def __init__(self, workdir: Path, upstream_ports: list[int]) -> None:
        self.workdir = workdir / "nginx"
        self.port = free_port()
        self.http2_port = free_port()  # HTTP/2 without TLS (h2c), as production's protocol
        self.upstream_ports = upstream_ports
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def access_log(self) -> Path:
        return self.workdir / "access.log"

    def configuration(self) -> str:
        user = "user root root;\n" if os.geteuid() == 0 else ""
        return f"""{user}worker_processes 1;
pid {self.workdir}/nginx.pid;
error_log {self.workdir}/error.log warn;
events {{ worker_connections 512; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path {self.workdir}/body;
    proxy_temp_path {self.workdir}/proxy;
    fastcgi_temp_path {self.workdir}/fastcgi;
    uwsgi_temp_path {self.workdir}/uwsgi;
    scgi_temp_path {self.workdir}/scgi;
    include {DEPLOY_NGINX}/cartable-http.conf;
{self.site()}
}}
"""

    def site(self) -> str:
        """The upstream and the server: the production site's proxy settings, in plain HTTP
        and in HTTP/2 without TLS."""
        servers = "\n".join(
            f"        server 127.0.0.1:{port} max_fails=3 fail_timeout=5s;"
            for port in self.upstream_ports
        )
        return f"""    access_log {self.access_log} cartable;
    upstream cartable {{
{servers}
        keepalive 16;
    }}
    server {{
        listen 127.0.0.1:{self.port};
        listen 127.0.0.1:{self.http2_port} http2;
        server_name localhost;
        set $cartable_root {REPOSITORY};
        include {DEPLOY_NGINX}/cartable-proxy.conf;
    }}"""

    def start(self) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if not Path(binary).exists():
            raise RuntimeError("nginx is missing (apt-get install -y nginx)")
        self.workdir.mkdir(exist_ok=True)
        config = self.workdir / "nginx.conf"
        config.write_text(self.configuration())
        log = open(self.workdir / "stderr.log", "ab")  # noqa: SIM115
        self.process = subprocess.Popen(
            [binary, "-p", str(self.workdir), "-c", str(config), "-g", "daemon off;"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()
        wait_until(lambda: port_open(self.port), 10, "nginx")

    def stop(self) -> None:
        _stop_process(self.process)
        self.process = None


class ProductionSite(Nginx):
    """nginx serving the production site itself (deploy/nginx/cartable.conf): TLS with
    HTTP/2 on `port`, and the redirect from plain HTTP on `http_port`. Only what ties the
    file to a server changes: ports on loopback, the upstream's processes, a throwaway
    certificate for `SERVER_NAME`, the checkout's and the logs' folders."""

    SERVER_NAME = "cartable.example.fr"

    def __init__(self, workdir: Path, upstream_ports: list[int]) -> None:
        super().__init__(workdir, upstream_ports)
        self.workdir = workdir / "site"
        self.http_port = free_port()

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def certificate(self) -> Path:
        return self.workdir / "certificate.pem"

    @property
    def key(self) -> Path:
        return self.workdir / "key.pem"

    def site(self) -> str:
        """cartable.conf with each server-specific line replaced; a line that is no longer
        in the file stops the start, so that the tests never serve a site of their own."""
        servers = "".join(
            f"    server 127.0.0.1:{port} max_fails=3 fail_timeout=5s;\n"
            for port in self.upstream_ports
        )
        replacements = [
            (
                "    server 127.0.0.1:8001 max_fails=3 fail_timeout=5s;\n"
                "    server 127.0.0.1:8002 max_fails=3 fail_timeout=5s;\n",
                servers,
            ),
            ("    listen 80;\n", f"    listen 127.0.0.1:{self.http_port};\n"),
            ("    listen [::]:80;\n", ""),
            ("    listen 443 ssl http2;\n", f"    listen 127.0.0.1:{self.port} ssl http2;\n"),
            ("    listen [::]:443 ssl http2;\n", ""),
            (
                f"/etc/letsencrypt/live/{self.SERVER_NAME}/fullchain.pem",
                str(self.certificate),
            ),
            (f"/etc/letsencrypt/live/{self.SERVER_NAME}/privkey.pem", str(self.key)),
            ("/var/log/nginx/cartable.access.log", str(self.access_log)),
            ("/var/log/nginx/cartable.error.log", str(self.workdir / "error.log")),
            (f"{INSTALLED}/", f"{REPOSITORY}/"),
            (f" {INSTALLED};", f" {REPOSITORY};"),
        ]
        text = (DEPLOY_NGINX / "cartable.conf").read_text(encoding="utf-8")
        for old, new in replacements:
            if old not in text:
                raise RuntimeError(f"deploy/nginx/cartable.conf no longer holds {old!r}")
            text = text.replace(old, new)
        return text

    def start(self) -> None:
        """A certificate of a day for SERVER_NAME and 127.0.0.1, then nginx."""
        self.workdir.mkdir(exist_ok=True)
        subprocess.run(
            ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
             "-subj", f"/CN={self.SERVER_NAME}",
             "-addext", f"subjectAltName=DNS:{self.SERVER_NAME},IP:127.0.0.1",
             "-keyout", str(self.key), "-out", str(self.certificate)],
            check=True, capture_output=True,
        )  # fmt: skip
        super().start()


def app_environment(*, database_url: str, redis_url: str, workdir: Path, **extra) -> dict:
    """The environment of the systemd units (cartable.env.example), for a local stack."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("CARTABLE_", "MAIL_", "TEST_DATABASE", "DATABASE_"))
    }
    environment.update(
        CARTABLE_ENV="production",
        SECRET_KEY="exercice-" + "k" * 40,
        # TLS ends in front of nginx in production; loopback nginx speaks plain http here.
        PUBLIC_URL="https://cartable.exercice.test",
        DATABASE_URL=database_url,
        RATELIMIT_STORAGE_URI=redis_url,
        # Production requires one; web processes send no e-mail (the worker does, and the
        # drill gives its worker the port of its SMTP server).
        MAIL_SERVER="127.0.0.1",
        UPLOAD_FOLDER=str(workdir / "uploads"),
        LOG_FORMAT="json",
        PYTHONUNBUFFERED="1",
    )
    environment.update({key: str(value) for key, value in extra.items()})
    return environment


class WorkerProcess:
    """`flask --app wsgi worker`, as its systemd unit starts it."""

    def __init__(self, workdir: Path, environment: dict[str, str]) -> None:
        self.workdir = workdir
        self.environment = environment
        self.process: subprocess.Popen | None = None

    @property
    def log(self) -> Path:
        return self.workdir / "worker.log"

    def start(self) -> None:
        log = open(self.log, "ab")  # noqa: SIM115 - closed once handed to the process
        self.process = subprocess.Popen(
            unit_command("cartable-worker.service"),
            cwd=REPOSITORY, env=self.environment, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        log.close()

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        _stop_process(self.process, timeout=30)
        self.process = None
