// Validates every object of a rendered kustomization (multi-document YAML) against the
// Kubernetes OpenAPI schemas bundled in the npm packages kubernetes-models and
// @kubernetes-models/prometheus-operator (no cluster, no network).
//   node k8s_validate.mjs RENDERED.yaml OUT.json
// Prints one line per object; writes the objects as a JSON array to OUT.json (for the
// Python test's policy checks); exits 1 when any object is invalid or of an unknown kind.
import { readFileSync, writeFileSync } from "node:fs";
import { parseAllDocuments } from "yaml";

const [file, out] = process.argv.slice(2);
if (!file || !out) {
  console.error("usage: node k8s_validate.mjs RENDERED.yaml OUT.json");
  process.exit(2);
}

function modulePath(apiVersion, kind) {
  if (!/^[A-Za-z0-9.]+(\/[A-Za-z0-9]+)?$/.test(apiVersion) || !/^[A-Za-z]+$/.test(kind)) {
    return null;
  }
  if (apiVersion.startsWith("monitoring.coreos.com/")) {
    return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`;
  }
  return `kubernetes-models/${apiVersion}/${kind}`;
}

const docs = parseAllDocuments(readFileSync(file, "utf8"));
const objects = [];
let bad = 0;
for (const doc of docs) {
  if (doc.errors.length) {
    console.log(`INVALID YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
    bad++;
    continue;
  }
  const obj = doc.toJS();
  if (obj === null) continue;
  objects.push(obj);
  const name = `${obj.kind}/${obj.metadata?.name} (${obj.apiVersion})`;
  const path = modulePath(String(obj.apiVersion), String(obj.kind));
  let Model;
  try {
    Model = path && (await import(path))[obj.kind];
  } catch (e) {
    Model = undefined;
  }
  if (!Model) {
    console.log(`UNKNOWN ${name}: no schema for this apiVersion and kind`);
    bad++;
    continue;
  }
  try {
    new Model(obj).validate();
    console.log(`valid ${name}`);
  } catch (e) {
    console.log(`INVALID ${name}: ${e.message}`);
    bad++;
  }
}
writeFileSync(out, JSON.stringify(objects, null, 1));
console.log(`${objects.length} objects, ${bad} invalid`);
process.exit(bad ? 1 : 0);
