"""The assistant's tests; tests/conftest.py holds the fixtures, tests/<package> mirror the packages."""
