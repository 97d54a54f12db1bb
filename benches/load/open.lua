-- GET /tickets/{id} for a random ticket of the second half of the loaded ones (their number is
-- the first argument after `--`); pgbench's floor takes the first half. The first view of a
-- ticket marks it viewed and records that.
local n = 100000

function init(args)
  n = tonumber(args[1]) or n
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0))
end

function request()
  return wrk.format("GET", "/tickets/" .. math.random(math.floor(n / 2) + 1, n))
end
