"""A hello API with no protection of its own, for the gateway test: it trusts the proxy in
front of it (nginx with keyport's gateway check) and echoes the identity headers it was given.

    python3 test/clients/echo_api.py PORT      # prints "listening" once it accepts calls
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

IDENTITY = ["X-Keyport-Team-Id", "X-Keyport-Client-Id", "X-Keyport-Environment", "X-Keyport-Scopes"]


class Hello(BaseHTTPRequestHandler):
    def answer(self):
        body = json.dumps(
            {
                "hello": "world",
                "method": self.command,
                "path": self.path,
                "identity": {name: self.headers.get(name) for name in IDENTITY},
                "key_seen": bool(self.headers.get("Authorization") or self.headers.get("x-api-key")),
            }
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = answer
    do_POST = answer

    def log_message(self, *args):
        pass


if __name__ == "__main__":
    server = ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Hello)
    print("listening", flush=True)
    server.serve_forever()
