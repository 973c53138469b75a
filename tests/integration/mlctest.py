"""Shared helpers for the integration tests: free ports, a small RESP client, redis-server and
ml-connector processes, raw HTTP, event builders, checks and the test runner.

Standard library only. Every test file builds on these so that each test
  * runs the service binary itself on a free port with its own MLC_REDIS_KEY_PREFIX,
  * captures the service's stderr log to a file under $MLC_BUILD_DIR/it-logs/,
  * waits for conditions with generous deadlines instead of asserting on speed,
  * prints one line per check and exits non-zero with a clear message on failure.
"""
import hashlib
import hmac
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
import uuid

# --- configuration from CTest (tests/CMakeLists.txt) ------------------------------------------

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_DIR = os.environ.get("MLC_SOURCE_DIR", os.path.dirname(os.path.dirname(HERE)))
BUILD_DIR = os.environ.get("MLC_BUILD_DIR", os.path.join(SOURCE_DIR, "build"))
MLC_BIN = os.environ.get("MLC_BIN", os.path.join(BUILD_DIR, "ml-connector"))
MLC_TEST_BIN = os.environ.get("MLC_TEST_BIN", os.path.join(BUILD_DIR, "ml-connector-test"))

# Generous deadline for "eventually" conditions: the CI machine has 2 shared, noisy cores and
# sanitizer builds are several times slower.
DEADLINE = float(os.environ.get("MLC_IT_DEADLINE_S", "30"))

SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:",
                     "ERROR: ThreadSanitizer", "WARNING: ThreadSanitizer",
                     "SUMMARY: UndefinedBehavior")

_TEST_NAME = os.path.splitext(os.path.basename(sys.argv[0]))[0] or "it"
_processes = []   # everything we started, for cleanup
_cleanups = []    # callables run at the end (key deletion, ...)
_prefix_seq = 0
_checks = 0


class TestFailure(Exception):
    """A check failed; the message says what was expected and what happened."""


class RedisError(Exception):
    """Redis answered with an error reply."""


# --- output and checks ------------------------------------------------------------------------

def say(msg):
    print(msg, flush=True)


def check(cond, what, detail=None):
    """One printed line per check; raises TestFailure when cond is false."""
    global _checks
    _checks += 1
    if cond:
        say(f"ok   {what}")
        return
    raise TestFailure(what + (f" -- {detail}" if detail is not None else ""))


def check_eq(got, want, what):
    check(got == want, what, f"expected {want!r}, got {got!r}")


def wait_until(pred, what, timeout=None, interval=0.1):
    """Polls pred() until it returns something truthy; returns that value or fails."""
    timeout = DEADLINE if timeout is None else timeout
    end = time.monotonic() + timeout
    last_exc = None
    while True:
        try:
            v = pred()
            if v:
                return v
            last_exc = None
        except (OSError, RedisError) as e:  # e.g. service or Redis still coming up
            last_exc = e
        if time.monotonic() > end:
            extra = f" (last error: {last_exc})" if last_exc else ""
            raise TestFailure(f"timed out after {timeout:.0f} s waiting for {what}{extra}")
        time.sleep(interval)


def work_dir(*parts):
    d = os.path.join(BUILD_DIR, "it-logs", _TEST_NAME, *parts)
    os.makedirs(d, exist_ok=True)
    return d


def free_port(host="127.0.0.1"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind((host, 0))
    port = s.getsockname()[1]
    s.close()
    return port


def unique_prefix(tag=""):
    global _prefix_seq
    _prefix_seq += 1
    rnd = uuid.uuid4().hex[:8]
    return f"it:{_TEST_NAME}:{tag or 'p'}{_prefix_seq}:{rnd}:"


def rand_secret(label):
    s = f"{label}-{uuid.uuid4().hex}"
    note_secrets([s])
    return s


# --- the suite-wide log capture (tests/integration/log_scan.py reads it last) ----------------

def capture_dir():
    return work_dir("captured")


def note_secrets(values):
    """Remembers secrets this test configured or was handed (one a line, in the build folder),
    so that the last test of the suite can check that no captured log line contains them."""
    vals = [v for v in values if isinstance(v, str) and len(v) >= 8 and "\n" not in v]
    if vals:
        with open(os.path.join(capture_dir(), "secrets.list"), "a") as f:
            f.write("".join(v + "\n" for v in vals))


_SECRET_NAMES = None


def secret_setting_names():
    """The settings the configuration table marks secret: README's rows "| MLC_X (S) |"
    (tests/unit/test_readme.c keeps those tables in step with src/core/config.c)."""
    global _SECRET_NAMES
    if _SECRET_NAMES is None:
        with open(os.path.join(SOURCE_DIR, "README.md")) as f:
            _SECRET_NAMES = set(re.findall(r"^\| (MLC_[A-Z0-9_]+) \(S\) \|", f.read(), re.M))
    return _SECRET_NAMES


def note_secret_settings(settings):
    """note_secrets for the secret settings of an MLC_* environment (a sandbox's sandbox.env)."""
    names = secret_setting_names()
    note_secrets([v for k, v in settings.items() if k in names])


def capture_log(path, label):
    """Copies a log file that is about to be deleted (a temporary folder's) into the capture."""
    try:
        shutil.copyfile(path, os.path.join(capture_dir(), f"{label}-{os.getpid()}.log"))
    except OSError:
        pass


# --- a small RESP client ----------------------------------------------------------------------

class Redis:
    """Synchronous RESP2 client: cmd(*args) -> int | str | list | None; error replies raise."""

    def __init__(self, port, host="127.0.0.1", timeout=10.0):
        self.host, self.port, self.timeout = host, port, timeout
        self.sock = None
        self.rf = None

    def _connect(self):
        self.close()
        self.sock = socket.create_connection((self.host, self.port), timeout=self.timeout)
        self.rf = self.sock.makefile("rb")

    def close(self):
        if self.rf:
            try:
                self.rf.close()
            except OSError:
                pass
        if self.sock:
            try:
                self.sock.close()
            except OSError:
                pass
        self.sock = self.rf = None

    @staticmethod
    def _encode(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            if isinstance(a, bytes):
                b = a
            else:
                b = str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(b), b))
        return b"".join(out)

    def _read(self):
        line = self.rf.readline()
        if not line:
            raise ConnectionError("Redis closed the connection")
        t, rest = line[:1], line[1:-2]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RedisError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.rf.read(n + 2)
            return data[:-2].decode("utf-8", "surrogateescape")
        if t == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self._read() for _ in range(n)]
        raise ConnectionError(f"bad RESP line {line!r}")

    def cmd(self, *args):
        for attempt in (0, 1):
            try:
                if not self.sock:
                    self._connect()
                self.sock.sendall(self._encode(args))
                r = self._read()
                break
            except (OSError, ConnectionError):
                self.close()
                if attempt:
                    raise
        if isinstance(r, RedisError):
            raise r
        return r

    def ping(self):
        try:
            return self.cmd("PING") == "PONG"
        except (OSError, ConnectionError, RedisError):
            return False

    def delete_prefix(self, prefix):
        cursor = "0"
        while True:
            cursor, keys = self.cmd("SCAN", cursor, "MATCH", prefix + "*", "COUNT", 1000)
            if keys:
                self.cmd("DEL", *keys)
            if cursor == "0":
                break


def fixture_redis_port():
    """The port of the CTest fixture Redis, or a private redis-server when run by hand."""
    d = os.environ.get("MLC_REDIS_FIXTURE")
    if d and os.path.exists(os.path.join(d, "port")):
        with open(os.path.join(d, "port")) as f:
            return int(f.read().strip())
    srv = RedisServer("fixture")
    srv.start()
    return srv.port


class RedisServer:
    """A redis-server of our own (for tests that stop, restart or misconfigure Redis)."""

    def __init__(self, name, port=None, appendonly=True, extra=()):
        self.name = name
        self.fixed_port = port is not None
        self.port = port or free_port()
        self.dir = work_dir(f"redis-{name}")
        self.appendonly = appendonly
        self.extra = list(extra)
        self.proc = None
        self.wipe()  # no AOF of an earlier run
        _processes.append(self)

    def wipe(self):
        shutil.rmtree(self.dir, ignore_errors=True)
        os.makedirs(self.dir, exist_ok=True)

    def start(self):
        """Starts (or restarts, on the same port and data) and waits until it answers."""
        first = self.proc is None
        for attempt in range(5):
            args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "yes" if self.appendonly else "no",
                    "--appendfsync", "always", "--dir", self.dir,
                    "--maxmemory-policy", "noeviction",
                    "--logfile", os.path.join(self.dir, "redis.log")] + self.extra
            self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL,
                                         stderr=subprocess.DEVNULL)
            r = Redis(self.port, timeout=2)

            def up():
                if self.proc.poll() is not None:
                    return "exited"
                # Make sure it is our process answering, not another test's on a reused port.
                info = r.cmd("INFO", "server")
                return f"process_id:{self.proc.pid}\r" in info
            try:
                state = wait_until(up, f"redis-server {self.name} on port {self.port}")
            finally:
                r.close()
            if state is True:
                return
            if first and not self.fixed_port:
                self.port = free_port()  # the free port was taken meanwhile: try another
                continue
            break
        raise TestFailure(f"redis-server {self.name} exited with {self.proc.returncode}; "
                          f"see {self.dir}/redis.log")

    def stop(self):
        """SIGTERM: Redis flushes its AOF and exits; a later start() loads it back."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def cleanup(self):
        self.kill()


# --- HTTP over a raw socket -------------------------------------------------------------------

class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers  # lower-case name -> value (last wins)
        self.body = body

    def header(self, name):
        return self.headers.get(name.lower())

    def json(self):
        try:
            return json.loads(self.body.decode())
        except ValueError:
            return None

    def __repr__(self):
        return f"<HTTP {self.status} {self.body[:300]!r}>"


def _read_response(f, head_only=False):
    line = f.readline()
    if not line:
        raise ConnectionError("connection closed without an answer")
    parts = line.decode("latin-1").split(" ", 2)
    status = int(parts[1])
    headers = {}
    while True:
        h = f.readline()
        if not h:
            raise ConnectionError("connection closed inside the headers")
        if h in (b"\r\n", b"\n"):
            break
        k, _, v = h.decode("latin-1").partition(":")
        headers[k.strip().lower()] = v.strip()
    if head_only:
        body = b""
    elif "content-length" in headers:
        body = f.read(int(headers["content-length"]))
    elif headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            n = int(f.readline().split(b";")[0].strip(), 16)
            if n == 0:
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                break
            body += f.read(n)
            f.readline()
    else:
        body = f.read()
    return Response(status, headers, body)


def http_request(port, method, path, body=b"", headers=None, source=None, timeout=30.0,
                 chunked=False, host="127.0.0.1"):
    """One request on a fresh connection (Connection: close). body may be bytes or str."""
    if isinstance(body, str):
        body = body.encode()
    hdrs = {"Host": f"{host}:{port}", "Connection": "close"}
    hdrs.update(headers or {})
    if chunked:
        hdrs["Transfer-Encoding"] = "chunked"
    elif body or method in ("POST", "PUT", "PATCH"):
        hdrs.setdefault("Content-Length", str(len(body)))
    head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
    payload = head.encode("latin-1") + b"\r\n"
    if chunked:
        step = 1000
        for i in range(0, len(body), step):
            c = body[i:i + step]
            payload += b"%x\r\n%s\r\n" % (len(c), c)
        payload += b"0\r\n\r\n"
    else:
        payload += body
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        if source:
            s.bind((source, 0))
        s.connect((host, port))
        try:
            s.sendall(payload)
        except (BrokenPipeError, ConnectionResetError):
            pass  # an early answer (401, 413) may close before we finished sending
        f = s.makefile("rb")
        try:
            return _read_response(f, head_only=method == "HEAD")
        finally:
            f.close()
    finally:
        s.close()


class HttpConn:
    """A kept-alive HTTP/1.1 connection for several requests in a row."""

    def __init__(self, port, source=None, timeout=30.0, host="127.0.0.1"):
        self.port, self.host = port, host
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        if source:
            self.sock.bind((source, 0))
        self.sock.connect((host, port))
        self.f = self.sock.makefile("rb")

    def request(self, method, path, body=b"", headers=None):
        if isinstance(body, str):
            body = body.encode()
        hdrs = {"Host": f"{self.host}:{self.port}"}
        hdrs.update(headers or {})
        if body or method in ("POST", "PUT", "PATCH"):
            hdrs["Content-Length"] = str(len(body))
        head = f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in hdrs.items())
        self.sock.sendall(head.encode("latin-1") + b"\r\n" + body)
        return _read_response(self.f, head_only=method == "HEAD")

    def close(self):
        try:
            self.f.close()
        finally:
            self.sock.close()


# --- events -----------------------------------------------------------------------------------

NS_ACCOUNT = "1234567"
DV_ORG = "f0e1d2c3-0000-0000-0000-00000000f001"


def new_id(tag="ev"):
    return f"{tag}-{uuid.uuid4().hex[:16]}"


def ns_event(event_id=None, record_type="customer", record_id=None, event_type="edit",
             account=NS_ACCOUNT, occurred_at="2026-03-01T10:00:00Z"):
    return {"eventId": event_id or new_id(), "eventType": event_type, "recordType": record_type,
            "recordId": str(record_id if record_id is not None else random.randint(1, 10**9)),
            "occurredAt": occurred_at, "accountId": account}


def guid():
    return str(uuid.uuid4())


def dv_context(message="Update", entity="account", operation_id=None, entity_id=None,
               organization_id=DV_ORG):
    """A RemoteExecutionContext shaped like ../shared/reference/samples/ (key/value pairs)."""
    eid = entity_id or guid()
    return {
        "BusinessUnitId": guid(), "CorrelationId": guid(), "Depth": 1,
        "InitiatingUserId": "a1b2c3d4-0000-0000-0000-00000000e001",
        "InputParameters": [{"key": "Target", "value": {
            "__type": "Entity:http://schemas.microsoft.com/xrm/2011/Contracts",
            "Attributes": [{"key": "name", "value": "Contoso"},
                           {"key": "modifiedon", "value": "/Date(1796320800000)/"}],
            "EntityState": None, "FormattedValues": [], "Id": eid, "KeyAttributes": [],
            "LogicalName": entity, "RelatedEntities": [], "RowVersion": "4412010"}}],
        "IsExecutingOffline": False, "IsInTransaction": False, "IsOfflinePlayback": False,
        "IsolationMode": 1, "MessageName": message, "Mode": 1,
        "OperationCreatedOn": "/Date(1796320800000+0000)/",
        "OperationId": operation_id or guid(), "OrganizationId": organization_id,
        "OrganizationName": "contoso", "OutputParameters": [], "ParentContext": None,
        "PostEntityImages": [], "PreEntityImages": [], "PrimaryEntityId": eid,
        "PrimaryEntityName": entity, "RequestId": None, "SecondaryEntityName": "none",
        "SharedVariables": [], "Stage": 40, "UserId": "a1b2c3d4-0000-0000-0000-00000000e001"}


def hmac_header(key, body, t=None, extra_sigs=()):
    """X-MLC-Signature computed independently of the service (Python's hmac)."""
    if isinstance(body, str):
        body = body.encode()
    t = int(time.time()) if t is None else int(t)
    mac = hmac.new(key.encode(), f"{t}.".encode() + body, hashlib.sha256).hexdigest()
    sigs = [f"v1={s}" for s in extra_sigs] + [f"v1={mac}"]
    return f"t={t}," + ",".join(sigs)


# --- metrics ----------------------------------------------------------------------------------

_METRIC_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
_LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


class Metrics:
    def __init__(self, text):
        self.text = text
        self.samples = []      # (name, {labels}, value)
        self.types = {}        # family -> type
        for line in text.splitlines():
            if line.startswith("# TYPE "):
                _, _, fam, typ = line.split(" ", 3)
                self.types[fam] = typ
                continue
            if not line or line.startswith("#"):
                continue
            m = _METRIC_RE.match(line)
            if not m:
                raise TestFailure(f"/metrics: unparsable line {line!r}")
            labels = dict(_LABEL_RE.findall(m.group(3) or ""))
            self.samples.append((m.group(1), labels, float(m.group(4))))

    def get(self, name, **labels):
        """The value of the one sample matching name and (a subset of) labels, else None."""
        found = [v for n, l, v in self.samples
                 if n == name and all(l.get(k) == str(x) for k, x in labels.items())]
        return found[0] if found else None

    def has(self, name, **labels):
        return self.get(name, **labels) is not None


# --- the service ------------------------------------------------------------------------------

class Service:
    """One ml-connector process (serve) with its own prefix, port and log file."""

    def __init__(self, name, redis_port=None, binary=None, env=None, tag=None):
        self.name = name
        self.binary = binary or MLC_TEST_BIN
        self.redis_port = redis_port if redis_port is not None else fixture_redis_port()
        self.prefix = unique_prefix(tag or name)
        self.ns_secret = rand_secret("ns-secret")
        self.dv_key = rand_secret("dv-key")
        self.env = {
            "MLC_REDIS_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "MLC_REDIS_KEY_PREFIX": self.prefix,
            "MLC_ALLOW_PLAINTEXT_SECRETS": "1",
            "MLC_NETSUITE_WEBHOOK_SECRETS": self.ns_secret,
            "MLC_NETSUITE_ALLOWED_CIDRS": "127.0.0.0/8",
            "MLC_NETSUITE_ACCOUNT_ID": NS_ACCOUNT,
            "MLC_DATAVERSE_WEBHOOK_KEYS": self.dv_key,
            "MLC_DATAVERSE_ORGANIZATION_ID": DV_ORG,
            "MLC_WORKERS": "4",
            "MLC_HTTP_THREADS": "2",
            "MLC_QUEUE_VISIBILITY_TIMEOUT_S": "10",  # tests of reclaim set less
            "MLC_QUEUE_RETRY_BASE_MS": "100",
            "MLC_QUEUE_RETRY_MAX_S": "2",
            "MLC_SHUTDOWN_GRACE_S": "20",
            "MLC_LOG_LEVEL": "debug",
        }
        self.env.update(env or {})
        self.port = None
        self.proc = None
        self.logf = None
        self.log_path = os.path.join(work_dir(), f"{name}.log")
        self.logs = []  # every log file this service wrote (one per start)
        self.starts = 0
        self.redis = Redis(self.redis_port)
        _processes.append(self)
        _cleanups.append(self._delete_keys)

    # keys
    def key(self, suffix):
        return self.prefix + suffix

    def _delete_keys(self):
        try:
            Redis(self.redis_port, timeout=3).delete_prefix(self.prefix)
        except (OSError, ConnectionError, RedisError):
            pass

    def full_env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
        env.update(self.env)
        env.setdefault("ASAN_OPTIONS", "abort_on_error=0:detect_leaks=1")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        return env

    # process
    def start(self, wait_ready=True, expect_exit=False):
        for attempt in range(5):
            self.port = free_port()
            self.env["MLC_LISTEN"] = f"127.0.0.1:{self.port}"
            self.starts += 1
            path = self.log_path if self.starts == 1 else \
                self.log_path.replace(".log", f".{self.starts}.log")
            self.logs.append(path)
            if self.logf:
                self.logf.close()
            self.logf = open(path, "wb")
            self.proc = subprocess.Popen([self.binary, "serve"], env=self.full_env(),
                                         stdout=self.logf, stderr=subprocess.STDOUT)
            if expect_exit or not wait_ready:
                return self
            try:
                wait_until(self._ready, f"{self.name} answering GET /healthz")
                return self
            except TestFailure:
                if self.proc.poll() is not None and "cannot listen" in self.log_text(path):
                    continue  # the free port was taken meanwhile: try another one
                raise
        raise TestFailure(f"{self.name}: could not find a free port to listen on")

    def _ready(self):
        if self.proc.poll() is not None:
            raise TestFailure(f"{self.name} exited with {self.proc.returncode} during start-up:\n"
                              + self.log_tail())
        return self.get("/healthz", timeout=5).status == 200

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def sigterm(self):
        self.proc.send_signal(signal.SIGTERM)

    def kill9(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def wait_exit(self, timeout=None):
        try:
            return self.proc.wait(timeout=DEADLINE * 2 if timeout is None else timeout)
        except subprocess.TimeoutExpired:
            raise TestFailure(f"{self.name} did not exit within {timeout or DEADLINE * 2:.0f} s")

    def stop(self):
        """SIGTERM and wait; returns the exit code."""
        if not self.alive():
            return self.proc.returncode if self.proc else None
        self.sigterm()
        return self.wait_exit()

    def cleanup(self):
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=DEADLINE)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.logf:
            self.logf.close()
            self.logf = None

    def cli(self, *args, binary=None, timeout=None):
        """Runs another subcommand (dlq, version, ...) with this service's configuration."""
        env = self.full_env()
        p = subprocess.run([binary or self.binary] + list(args), env=env, capture_output=True,
                           timeout=timeout or DEADLINE * 2)
        out, err = p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace")
        check_no_sanitizer_report(err, f"{self.name}: `{' '.join(args)}`")
        return p.returncode, out, err

    # logs
    def log_text(self, path=None):
        try:
            with open(path or self.logs[-1], "rb") as f:
                return f.read().decode("utf-8", "replace")
        except (OSError, IndexError):
            return ""

    def all_logs(self):
        return "".join(self.log_text(p) for p in self.logs)

    def log_tail(self, n=40):
        return "\n".join(self.log_text().splitlines()[-n:])

    def log_records(self):
        """Every log line of every start, parsed; non-JSON lines come back as {'raw': line}."""
        out = []
        for line in self.all_logs().splitlines():
            try:
                out.append(json.loads(line))
            except ValueError:
                out.append({"raw": line})
        return out

    # HTTP
    def request(self, method, path, body=b"", headers=None, **kw):
        return http_request(self.port, method, path, body, headers, **kw)

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post_ns(self, payload, secret=None, headers=None, raw=None, **kw):
        body = raw if raw is not None else json.dumps(payload)
        h = {"Content-Type": "application/json"}
        if secret is not False:
            h["X-MLC-Webhook-Secret"] = secret if secret is not None else self.ns_secret
        h.update(headers or {})
        return self.request("POST", "/v1/webhooks/netsuite", body, h, **kw)

    def post_ns_hmac(self, payload, key, t=None, extra_sigs=(), headers=None, raw=None, **kw):
        body = (raw if raw is not None else json.dumps(payload)).encode()
        h = {"Content-Type": "application/json",
             "X-MLC-Signature": hmac_header(key, body, t, extra_sigs)}
        h.update(headers or {})
        return self.request("POST", "/v1/webhooks/netsuite", body, h, **kw)

    def post_dv(self, ctx, code=None, query=None, headers=None, raw=None, **kw):
        body = raw if raw is not None else json.dumps(ctx)
        if query is None and code is False:
            query = ""
        elif query is None:
            query = "?code=" + (code if code is not None else self.dv_key)
        h = {"Content-Type": "application/json"}
        h.update(headers or {})
        return self.request("POST", "/v1/webhooks/dataverse" + query, body, h, **kw)

    def metrics(self):
        r = self.get("/metrics")
        if r.status != 200:
            raise TestFailure(f"{self.name}: GET /metrics answered {r!r}")
        return Metrics(r.body.decode())

    # queue state
    def stream_stats(self, lane="live"):
        """(length, entries ever added) of a lane's stream; (0, 0) when it does not exist."""
        try:
            info = self.redis.cmd("XINFO", "STREAM", self.key(f"q:{lane}"))
        except RedisError:
            return (0, 0)
        d = dict(zip(info[0::2], info[1::2]))
        return (d["length"], d.get("entries-added", d["length"]))

    def pending(self, lane="live"):
        """[(entry id, consumer, idle ms, deliveries)] of the group's pending entries."""
        try:
            rows = self.redis.cmd("XPENDING", self.key(f"q:{lane}"), "mlc", "-", "+", 10000)
        except RedisError:
            return []
        return [(r[0], r[1], int(r[2]), int(r[3])) for r in rows]

    def hgetall(self, suffix):
        flat = self.redis.cmd("HGETALL", self.key(suffix)) or []
        return dict(zip(flat[0::2], flat[1::2]))

    def executions(self):
        return {k: int(v) for k, v in self.hgetall("test:exec").items()}

    def effects(self):
        return self.hgetall("test:effects")

    def set_mode(self, mode):
        self.redis.cmd("SET", self.key("test:mode"), mode)

    def dlq_len(self):
        return self.redis.cmd("XLEN", self.key("q:dlq"))

    def retry_len(self):
        return self.redis.cmd("ZCARD", self.key("q:retry"))

    def idle(self, lane="live"):
        """Stream empty, nothing pending, nothing waiting for a retry."""
        return (self.stream_stats(lane)[0] == 0 and not self.pending(lane)
                and self.retry_len() == 0)


# --- common assertions ------------------------------------------------------------------------

def check_no_sanitizer_report(text, where):
    for m in SANITIZER_MARKERS:
        if m in text:
            i = text.index(m)
            raise TestFailure(f"{where}: sanitizer report:\n{text[max(0, i - 200):i + 3000]}")


def check_problem(resp, status, code, what, field=None):
    """An RFC 9457 problem+json answer with the given status and stable code."""
    j = resp.json() if resp.body else None
    ok = (resp.status == status and
          (resp.header("content-type") or "").startswith("application/problem+json") and
          isinstance(j, dict) and j.get("code") == code and j.get("status") == status and
          "title" in j and "type" in j)
    if ok and field is not None:
        ok = field in (j.get("detail") or "")
    check(ok, f"{what} -> {status} {code}" + (f" naming '{field}'" if field else ""),
          f"got {resp.status} {resp.header('content-type')} {resp.body[:400]!r}")
    return j


def expect_rejected(svc, what, status, code, fn, field=None, lanes=("live", "bulk")):
    """Runs fn() (one request), checks the problem answer and that no stream grew."""
    before = {l: svc.stream_stats(l) for l in lanes}
    resp = fn()
    j = check_problem(resp, status, code, what, field)
    after = {l: svc.stream_stats(l) for l in lanes}
    # entries-added counts every XADD ever made, so it proves nothing was enqueued even while
    # workers are draining (and shortening) the stream concurrently.
    check(all(after[l][1] == before[l][1] and after[l][0] <= before[l][0] for l in lanes),
          f"{what}: nothing enqueued (stream length and entries-added unchanged)",
          f"before {before}, after {after}")
    return resp, j


def check_logs_clean(svc, secrets):
    """No secret in any log line, no query string in an access line, every line JSON, no
    sanitizer report."""
    text = svc.all_logs()
    check_no_sanitizer_report(text, f"{svc.name} log")
    for s in secrets:
        check(s not in text, f"{svc.name}: secret {s[:10]}... never appears in the log",
              next((l for l in text.splitlines() if s in l), None))
    recs = svc.log_records()
    # The one exception: the plain "ml-connector: <why>" line main() prints when it refuses to
    # start, for humans reading a terminal.
    non_json = [r["raw"] for r in recs if "raw" in r and not r["raw"].startswith("ml-connector: ")]
    check(not non_json, f"{svc.name}: every log line is a JSON object", non_json[:3])
    access = [r for r in recs if r.get("msg") == "access"]
    check(len(access) > 0, f"{svc.name}: access log lines are written ({len(access)})")
    bad = [r for r in access if "?" in json.dumps(r) or "code=" in json.dumps(r)]
    check(not bad, f"{svc.name}: no access log line contains a query string", bad[:3])


# --- the runner -------------------------------------------------------------------------------

def cleanup_all():
    for p in reversed(_processes):
        try:
            p.cleanup()
        except Exception:  # noqa: BLE001 - best effort at exit
            pass
    for c in _cleanups:
        try:
            c()
        except Exception:  # noqa: BLE001
            pass


def run(*tests):
    """Runs the test functions in order; prints a summary; exits 1 on the first failure."""
    t0 = time.monotonic()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: (cleanup_all(), os._exit(3)))
    failed = None
    try:
        for t in tests:
            doc = (t.__doc__ or "").strip().splitlines()
            say(f"--- {t.__name__}: {doc[0] if doc else ''}")
            t1 = time.monotonic()
            t()
            say(f"    ({time.monotonic() - t1:.1f} s)")
        # Every service we ran must have a clean log (no sanitizer report).
        for p in _processes:
            if isinstance(p, Service):
                p.cleanup()
                check_no_sanitizer_report(p.all_logs(), f"{p.name} log")
    except TestFailure as e:
        failed = str(e)
    except Exception:  # noqa: BLE001 - a crash of the test itself is a failure too
        failed = "test crashed:\n" + traceback.format_exc()
    if failed:
        say(f"FAIL {failed}")
        for p in _processes:
            if isinstance(p, Service) and p.logs:
                say(f"     {p.name} log: {p.logs[-1]} (last lines below)")
                for line in p.log_tail(15).splitlines():
                    say(f"       {line[:400]}")
    cleanup_all()
    say(f"{'FAILED' if failed else 'PASSED'}: {_checks} checks in {time.monotonic() - t0:.1f} s")
    sys.exit(1 if failed else 0)
