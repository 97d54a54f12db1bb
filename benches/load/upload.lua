-- POST /tickets/{id}/attachments, one prepared multipart body again and again: the body is
-- read once from BODY (written by benches/load/upload_form.sh), so the client spends almost
-- nothing per upload and the figure is the server's. UPLOAD_PATH is one ticket's attachments path (uploads.sh); with UPLOAD_TICKETS=n
-- instead, each upload goes to a random ticket of the second half of n (pg.sh; its pgbench
-- floor takes the first half).
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "multipart/form-data; boundary=----crm-bench-boundary"
local n = tonumber(os.getenv("UPLOAD_TICKETS") or "")
local path = os.getenv("UPLOAD_PATH")

function init(args)
  math.randomseed(os.time() + (tonumber(tostring({}):match("0x(%x+)"), 16) or 0))
end

function request()
  if n then
    path = "/tickets/" .. math.random(math.floor(n / 2) + 1, n) .. "/attachments"
  end
  return wrk.format(nil, path)
end
