-- random-page.lua: wrk script for scripts/bench.sh. Each request is
--   GET /api/v1/customers?limit=L&start=S
-- with S drawn at random from 0..BENCH_CUSTOMERS-L, so pages never follow one another
-- (storygate serves them with OFFSET, not by keyset). L is BENCH_LIMIT (default 100).
-- The Authorization header comes from wrk's -H option.
--
--   BENCH_CUSTOMERS=1000000 BENCH_LIMIT=100 wrk -t2 -c8 -d20s --latency \
--       -s scripts/bench/random-page.lua -H "Authorization: Bearer $TOKEN" http://127.0.0.1:PORT

local customers = tonumber(os.getenv("BENCH_CUSTOMERS") or "")
if not customers or customers < 1 then
  error("BENCH_CUSTOMERS must be set to the number of customers in the demo database")
end
local limit = tonumber(os.getenv("BENCH_LIMIT") or "100")
local last_start = math.max(customers - limit, 0)

local threads = 0
function setup(thread)
  threads = threads + 1
  thread:set("seed", threads)
end

function init(args)
  math.randomseed((seed or 1) * 104729 + os.time())
end

function request()
  local start = math.random(0, last_start)
  return wrk.format(nil, "/api/v1/customers?limit=" .. limit .. "&start=" .. start)
end
