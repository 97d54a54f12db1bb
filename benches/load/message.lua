-- POST /tickets/{id}/messages: an internal note on a random ticket of the second half of the
-- loaded ones (their number is the first argument after `--`); pgbench's floor writes on the
-- first half.
local n = 100000
local headers = {}

function init(args)
  n = tonumber(args[1]) or n
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0))
  -- A request given its own headers does not get the command line's (-H): copy them.
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
end

function request()
  local id = math.random(math.floor(n / 2) + 1, n)
  return wrk.format("POST", "/tickets/" .. id .. "/messages", headers,
    '{"body":"Ordered a screen, arrives Tuesday.","visibility":"internal"}')
end
