"""WSGI entry point: `waitress-serve wsgi:app`, or `python wsgi.py` to serve on PORT."""

import gc

from app import create_app
from config import listen_host

app = create_app()
# Everything built so far (modules, the application, its extensions) lives as long as the
# process: the garbage collector need not scan it again. Without this, each full collection
# walked those ~150,000 objects and stopped every thread for 70 to 100 ms; frozen, a full
# collection takes about 5 ms (bench/run.py's « GC » column shows the pauses).
gc.collect()  # what startup left unreachable is freed, not frozen with the rest
gc.freeze()

if __name__ == "__main__":
    import logging
    import os

    from waitress import serve

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    host, port = listen_host(os.environ), app.config["PORT"]
    print(f"Cartable est servi sur http://{host}:{port} (Ctrl+C pour arrêter).", flush=True)
    serve(app, host=host, port=port)
