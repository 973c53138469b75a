// Validates recorded exchanges against openapi/ml-connector.yaml with Ajv (JSON Schema 2020-12,
// which OpenAPI 3.1 schemas are): each answer's status must be documented for its operation,
// its content type must be one the operation declares, and a JSON body must match the schema.
// Also reports which documented (operation, status) pairs no exchange exercised.
// usage: node contract_validate.mjs SPEC.yaml EXCHANGES.json  -> JSON report on stdout
import fs from 'node:fs';
import YAML from 'yaml';
import Ajv2020 from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';

const [specPath, exPath] = process.argv.slice(2);
const spec = YAML.parse(fs.readFileSync(specPath, 'utf8'));
const exchanges = JSON.parse(fs.readFileSync(exPath, 'utf8'));
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema({ ...spec, $id: 'urn:mlc:spec' }, 'urn:mlc:spec');

const resolve = (obj) => {
  while (obj && obj.$ref) {
    obj = obj.$ref.replace(/^#\//, '').split('/').reduce((o, k) => o[k.replace(/~1/g, '/')], spec);
  }
  return obj;
};
const schemaFor = (s) => (s.$ref ? { $ref: 'urn:mlc:spec' + s.$ref } : s);
const problems = [];
const seen = new Set();
for (const ex of exchanges) {
  const ops = spec.paths?.[ex.template] || {};
  let method = ex.method.toLowerCase();
  // "405 other methods" is documented on the operations a path has; a 405 answer to another
  // method counts against the path's operation that documents it.
  if (!ops[method] && ex.status === 405) {
    method = Object.keys(ops).find((m) => ops[m]?.responses?.['405']) || method;
  }
  const op = ops[method];
  const where = `${ex.method} ${ex.path} -> ${ex.status}`;
  if (!op) { problems.push(`${where}: no such operation in the spec`); continue; }
  const resp = resolve(op.responses?.[String(ex.status)]);
  if (!resp) { problems.push(`${where}: status not documented`); continue; }
  seen.add(`${method.toUpperCase()} ${ex.template} ${ex.status}`);
  const ctype = (ex.contentType || '').split(';')[0].trim();
  const content = resp.content || {};
  if (Object.keys(content).length === 0) {
    if (ex.body) problems.push(`${where}: a body where the spec documents none`);
    continue;
  }
  const key = Object.keys(content).find((k) => k.split(';')[0].trim() === ctype);
  const media = key && content[key];
  if (!media) { problems.push(`${where}: content type '${ctype}' not among ${Object.keys(content)}`); continue; }
  // Line-delimited JSON: the body is a string; each line matches x-itemSchema when given.
  const targets = media['x-itemSchema']
    ? ex.body.split('\n').filter(Boolean).map((t) => [media['x-itemSchema'], t, true])
    : media.schema && /json/.test(ctype) && !/ndjson/.test(ctype) ? [[media.schema, ex.body, true]]
    : media.schema ? [[media.schema, ex.body, false]] : [];
  for (const [schema, text, parse] of targets) {
    let doc = text;
    if (parse) {
      try { doc = JSON.parse(text); } catch (e) { problems.push(`${where}: body is not JSON`); continue; }
    }
    const validate = ajv.compile(schemaFor(schema));
    if (!validate(doc)) {
      problems.push(`${where}: ${ajv.errorsText(validate.errors).slice(0, 400)}`);
    }
  }
}
const documented = [];
for (const [p, ops] of Object.entries(spec.paths || {})) {
  for (const [m, op] of Object.entries(ops)) {
    if (!op || !op.responses) continue;
    for (const st of Object.keys(op.responses)) documented.push(`${m.toUpperCase()} ${p} ${st}`);
  }
}
console.log(JSON.stringify({ problems, missing: documented.filter((d) => !seen.has(d)),
                             exercised: seen.size, documented: documented.length }));
