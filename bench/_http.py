"""What the HTTP benchmarks share: bench-only secrets, a gunicorn under test, two load generators
(a small asyncio client that keeps connections open and sends pre-encoded requests, and ``wrk``
driven by a Lua script), the report, and the CPU each process spent per request."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import resource
import shutil
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
            "-c",
            "python:governance.gunicorn_conf",
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


def default_client() -> str:
    """wrk when it is installed (``apt-get install wrk``): C and epoll, it costs the shared CPU
    far less than the asyncio client."""
    return "wrk" if shutil.which("wrk") else "asyncio"


WRK_LUA = r"""
-- One request body per line of BODIES; thread i of n sends lines i, i+n, ... in turn.
local counter, threads = 0, {}
function setup(thread)
  thread:set("id", counter); counter = counter + 1; table.insert(threads, thread)
end
function init(args)
  bodies, pos, bad = {}, 0, 0
  local n, i = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if i % n == id then table.insert(bodies, line) end
    i = i + 1
  end
  wrk.method = "POST"
  wrk.headers["Content-Type"] = args[4]
  if args[3] and args[3] ~= "" then wrk.headers["Authorization"] = args[3] end
end
function request()
  pos = pos + 1
  if pos > #bodies then pos = 1 end  -- out of bodies: starts again (single-use ones then fail)
  return wrk.format(nil, nil, nil, bodies[pos])
end
-- RESPONSE --
function done(summary, latency, requests)
  local e, bad = summary.errors, 0
  for _, thread in ipairs(threads) do bad = bad + (thread:get("bad") or 0) end
  io.write(string.format("WRK %d %d %d %d %d %d %d %d\n", summary.requests,
    summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), latency.max, bad))
end
"""

# Only when a marker is asked for: a ``response`` function makes wrk hand every body to Lua.
WRK_RESPONSE_LUA = """
function response(status, headers, body)
  if status == 200 and not string.find(body, %s, 1, true) then bad = bad + 1 end
end
"""


def wrk_drive(
    port: int,
    path: str,
    bodies: list[str],
    auth: str,
    seconds: float,
    conns: int,
    tmp: str,
    *,
    content_type: str = "application/x-www-form-urlencoded",
    ok_marker: bytes | None = None,
) -> tuple[int, int, float, float, float]:
    """Drive ``path`` with wrk (1 thread, ``conns`` keep-alive connections) for ``seconds``.

    Returns (requests, errors, elapsed, p50 ms, p99 ms); errors are non-2xx answers, socket
    errors and, with ``ok_marker``, 200s whose body lacks it."""
    script, data = Path(tmp) / "bench.lua", Path(tmp) / "bodies.txt"
    marker = "" if ok_marker is None else WRK_RESPONSE_LUA % _lua_string(ok_marker.decode())
    script.write_text(WRK_LUA.replace("-- RESPONSE --", marker))
    data.write_text("\n".join(bodies) + "\n")
    out = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{conns}",
            f"-d{max(1, round(seconds))}s",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{path}",
            "--",
            str(data),
            "1",
            auth,
            content_type,
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("WRK "))
    n, duration_us, status_errors, socket_errors, p50, p99, _, bad = (
        int(v) for v in line.split()[1:]
    )
    return n, status_errors + socket_errors + bad, duration_us / 1e6, p50 / 1000, p99 / 1000


def _lua_string(text: str) -> str:
    return '"' + "".join(c if c.isalnum() or c in " _-:" else f"\\{ord(c)}" for c in text) + '"'


def report_wrk(name: str, n: int, bad: int, elapsed: float, p50: float, p99: float) -> float:
    """Print rate and latency of a ``wrk_drive``; returns requests per second."""
    rate = n / elapsed
    print(
        f"{name}: {rate:,.0f} req/s over {elapsed:.1f} s ({n} requests, {bad} errors)"
        f"  p50 {p50:.2f} ms  p99 {p99:.2f} ms"
    )
    return rate


def _proc_cpu(pid: int) -> float:
    """CPU-seconds (user + system) a process has used so far; 0 if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def redis_pid(url: str | None) -> int | None:
    """The Redis server's pid when it runs on this machine (its CPU is then measurable)."""
    if not url:
        return None
    try:
        import redis

        pid = int(redis.Redis.from_url(url, socket_timeout=2).info("server")["process_id"])
    except Exception:  # no Redis, or not ours to see: simply not metered
        return None
    return pid if Path(f"/proc/{pid}/stat").exists() else None


class CpuMeter:
    """CPU-seconds used by the server (gunicorn and its workers), the database server's backends
    of the bench database (PostgreSQL), Redis (the whole server: other users of it count too)
    and the load generator (wrk, a finished child, or the asyncio client in this process), per
    phase. Unlike req/s, these hardly
    depend on what else the shared machine is running."""

    def __init__(self, master: int, database: str | None, redis: int | None = None) -> None:
        self.master, self.database, self.redis = master, database, redis

    def _server_pids(self) -> list[int]:
        children = Path(f"/proc/{self.master}/task/{self.master}/children").read_text().split()
        return [self.master, *map(int, children)]

    def _db_pids(self) -> list[int]:
        if not self.database:
            return []
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                [self.database],
            )
            return [row[0] for row in cursor.fetchall()]

    def sample(self) -> tuple[dict[int, float], dict[int, float], float, float]:
        server = {pid: _proc_cpu(pid) for pid in self._server_pids()}
        db = {pid: _proc_cpu(pid) for pid in self._db_pids()}
        # The load generator: wrk (a finished child) or the asyncio client (this process).
        loadgen = sum(
            usage.ru_utime + usage.ru_stime
            for usage in map(resource.getrusage, (resource.RUSAGE_CHILDREN, resource.RUSAGE_SELF))
        )
        redis = _proc_cpu(self.redis) if self.redis else 0.0
        return server, db, loadgen, redis

    @staticmethod
    def since(before, after) -> tuple[float, float, float, float]:
        """(server, database, load generator, redis) CPU-seconds between two samples."""

        def used(a: dict[int, float], b: dict[int, float]) -> float:
            return sum(b[pid] - a.get(pid, 0.0) for pid in b)  # new backends count from 0

        return (
            used(before[0], after[0]),
            used(before[1], after[1]),
            after[2] - before[2],
            after[3] - before[3],
        )


def cpu_line(meter: CpuMeter, before, n: int) -> float:
    """Print CPU per request of the phase that started at ``before``; returns the µs per
    request of the server, the database backends and Redis (not the load generator)."""
    server, db, loadgen, redis = CpuMeter.since(before, meter.sample())
    per = 1e6 / max(n, 1)
    print(
        f"  CPU per request: server {server * per:,.0f} µs"
        + (f" + database {db * per:,.0f} µs" if meter.database else "")
        + (f" + Redis {redis * per:,.0f} µs" if meter.redis else "")
        + f" = {(server + db + redis) * per:,.0f} µs; load generator {loadgen * per:,.0f} µs"
    )
    return (server + db + redis) * per
