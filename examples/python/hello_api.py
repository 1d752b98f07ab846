"""A hello API in Python, protected by keyport's POST /keys/verify (standard library only).

    npx --no-install keyport resourceserveradd -name hello-py     # prints client_id, client_secret
    KEYPORT_CLIENT_ID=... KEYPORT_CLIENT_SECRET=... python3 examples/python/hello_api.py
    curl -H "Authorization: Bearer $KEY" http://127.0.0.1:4001/projects
    curl -H "x-api-key: $KEY" -X POST http://127.0.0.1:4001/runs     # needs the api:write scope

Each call is one round trip to keyport (no lease: for leases and pushed revocation use the
gateway check or @keyport/guard). The answers are docs/contract.md's, as the guard gives them.
"""

import base64
import json
import os
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ISSUER = os.environ.get("KEYPORT_ISSUER", "http://localhost:3000").rstrip("/")
BASIC = base64.b64encode(
    f"{os.environ['KEYPORT_CLIENT_ID']}:{os.environ['KEYPORT_CLIENT_SECRET']}".encode()
).decode()
# A route's required scopes; a route without any still needs a key with an API scope.
ROUTES = {("GET", "/projects"): [], ("POST", "/runs"): ["api:write"]}


def verify(key, scopes, ip):
    """keyport's answer to POST /keys/verify, or None when keyport cannot answer."""
    body = {"key": key, "ip": ip}
    if scopes:
        body["scopes"] = scopes
    request = urllib.request.Request(
        f"{ISSUER}/keys/verify",
        data=json.dumps(body).encode(),
        headers={"authorization": f"Basic {BASIC}", "content-type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=2) as answer:
            return json.load(answer)
    except (urllib.error.URLError, OSError, ValueError):
        return None


def refusal(result):
    """The contract's answer for a verification that is not VALID: (status, body, headers)."""
    code = result.get("code")
    if code in ("NOT_FOUND", "EXPIRED", "REVOKED"):
        return 401, {"error": "invalid_api_key", "message": "API key is invalid or expired"}, {}
    if code in ("INSUFFICIENT_SCOPE", "NO_API_ACCESS"):
        return 403, {"error": "insufficient_permissions", "message": code.lower()}, {}
    if code in ("RATE_LIMITED", "USAGE_EXCEEDED"):
        reset = (result.get("ratelimit") or {}).get("reset", int(time.time()) + 60)
        wait = max(1, int(reset - time.time()))
        return 429, {"error": "rate_limit_exceeded", "retry_after": wait}, {"Retry-After": str(wait)}
    return 503, {"error": "temporarily_unavailable", "message": "unexpected verification answer"}, {}


class Hello(BaseHTTPRequestHandler):
    def answer(self, status, body, headers=None):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def handle_one(self, method):
        path = self.path.split("?", 1)[0]
        if (method, path) not in ROUTES:
            return self.answer(404, {"error": "not_found"})
        auth = self.headers.get("authorization", "")
        key = auth[7:].strip() if auth.lower().startswith("bearer ") else self.headers.get("x-api-key", "")
        if not key:
            return self.answer(401, {"error": "invalid_api_key", "message": "API key is invalid or expired"})
        result = verify(key, ROUTES[(method, path)], self.client_address[0])
        if result is None:
            # Never let a call through unverified.
            return self.answer(503, {"error": "temporarily_unavailable", "message": "keyport cannot be reached"},
                               {"Retry-After": "1"})
        limits = result.get("ratelimit") or {}
        headers = {f"X-RateLimit-{k.title()}": str(v) for k, v in limits.items() if k in ("limit", "remaining", "reset")}
        if result.get("code") != "VALID":
            status, body, extra = refusal(result)
            return self.answer(status, body, {**headers, **extra})
        if path == "/projects":
            return self.answer(200, {"team_id": result["team_id"], "projects": [{"id": 1, "name": "Checkout"}]}, headers)
        return self.answer(201, {"run": 42, "by": result["client_id"]}, headers)

    def do_GET(self):
        self.handle_one("GET")

    def do_POST(self):
        self.handle_one("POST")

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(os.environ.get("PORT", "4001"))), Hello)
    print(f"hello-py on http://127.0.0.1:{server.server_port}, protected by keyport", flush=True)
    server.serve_forever()
