-- wrk script of governance-cost.sh: posts MCP tools/call contacts.get, a different contact each
-- time (ids from the file in WRK_IDS), and checks every answer: HTTP 200, a JSON-RPC result that is
-- not an error, holding the contact's fields. done() prints one line the harness reads; a single
-- failed answer fails the run there.
--   WRK_IDS=ids.txt WRK_TOKEN=... wrk -t2 -c64 -d10s -s governance-cost.lua http://127.0.0.1:PORT/mcp

local ids = {}
for line in io.lines(os.getenv("WRK_IDS")) do
  ids[#ids + 1] = line
end

local token = os.getenv("WRK_TOKEN")
local threads = {}
local next_thread = 0

function setup(thread)
  thread:set("number", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

function init(args)
  ok, failed, first_failure = 0, 0, nil
  counter = number * 7919
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json, text/event-stream"
  if token ~= nil and token ~= "" then
    wrk.headers["Authorization"] = "Bearer " .. token
  end
end

function request()
  counter = counter + 1
  local id = ids[(counter * 7919) % #ids + 1]
  return wrk.format(nil, nil, nil,
    '{"jsonrpc":"2.0","id":' .. counter .. ',"method":"tools/call","params":{"name":"contacts.get","arguments":{"id":"' .. id .. '"}}}')
end

function response(status, headers, body)
  if status == 200 and body:find('"result":{', 1, true) and not body:find('"isError":true', 1, true)
     and not body:find('"error":{', 1, true) and body:find('email', 1, true) then
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
  -- socket errors (connect, read, write, timeout) and non-2xx count as failures too
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT ok=%d failed=%d socket_errors=%d seconds=%.3f p50_us=%d p99_us=%d\n",
    ok_all, failed_all, errors, summary.duration / 1e6, latency:percentile(50), latency:percentile(99)))
  if failure ~= nil then
    io.write("FIRST_FAILURE " .. failure:gsub("\n", " ") .. "\n")
  end
end
