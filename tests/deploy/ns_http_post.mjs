// The N/https stand-in's transport: one real HTTP POST, run synchronously by the stand-in
// through spawnSync (N/https.post is synchronous in NetSuite). Reads {url, headers, body} on
// stdin, prints {code, body, headers}.
import { request } from "node:http";

let input = "";
process.stdin.on("data", (d) => (input += d));
process.stdin.on("end", () => {
  const { url, headers, body } = JSON.parse(input);
  const req = request(url, { method: "POST", headers: { ...headers, "Content-Length": Buffer.byteLength(body) }, timeout: 45000 }, (res) => {
    let data = "";
    res.on("data", (d) => (data += d));
    res.on("end", () => process.stdout.write(JSON.stringify({ code: res.statusCode, body: data, headers: res.headers })));
  });
  req.on("error", (e) => process.stdout.write(JSON.stringify({ error: e.message })));
  req.end(body);
});
