-- refused-id.lua: wrk script for scripts/bench.sh. Each request is
--   GET /api/v1/customer/x{n}
-- an id the demo mapping's whole-number id refuses with 400 before any query: what
-- storygate's HTTP side costs alone (parsing, the credential, the route, an error reply
-- and the access line). The Authorization header comes from wrk's -H option.

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
  return wrk.format(nil, "/api/v1/customer/x" .. math.random(1000000))
end
