-- POST /tickets/{id}/stage: the in-progress tickets of the odd blocks of 20 (ticket i, id
-- i + 1, is in progress when i % 20 is one of OFFSETS; pgbench's floor takes the even blocks),
-- each moved between the first two in-progress stages back and forth. Arguments after `--`:
-- the number of tickets loaded, then the ids of the in-progress stages in their order (the
-- load puts ticket i in the stage at (i / 4) % 4). Run it with one wrk thread (-t1): each
-- thread has its own state.
local OFFSETS = { 1, 5, 13, 17 }
local n = 100000
local stages = {}
local at = {}
local block, slot = 1, 1
local headers = {}

function init(args)
  n = tonumber(args[1]) or n
  for i = 2, #args do stages[#stages + 1] = tonumber(args[i]) end
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
end

function request()
  local i = block * 20 + OFFSETS[slot]
  slot = slot + 1
  if slot > #OFFSETS then
    slot = 1
    block = block + 2
    if block * 20 >= n then block = 1 end
  end
  local now = at[i] or stages[math.floor(i / 4) % 4 + 1]
  local to = (now == stages[1]) and stages[2] or stages[1]
  at[i] = to
  return wrk.format("POST", "/tickets/" .. (i + 1) .. "/stage", headers, '{"stage_id":' .. to .. '}')
end
