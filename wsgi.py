"""WSGI entry point: `waitress-serve wsgi:app`, or `python wsgi.py` to serve on PORT."""

import os

from app import create_app

app = create_app()

if __name__ == "__main__":
    from waitress import serve

    serve(app, host=os.environ.get("HOST", "127.0.0.1"), port=app.config["PORT"])
