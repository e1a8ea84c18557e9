"""The console log handler as settings.LOGGING builds it for LOG_FORMAT=json, writing to a
buffer: what an operator's log shipper would read."""

import copy
import io
import json
import logging
import logging.config

import pytest
from django.conf import settings


@pytest.fixture(name="json_lines")
def json_lines_fixture():
    """The console handler as settings.LOGGING builds it for LOG_FORMAT=json, writing to a
    buffer instead of stderr; returns a function giving the lines written so far, parsed
    (`json_lines.clear()` forgets them)."""
    configurator = logging.config.DictConfigurator(copy.deepcopy(settings.LOGGING))
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(
        configurator.configure_formatter(copy.deepcopy(settings.LOGGING["formatters"]["json"]))
    )
    handler.addFilter(
        configurator.configure_filter(copy.deepcopy(settings.LOGGING["filters"]["task_context"]))
    )
    root = logging.getLogger()
    root.addHandler(handler)

    class Lines:
        def __call__(self):
            return [(line, json.loads(line)) for line in stream.getvalue().splitlines()]

        def clear(self):
            stream.seek(0)
            stream.truncate()

    try:
        yield Lines()
    finally:
        root.removeHandler(handler)
