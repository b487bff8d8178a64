"""qcflow's benchmarks: `python -m benchmarks [--quick]` (see benchmarks/__main__.py)."""
