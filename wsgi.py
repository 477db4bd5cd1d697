"""WSGI entry point: `waitress-serve wsgi:app`, or `python wsgi.py` to serve on PORT."""

import os

from app import create_app

app = create_app()

if __name__ == "__main__":
    import logging

    from waitress import serve

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    host, port = os.environ.get("HOST", "127.0.0.1"), app.config["PORT"]
    print(f"Cartable est servi sur http://{host}:{port} (Ctrl+C pour arrêter).", flush=True)
    serve(app, host=host, port=port)
