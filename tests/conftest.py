pytest_plugins = [
    "tests.support.xero",
    "tests.support.logs",
    "tests.factories",
    "tests.workers",
    "tests.browser",
    # After tests.factories and tests.workers: they import them.
    "tests.support.invoices",
    "tests.support.processes",
    "xero_sandbox.pytest_plugin",
]
