"""A small HTTP witness: appends each POSTed checkpoint to a JSON Lines file, lists them on GET.

    AUDIT_WITNESS_TOKEN=… python -m audit.witness_server --file /srv/witness/audit.jsonl \
        [--bind 127.0.0.1] [--port 8700]

Run it where the portal's database and application cannot reach its file: another host, or at
least another user. It only appends (there is no way to change or remove a line over HTTP),
takes only well-formed checkpoint records (it cannot check signatures, it has no keys: the
verifier does), and, when ``AUDIT_WITNESS_TOKEN`` is set, only from a caller presenting it as a
bearer token. ``GET /`` returns every line (``audit verify --witness URL`` reads it). Standard
library only, no Django.
"""

from __future__ import annotations

import argparse
import hmac
import json
import os
import re
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MAX_BODY = 64 * 1024
_HASH = re.compile(r"[0-9a-f]{64}")
_JWS = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")


def is_checkpoint(record: object) -> bool:
    """The shape of a witnessed checkpoint (the signature is the verifier's to check)."""
    return (
        isinstance(record, dict)
        and record.get("type") == "checkpoint"
        and isinstance(record.get("seq"), int)
        and not isinstance(record.get("seq"), bool)
        and isinstance(record.get("hash"), str)
        and _HASH.fullmatch(record["hash"]) is not None
        and isinstance(record.get("jws"), str)
        and _JWS.fullmatch(record["jws"]) is not None
    )


def make_handler(path: Path, token: str) -> type[BaseHTTPRequestHandler]:
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        server_version = "audit-witness/1"

        def do_GET(self) -> None:
            if self.path not in ("/", ""):
                self._reply(HTTPStatus.NOT_FOUND, b"not found\n")
                return
            try:
                body = path.read_bytes()
            except FileNotFoundError:
                body = b""
            self._reply(HTTPStatus.OK, body, "application/jsonl")

        def do_POST(self) -> None:
            if self.path not in ("/", ""):
                self._reply(HTTPStatus.NOT_FOUND, b"not found\n")
                return
            presented = self.headers.get("Authorization", "")
            if token and not hmac.compare_digest(presented.encode(), f"Bearer {token}".encode()):
                self._reply(HTTPStatus.UNAUTHORIZED, b"a bearer token is required\n")
                return
            try:
                length = int(self.headers.get("Content-Length", ""))
            except ValueError:
                length = -1
            if not 0 < length <= MAX_BODY:
                self._reply(HTTPStatus.BAD_REQUEST, b"a body of 1 to 65536 bytes is required\n")
                return
            try:
                record = json.loads(self.rfile.read(length))
            except (ValueError, UnicodeDecodeError):
                record = None
            if not is_checkpoint(record):
                self._reply(HTTPStatus.BAD_REQUEST, b"not a checkpoint record\n")
                return
            line = json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n"
            with lock:
                fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
                try:
                    os.write(fd, line.encode())
                    os.fsync(fd)
                finally:
                    os.close(fd)
            self._reply(HTTPStatus.CREATED, b"appended\n")

        def _reply(self, status: HTTPStatus, body: bytes, kind: str = "text/plain") -> None:
            self.send_response(status)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args) -> None:
            sys.stderr.write(f"witness: {self.address_string()} {format % args}\n")

    return Handler


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m audit.witness_server", description=__doc__)
    parser.add_argument("--file", required=True, help="the JSON Lines file appended to")
    parser.add_argument("--bind", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8700)
    args = parser.parse_args(argv)
    handler = make_handler(Path(args.file), os.environ.get("AUDIT_WITNESS_TOKEN", ""))
    server = ThreadingHTTPServer((args.bind, args.port), handler)
    print(f"witness listening on {args.bind}:{server.server_port}, appending to {args.file}")
    sys.stdout.flush()
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
