"""`python -m xero_sandbox`: run the sandbox until interrupted. Prints one line with its URL."""

import argparse
import os
import signal
import sys
import time

from .config import Settings
from .control import build_orgs
from .sandbox import Sandbox
from .server import make_server
from .state_file import StateFile


def _env(name: str, default: str) -> str:
    return os.environ.get(f"XERO_SANDBOX_{name}", default)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m xero_sandbox", description=__doc__)
    p.add_argument("--host", default=_env("HOST", "127.0.0.1"))
    p.add_argument("--port", type=int, default=int(_env("PORT", "8765")))
    p.add_argument(
        "--orgs",
        default=_env("ORGS", "default"),
        help='"default" (the two demo orgs), "none", or comma-separated org names',
    )
    p.add_argument(
        "--contacts", type=int, default=int(_env("CONTACTS", "300")), help="contacts per org"
    )
    p.add_argument("--webhook-url", default=_env("WEBHOOK_URL", ""))
    p.add_argument("--webhook-key", default=_env("WEBHOOK_KEY", "sandbox-webhook-key"))
    p.add_argument("--client-id", default=_env("CLIENT_ID", "sandbox-client-id"))
    p.add_argument("--client-secret", default=_env("CLIENT_SECRET", "sandbox-client-secret"))
    p.add_argument(
        "--redirect-uri",
        action="append",
        default=None,
        help="exact allowed redirect URI (repeatable); default: any http://localhost URI",
    )
    p.add_argument(
        "--state-file",
        default=_env("STATE_FILE", ""),
        help="persist orgs and data across restarts (JSON snapshot)",
    )
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings(client_id=args.client_id, client_secret=args.client_secret)
    settings.webhooks.url, settings.webhooks.key = args.webhook_url, args.webhook_key
    redirect_env = _env("REDIRECT_URIS", "")
    settings.behaviour.redirect_uris = args.redirect_uri or [
        u for u in redirect_env.split(",") if u
    ]
    sandbox = Sandbox(settings)
    sandbox.freeze_settings()
    server = make_server(sandbox, args.host, args.port)
    state_file = StateFile(sandbox, args.state_file) if args.state_file else None
    if state_file and state_file.load():
        pass
    elif args.orgs == "default":
        sandbox.initial_orgs = build_orgs({"default": True, "contacts": args.contacts})
    elif args.orgs != "none":
        names = [n.strip() for n in args.orgs.split(",") if n.strip()]
        sandbox.initial_orgs = build_orgs({"orgs": names, "contacts": args.contacts})
    if sandbox.initial_orgs:
        sandbox.load_orgs(sandbox.initial_orgs)
    if state_file:
        state_file.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    print(f"Xero sandbox ready at {sandbox.base_url}", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    finally:
        if state_file:
            state_file.write()
        server.server_close()
        time.sleep(0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
