-- POST /tickets/{id}/attachments, one prepared multipart body again and again: the body is
-- read once from BODY (uploads.sh writes it), so the client spends almost nothing per upload
-- and the figure is the server's. UPLOAD_PATH is the ticket's attachments path.
local f = assert(io.open(os.getenv("BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.path = os.getenv("UPLOAD_PATH")
wrk.headers["Content-Type"] = "multipart/form-data; boundary=----crm-bench-boundary"
