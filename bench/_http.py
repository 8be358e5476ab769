"""What the HTTP benchmarks share: bench-only secrets, a gunicorn under test, a small asyncio
load generator that keeps connections open and sends pre-encoded requests, and the report."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import socket
import statistics
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench_env(wrap_key_label: bytes) -> dict[str, str]:
    """Production settings with bench-only secrets (the production settings refuse dev ones)."""
    return {
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
        "SECRET_KEY": "bench-only-secret-key-" + "x" * 48,
        "CREDENTIAL_SECRET_PEPPER": "bench-only-pepper-" + "y" * 48,
        "SIGNING_KEY_ENCRYPTION_KEYS": base64.urlsafe_b64encode(wrap_key_label).decode(),
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(
    port: int,
    env: dict[str, str],
    *,
    workers: int,
    threads: int,
    worker_class: str = "gthread",
    preload: bool = False,
) -> Iterator[subprocess.Popen]:
    """``gunicorn governance.wsgi`` on 127.0.0.1:``port``, up when the block starts."""
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "governance.wsgi",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "-k",
            worker_class,
            "--threads",
            str(threads),
            "--keep-alive",
            "30",
            "--log-level",
            "warning",
            *(["--preload"] if preload else []),
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.1)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=20)


def post(
    port: int,
    path: str,
    body: bytes | str,
    auth: str | None = None,
    content_type: str | None = "application/x-www-form-urlencoded",
) -> bytes:
    """A pre-encoded HTTP/1.1 POST (``auth`` is the whole Authorization value)."""
    data = body.encode() if isinstance(body, str) else body
    head = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: {len(data)}\r\n"
    if content_type:
        head += f"Content-Type: {content_type}\r\n"
    if auth:
        head += f"Authorization: {auth}\r\n"
    return (head + "\r\n").encode() + data


async def _client(host, port, requests: list[bytes], until, latencies, errors, ok_marker):
    reader, writer = await asyncio.open_connection(host, port)
    try:
        i = 0
        while time.perf_counter() < until and i < len(requests):
            request = requests[i]
            i += 1
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n"):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":", 1)[1])
            body = await reader.readexactly(length)
            latencies.append(time.perf_counter() - t0)
            if not head.startswith(b"HTTP/1.1 200") or ok_marker not in body:
                errors.append(head.split(b"\r\n", 1)[0] + b" " + body[:200])
            if b"connection: close" in head.lower():
                writer.close()
                reader, writer = await asyncio.open_connection(host, port)
    finally:
        writer.close()


async def _drive(host, port, per_connection: list[list[bytes]], seconds, ok_marker):
    latencies: list[float] = []
    errors: list[bytes] = []
    until = time.perf_counter() + seconds
    started = time.perf_counter()
    await asyncio.gather(
        *(_client(host, port, reqs, until, latencies, errors, ok_marker) for reqs in per_connection)
    )
    return latencies, errors, time.perf_counter() - started


def drive(
    port: int, per_connection: list[list[bytes]], seconds: float, ok_marker: bytes
) -> tuple[list[float], list[bytes], float]:
    """Send each connection's requests in turn until ``seconds`` pass; a 200 whose body lacks
    ``ok_marker`` counts as an error. Returns (latencies, errors, elapsed)."""
    return asyncio.run(_drive("127.0.0.1", port, per_connection, seconds, ok_marker))


def repeat(request: bytes, connections: int, times: int = 100_000) -> list[list[bytes]]:
    """The same request on every connection."""
    return [[request] * times for _ in range(connections)]


def report(name: str, latencies: list[float], errors: list[bytes], elapsed: float) -> float:
    """Print rate and latency; returns requests per second."""
    latencies.sort()
    n = len(latencies)
    ms = [x * 1000 for x in latencies]
    rate = n / elapsed
    print(
        f"{name}: {rate:,.0f} req/s over {elapsed:.1f} s ({n} requests, {len(errors)} errors)"
        f"  p50 {statistics.median(ms):.2f} ms  p99 {ms[int(n * 0.99)]:.2f} ms"
    )
    if errors:
        print("  first error:", errors[0][:300])
    return rate
