"""The boundaries the tree promises, checked by walking every module's imports (those inside
functions included): the domain apps never import xero_sync, and only xero_sync/client/
imports xero-python."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOMAIN = ("contacts", "invoices", "taxes")
PRODUCT = ("platform_crm", *DOMAIN, "xero_sync", "demo")
CLIENT = ROOT / "xero_sync" / "client"


def modules(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (ROOT / package).rglob("*.py"))


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every module the file imports, relative imports resolved against its package."""
    package = module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            module = ".".join([*base, *([node.module] if node.module else [])])
            found.add(module)
            # `from . import x` and `from xero_sync import x` name modules too.
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def offenders(paths: list[Path], top: str) -> dict[str, list[str]]:
    hits = {}
    for path in paths:
        names = sorted(n for n in imported(path) if n == top or n.startswith(f"{top}."))
        if names:
            hits[str(path.relative_to(ROOT))] = names
    return hits


def test_the_walk_sees_every_kind_of_import(tmp_path):
    sample = ROOT / "xero_sync" / "ops" / "selectors.py"
    assert "xero_sync.models" in imported(sample)  # `from ..models import ...`
    assert "xero_sync.client.errors" in imported(ROOT / "xero_sync" / "connection" / "tokens.py")
    assert len(modules(*PRODUCT)) > 100


@pytest.mark.parametrize("app", DOMAIN)
def test_the_domain_never_imports_xero_sync(app):
    assert offenders(modules(app), "xero_sync") == {}


def test_only_the_client_imports_xero_python():
    outside = [p for p in modules(*PRODUCT) if CLIENT not in p.parents]
    assert offenders(outside, "xero_python") == {}
