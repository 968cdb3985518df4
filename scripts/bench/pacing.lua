-- pacing.lua: loaded by the id scripts (random-id.lua, refused-id.lua). With
-- BENCH_RATE set, wrk sends about that many requests a second in all instead of as
-- many as it can: each of the BENCH_CONNECTIONS connections (the -c given to wrk) waits
-- its share of a second before each request. Its rate is then at most BENCH_RATE (less
-- by the time each answer takes, which scripts/bench.sh makes up for).
--
-- Why: a server's CPU per request depends on the load. Flat out, it handles many
-- requests per wake-up; at a database-bound rate it sleeps between them and pays for
-- waking, and its code and data are cold in the cache again. Two servers are compared
-- fairly at the same rate (scripts/bench.sh's "same rate" line).
local rate = tonumber(os.getenv("BENCH_RATE") or "")
if rate then
  local connections = tonumber(os.getenv("BENCH_CONNECTIONS") or "")
  if not connections or connections < 1 or rate <= 0 then
    error("with BENCH_RATE, BENCH_CONNECTIONS must be set to wrk's -c")
  end
  -- wrk waits whole milliseconds: a pause between two of them is made, on average, by
  -- taking the one above as often as the fraction says.
  local pause_ms = connections * 1000 / rate
  local whole_ms = math.floor(pause_ms)
  local fraction = pause_ms - whole_ms
  function delay()
    if math.random() < fraction then
      return whole_ms + 1
    end
    return whole_ms
  end
end
