"""Test support shared by every test package, loaded as pytest plugins by tests/conftest.py:
fixtures (the sandbox pointed at, JSON log lines) and helpers (wait_until). Test modules never
import fixtures from one another."""
