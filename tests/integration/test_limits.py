"""Connection limits: with MLC_MAX_CONNECTIONS=50, idle connections from several loopback
addresses fill it, further connections get no answer while it is full, the server closes the
idle ones after MLC_CONNECTION_TIMEOUT_S, and a valid webhook is answered afterwards; the per-IP
limit closes a peer's extra connection without an answer."""
import errno
import select
import socket
import time

from mlctest import (Service, check, check_logs_clean, http_request, ns_event, run, say,
                     wait_until)

LIMIT = 50
TIMEOUT_S = 3
services = []


def connect_from(source, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((source, 0))
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.setblocking(False)
    return s


def closed_by_peer(s):
    """True when the server closed s (EOF or reset); False while it is open and silent.
    Raises when the server sent data."""
    try:
        d = s.recv(4096, socket.MSG_PEEK)
    except BlockingIOError:
        return False
    except (ConnectionResetError, ConnectionAbortedError):
        return True
    except OSError as e:
        if e.errno in (errno.ECONNRESET, errno.EPIPE):
            return True
        raise
    if d == b"":
        return True
    raise AssertionError(f"unexpected data on an idle connection: {d[:80]!r}")


def answer_complete(buf):
    head, sep, body = buf.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return len(body) >= int(line.split(b":")[1])
    return True


def read_answer(s, deadline):
    """Reads one whole HTTP answer (head and Content-Length body) or until the connection
    ends; returns the bytes."""
    buf = b""
    while time.monotonic() < deadline and not answer_complete(buf):
        r, _, _ = select.select([s], [], [], 0.2)
        if not r:
            continue
        try:
            d = s.recv(4096)
        except BlockingIOError:
            continue
        except OSError:
            break
        if not d:
            break
        buf += d
    return buf


def test_connection_limit():
    """50 idle connections fill the limit; beyond it refused; idle ones closed; then 202"""
    svc = Service("limits", env={"MLC_MAX_CONNECTIONS": str(LIMIT),
                                 "MLC_CONNECTION_TIMEOUT_S": str(TIMEOUT_S),
                                 "MLC_HTTP_THREADS": "4"})
    services.append(svc)
    svc.start()
    # Let the start-up probe's connection close so it does not count against the limit.
    time.sleep(0.2)
    sources = [f"127.0.0.{i}" for i in range(2, 7)]
    opened_at = {}
    idle = []
    for i in range(LIMIT - 1):
        s = connect_from(sources[i % len(sources)], svc.port)
        opened_at[s] = time.monotonic()
        idle.append(s)
    check(True, f"{LIMIT - 1} idle TCP connections from {', '.join(sources)}")

    # The 50th connection still fits: its request is answered while the other 49 stay open.
    last = connect_from("127.0.0.7", svc.port)
    opened_at[last] = time.monotonic()
    last.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    head = read_answer(last, time.monotonic() + 30)
    early = [s for s in idle if closed_by_peer(s)]
    check(head.startswith(b"HTTP/1.1 200") and not early,
          f"connection {LIMIT} is served while the {LIMIT - 1} idle ones are open "
          f"(limit {LIMIT} admits {LIMIT})", (head[:60], len(early)))
    idle.append(last)  # kept alive and idle from now on: the limit is full

    # Beyond the limit: connections are refused (closed by the server without an answer)
    # while all 50 are held.
    extra = []
    refused_early = 0
    for i in range(3):
        try:
            s = connect_from(f"127.0.0.{20 + i}", svc.port)
            try:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            except OSError:
                pass  # already closed by the server: read below sees the end
            extra.append(s)
        except OSError as e:
            say(f"     connection {LIMIT + 1 + i} refused at connect: {e}")
            refused_early += 1

    closed_at = {}
    answered_at = {}
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and (len(closed_at) < len(idle) or
                                           len(answered_at) < len(extra)):
        # Idle ones first, so a closure is always seen before an answer it made room for.
        for s in idle:
            if s not in closed_at and closed_by_peer(s):
                closed_at[s] = time.monotonic()
        for s in extra:
            if s in answered_at:
                continue
            try:
                d = s.recv(1, socket.MSG_PEEK)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            # Answered or closed: either way, was the limit still full at that moment?
            for s2 in idle:
                if s2 not in closed_at and closed_by_peer(s2):
                    closed_at[s2] = time.monotonic()
            answered_at[s] = (time.monotonic(), d, len(closed_at))
        time.sleep(0.02)

    check(len(closed_at) == len(idle),
          f"the server closed all {len(idle)} idle connections", f"{len(closed_at)} closed")
    waited = [closed_at[s] - opened_at[s] for s in idle]
    check(min(waited) >= TIMEOUT_S - 1,
          f"idle connections were closed after MLC_CONNECTION_TIMEOUT_S={TIMEOUT_S} "
          f"(after {min(waited):.1f} to {max(waited):.1f} s)", min(waited))
    for i, s in enumerate(extra):
        t, d, nclosed = answered_at.get(s, (None, None, -1))
        check(d == b"" and nclosed == 0,
              f"connection {LIMIT + 1 + i} was refused: closed without an answer while the limit "
              f"was full", (t, d, nclosed))
    check(len(extra) + refused_early == 3, "all three connections beyond the limit were refused")
    for s in idle + extra:
        s.close()

    ev = ns_event()
    r = svc.post_ns(ev)
    check(r.status == 202, "a valid webhook is answered 202 afterwards", r)
    wait_until(lambda: svc.effects().get(ev["eventId"]) and svc.idle(), "its job to run")
    check(True, "and its job ran")


def test_per_ip_limit():
    """MLC_MAX_CONNECTIONS_PER_IP: a peer's extra connection is closed without an answer"""
    svc = Service("perip", env={"MLC_MAX_CONNECTIONS_PER_IP": "3",
                                "MLC_CONNECTION_TIMEOUT_S": str(TIMEOUT_S)})
    services.append(svc)
    svc.start()
    held = [connect_from("127.0.0.9", svc.port) for _ in range(3)]
    s = connect_from("127.0.0.9", svc.port)
    s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    head = read_answer(s, time.monotonic() + 30)
    check(head == b"", "4th connection from 127.0.0.9 is closed without an answer", head[:80])
    r = http_request(svc.port, "GET", "/healthz", source="127.0.0.10")
    check(r.status == 200, "another address (127.0.0.10) is served meanwhile", r)
    ev = ns_event()
    r = svc.post_ns(ev, source="127.0.0.11")
    check(r.status == 202, "a webhook from a third address -> 202", r)
    for h in held + [s]:
        h.close()
    wait_until(lambda: http_request(svc.port, "GET", "/healthz", source="127.0.0.9").status == 200,
               "127.0.0.9 to be served again once its connections are gone")
    check(True, "127.0.0.9 is served again once its connections are closed")


def test_logs():
    """clean logs"""
    for svc in services:
        check(svc.stop() == 0, f"{svc.name}: SIGTERM -> exit 0")
        check_logs_clean(svc, [svc.ns_secret, svc.dv_key])


if __name__ == "__main__":
    run(test_connection_limit, test_per_ip_limit, test_logs)
