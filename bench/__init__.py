"""The benchmark suite: ``.venv/bin/python -m bench --help`` (docs/benchmarks.md)."""
