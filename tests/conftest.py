pytest_plugins = ["xero_sandbox.pytest_plugin"]
