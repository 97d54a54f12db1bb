-- POST /tickets/{id}/status to `in_progress`, each time on a ticket that is new and assigned:
-- in the loaded data ticket i (id i + 1) is new and assigned when i % 20 is one of OFFSETS.
-- pgbench's floor takes the even blocks of 20 and this script the odd ones, in order, so no
-- ticket is started twice. Run it with one wrk thread (-t1): each thread has its own state.
local OFFSETS = { 0, 3, 7, 8, 11, 12, 15, 16 }
local n = 100000
local block, slot = 1, 1

local headers = {}

function init(args)
  n = tonumber(args[1]) or n
  -- A request given its own headers does not get the command line's (-H): copy them.
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
end

function request()
  local id = block * 20 + OFFSETS[slot] + 1
  slot = slot + 1
  if slot > #OFFSETS then
    slot = 1
    block = block + 2
    if block * 20 >= n then block = 1 end
  end
  return wrk.format("POST", "/tickets/" .. id .. "/status", headers, '{"new_status":"in_progress"}')
end
