"""`url_for` for templates, keeping the URLs that never change.

Every page's layout builds the same dozen URLs (style sheets, header and footer links), and
each `url_for` walks Werkzeug's URL map (a static file's also reads its version). A URL
built from an endpoint alone, or from `static` and a file name, depends only on the
application's root path: it is built once per root and kept. Any other call (values,
anchors, external URLs, endpoints relative to the current blueprint) goes to Flask's
`url_for` as usual, so nothing that depends on the visitor is kept. Measured under load
(README, « Benchmark »): 5 to 8 % of the CPU of home and of the FAQ.
"""

from functools import partial

from flask import Flask, has_request_context, request, url_for

_CACHE_KEY = "cartable_template_urls"
# A bound, should a server ever hand out many application roots.
_CACHE_SIZE = 512


def template_url_for(kept: dict, endpoint: str, **values) -> str:
    """Flask's `url_for`, or the URL kept in `kept` for this root, endpoint and file."""
    if endpoint.startswith(".") or not has_request_context():
        return url_for(endpoint, **values)
    if values:
        if endpoint != "static" or values.keys() != {"filename"}:
            return url_for(endpoint, **values)
        key = (request.script_root, endpoint, values["filename"])
    else:
        key = (request.script_root, endpoint, None)
    url = kept.get(key)
    if url is None:
        url = url_for(endpoint, **values)
        if len(kept) < _CACHE_SIZE:
            kept[key] = url
    return url


def init_app(app: Flask) -> None:
    kept = app.extensions[_CACHE_KEY] = {}
    app.jinja_env.globals["url_for"] = partial(template_url_for, kept)
