pytest_plugins = [
    "tests.factories",
    "tests.workers",
    "xero_sandbox.pytest_plugin",
]
