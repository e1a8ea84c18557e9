"""HTTP plumbing and the request pipeline: faults, auth, scopes, rate limits, idempotency, then
the handler. Control and HTML routes skip all of it and stay out of the request log."""

import contextlib
import socket
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from . import control, html_view
from .accounting.call import Call
from .accounting.envelope import problem, validation_exception
from .faults import Fault
from .idempotency import Entry, body_digest
from .identity import scope_allows
from .identity_routes import IDENTITY_ROUTES
from .routes import API_ROUTES, Route, find
from .sandbox import Sandbox
from .store import Tenant
from .wire import Request, Response, parse_query, text_response

ROUTES = API_ROUTES + IDENTITY_ROUTES + control.ROUTES + html_view.ROUTES
WRITES = ("PUT", "POST", "PATCH")
REUSED_KEY = "Idempotency-Key was already used with another request."


def fault_response(fault: Fault) -> Response:
    if fault.body is not None:
        return text_response(fault.body, fault.status)
    if fault.status == 503:
        return text_response("Service Unavailable", 503)  # Xero's 503s are often not JSON
    return problem(
        fault.status, "An error occurred", "An error occurred in Xero. Check the API Status page."
    )


def dispatch(sandbox: Sandbox, request: Request) -> Response:
    route, params, known = find(ROUTES, request.method, request.path)
    if route is None:
        return text_response("Method not allowed" if known else "Not found", 405 if known else 404)
    request.params = params
    if route.area in ("control", "html"):
        return route.handler(sandbox, request)
    entry = sandbox.log_request(request)
    fault = sandbox.faults.pick(request.method, request.path)
    entry["fault"] = fault.kind if fault else None
    if fault and fault.kind == "status":
        response = fault_response(fault)
    elif fault and fault.kind == "drop":
        response = Response(drop=True)
    elif route.area == "identity":
        response = route.handler(sandbox, request)
    else:
        response = accounting(sandbox, route, request, fault)
    if fault and fault.kind == "latency" and route.area == "identity":
        sandbox.faults.sleep(fault.seconds)
    if fault and fault.kind == "timeout" and route.area == "identity":
        sandbox.faults.sleep(fault.seconds)
    if fault and fault.kind == "lost_response":
        response.drop = True  # the write is committed; only the answer is lost
    response.headers.setdefault("Xero-Correlation-Id", str(uuid.uuid4()))
    sandbox.log_response(entry, response)
    return response


def accounting(sandbox: Sandbox, route: Route, request: Request, fault: Fault | None) -> Response:
    header = request.header("Authorization")
    token = header[7:].strip() if header.lower().startswith("bearer ") else ""
    tenant_id = request.header("xero-tenant-id").strip().lower()
    with sandbox.store.lock:
        access, detail = sandbox.identity.access(token)
        if access is None:
            return problem(401, "Unauthorized", detail)
        tenant = sandbox.store.tenant(tenant_id)
        if tenant is None or not sandbox.identity.connected(access.client_id, tenant.id):
            return problem(403, "Forbidden", "AuthenticationUnsuccessful")
        if not any(scope_allows(access.scopes, s, route.write) for s in route.scope.split()):
            return problem(403, "Forbidden", "AuthenticationUnsuccessful")
    verdict = sandbox.limits.acquire(tenant.id)
    if not verdict.allowed:
        response = problem(429, "Too Many Requests", f"Rate limit exceeded: {verdict.problem}")
        response.headers.update(verdict.headers)
        return response
    try:
        response = _handle(sandbox, route, request, tenant)
        if fault and fault.kind in ("latency", "timeout"):
            sandbox.faults.sleep(fault.seconds)  # still counted as in flight
    finally:
        sandbox.limits.release(tenant.id)
    response.headers.update(verdict.headers)
    return response


def _handle(sandbox: Sandbox, route: Route, request: Request, tenant: Tenant) -> Response:
    key = request.header("Idempotency-Key") if request.method in WRITES else ""
    if len(key) > 128:
        return validation_exception(
            [{"ValidationErrors": [{"Message": "Idempotency-Key must be 128 characters or less."}]}]
        )
    behaviour = sandbox.settings.behaviour
    with sandbox.store.lock:
        now = sandbox.clock.time()
        if key:
            seen = sandbox.idempotency.find(
                tenant.id, key, now, behaviour.idempotency_window_seconds
            )
            if seen:
                if (
                    seen.body_sha256 != body_digest(request.body)
                    and behaviour.idempotency_mismatch == "reject"
                ):
                    return validation_exception([{"ValidationErrors": [{"Message": REUSED_KEY}]}])
                seen.replays += 1
                seen.replay_times.append(now)
                return Response(
                    status=seen.status,
                    body=seen.body,
                    headers=dict(seen.headers),
                    content_type=seen.headers.get(
                        "Content-Type", "application/json; charset=utf-8"
                    ),
                )
        try:
            response = route.handler(Call(request, tenant, sandbox, sandbox.clock.now()))
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            # Malformed bodies Xero would reject; never a stack trace as a 500.
            response = validation_exception(
                [{"ValidationErrors": [{"Message": f"Invalid request: {error}"}]}]
            )
        if request.method in WRITES:
            sandbox.changed.set()
        if key:
            sandbox.idempotency.record(
                Entry(
                    key=key,
                    tenant_id=tenant.id,
                    method=request.method,
                    path=request.path,
                    body_sha256=body_digest(request.body),
                    first_seen=now,
                    status=response.status,
                    headers={"Content-Type": response.content_type},
                    body=response.body,
                )
            )
    return response


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "XeroSandbox/1.0"
    # Headers and body go out in two writes; with Nagle's algorithm the body then waits for
    # the client's delayed ACK of the headers (about 40 ms on Linux) on a kept-alive connection.
    disable_nagle_algorithm = True
    sandbox: Sandbox  # set on the subclass made by `make_server`

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=split.path,
            query=parse_query(split.query),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        try:
            response = dispatch(self.sandbox, request)
        except Exception as error:  # a sandbox bug must show, not hang the client
            response = text_response(f"sandbox error: {type(error).__name__}: {error}", 500)
            self.log_error("sandbox error on %s %s: %r", self.command, self.path, error)
        if response.drop:
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(response.status)
        self.send_header("Content-Type", response.content_type)
        self.send_header("Content-Length", str(len(response.body)))
        for name, value in response.headers.items():
            if name.lower() != "content-type":
                self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 (stdlib signature)
        pass


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def make_server(sandbox: Sandbox, host: str, port: int) -> SandboxServer:
    handler = type("BoundHandler", (Handler,), {"sandbox": sandbox})
    server = SandboxServer((host, port), handler)
    sandbox.base_url = f"http://{host}:{server.server_address[1]}"
    return server


def serve_in_thread(sandbox: Sandbox, host: str = "127.0.0.1", port: int = 0) -> SandboxServer:
    """In-process server (the bench and quick experiments); tests use the subprocess fixture."""
    server = make_server(sandbox, host, port)
    threading.Thread(target=server.serve_forever, name="xero-sandbox", daemon=True).start()
    return server
