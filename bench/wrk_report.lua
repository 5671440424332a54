-- wrk script for bench/wrk.py: a request budget per thread (wrk itself bounds only the time),
-- and the results as one JSON line on stdout.
local budget = tonumber(os.getenv("WRK_MAX_REQUESTS") or "0")
local sent = 0
local req = nil

function init(args)
  wrk.headers["Accept"] = "application/json"
  req = wrk.format()
end

function request()
  sent = sent + 1
  if budget > 0 and sent > budget then
    wrk.thread:stop()
  end
  return req
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '\n{"requests": %d, "duration_us": %d, "bytes": %d, "errors": {"connect": %d, "read": %d, ' ..
    '"write": %d, "status": %d, "timeout": %d}, "p50_us": %d, "p90_us": %d, "p99_us": %d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99)))
end
