"""The application as served for the benchmark, plus the bare « hello » baseline route.

`/bench-hello` exists only here, never in the real application: it measures what waitress
and Flask cost by themselves in the same process, so that page figures read as a ratio.
"""

from app import create_app

app = create_app()


@app.get("/bench-hello")
def bench_hello():
    return "hello"
