def pytest_terminal_summary(terminalreporter):
    from .test_bad_input_walk import walk_summary

    summary = walk_summary()
    if summary:
        terminalreporter.write_line(summary)
