"""What an Accounting API handler gets: the request, its tenant, the sandbox and the time."""

from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Any

from ..config import Behaviour
from ..msdates import parse_datetime
from ..store import Tenant
from ..where import WhereError, compile_where, sort
from ..wire import Request

if TYPE_CHECKING:  # the sandbox imports the handlers
    from ..sandbox import Sandbox


@dataclass
class Call:
    request: Request
    tenant: Tenant
    sandbox: "Sandbox"
    now: datetime

    @property
    def behaviour(self) -> Behaviour:
        return self.sandbox.settings.behaviour

    def emit(
        self, category: str, event_type: str, resource_id: str, data: dict[str, Any] | None = None
    ) -> None:
        self.sandbox.webhooks.emit(self.tenant.id, category, event_type, resource_id, data)

    def modified_since_ms(self) -> int | None:
        raw = self.request.header("If-Modified-Since")
        if not raw:
            return None
        moment = parse_datetime(raw)
        if moment is None:
            try:
                moment = parsedate_to_datetime(raw)
            except (TypeError, ValueError):
                return None
        return int(moment.timestamp() * 1000)

    def filtered(self, rows: list[dict[str, Any]]) -> list[dict[str, Any]] | WhereError:
        """`rows` kept by the request's `where` and sorted by its `order`; the WhereError when
        `where` cannot be read (the handler answers it as a 400)."""
        where = self.request.arg("where")
        if where:
            try:
                predicate = compile_where(where)
            except WhereError as error:
                return error
            rows = [r for r in rows if predicate(r)]
        return sort(rows, self.request.arg("order"))

    def elements_sent(
        self, plural: str, id_key: str, known: dict[str, Any]
    ) -> list[dict[str, Any]] | None:
        """What a write route was sent: the `plural` list, or one element sent bare (it has a
        Type or its id); on /{plural}/{id}, that one element with the route's id. None when
        the route's id names no record in `known` (the handler answers 404)."""
        body = self.request.json or {}
        sent: list[dict[str, Any]] = body.get(
            plural, [body] if "Type" in body or id_key in body else []
        )
        target_id = self.request.params.get("id")
        if target_id:
            if target_id.lower() not in known:
                return None
            sent = [dict(sent[0] if sent else {}, **{id_key: target_id.lower()})]
        return sent

    def unitdp(self) -> int:
        return 4 if self.request.arg("unitdp") == "4" else 2

    def summarize_errors(self) -> bool:
        return self.request.flag("summarizeErrors", default=True)


def ms_of(value: str | None) -> int:
    """Milliseconds from "/Date(ms+0000)/" without a regex (hot path for If-Modified-Since);
    0 for anything else (seeded data may hold any text)."""
    if not value or not isinstance(value, str):
        return 0
    inner = value[6:-2]
    for sign in "+-":
        cut = inner.find(sign, 1)
        if cut > 0:
            inner = inner[:cut]
    try:
        return int(inner)
    except ValueError:
        return 0
