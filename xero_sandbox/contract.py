"""Xero's official OpenAPI contract as a test tool.

Validates requests a client sends and responses the sandbox returns against the official
specs in specs/, endpoint by endpoint, with openapi-core. A violation raises AssertionError
listing every problem (where, what, expected).

The specs and real Xero disagree in a few places. Each disagreement is handled below either
by fixing an obvious spec bug at load time (string booleans; 400s the spec forgets to declare,
UNDECLARED_400), by a *tightening* that encodes what real Xero does
(MS-JSON dates), or by a named Relaxation that forgives exactly one kind of error, with the
reason. There is no blanket off-switch.
"""

from __future__ import annotations

import copy
import functools
import json
import re
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit

import jsonschema
import yaml
from jsonschema_path import SchemaPath
from openapi_core import Config, OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.templating.responses.exceptions import ResponseNotFound
from openapi_schema_validator import OAS30ReadValidator, OAS31Validator, oas30_format_checker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT4, DRAFT202012
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPECS = Path(__file__).parent / "specs"
XERO_HOST = "https://api.xero.com"
ACCOUNTING_PREFIX = "/api.xro/2.0"

# Real Xero responses carry "/Date(1573755038314+0000)/" (ms since epoch, optional offset).
MS_DATE = re.compile(r"^/Date\(-?\d+([+-]\d{4})?\)/$")
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Xero's own ISO timestamps have no offset and up to 7 fractional digits (.NET "o" without Z).
NAIVE_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?$")
ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})?$")


# --- relaxations ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Relaxation:
    """Forgives one named kind of schema error, in one direction, for a stated reason."""

    name: str
    direction: str  # "request", "response" or "webhook"
    why: str
    forgives: Callable[[jsonschema.ValidationError], bool]


def _is_format(error: jsonschema.ValidationError, fmt: str) -> bool:
    return error.validator == "format" and error.validator_value == fmt


# Read-only properties the xero-python SDK serialises on every request, whatever you set
# (SDK-NOTES §8 "always-sent defaults"). Keyed by property name; only these are forgiven.
SDK_ALWAYS_SENT_READ_ONLY = frozenset(
    {"HasAttachments", "HasErrors", "HasValidationErrors", "HasAccount", "IsDiscounted"}
)

RELAXATIONS: tuple[Relaxation, ...] = (
    Relaxation(
        "sdk-always-sent-read-only",
        "request",
        "xero-python sends HasAttachments/HasErrors/HasValidationErrors/HasAccount=false on "
        "every model it serialises; real Xero ignores them. Other read-only writes still fail.",
        lambda e: (
            e.validator == "readOnly" and bool(e.path) and e.path[-1] in SDK_ALWAYS_SENT_READ_ONLY
        ),
    ),
    Relaxation(
        "iso-date-on-write",
        "request",
        "Xero accepts 'YYYY-MM-DD' (and ISO datetimes) for date fields on write; the spec's own "
        "request examples use them. Responses must still be MS-JSON.",
        lambda e: (
            _is_format(e, "xero-msdate")
            and isinstance(e.instance, str)
            and bool(ISO_DATE.match(e.instance) or ISO_DATETIME.match(e.instance))
        ),
    ),
    Relaxation(
        "naive-utc-datetime",
        "response",
        "Identity's createdDateUtc/updatedDateUtc are format date-time, but Xero (and the spec's "
        "example) send them without an offset, e.g. 2019-12-07T18:46:19.5165400; they are UTC.",
        lambda e: _is_format(e, "date-time") and bool(NAIVE_ISO_DATETIME.match(str(e.instance))),
    ),
    Relaxation(
        "webhook-naive-utc-datetime",
        "webhook",
        "eventDateUtc is format date-time, but Xero's payloads (and the spec's example) carry "
        "2024-06-21T01:15:39.902 with no offset; it is UTC.",
        lambda e: _is_format(e, "date-time") and bool(NAIVE_ISO_DATETIME.match(str(e.instance))),
    ),
)

# Xero answers these without a documented response in the spec (auth, not found, rate limit,
# outage). Their bodies are not JSON Schema'd anywhere, so only the status itself is checked.
UNDOCUMENTED_ERROR_STATUSES = frozenset({401, 403, 404, 429, 500, 503})


# --- loading -----------------------------------------------------------------------------------


def _fix_and_annotate(node: object) -> None:
    """Repair the spec's bugs and mark its MS-JSON date fields, in place.

    - Booleans declare `default: "false"` (a string); openapi-spec-validator rightly rejects
      the whole spec for it. We make them real booleans.
    - Date fields are plain `type: string` flagged `x-is-msdate` / `x-is-msdate-time`. Real Xero
      returns them as "/Date(ms+0000)/" and the SDK cannot parse arbitrary strings there, so we
      give them a format ("xero-msdate") that only accepts MS-JSON. This tightens the spec.
    """
    if isinstance(node, dict):
        if node.get("type") == "boolean":
            for key in ("default", "example"):
                if isinstance(node.get(key), str):
                    node[key] = node[key] == "true"
        is_date = node.get("x-is-msdate") or node.get("x-is-msdate-time")
        if is_date and node.get("type") == "string" and "format" not in node:
            node["format"] = "xero-msdate"
        for value in node.values():
            _fix_and_annotate(value)
    elif isinstance(node, list):
        for value in node:
            _fix_and_annotate(value)


def _msdate(value: object) -> bool:
    return not isinstance(value, str) or bool(MS_DATE.match(value))


if TYPE_CHECKING:
    _FastSafeLoader = yaml.SafeLoader
else:  # the C loader when libyaml is there
    _FastSafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _SpecLoader(_FastSafeLoader):
    """YAML loader that keeps timestamps as written: the spec's examples hold strings such as
    2019-02-23T05:23:20 that YAML would otherwise turn into datetime objects."""

    yaml_implicit_resolvers = {
        first: [(tag, regex) for tag, regex in resolvers if tag != "tag:yaml.org,2002:timestamp"]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


# Operations whose 400 ValidationException the spec forgets to declare. createCurrency is
# flagged x-hasAccountingValidationError (the spec's mark for "answers the accounting 400")
# yet lists only a 200; getOnlineInvoice answers a 400 for an invoice that is not approved
# (the sandbox's refusal; Xero's exact answer there is UNVERIFIED).
UNDECLARED_400 = (("put", "/Currencies"), ("get", "/Invoices/{InvoiceID}/OnlineInvoice"))


def _declare_validation_400(spec: dict[str, Any]) -> None:
    for method, path in UNDECLARED_400:
        responses = spec.get("paths", {}).get(path, {}).get(method, {}).get("responses")
        if responses is not None and "400" not in responses:
            responses["400"] = {"$ref": "#/components/responses/400Error"}


def load_spec_dict(filename: str) -> dict[str, Any]:
    with open(SPECS / filename, encoding="utf-8") as f:
        spec: dict[str, Any] = yaml.load(f, Loader=_SpecLoader)  # noqa: S506 (a SafeLoader subclass)
    _fix_and_annotate(spec)
    _declare_validation_400(spec)
    return spec


@dataclass(frozen=True)
class Violation:
    where: str  # e.g. "response body Contacts[0].ContactStatus"
    problem: str  # jsonschema's message
    expected: str = ""  # the schema keyword and its value, e.g. "enum: ['ACTIVE', ...]"

    def __str__(self) -> str:
        expected = f" (expected {self.expected})" if self.expected else ""
        return f"{self.where}: {self.problem}{expected}"


@dataclass
class _Request:
    """openapi-core's Request protocol for raw bytes."""

    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters = field(default_factory=RequestParameters)


@dataclass
class _Response:
    """openapi-core's Response protocol."""

    status_code: int
    headers: Headers
    content_type: str
    data: bytes | None


class Contract:
    """One official spec, loaded once, validating requests and responses against it."""

    def __init__(
        self, filename: str, *, prefix: str = "", case_insensitive_paths: bool = False
    ) -> None:
        started = time.perf_counter()
        self.filename = filename
        self.prefix = prefix
        self.spec = load_spec_dict(filename)
        self.app = OpenAPI(
            SchemaPath.from_dict(self.spec),
            config=Config(extra_format_validators={"xero-msdate": _msdate}),
        )
        # For validating bare component schemas (seed data) with the same $refs.
        self.uri = f"urn:xero:{filename}"
        self.registry = Registry().with_resource(
            self.uri, Resource.from_contents(self.spec, DRAFT4)
        )
        self.case_insensitive_paths = case_insensitive_paths
        self._templates = [p.split("/") for p in self.spec["paths"]]
        self.load_seconds = time.perf_counter() - started

    # -- public --

    def validate_request(
        self, method: str, url_or_path: str, headers: Mapping[str, str] | None, body: bytes | None
    ) -> None:
        request = self._request(method, url_or_path, headers, body)
        with warnings.catch_warnings():
            # openapi-core has no OAuth2 security provider; bearer tokens are the sandbox's job.
            warnings.filterwarnings("ignore", "Unsupported scheme type")
            errors: list[Exception | Violation] = list(self.app.iter_request_errors(request))
        self._raise(f"{method.upper()} {url_or_path} request", errors, "request")

    def validate_response(
        self,
        method: str,
        url_or_path: str,
        status: int,
        headers: Mapping[str, str] | None,
        body: bytes | None,
        *,
        undeclared_fields: bool = False,
    ) -> None:
        request = self._request(method, url_or_path, {}, None)
        response_headers = Headers(dict(headers or {}))
        content_type = response_headers.get("Content-Type", "application/json" if body else "")
        response = _Response(int(status), response_headers, content_type.lower(), body or b"")
        errors: list[Exception | Violation] = list(self.app.iter_response_errors(request, response))
        if int(status) in UNDOCUMENTED_ERROR_STATUSES:
            errors = [e for e in errors if not isinstance(e, ResponseNotFound)]
        if undeclared_fields and not errors and body and "json" in content_type.lower():
            path = request.path[len(self.prefix) :] if self.prefix else request.path
            schema = self._response_schema(method, path, int(status))
            if schema is not None:
                errors.extend(self._undeclared(schema, json.loads(body), "response body"))
        self._raise(f"{method.upper()} {url_or_path} -> {status} response", errors, "response")

    def schema(self, name: str) -> dict[str, Any]:
        schema: dict[str, Any] = self.spec["components"]["schemas"][name]
        return schema

    def _resolve(self, schema: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in schema:
            ref = schema["$ref"]
            if not ref.startswith("#/"):
                raise ValueError(f"external $ref {ref}")
            node = self.spec
            for part in ref[2:].split("/"):
                node = node[part]
            schema = node
        return schema

    def _response_schema(self, method: str, path: str, status: int) -> dict[str, Any] | None:
        """The JSON schema the spec gives this operation's response, or None."""
        parts = path.split("/")
        best, best_score = None, -1
        for template, item in self.spec["paths"].items():
            segments = template.split("/")
            if len(segments) != len(parts):
                continue
            score = 0
            for t, p in zip(segments, parts, strict=True):
                if t.startswith("{"):
                    continue
                if t.lower() != p.lower():
                    break
                score += 1
            else:
                if method.lower() in item and score > best_score:
                    best, best_score = item[method.lower()], score
        if best is None:
            return None
        answer = self._resolve(best.get("responses", {}).get(str(status)) or {})
        content = (answer or {}).get("content", {}).get("application/json")
        return content.get("schema") if content else None

    def _undeclared(
        self, schema: dict[str, Any], instance: object, where: str
    ) -> Iterable[Violation]:
        """Tightening "undeclared-fields" (opt-in): properties the schema does not declare.
        Xero's schemas never forbid extra properties, so JSON Schema cannot catch a field the
        sandbox invented, and the SDK silently drops such fields, hiding the mistake.

        Exception "xero-example-extras": a property the spec's *own response examples* carry
        on the same schema (the Id/Status/ProviderName/DateTimeUTC envelope, Invoice's
        DateString and DueDateString, ...) is what real Xero sends, so it is allowed there.
        Exception "element-echo": a 400's Elements[] echo the whole element as sent (the spec's
        PUT /Contacts 400 example is a full Contact), so Element is not walked."""
        allowed = self._example_extras()
        for owner, key, violation in self._walk_undeclared(schema, instance, where, ""):
            if (owner, key) not in allowed:
                yield violation

    def _walk_undeclared(
        self, schema: dict[str, Any], instance: object, where: str, owner: str
    ) -> Iterable[tuple[str, str, Violation]]:
        while "$ref" in schema:
            owner = schema["$ref"].rsplit("/", 1)[-1]
            schema = self._resolve({"$ref": schema["$ref"]})
        if owner == "Element":
            return
        if isinstance(instance, list) and "items" in schema:
            for i, item in enumerate(instance):
                yield from self._walk_undeclared(schema["items"], item, f"{where}[{i}]", owner)
        elif isinstance(instance, dict) and "properties" in schema:
            declared = schema["properties"]
            for key, value in instance.items():
                path = f"{where} {key}" if where and not where.endswith("]") else f"{where}.{key}"
                path = path.lstrip(".")
                if key not in declared:
                    yield (
                        owner,
                        key,
                        Violation(
                            path,
                            f"{key!r} is not declared on {owner or 'this object'}",
                            f"one of {sorted(declared)}",
                        ),
                    )
                else:
                    yield from self._walk_undeclared(declared[key], value, path, owner)

    @functools.cached_property
    def _example_extras_set(self) -> frozenset[tuple[str, str]]:
        found: set[tuple[str, str]] = set()
        for item in self.spec["paths"].values():
            for operation in item.values():
                if not isinstance(operation, dict):
                    continue
                for answer in operation.get("responses", {}).values():
                    media = (answer.get("content") or {}).get("application/json") or {}
                    if "schema" in media and "example" in media:
                        walk = self._walk_undeclared(media["schema"], media["example"], "", "")
                        found.update((owner, key) for owner, key, _ in walk)
        return frozenset(found)

    def _example_extras(self) -> frozenset[tuple[str, str]]:
        return self._example_extras_set

    # -- internals --

    def _request(
        self, method: str, url_or_path: str, headers: Mapping[str, str] | None, body: bytes | None
    ) -> _Request:
        url = urlsplit(url_or_path)
        path = url.path
        if self.prefix and not path.startswith(self.prefix):
            raise AssertionError(f"{url_or_path}: path must start with {self.prefix}")
        if self.case_insensitive_paths:
            path = self._spec_case(path)
        header = Headers(dict(headers or {}))
        content_type = header.get("Content-Type", "application/json" if body else "")
        parameters = RequestParameters(
            query=ImmutableMultiDict(parse_qsl(url.query, keep_blank_values=True)), header=header
        )
        return _Request(
            XERO_HOST, path, method.lower(), body or None, content_type.lower(), parameters
        )

    def _spec_case(self, path: str) -> str:
        """Rewrite literal segments in the spec's case: Xero routes ignore case, and the SDK
        calls /Connections while Xero's docs say /connections."""
        parts = path.split("/")
        for template in self._templates:
            if len(template) == len(parts) and all(
                t.startswith("{") or t.lower() == p.lower()
                for t, p in zip(template, parts, strict=True)
            ):
                return "/".join(
                    p if t.startswith("{") else t for t, p in zip(template, parts, strict=True)
                )
        return path

    def _raise(self, what: str, errors: list[Exception | Violation], direction: str) -> None:
        violations = [
            v
            for e in errors
            for v in ([e] if isinstance(e, Violation) else _violations(e, direction))
        ]
        if violations:
            listing = "\n".join(f"  - {v}" for v in violations)
            raise AssertionError(f"{what} breaks {self.filename}:\n{listing}")


def _violations(error: Exception, direction: str) -> Iterable[Violation]:
    """Flatten one openapi-core error into Violations, dropping relaxed schema errors."""
    where = {
        "InvalidRequestBody": "request body",
        "InvalidData": "response body",
    }.get(type(error).__name__, "")
    location = getattr(error, "location", None)
    if location:
        where = f"{location} parameter {getattr(error, 'name', '')}"
    schema_errors = getattr(error.__cause__, "schema_errors", None)
    if not schema_errors:
        cause = f": {error.__cause__}" if error.__cause__ else ""
        yield Violation(where or type(error).__name__, f"{error}{cause}")
        return
    for schema_error in schema_errors:
        if _relaxed(schema_error, direction):
            continue
        yield Violation(
            f"{where} {_json_path(schema_error.absolute_path)}".strip(),
            schema_error.message,
            f"{schema_error.validator}: {schema_error.validator_value!r}",
        )


def _relaxed(error: jsonschema.ValidationError, direction: str) -> bool:
    return any(r.direction == direction and r.forgives(error) for r in RELAXATIONS)


def _json_path(path: Iterable[object]) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out.lstrip(".")


# --- the contracts, loaded once per process ------------------------------------------------------


@functools.cache
def accounting() -> Contract:
    return Contract("xero_accounting.yaml", prefix=ACCOUNTING_PREFIX)


@functools.cache
def identity() -> Contract:
    return Contract("xero-identity.yaml", case_insensitive_paths=True)


def contract_for(url_or_path: str) -> Contract:
    path = urlsplit(url_or_path).path
    if path.startswith(ACCOUNTING_PREFIX):
        return accounting()
    if path.lower().startswith("/connections"):
        return identity()
    raise AssertionError(f"{url_or_path}: not an Accounting or Identity API path")


def validate_request(
    method: str, url_or_path: str, headers: Mapping[str, str] | None, body: bytes | None
) -> None:
    """Raise AssertionError listing every way this request breaks the official spec."""
    contract_for(url_or_path).validate_request(method, url_or_path, headers, body)


def validate_response(
    method: str,
    url_or_path: str,
    status: int,
    headers: Mapping[str, str] | None,
    body: bytes | None,
    *,
    undeclared_fields: bool = False,
) -> None:
    """Raise AssertionError listing every way this response breaks the official spec.

    undeclared_fields=True also lists JSON properties the spec does not declare (a tightening:
    Xero's schemas allow extra properties, so plain validation would accept invented fields)."""
    contract_for(url_or_path).validate_response(
        method, url_or_path, status, headers, body, undeclared_fields=undeclared_fields
    )


# --- schemas directly (seed data) and webhooks ---------------------------------------------


def to_json_bytes(data: object) -> bytes:
    """JSON as the sandbox sends it: Decimal money as JSON numbers."""

    def default(value: object) -> object:
        if isinstance(value, Decimal):
            return float(value)
        raise TypeError(f"not JSON serialisable: {value!r}")

    return json.dumps(data, default=default, ensure_ascii=False).encode()


def validate_schema(name: str, data: object, *, contract: Contract | None = None) -> None:
    """Validate data (e.g. {"Contacts": [...]}) against a component schema, as a response body.

    Decimals are serialised first, exactly as the sandbox would send them.
    """
    contract = contract or accounting()
    validator = OAS30ReadValidator(
        {"$ref": f"{contract.uri}#/components/schemas/{name}"},
        registry=contract.registry,
        format_checker=_ACCOUNTING_FORMATS,
    )
    instance = json.loads(to_json_bytes(data))
    problems = [
        Violation(
            f"{name} {_json_path(e.absolute_path)}".strip(),
            e.message,
            f"{e.validator}: {e.validator_value!r}",
        )
        for e in validator.iter_errors(instance)
        if not _relaxed(e, "response")
    ]
    if problems:
        listing = "\n".join(f"  - {v}" for v in problems)
        raise AssertionError(f"{name} breaks {contract.filename}:\n{listing}")


_ACCOUNTING_FORMATS = copy.deepcopy(oas30_format_checker)
_ACCOUNTING_FORMATS.checks("xero-msdate")(_msdate)


_WEBHOOKS_URI = "urn:xero:xero-webhooks.yaml"


@functools.cache
def _webhooks() -> tuple[dict[str, Any], Registry]:
    spec = load_spec_dict("xero-webhooks.yaml")
    # The spec is OpenAPI 3.1, whose webhooks openapi-core cannot route without a webhook name
    # in the request; the payload schema is plain JSON Schema 2020-12, so validate it directly.
    registry = Registry().with_resource(_WEBHOOKS_URI, Resource.from_contents(spec, DRAFT202012))
    return spec, registry


def validate_webhook_payload(body: bytes) -> None:
    """Raise AssertionError listing every way this webhook body breaks WebhookEvent."""
    spec, registry = _webhooks()
    payload = json.loads(body)
    schemas = ["WebhookEvent"]
    events = payload.get("events") if isinstance(payload, dict) else None
    if any(isinstance(e, dict) and e.get("eventCategory") == "CREDITNOTE" for e in events or []):
        schemas.append("CreditNoteWebhookEvent")
    problems = []
    for name in schemas:
        validator = OAS31Validator(
            {"$ref": f"{_WEBHOOKS_URI}#/components/schemas/{name}"},
            registry=registry,
            format_checker=OAS31Validator.FORMAT_CHECKER,
        )
        for error in validator.iter_errors(payload):
            if _relaxed(error, "webhook") or _intent_to_receive(error, payload):
                continue
            problems.append(
                Violation(
                    f"webhook body {_json_path(error.absolute_path)}".strip(),
                    error.message,
                    f"{error.validator}: {error.validator_value!r}",
                )
            )
    if problems:
        listing = "\n".join(f"  - {v}" for v in problems)
        raise AssertionError(f"webhook payload breaks xero-webhooks.yaml:\n{listing}")


def _intent_to_receive(error: jsonschema.ValidationError, payload: dict[str, Any]) -> bool:
    """Relaxation "intent-to-receive-sequence-zero": Xero's intent-to-receive checks are
    {"events": [], "firstEventSequence": 0, "lastEventSequence": 0, ...} (developer docs,
    XERO-FACTS §10), below the spec's minimum of 1. Forgiven only when events is empty."""
    return (
        payload.get("events") == []
        and error.validator == "minimum"
        and list(error.absolute_path) in (["firstEventSequence"], ["lastEventSequence"])
        and error.instance == 0
    )
