"""JSON in and out with Decimal money: parse floats as Decimal, write Decimals verbatim.

`json` cannot emit a number it did not format itself, so Decimals go out as marked strings
and the marks (and quotes) are stripped afterwards. The mark is random per process and made of
private-use characters, so no text a client sends (NUL and all, which is held as sent) can
pass for it."""

import json
import uuid
from collections.abc import Callable
from decimal import Decimal
from typing import Any

_MARK = "\ue000" + uuid.uuid4().hex + "\ue000"


def loads(raw: bytes | str) -> Any:
    if isinstance(raw, bytes):
        raw = raw.decode("utf-8")
    return json.loads(raw, parse_float=Decimal)


def _default(value: object, other: Callable[[Any], Any] | None = None) -> Any:
    if isinstance(value, Decimal):
        return f"{_MARK}{value}{_MARK}"
    if isinstance(value, set | tuple):
        return list(value)
    if other is not None:
        return other(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: object, other: Callable[[Any], Any] | None = None) -> str:
    """`other` turns any other unknown type into JSON (e.g. str for dates); without it they
    raise TypeError."""
    text = json.dumps(
        value,
        default=lambda v: _default(v, other),
        ensure_ascii=False,
        separators=(",", ":"),
    )
    if _MARK in text:
        text = text.replace('"' + _MARK, "").replace(_MARK + '"', "")
    return text


def dumps_bytes(value: object, other: Callable[[Any], Any] | None = None) -> bytes:
    return dumps(value, other).encode("utf-8")
