#!/usr/bin/env python3
"""Dataverse client against the sandbox: Entra ID tokens (secret, certificate with x5t#S256,
federated token re-read from a rotated file, clear AADSTS errors), WhoAmI cached, and single-row
writes by alternate key (upsert, create-only 412, update-only 404, quoting, keys a URL cannot
carry)."""
import json
import os
import time
import uuid

from test_dataverse_lib import dv_env, rows_by, shared_sandbox, stats, tool
import mlctest
from mlctest import check, check_eq, unique_prefix
from test_sandbox_lib import sign_jwt


def sb():
    return shared_sandbox()


def test_secret_token_and_whoami():
    s = sb()
    env = dv_env(s, unique_prefix("dva"))
    code, out, err = tool(env, "whoami", "--repeat", "3")
    check_eq(code, 0, "whoami with the client secret")
    check_eq(out["userId"], s.app_user, "WhoAmI UserId is the application user")
    check_eq(out["organizationId"], s.settings["MLC_DATAVERSE_ORGANIZATION_ID"], "organization")
    check_eq(out["counters"]["tokens"], 1, "one token for three calls")
    check_eq(out["counters"]["requests"], 1, "WhoAmI asked once, then cached")


def test_bad_secret_message():
    s = sb()
    env = dv_env(s, unique_prefix("dva"), MLC_ENTRA_CLIENT_SECRET="wrong-secret-value")
    code, out, err = tool(env, "token")
    check_eq(code, 1, "a refused secret fails")
    msg = out["error"]["message"]
    check("AADSTS7000215" in msg and "invalid_client" in msg, "the AADSTS code and error named",
          msg)
    check("Trace ID" not in msg, "the message stops before the trace noise", msg)
    check("wrong-secret-value" not in msg + err, "the secret is never echoed")
    check_eq(out["error"]["retryable"], False, "a refused secret is not retried")


def test_certificate_assertion():
    s = sb()
    env = dv_env(s, unique_prefix("dva"), MLC_ENTRA_CLIENT_SECRET=None,
                 MLC_ENTRA_CERTIFICATE_FILE=os.path.join(s.creds, "entra-certificate.pem"),
                 MLC_ENTRA_PRIVATE_KEY_FILE=os.path.join(s.creds, "entra-private-key.pem"))
    code, out, err = tool(env, "whoami")
    check_eq(code, 0, "certificate assertion (PS256, x5t#S256) accepted: %s" % (out or err))


def test_federated_token_rotation():
    s = sb()
    tdir = os.path.join(s.dir, "fed")
    os.makedirs(tdir, exist_ok=True)
    path = os.path.join(tdir, "token")
    key = os.path.join(s.creds, "entra-federation-issuer-key.pem")
    issuer = s.dv["federatedIssuer"]

    def write(sub):
        now = int(time.time())
        jwt = sign_jwt({"alg": "ES256", "typ": "JWT", "kid": "sandbox-workload-identity"},
                       {"iss": issuer, "sub": sub, "aud": "api://AzureADTokenExchange",
                        "iat": now, "nbf": now, "exp": now + 3600}, key)
        with open(path + ".tmp", "w") as f:
            f.write(jwt + "\n")
        os.replace(path + ".tmp", path)  # the kubelet swaps the projected file atomically

    sub = "system:serviceaccount:mlc:ml-connector"
    write("system:serviceaccount:other:intruder")
    env = dv_env(s, unique_prefix("dva"), MLC_ENTRA_CLIENT_SECRET=None,
                 MLC_ENTRA_FEDERATED_TOKEN_PATH=path)
    code, out, err = tool(env, "token")
    check_eq(code, 1, "a federated token for another subject is refused")
    check("AADSTS70021" in out["error"]["message"], "the AADSTS code of the refusal",
          out["error"]["message"])
    write(sub)  # rotated: the same process setup reads it again at the next token request
    code, out, err = tool(env, "whoami")
    check_eq(code, 0, "the rotated federated token obtains a token: %s" % (out or err))
    os.remove(path)
    code, out, err = tool(env, "token")
    check("cannot read" in out["error"]["message"] and "MLC_ENTRA_FEDERATED_TOKEN_PATH" in
          out["error"]["message"], "a missing token file is named", out["error"]["message"])


def test_single_upsert():
    s = sb()
    env = dv_env(s, unique_prefix("dva"))
    k = "A-" + uuid.uuid4().hex[:8]
    key = json.dumps({"mlc_netsuitecustomerid": k})
    code, out, err = tool(env, "write", "--key", key, "--body",
                          json.dumps({"name": "First", "mlc_netsuitecustomerid": k}))
    check_eq((code, out["result"]), (0, "ok"), "upsert creates: %s" % out)
    made = rows_by(s, "accounts", "mlc_netsuitecustomerid").get(k, [])
    check_eq(len(made), 1, "one row with the key")
    check_eq(out["id"], made[0]["accountid"], "the GUID comes from OData-EntityId")
    code, out, err = tool(env, "write", "--key", key, "--body", json.dumps({"name": "Second"}))
    check_eq(out["id"], made[0]["accountid"], "upsert updates the same row")
    check_eq(rows_by(s, "accounts", "mlc_netsuitecustomerid")[k][0]["name"], "Second",
             "the update landed")
    # create-only and update-only are typed results
    code, out, err = tool(env, "write", "--key", key, "--body", "{}", "--mode", "create")
    check_eq(out["result"], "exists", "create-only on an existing key: 412 -> exists")
    code, out, err = tool(env, "write", "--key", json.dumps({"mlc_netsuitecustomerid": "nope" + k}),
                          "--body", json.dumps({"name": "x"}), "--mode", "update")
    check_eq(out["result"], "not_found", "update-only on a missing key: 404 -> not_found")
    check("nope" + k not in rows_by(s, "accounts", "mlc_netsuitecustomerid"),
          "update-only created nothing")
    code, out, err = tool(env, "write", "--key", json.dumps({"mlc_netsuitecustomerid": "c" + k}),
                          "--body", json.dumps({"name": "x"}), "--mode", "create")
    check_eq(out["result"], "ok", "create-only on a new key creates")


def test_key_quoting_and_unsafe_keys():
    s = sb()
    env = dv_env(s, unique_prefix("dva"))
    tag = uuid.uuid4().hex[:6]
    for k in ("O'Brien " + tag, "a/b&c:" + tag, "50% + 1? " + tag, "#hash " + tag):
        code, out, err = tool(env, "write", "--key", json.dumps({"mlc_netsuitecustomerid": k}),
                              "--body", json.dumps({"name": "Q " + k}))
        check_eq((code, out["result"]), (0, "ok"), "upsert of key %r: %s" % (k, out))
        code, out2, err = tool(env, "write", "--key", json.dumps({"mlc_netsuitecustomerid": k}),
                               "--body", json.dumps({"name": "Q2 " + k}))
        check_eq(out2["id"], out["id"], "the second write of %r hits the same row" % k)
        rows = rows_by(s, "accounts", "mlc_netsuitecustomerid").get(k, [])
        check_eq([r["name"] for r in rows], ["Q2 " + k], "exactly one row for %r" % k)
    code, out, err = tool(env, "write", "--key", json.dumps({"mlc_netsuitecustomerid": "x/" + tag}),
                          "--body", "{}", "--mode", "update")
    check_eq(out["result"], "not_found", "update-only with an unsafe key and no row: not_found")


def test_metadata():
    s = sb()
    env = dv_env(s, unique_prefix("dva"))
    code, out, err = tool(env, "keys", "account")
    names = [k.get("KeyAttributes") for k in out["keys"]]
    check(["mlc_netsuitecustomerid"] in names, "account's alternate key listed", names)
    check(all("EntityKeyIndexStatus" in k for k in out["keys"]), "key status read")
    code, out, err = tool(env, "attribute", "account", "name")
    check_eq(out["attribute"]["LogicalName"], "name", "column metadata read")
    code, out, err = tool(env, "bulk-supported", "account")
    check_eq(out["bulk"], False, "documented defaults: no UpsertMultiple on account")
    code, out, err = tool(env, "bulk-supported", "salesorder")
    check_eq(out["bulk"], True, "salesorder has CreateMultiple and UpdateMultiple")
    code, out, err = tool(env, "query", "--set", "accounts", "--select", "accountid,name",
                          "--page", "7")
    total = len(s.rows("accounts"))
    check_eq(out["count"], total, "query pages through every account")
    check_eq(out["pages"], -(-total // 7), "one call per page of 7")
    code, out, err = tool(env, "query", "--set", "accounts", "--select", "accountid",
                          "--filter", "name eq 'no such account'")
    check_eq((out["ok"], out["count"]), (True, 0), "a $filter with no match")


if __name__ == "__main__":
    mlctest.run(test_secret_token_and_whoami, test_bad_secret_message, test_certificate_assertion,
                test_federated_token_rotation, test_single_upsert,
                test_key_quoting_and_unsafe_keys, test_metadata)
