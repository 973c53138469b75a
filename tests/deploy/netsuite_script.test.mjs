// deploy/netsuite/mlc_change_events_ue.js under Node's test runner, against stand-ins for
// N/https (a real synchronous HTTP POST), N/crypto (node:crypto underneath), N/encode,
// N/runtime and N/log, posting to the real `ml-connector serve` that test_netsuite_script.py
// started. Environment: MLC_HMAC_URL + MLC_HMAC_KEY (a connector in hmac mode), MLC_SECRET_URL +
// MLC_SECRET (one in secret mode), MLC_ACCOUNT, MLC_OPENAPI, MLC_RESULT (a JSON summary).
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import path from "node:path";
import YAML from "yaml";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCRIPT = path.join(HERE, "..", "..", "deploy", "netsuite", "mlc_change_events_ue.js");
const env = process.env;
const accepted = [];

// --- the OpenAPI schema of the request body ---------------------------------------------
const spec = YAML.parse(readFileSync(env.MLC_OPENAPI, "utf8"));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({
  $id: "mlc",
  components: spec.components,
  body: spec.paths["/v1/webhooks/netsuite"].post.requestBody.content["application/json"].schema,
});
const validateBody = ajv.getSchema("mlc#/body");

// --- stand-ins --------------------------------------------------------------------------
function standIns({ secrets, params, context, accountId = env.MLC_ACCOUNT }) {
  const posts = [];
  const logs = [];
  const Encoding = { UTF_8: "UTF_8", HEX: "HEX", BASE_64: "BASE_64" };
  const secretValue = (id) => {
    if (!(id in secrets)) throw Object.assign(new Error(`no API secret ${id}`), { name: "INVALID_SECRET_KEY" });
    return secrets[id];
  };
  class SecureString {
    constructor(input) { this.input = input; }
    resolve() { return this.input.replace(/\{(custsecret_[a-z0-9_]+)\}/g, (_, id) => secretValue(id)); }
    toString() { return "[SecureString]"; }
  }
  const modules = {
    "N/encode": { Encoding },
    "N/crypto": {
      HashAlg: { SHA1: "SHA1", SHA256: "SHA256", SHA512: "SHA512" },
      createSecretKey({ secret, guid, encoding }) {
        assert.ok(secret || guid, "createSecretKey needs secret or guid");
        assert.ok(!encoding || encoding in Encoding, `encoding ${encoding}`);
        return { secret, guid, encoding, _value: secretValue(secret || guid) };
      },
      createHmac({ algorithm, key }) {
        assert.equal(algorithm, "SHA256");
        assert.ok(key && key._value !== undefined, "createHmac needs a SecretKey");
        const h = createHmac("sha256", Buffer.from(key._value, "utf8"));
        return {
          update({ input, inputEncoding }) {
            assert.equal(inputEncoding ?? "UTF_8", "UTF_8");
            h.update(Buffer.from(input, "utf8"));
          },
          digest({ outputEncoding }) {
            assert.equal(outputEncoding, "HEX");
            return h.digest("hex").toUpperCase(); // N/crypto's hex case is not documented
          },
        };
      },
    },
    "N/https": {
      createSecureString({ input }) { return new SecureString(input); },
      post({ url, body, headers }) {
        const sent = {};
        for (const [k, v] of Object.entries(headers)) sent[k] = v instanceof SecureString ? v.resolve() : String(v);
        posts.push({ url, body, headers: sent });
        const r = spawnSync(process.execPath, [path.join(HERE, "ns_http_post.mjs")],
          { input: JSON.stringify({ url, headers: sent, body }), encoding: "utf8", timeout: 50000 });
        const res = JSON.parse(r.stdout || "{}");
        if (res.error || r.status !== 0) throw Object.assign(new Error(res.error || r.stderr), { name: "SSS_CONNECTION_CLOSED" });
        posts[posts.length - 1].response = res;
        return { code: res.code, body: res.body, headers: res.headers };
      },
    },
    "N/runtime": {
      accountId,
      executionContext: context,
      ContextType: { USER_INTERFACE: "USERINTERFACE", CSV_IMPORT: "CSVIMPORT", MAP_REDUCE: "MAPREDUCE" },
      getCurrentScript: () => ({ getParameter: ({ name }) => (name in params ? params[name] : null) }),
    },
    "N/log": Object.fromEntries(["debug", "audit", "error", "emergency"].map((lvl) =>
      [lvl, ({ title, details }) => logs.push({ lvl, title, details: String(details) })])),
  };
  return { modules, posts, logs };
}

// Loads the AMD module the way NetSuite does: define(deps, factory).
function load(modules) {
  let exported;
  const define = (deps, factory) => { exported = factory(...deps.map((d) => {
    assert.ok(d in modules, `unexpected module ${d}`);
    return modules[d];
  })); };
  new Function("define", readFileSync(SCRIPT, "utf8"))(define);
  return exported;
}

function record(type, id) { return { type, id }; }

function run({ auth = "hmac", type = "edit", recordType = "customer", id = 4711, context = "USERINTERFACE",
  contexts = "", secrets, url }) {
  const params = {
    custscript_mlc_url: url ?? (auth === "hmac" ? env.MLC_HMAC_URL : env.MLC_SECRET_URL),
    custscript_mlc_auth: auth,
    custscript_mlc_secret_id: "custsecret_mlc_webhook",
    custscript_mlc_contexts: contexts,
  };
  const s = standIns({
    secrets: secrets ?? { custsecret_mlc_webhook: auth === "hmac" ? env.MLC_HMAC_KEY : env.MLC_SECRET },
    params, context,
  });
  const ue = load(s.modules);
  const rec = record(recordType, id);
  ue.afterSubmit({ type, newRecord: type === "delete" ? undefined : rec, oldRecord: rec,
    UserEventType: {} });
  for (const l of s.logs) {
    for (const secret of [env.MLC_HMAC_KEY, env.MLC_SECRET]) {
      assert.ok(!l.details.includes(secret), `a log line carries a secret: ${l.details}`);
    }
  }
  return s;
}

const TYPES = ["create", "edit", "xedit", "delete", "approve", "cancel", "ship", "paybills"];
const RECORDS = ["customer", "contact", "salesorder"];

test("hmac: every record type and context.type is posted, signed, verified (202) and valid", () => {
  let n = 0;
  for (const recordType of RECORDS) {
    for (const type of TYPES) {
      const id = 1000 + n++;
      const { posts } = run({ recordType, type, id });
      assert.equal(posts.length, 1, `${recordType}/${type}: one post`);
      const p = posts[0];
      const ev = JSON.parse(p.body);
      assert.ok(validateBody(ev), `${recordType}/${type}: body valid against OpenAPI: ${ajv.errorsText(validateBody.errors)}`);
      assert.deepEqual([ev.recordType, ev.recordId, ev.eventType, ev.accountId],
        [recordType, String(id), type, env.MLC_ACCOUNT]);
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(p.headers["X-MLC-Signature"]);
      assert.ok(m, `signature header format: ${p.headers["X-MLC-Signature"]}`);
      const want = createHmac("sha256", env.MLC_HMAC_KEY).update(`${m[1]}.${p.body}`).digest("hex");
      assert.equal(m[2], want, "the signature is HMAC-SHA256(key, t.body)");
      assert.ok(Math.abs(Number(m[1]) - Date.now() / 1000) < 60, "t is now");
      assert.equal(p.headers["X-MLC-Webhook-Secret"], undefined, "no plain secret in hmac mode");
      assert.equal(p.response.code, 202, `${recordType}/${type}: the connector answers 202: ${p.response.body}`);
      assert.equal(JSON.parse(p.response.body).accepted, 1);
      accepted.push(ev.eventId);
    }
  }
});

test("the OpenAPI validator rejects a broken event (it can fail)", () => {
  const bad = { eventId: "x", eventType: "Edit!", recordType: "customer", recordId: "abc",
    occurredAt: "yesterday", accountId: env.MLC_ACCOUNT };
  assert.equal(validateBody(bad), false);
});

test("secret mode: the API secret travels as a SecureString header; 202", () => {
  const { posts, logs } = run({ auth: "secret", recordType: "salesorder", id: 77 });
  assert.equal(posts.length, 1);
  assert.equal(posts[0].headers["X-MLC-Webhook-Secret"], env.MLC_SECRET);
  assert.equal(posts[0].headers["X-MLC-Signature"], undefined);
  assert.equal(posts[0].response.code, 202, posts[0].response.body);
  accepted.push(JSON.parse(posts[0].body).eventId);
  assert.ok(logs.every((l) => l.lvl !== "error"), JSON.stringify(logs));
});

test("a wrong HMAC key: the connector answers 401, the script logs it without the key, once", () => {
  const { posts, logs } = run({ secrets: { custsecret_mlc_webhook: "not-the-key" } });
  assert.equal(posts.length, 1, "a 4xx is not retried");
  assert.equal(posts[0].response.code, 401);
  assert.ok(logs.some((l) => l.lvl === "error" && l.details.includes("answered 401")), JSON.stringify(logs));
  assert.ok(logs.every((l) => !l.details.includes("not-the-key")));
});

test("execution contexts: CSV import and map/reduce skipped unless configured", () => {
  assert.equal(run({ context: "CSVIMPORT" }).posts.length, 0, "CSV import skipped");
  assert.equal(run({ context: "MAPREDUCE" }).posts.length, 0, "map/reduce skipped");
  for (const context of ["USERINTERFACE", "WEBSERVICES", "SCHEDULED", "RESTLET"]) {
    const { posts } = run({ context, id: 5000 + context.length });
    assert.equal(posts.length, 1, `${context} posted`);
    assert.equal(posts[0].response.code, 202);
    accepted.push(JSON.parse(posts[0].body).eventId);
  }
  const { posts } = run({ context: "CSVIMPORT", contexts: "csvimport, mapreduce", id: 6001 });
  assert.equal(posts.length, 1, "CSV import posted when custscript_mlc_contexts names it");
  assert.equal(posts[0].response.code, 202);
  accepted.push(JSON.parse(posts[0].body).eventId);
});

test("an unreachable connector: two attempts, the save is not blocked (no throw)", () => {
  const { posts, logs } = run({ url: env.MLC_DEAD_URL });
  assert.equal(posts.length, 2);
  assert.equal(logs.filter((l) => l.lvl === "error").length, 2);
  assert.equal(posts[0].body, posts[1].body, "the retry sends the same event (same eventId)");
});

test("summary for the Python side", () => {
  writeFileSync(env.MLC_RESULT, JSON.stringify({ accepted }));
});
