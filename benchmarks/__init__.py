"""Benchmarks: jupyter-termmux's multiplexed socket against terminado's one-socket-per-terminal.

Run ``python -m benchmarks --help``; see docs/benchmarks.md for what each scenario measures.
"""
