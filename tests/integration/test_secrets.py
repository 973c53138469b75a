"""Credentials at rest: `secrets keygen|encrypt|decrypt|rotate` (checked against Node's own
AES-256-GCM, an independent implementation), serve with enc:v1 values and without plaintext,
the plaintext refusal, and SIGHUP re-reading _FILE secrets and the key ring."""
import os
import signal
import subprocess

from mlctest import (MLC_TEST_BIN, Service, check, check_eq, check_logs_clean, dv_context,
                     ns_event, run, wait_until, work_dir)

NODE_DECRYPT = r"""
const c = require('crypto');
const [ring, value] = [process.argv[1], process.argv[2]];
const m = /^enc:v1:([A-Za-z0-9_-]+):(.+)$/.exec(value);
const keys = Object.fromEntries(ring.trim().split('\n').map(l => [l.split(':')[0],
  Buffer.from(l.slice(l.indexOf(':') + 1), 'base64')]));
const raw = Buffer.from(m[2], 'base64');
const d = c.createDecipheriv('aes-256-gcm', keys[m[1]], raw.subarray(0, 12));
d.setAAD(Buffer.from('enc:v1:' + m[1]));
d.setAuthTag(raw.subarray(raw.length - 16));
process.stdout.write(Buffer.concat([d.update(raw.subarray(12, raw.length - 16)), d.final()]));
"""
NODE_ENCRYPT = r"""
const c = require('crypto');
const [line, value] = [process.argv[1], process.argv[2]];
const kid = line.split(':')[0], key = Buffer.from(line.slice(kid.length + 1), 'base64');
const iv = c.randomBytes(12), e = c.createCipheriv('aes-256-gcm', key, iv);
e.setAAD(Buffer.from('enc:v1:' + kid));
const ct = Buffer.concat([e.update(Buffer.from(value)), e.final()]);
process.stdout.write('enc:v1:' + kid + ':' + Buffer.concat([iv, ct, e.getAuthTag()]).toString('base64'));
"""

d = None
ring_path = None


def cli(*args, stdin=None, env=None):
    e = {k: v for k, v in os.environ.items() if not k.startswith("MLC_")}
    e.update(env or {})
    p = subprocess.run([MLC_TEST_BIN, "secrets"] + list(args), input=stdin, env=e,
                       capture_output=True, text=True, timeout=30)
    return p.returncode, p.stdout, p.stderr


def node(script, *args):
    return subprocess.run(["node", "-e", script] + list(args), capture_output=True, text=True,
                          timeout=30, check=True).stdout


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def test_cli_and_node():
    """keygen, encrypt and decrypt agree with Node's AES-256-GCM both ways"""
    global d, ring_path
    d = work_dir()
    rc, line, _ = cli("keygen", "k1")
    line = line.strip()
    check(rc == 0 and line.startswith("k1:") and len(line) == 3 + 44,
          "`secrets keygen k1` prints one ring line kid:base64(32 bytes)", line[:4])
    ring_path = os.path.join(d, "ring")
    write(ring_path, line + "\n")
    env = {"MLC_MASTER_KEY_FILE": ring_path}
    rc, enc, _ = cli("encrypt", stdin="p@ss w0rd,second\n", env=env)
    enc = enc.strip()
    check(rc == 0 and enc.startswith("enc:v1:k1:") and "p@ss" not in enc,
          "`secrets encrypt` reads stdin and prints enc:v1:k1:...", enc[:12])
    check_eq(node(NODE_DECRYPT, line, enc), "p@ss w0rd,second",
             "Node's AES-256-GCM (AAD enc:v1:<kid>) decrypts our value")
    theirs = node(NODE_ENCRYPT, line, "from node")
    rc, out, _ = cli("decrypt", stdin=theirs + "\n", env=env)
    check(rc == 0 and out == "from node\n", "`secrets decrypt` opens a value Node sealed", out)
    rc, _, err = cli("decrypt", stdin=theirs[:-4] + "AAAA", env=env)
    check(rc == 1 and "wrong key or altered value" in err, "an altered value is refused", err)
    rc, _, err = cli("encrypt", stdin="x", env={})
    check(rc == 2 and "MLC_MASTER_KEY_FILE is not set" in err, "no ring -> exit 2 with the reason",
          err)
    rc, _, err = cli("encrypt", "value-on-the-command-line", env=env)
    check(rc == 2 and "usage" in err, "a value on the command line is not accepted", err)


def test_rotate():
    """rotate re-encrypts an env file under the new first key; the old key can then go"""
    rc, new_line, _ = cli("keygen", "k2")
    old_line = open(ring_path).read().strip()
    both = os.path.join(d, "ring-both")
    write(both, new_line.strip() + "\n" + old_line + "\n")
    env_old = {"MLC_MASTER_KEY_FILE": ring_path}
    a = cli("encrypt", stdin="alpha", env=env_old)[1].strip()
    b = cli("encrypt", stdin="beta", env=env_old)[1].strip()
    envfile = os.path.join(d, "prod.env")
    write(envfile, f"# comment\nMLC_LOG_LEVEL=info\nMLC_ADMIN_TOKENS={a}\n"
                   f"export MLC_NETSUITE_WEBHOOK_SECRETS=\"{b}\"\n")
    os.chmod(envfile, 0o640)
    rc, out, err = cli("rotate", envfile, env={"MLC_MASTER_KEY_FILE": both})
    check(rc == 0 and "rotated 2 values" in out and "key k2" in out, "rotate: 2 values", out + err)
    lines = open(envfile).read().splitlines()
    check(lines[:2] == ["# comment", "MLC_LOG_LEVEL=info"], "other lines are kept as they were",
          lines)
    check(lines[2].startswith("MLC_ADMIN_TOKENS=enc:v1:k2:") and
          lines[3].startswith('export MLC_NETSUITE_WEBHOOK_SECRETS="enc:v1:k2:') and
          lines[3].endswith('"'), "both values are now under k2, quotes kept", lines)
    check_eq(oct(os.stat(envfile).st_mode & 0o777), "0o640", "the file mode is kept")
    only_new = os.path.join(d, "ring-new")
    write(only_new, new_line)
    env_new = {"MLC_MASTER_KEY_FILE": only_new}
    got = [cli("decrypt", stdin=l.split("=", 1)[1].strip('"'), env=env_new)[1].strip()
           for l in lines[2:]]
    check_eq(got, ["alpha", "beta"], "with the old key dropped, the values still decrypt")
    rc, _, err = cli("rotate", envfile, env=env_old)
    check(rc == 1 and "key id 'k2' is not in the key ring" in err and
          open(envfile).read().splitlines()[2].startswith("MLC_ADMIN_TOKENS=enc:v1:k2:"),
          "a ring lacking a value's key fails and leaves the file untouched", err)


def test_serve_encrypted_and_sighup():
    """serve takes enc:v1 values without plaintext; refuses plaintext; SIGHUP rotates secrets"""
    env_ring = {"MLC_MASTER_KEY_FILE": ring_path}
    ns1 = "ns-secret-one-4d8f"
    enc_ns1 = cli("encrypt", stdin=ns1, env=env_ring)[1].strip()
    dv_file = os.path.join(d, "dv-keys")
    write(dv_file, "dv-key-one-77a1\n")
    admin_file = os.path.join(d, "admin-tokens")
    write(admin_file, "admin-token-one-5e2c\n")
    svc = Service("secrets")
    for k in ("MLC_ALLOW_PLAINTEXT_SECRETS", "MLC_DATAVERSE_WEBHOOK_KEYS"):
        svc.env.pop(k, None)
    svc.env.update({"MLC_NETSUITE_WEBHOOK_SECRETS": enc_ns1, "MLC_MASTER_KEY_FILE": ring_path,
                    "MLC_DATAVERSE_WEBHOOK_KEYS_FILE": dv_file,
                    "MLC_ADMIN_TOKENS_FILE": admin_file})
    svc.ns_secret = ns1
    svc.start()
    check(True, "serve starts with an enc:v1 secret and a _FILE key, no plaintext allowed")
    check_eq(svc.post_ns(ns_event()).status, 202, "the decrypted secret is accepted")
    check_eq(svc.post_ns(ns_event(), secret=enc_ns1).status, 401,
             "the enc:v1 text itself is not a valid secret")

    # SIGHUP re-reads files (a process's environment cannot change): restart with the secret in
    # a file (encrypted there too), then rotate both files and send SIGHUP.
    check(svc.stop() == 0, "SIGTERM -> exit 0")
    ns2 = "ns-secret-two-9c3e"
    ns_file = os.path.join(d, "ns-secrets")
    write(ns_file, cli("encrypt", stdin=ns1, env=env_ring)[1])
    svc.env.pop("MLC_NETSUITE_WEBHOOK_SECRETS")
    svc.env["MLC_NETSUITE_WEBHOOK_SECRETS_FILE"] = ns_file
    svc.start()
    check_eq(svc.post_ns(ns_event(), secret=ns1).status, 202, "restarted with the _FILE secret")
    admin = {"Authorization": "Bearer admin-token-one-5e2c"}
    check_eq(svc.request("GET", "/v1/status", headers=admin).status, 200,
             "the admin token from its file is accepted")
    write(ns_file, cli("encrypt", stdin=f"{ns2},{ns1}", env=env_ring)[1])
    write(dv_file, "dv-key-two-51b0\n")
    write(admin_file, "admin-token-two-c7d1\n")
    svc.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: svc.post_ns(ns_event(), secret=ns2).status == 202,
               "the new NetSuite secret to be accepted after SIGHUP")
    check(True, "SIGHUP: the new NetSuite secret is accepted")
    check_eq(svc.post_ns(ns_event(), secret=ns1).status, 202, "the old one too (both listed)")
    check_eq(svc.post_dv(dv_context(), code="dv-key-two-51b0").status, 202,
             "SIGHUP: the new WebhookKey is accepted")
    check_eq(svc.post_dv(dv_context(), code="dv-key-one-77a1").status, 401,
             "the WebhookKey no longer in the file is refused")
    check_eq(svc.request("GET", "/v1/status",
                         headers={"Authorization": "Bearer admin-token-two-c7d1"}).status, 200,
             "SIGHUP: the new admin token is accepted")
    check_eq(svc.request("GET", "/v1/status", headers=admin).status, 401,
             "the admin token no longer in the file is refused")
    # A broken file on SIGHUP keeps the running secrets.
    write(ns_file, "enc:v1:k1:broken")
    svc.proc.send_signal(signal.SIGHUP)
    wait_until(lambda: "SIGHUP: configuration error" in svc.log_text(svc.logs[-1]),
               "the reload error to be logged")
    check_eq(svc.post_ns(ns_event(), secret=ns2).status, 202,
             "a bad file on SIGHUP keeps the running secrets")
    check(svc.alive(), "and the service keeps running")
    check(svc.stop() == 0, "SIGTERM -> exit 0")
    check_logs_clean(svc, [ns1, ns2, "dv-key-one-77a1", "dv-key-two-51b0", "admin-token-one-5e2c",
                           "admin-token-two-c7d1"])

    # Plaintext in the environment without the permission: refused at start, exit 2.
    bad = Service("plaintext")
    bad.env.pop("MLC_ALLOW_PLAINTEXT_SECRETS", None)
    bad.start(expect_exit=True)
    rc = bad.wait_exit()
    text = bad.log_text(bad.logs[-1])
    check(rc == 2 and "MLC_NETSUITE_WEBHOOK_SECRETS: plaintext secret in the environment" in text
          and bad.ns_secret not in text, "plaintext secret without permission -> exit 2 naming it",
          text)
    # With the permission: a warning naming the variables, never their values.
    ok = Service("allowed")
    ok.start()
    recs = [r for r in ok.log_records() if "plaintext secrets in the environment" in
            r.get("msg", "")]
    check(recs and recs[0].get("level") == "warn" and "MLC_NETSUITE_WEBHOOK_SECRETS" in
          recs[0]["msg"] and ok.ns_secret not in recs[0]["msg"],
          "MLC_ALLOW_PLAINTEXT_SECRETS=1 -> a warning naming the variables", recs)
    check(ok.stop() == 0, "SIGTERM -> exit 0")


if __name__ == "__main__":
    run(test_cli_and_node, test_rotate, test_serve_encrypted_and_sighup)
