pytest_plugins = [
    "tests.factories",
    "tests.workers",
    "tests.browser",
    "xero_sandbox.pytest_plugin",
]
