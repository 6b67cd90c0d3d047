-- wrk script of replicas.sh: many agents (a token per connection, from WRK_TOKENS) calling the
-- warehouse over MCP: 80% reads of one contact (warehouse.query), 20% one-row changes
-- (warehouse.execute). Every answer is checked: an allowed call's result, or a refusal by the
-- budget (counted apart); anything else is a failure. done() prints one line the harness reads.
--   WRK_TOKENS=tokens.txt WRK_ROWS=10000 wrk -t1 -c67 -d60s -s replicas.lua http://127.0.0.1:PORT/mcp

local tokens = {}
for line in io.lines(os.getenv("WRK_TOKENS")) do
  tokens[#tokens + 1] = line
end

local rows = tonumber(os.getenv("WRK_ROWS") or "10000")
local offset = tonumber(os.getenv("WRK_OFFSET") or "0")
local threads = {}
local next_thread = 0

function setup(thread)
  thread:set("number", next_thread)
  next_thread = next_thread + 1
  table.insert(threads, thread)
end

function init(args)
  ok, refused, stale, failed, first_failure = 0, 0, 0, 0, nil
  counter = number * 104729
  connection = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Accept"] = "application/json, text/event-stream"
end

function request()
  counter = counter + 1
  -- each request as one of the agents, in turn: 200 agents over the connections
  local token = tokens[(counter + offset) % #tokens + 1]
  -- each wrk process on its own stretch of rows (WRK_OFFSET): two replicas' loads stepping through
  -- one sequence a few calls apart would change the same rows, and stale plans would be counted
  local id = (counter * 7919 + offset) % rows + 1
  local call
  if counter % 5 == 0 then
    call = '{"name":"warehouse.execute","arguments":{"sql":"UPDATE contacts SET score = score + 1 WHERE id = ' .. id .. '"}}'
  else
    call = '{"name":"warehouse.query","arguments":{"sql":"SELECT id, first_name FROM contacts WHERE id = ' .. id .. '"}}'
  end
  local headers = { ["Content-Type"] = "application/json", ["Accept"] = "application/json, text/event-stream", ["Authorization"] = "Bearer " .. token }
  return wrk.format(nil, nil, headers,
    '{"jsonrpc":"2.0","id":' .. counter .. ',"method":"tools/call","params":' .. call .. '}')
end

function response(status, headers, body)
  if status == 200 and body:find('"result":{', 1, true) and not body:find('"isError":true', 1, true) then
    ok = ok + 1
  elseif status == 200 and body:find('budget_exceeded', 1, true) then
    refused = refused + 1
  elseif status == 200 and body:find('stale_plan', 1, true) then
    -- another agent changed the row between this call's plan and its apply: nothing was changed
    stale = stale + 1
  else
    failed = failed + 1
    if first_failure == nil then
      first_failure = status .. " " .. body:sub(1, 400)
    end
  end
end

function done(summary, latency, requests)
  local ok_all, refused_all, stale_all, failed_all, failure = 0, 0, 0, 0, nil
  for _, thread in ipairs(threads) do
    ok_all = ok_all + thread:get("ok")
    refused_all = refused_all + thread:get("refused")
    stale_all = stale_all + thread:get("stale")
    failed_all = failed_all + thread:get("failed")
    failure = failure or thread:get("first_failure")
  end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT ok=%d refused=%d stale=%d failed=%d socket_errors=%d seconds=%.2f p50_ms=%.2f p99_ms=%.2f\n",
    ok_all, refused_all, stale_all, failed_all, errors, summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000))
  if failure ~= nil then
    io.write("FIRST_FAILURE " .. failure .. "\n")
  end
end
