-- random-id.lua: wrk script for scripts/bench.sh. Each request is
--   GET /api/v1/customer/{id}
-- for a customer drawn at random from the demo database that scripts/demo-database.sql
-- makes: cust_no = 244988 + (k - 1) * 7 for k in 1..BENCH_CUSTOMERS (every one exists).
-- The Authorization header comes from wrk's -H option.
--
--   BENCH_CUSTOMERS=1000000 wrk -t2 -c64 -d20s --latency -s scripts/bench/random-id.lua \
--       -H "Authorization: Bearer $TOKEN" http://127.0.0.1:PORT

local customers = tonumber(os.getenv("BENCH_CUSTOMERS") or "")
if not customers or customers < 1 then
  error("BENCH_CUSTOMERS must be set to the number of customers in the demo database")
end

-- At a set rate when BENCH_RATE is given (scripts/bench/pacing.lua; wrk runs from the
-- repository's root).
dofile("scripts/bench/pacing.lua")

-- A different random sequence for each wrk thread.
local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

function init(args)
  math.randomseed((seed or 1) * 7919 + os.time())
end

function request()
  local k = math.random(customers)
  return wrk.format(nil, "/api/v1/customer/" .. (244988 + (k - 1) * 7))
end
