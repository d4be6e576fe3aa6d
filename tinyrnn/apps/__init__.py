"""The applications built on the library: the five tasks and their shared CLI helpers.

Nothing in the library imports from here (tests/test_layering.py checks it).
Each task runs as `python -m tinyrnn.<task>` through a thin entry module.
"""
