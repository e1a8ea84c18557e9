from ..support.walks import walk_summary


def pytest_terminal_summary(terminalreporter):
    summary = walk_summary()
    if summary:
        terminalreporter.write_line(summary)
