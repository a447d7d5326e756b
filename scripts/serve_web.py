"""Serve the demo page and the chat widget (web/) over HTTP; `make run` starts it on port 8000.

The demo page's `data-server-url` is set to --server-url, and a Content-Security-Policy limits the
page to its own scripts and styles and to that Rasa server.
"""

from __future__ import annotations

import argparse
import functools
import html
import sys
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

WEB = Path(__file__).resolve().parents[1] / "web"
DEFAULT_SERVER_URL = "http://localhost:5005"
PAGE_SERVER_URL = f'data-server-url="{DEFAULT_SERVER_URL}"'


def content_security_policy(server_url: str) -> str:
    parts = urlsplit(server_url)
    socket = parts._replace(scheme="wss" if parts.scheme == "https" else "ws").geturl()
    return (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: https:; "
        f"connect-src 'self' {server_url} {socket}; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
    )


class WebHandler(SimpleHTTPRequestHandler):
    server_url = DEFAULT_SERVER_URL

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", content_security_policy(self.server_url))
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "same-origin")
        self.send_header("Cache-Control", "no-store")
        super().end_headers()

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        if urlsplit(self.path).path not in ("/", "/index.html"):
            return super().do_GET()
        page = (WEB / "index.html").read_text(encoding="utf-8")
        body = page.replace(PAGE_SERVER_URL, f'data-server-url="{html.escape(self.server_url)}"').encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        if not str(args[1] if len(args) > 1 else "").startswith(("2", "3")):
            super().log_message(format, *args)


def make_server(host: str, port: int, server_url: str) -> ThreadingHTTPServer:
    if not (WEB / "vendor" / "socket.io.min.js").exists():
        sys.exit("web/vendor/socket.io.min.js is missing: run `make install` (npm ci vendors it).")
    handler = type("Handler", (WebHandler,), {"server_url": server_url.rstrip("/")})
    return ThreadingHTTPServer((host, port), functools.partial(handler, directory=str(WEB)))


def serve_in_thread(host: str, port: int, server_url: str) -> ThreadingHTTPServer:
    """For tests: the server runs in a daemon thread until `.shutdown()`."""
    server = make_server(host, port, server_url)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--server-url", default=DEFAULT_SERVER_URL, help="the Rasa server the widget talks to")
    args = parser.parse_args()
    server = make_server(args.host, args.port, args.server_url)
    print(f"Demo page on http://{args.host}:{args.port}/ (widget talking to {args.server_url})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
