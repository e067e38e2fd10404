"""Benchmarks (``make bench``): speed and memory measured against a baseline run and printed as ratios.

Never timed assertions in tests; each benchmark prints its sizes side by side and the ratios to the first one.
"""
