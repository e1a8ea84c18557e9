pytest_plugins = [
    "tests.support.xero",
    "tests.support.logs",
    "tests.factories",
    "tests.workers",
    "tests.browser",
    "xero_sandbox.pytest_plugin",
]
