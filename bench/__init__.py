"""Load benchmark of the portal (not part of the test suite): see `bench/run.py`."""
