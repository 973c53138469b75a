-- wrk script for tests/bench/ingest.sh: POSTs valid NetSuite events, each with its own eventId
-- (dedupe cannot skip it) and its own recordId (coalescing cannot skip the XADD).
-- Arguments after "--": path secret nonce count_statuses(1|0)
-- Ids are fixed-width so every request has the same Content-Length and the request text is
-- one string concatenation: the load generator shares the CPUs with the service under test.

local threads = {}
local next_tid = 0

function setup(thread)
  next_tid = next_tid + 1
  thread:set("tid", next_tid)
  table.insert(threads, thread)
end

local head, b1, b2, b3
local counter = 0
local tidstr = "00"
-- set per thread by setup(); counted by response()
tid = 0
n202 = 0
nother = 0
others = ""

function init(args)
  local path = args[1] or "/v1/webhooks/netsuite"
  local secret = args[2] or "bench-secret"
  local nonce = args[3] or "0"
  local count = args[4] or "1"
  tidstr = string.format("%02d", tid % 100)
  b1 = '{"eventId":"bench-' .. nonce .. '-' .. tidstr .. '-'
  b2 = '","eventType":"update","recordType":"customer","recordId":"1' .. tidstr
  b3 = '","occurredAt":"2024-05-01T12:00:00Z","accountId":"1234567"}'
  local bodylen = #b1 + 10 + #b2 + 10 + #b3
  head = "POST " .. path .. " HTTP/1.1\r\n" ..
         "Host: " .. wrk.host .. ":" .. tostring(wrk.port) .. "\r\n" ..
         "Content-Type: application/json\r\n" ..
         "X-MLC-Webhook-Secret: " .. secret .. "\r\n" ..
         "Content-Length: " .. tostring(bodylen) .. "\r\n\r\n"
  if count ~= "1" then
    response = nil -- wrk then skips header/body parsing entirely
  end
end

function request()
  counter = counter + 1
  local c = string.format("%010d", counter)
  return head .. b1 .. c .. b2 .. c .. b3
end

local seen = {}
function response(status, headers, body)
  if status == 202 then
    n202 = n202 + 1
  else
    nother = nother + 1
    if not seen[status] then
      seen[status] = true
      others = others .. tostring(status) .. " "
    end
  end
end

function done(summary, latency, requests)
  local t202, tother, codes = 0, 0, {}
  for _, t in ipairs(threads) do
    t202 = t202 + (t:get("n202") or 0)
    tother = tother + (t:get("nother") or 0)
    for code in string.gmatch(t:get("others") or "", "%d+") do codes[code] = true end
  end
  local list = {}
  for code in pairs(codes) do table.insert(list, code) end
  table.sort(list)
  local codestr = #list > 0 and table.concat(list, ",") or "-"
  local e = summary.errors
  io.write(string.format(
    "MLCBENCH requests=%d duration_us=%d n202=%d nother=%d other_codes=%s " ..
    "err_connect=%d err_read=%d err_write=%d err_status=%d err_timeout=%d " ..
    "p50_us=%.0f p90_us=%.0f p99_us=%.0f p999_us=%.0f max_us=%.0f mean_us=%.0f\n",
    summary.requests, summary.duration, t202, tother, codestr,
    e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9), latency.max, latency.mean))
end
