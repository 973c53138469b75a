/**
 * ml-connector change events: a user-event script for customer, contact and sales order
 * records. After every submit (every context.type: create, edit, xedit, delete, approve,
 * cancel, ship, ...) it posts one event to ml-connector's POST /v1/webhooks/netsuite:
 *   {"eventId","eventType","recordType","recordId","occurredAt","accountId"}
 * The event says only "this record may have changed"; the connector reads the record back.
 *
 * Authentication (script parameter custscript_mlc_auth):
 *   hmac   (default) X-MLC-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(key, "<t>.<body>")>,
 *          the key taken from an API secret through N/crypto (never visible to the script);
 *   secret X-MLC-Webhook-Secret: the API secret itself, sent as an N/https SecureString.
 * Execution contexts: CSV imports and map/reduce jobs are skipped unless listed in
 * custscript_mlc_contexts, so bulk jobs do not flood the connector (its poller catches those
 * changes). A failed post never blocks the save: it is logged (without the secret) and the
 * connector's poller picks the change up within MLC_POLL_INTERVAL_S.
 * Set-up: deploy/netsuite/README.md.
 *
 * @NApiVersion 2.1
 * @NScriptType UserEventScript
 * @NModuleScope SameAccount
 */
define(['N/https', 'N/crypto', 'N/encode', 'N/runtime', 'N/log'],
  (https, crypto, encode, runtime, log) => {
    const PARAM = {
      url: 'custscript_mlc_url',
      auth: 'custscript_mlc_auth',
      secret: 'custscript_mlc_secret_id',
      contexts: 'custscript_mlc_contexts',
    };
    // Contexts skipped unless custscript_mlc_contexts names them.
    const BULK_CONTEXTS = ['CSVIMPORT', 'MAPREDUCE'];
    const ATTEMPTS = 2;

    function param(name, fallback) {
      const v = runtime.getCurrentScript().getParameter({ name });
      return v === null || v === undefined || v === '' ? fallback : String(v);
    }

    // A lower-case token of at most 32 characters, as the connector expects.
    function eventType(type) {
      const t = String(type || 'edit').toLowerCase().replace(/[^a-z0-9_-]/g, '_').slice(0, 32);
      return /^[a-z]/.test(t) ? t : 'edit';
    }

    function contextAllowed() {
      const ctx = String(runtime.executionContext || '').toUpperCase();
      if (BULK_CONTEXTS.indexOf(ctx) < 0) return true;
      const allowed = param(PARAM.contexts, '').toUpperCase().split(',').map((s) => s.trim());
      return allowed.indexOf(ctx) >= 0;
    }

    function randomHex(n) {
      let s = '';
      while (s.length < n) s += Math.floor(Math.random() * 0x100000000).toString(16);
      return s.slice(0, n);
    }

    function buildEvent(context) {
      const rec = context.newRecord || context.oldRecord;
      const recordType = String(rec.type).toLowerCase();
      const recordId = String(rec.id || (context.oldRecord && context.oldRecord.id) || '');
      const type = eventType(context.type);
      return {
        // One delivery: the same id on a retry, so the connector counts it once.
        eventId: ['ns', runtime.accountId, recordType, recordId, type, Date.now(),
          randomHex(8)].join(':').slice(0, 128),
        eventType: type,
        recordType,
        recordId,
        occurredAt: new Date().toISOString(),
        accountId: String(runtime.accountId),
      };
    }

    function headersFor(body, auth, secretId) {
      const headers = { 'Content-Type': 'application/json' };
      if (auth === 'secret') {
        headers['X-MLC-Webhook-Secret'] = https.createSecureString({ input: `{${secretId}}` });
        return headers;
      }
      const t = Math.floor(Date.now() / 1000);
      const key = crypto.createSecretKey({ secret: secretId, encoding: encode.Encoding.UTF_8 });
      const hmac = crypto.createHmac({ algorithm: crypto.HashAlg.SHA256, key });
      hmac.update({ input: `${t}.${body}`, inputEncoding: encode.Encoding.UTF_8 });
      headers['X-MLC-Signature'] = `t=${t},v1=${hmac.digest({ outputEncoding: encode.Encoding.HEX }).toLowerCase()}`;
      return headers;
    }

    function afterSubmit(context) {
      if (!contextAllowed()) {
        log.debug({ title: 'ml-connector', details: `skipped: context ${runtime.executionContext}` });
        return;
      }
      const url = param(PARAM.url, '');
      const auth = param(PARAM.auth, 'hmac').toLowerCase();
      const secretId = param(PARAM.secret, 'custsecret_mlc_webhook');
      if (!url || (auth !== 'hmac' && auth !== 'secret')) {
        log.error({ title: 'ml-connector', details: 'set custscript_mlc_url and custscript_mlc_auth (hmac or secret)' });
        return;
      }
      let event;
      try {
        event = buildEvent(context);
      } catch (e) {
        log.error({ title: 'ml-connector', details: `no event: ${e.name || ''} ${e.message || e}` });
        return;
      }
      const body = JSON.stringify(event);
      for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
        let code = 0;
        try {
          // Signed anew on each attempt: the timestamp must be fresh.
          const response = https.post({ url, body, headers: headersFor(body, auth, secretId) });
          code = response.code;
          if (code === 200 || code === 202) {
            log.debug({ title: 'ml-connector', details: `${event.eventId}: ${code}` });
            return;
          }
          log.error({ title: 'ml-connector', details: `${event.eventId}: answered ${code}` });
        } catch (e) {
          log.error({ title: 'ml-connector', details: `${event.eventId}: ${e.name || ''} ${e.message || e}` });
        }
        // Only a 5xx or a failed connection is worth one more try; 4xx means fix the set-up.
        if (code >= 400 && code < 500) return;
      }
    }

    return { afterSubmit };
  });
