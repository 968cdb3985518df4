-- pacing.lua: loaded by the id scripts (random-id.lua, refused-id.lua). With
-- BENCH_RATE set, wrk sends about that many requests a second in all instead of as
-- many as it can: each of the BENCH_CONNECTIONS connections (the -c given to wrk) waits
-- its share of a second before each request. Its rate is then at most BENCH_RATE (a
-- little less, by the time each answer takes).
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
  local pause_ms = connections * 1000 / rate
  function delay()
    return pause_ms
  end
end
