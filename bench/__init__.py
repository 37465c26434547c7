"""Benchmarks of vienphi, each printed as a ratio to a raw baseline measured in the same run.

Run them all with ``make bench`` (or ``.venv/bin/python -m bench``); see ``bench/README.md``.
They work in their own PostgreSQL database, ``vienphi_bench``, dropped and re-created at the
start of every run; no other database is touched.
"""
