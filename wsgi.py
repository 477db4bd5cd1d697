"""WSGI entry point: `waitress-serve wsgi:app`, or `python wsgi.py` to serve on PORT."""

from app import create_app
from config import listen_host

app = create_app()

if __name__ == "__main__":
    import logging
    import os

    from waitress import serve

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    host, port = listen_host(os.environ), app.config["PORT"]
    print(f"Cartable est servi sur http://{host}:{port} (Ctrl+C pour arrêter).", flush=True)
    serve(app, host=host, port=port)
