-- Load for one page, optionally as signed-in users taken in turn from a file of "<session key> <csrf secret>".
-- Environment: BENCH_PATH, BENCH_METHOD (GET|POST), BENCH_EXPECT (status), BENCH_SESSIONS (file, optional),
-- BENCH_BODY (POST body; {csrf} and {uuid} are filled per request), BENCH_THREADS (wrk -t).
local path = os.getenv("BENCH_PATH") or "/"
local method = os.getenv("BENCH_METHOD") or "GET"
local expect = tonumber(os.getenv("BENCH_EXPECT") or "200")
local body_format = os.getenv("BENCH_BODY") or ""
local sessions_file = os.getenv("BENCH_SESSIONS")

local threads = {}
local counter = 0

function setup(thread)
   thread:set("thread_id", counter)
   counter = counter + 1
   table.insert(threads, thread)
end

local sessions = {}
local index, step = 1, 1
bad, errors_seen = 0, 0

function init(args)
   if sessions_file then
      for line in io.lines(sessions_file) do
         local key, csrf = line:match("^(%S+)%s+(%S+)$")
         if key then table.insert(sessions, {key, csrf}) end
      end
   end
   local id = thread_id or 0
   step = tonumber(os.getenv("BENCH_THREADS") or "1")
   index = id + 1
   math.randomseed(os.time() + id * 7919)
end

local function uuid4()
   return string.format("%08x-%04x-4%03x-%04x-%06x%06x", math.random(0, 0xffffffff), math.random(0, 0xffff),
      math.random(0, 0xfff), 0x8000 + math.random(0, 0x3fff), math.random(0, 0xffffff), math.random(0, 0xffffff))
end

function request()
   local headers = {}
   local body = nil
   if #sessions > 0 then
      local s = sessions[index]
      index = index + step
      if index > #sessions then index = (thread_id or 0) + 1 end
      headers["Cookie"] = "sessionid=" .. s[1] .. "; csrftoken=" .. s[2]
      if method == "POST" then
         body = body_format:gsub("{csrf}", s[2]):gsub("{uuid}", uuid4())
      end
   elseif method == "POST" then
      body = body_format:gsub("{uuid}", uuid4())
   end
   if body then headers["Content-Type"] = "application/x-www-form-urlencoded" end
   return wrk.format(method, path, headers, body)
end

function response(status, headers, body)
   if status ~= expect then bad = bad + 1 end
end

function done(summary, latency, requests)
   local total_bad = 0
   for _, thread in ipairs(threads) do total_bad = total_bad + (thread:get("bad") or 0) end
   local e = summary.errors
   io.write(string.format(
      '{"requests": %d, "seconds": %.6f, "rps": %.3f, "p50_ms": %.3f, "p99_ms": %.3f, "bad": %d, "errors": %d}\n',
      summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
      latency:percentile(50) / 1000, latency:percentile(99) / 1000, total_bad,
      e.connect + e.read + e.write + e.timeout))
end
