"""Static URLs carry the version of their file (`?v=…`), so nginx may let browsers keep them
a year: a new file is a new URL (deploy/nginx/cartable-proxy.conf)."""

import hashlib
from pathlib import Path

from flask import Flask, current_app

_CACHE_KEY = "cartable_static_versions"
# Pasted on insurers' sites (the embedding snippet): the URL never changes, so it carries no
# version and nginx lets it be kept an hour only.
UNVERSIONED = frozenset({"embed.js"})


def file_version(filename: str) -> str | None:
    """The first 12 hex digits of the file's SHA-256, read once per file and process (a
    deployment restarts the processes); None for a file that does not exist."""
    versions = current_app.extensions[_CACHE_KEY]
    if filename not in versions:
        path = Path(current_app.static_folder, filename)
        try:
            versions[filename] = hashlib.sha256(path.read_bytes()).hexdigest()[:12]
        except OSError:
            return None
    return versions[filename]


def _add_version(endpoint: str, values: dict) -> None:
    filename = values.get("filename")
    if endpoint != "static" or filename is None or "v" in values or filename in UNVERSIONED:
        return
    # Templates reloading (development): files change under a running process.
    if current_app.jinja_env.auto_reload:
        return
    version = file_version(filename)
    if version:
        values["v"] = version


def init_app(app: Flask) -> None:
    app.extensions[_CACHE_KEY] = {}
    app.url_defaults(_add_version)
