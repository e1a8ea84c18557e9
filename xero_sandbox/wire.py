"""Request and Response as the routes see them, independent of http.server."""

import urllib.parse
from dataclasses import dataclass, field
from typing import Any

from . import jsonio


@dataclass
class Request:
    method: str
    path: str  # without the query string
    query: dict[str, str]  # first value of each parameter, keys as sent
    headers: dict[str, str]  # lower-cased names
    body: bytes = b""
    params: dict[str, str] = field(default_factory=dict)  # from the route pattern
    _json: object = None

    @property
    def json(self) -> Any:
        if self._json is None and self.body:
            self._json = jsonio.loads(self.body)
        return self._json

    def header(self, name: str, default: str = "") -> str:
        return self.headers.get(name.lower(), default)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """Query parameters are matched case-insensitively, as Xero does."""
        if name in self.query:
            return self.query[name]
        lowered = name.lower()
        for key, value in self.query.items():
            if key.lower() == lowered:
                return value
        return default

    def flag(self, name: str, default: bool = False) -> bool:
        # The SDK sends Python-style True/False.
        value = self.arg(name)
        if value is None or value == "":
            return default
        return value.strip().lower() in ("true", "1", "yes")

    def form(self) -> dict[str, list[str]]:
        return urllib.parse.parse_qs(self.body.decode("utf-8"), keep_blank_values=True)


@dataclass
class Response:
    status: int = 200
    body: bytes = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # close the connection without answering
    delay: float = 0.0  # hold the answer this long (faults)


def json_response(
    data: object, status: int = 200, headers: dict[str, Any] | None = None
) -> Response:
    return Response(status=status, body=jsonio.dumps_bytes(data), headers=dict(headers or {}))


def raw_json(text: str, status: int = 200) -> Response:
    return Response(status=status, body=text.encode("utf-8"))


def html_response(text: str, status: int = 200) -> Response:
    return Response(
        status=status, body=text.encode("utf-8"), content_type="text/html; charset=utf-8"
    )


def text_response(text: str, status: int) -> Response:
    return Response(
        status=status, body=text.encode("utf-8"), content_type="text/plain; charset=utf-8"
    )


def redirect(location: str) -> Response:
    return Response(status=302, headers={"Location": location}, content_type="text/plain")


def parse_query(raw: str) -> dict[str, str]:
    return {k: v[0] for k, v in urllib.parse.parse_qs(raw, keep_blank_values=True).items()}
