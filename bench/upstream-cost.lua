-- wrk script of upstream-cost.sh: posts MCP tools/call of one tool (WRK_TOOL) with {"query":"ada"},
-- and checks every answer: HTTP 200, a JSON-RPC result that is not an error, holding the record
-- (WRK_EXPECT). done() prints one line the harness reads; a failed answer fails the run there.
--   WRK_TOOL=crm.search WRK_EXPECT=example.com WRK_TOKEN=... wrk -t2 -c16 -d10s -s upstream-cost.lua http://127.0.0.1:PORT/mcp

local tool = os.getenv("WRK_TOOL")
local expect = os.getenv("WRK_EXPECT")
local token = os.getenv("WRK_TOKEN")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  ok, failed, first_failure, counter = 0, 0, nil, 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json, text/event-stream"
  if token ~= nil and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
end

function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil,
    '{"jsonrpc":"2.0","id":' .. counter .. ',"method":"tools/call","params":{"name":"' .. tool .. '","arguments":{"query":"ada"}}}')
end

function response(status, headers, body)
  if status == 200 and body:find('"result":{', 1, true) and not body:find('"isError":true', 1, true)
     and not body:find('"error":{', 1, true) and body:find(expect, 1, true) then
    ok = ok + 1
  else
    failed = failed + 1
    if first_failure == nil then
      first_failure = status .. " " .. body:sub(1, 400)
    end
  end
end

function done(summary, latency, requests)
  local ok_all, failed_all, failure = 0, 0, nil
  for _, thread in ipairs(threads) do
    ok_all = ok_all + thread:get("ok")
    failed_all = failed_all + thread:get("failed")
    failure = failure or thread:get("first_failure")
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT ok=%d failed=%d socket_errors=%d seconds=%.3f p50_us=%d p99_us=%d\n",
    ok_all, failed_all, errors, summary.duration / 1e6, latency:percentile(50), latency:percentile(99)))
  if failure ~= nil then
    io.write("FIRST_FAILURE " .. failure .. "\n")
  end
end
