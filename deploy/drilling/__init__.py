"""The drill of `deploy/drill`: the production stack on loopback, a load, faults, checks."""
