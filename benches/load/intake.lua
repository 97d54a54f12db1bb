-- POST /tickets/ as the admin: a walk-in request with its device, priority and due date, a
-- different title on every request (the run's start time in every title, so a second run's
-- differ from the first's), for 5,000 returning customers. Run it with one wrk thread (-t1).
local headers = {}
counter = 0
run = os.time()

function init(args)
  -- A request given its own headers does not get the command line's (-H): copy them.
  for k, v in pairs(wrk.headers) do headers[k] = v end
  headers["Content-Type"] = "application/json"
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"title":"Intake %d-%d","description":"Taken in by the load benchmark",' ..
    '"client":{"name":"Walk-in","email":"walkin%d@example.com","phone":"+49 171 %07d"},' ..
    '"device":{"kind":"phone","brand":"Fairphone","model":"5","serial":"SN %d %d",' ..
    '"condition":"Scratches","accessories":"Case"},"priority":"high","due_at":"2030-01-01T12:00:00Z"}',
    run, counter, counter % 5000, counter % 5000, run, counter)
  return wrk.format("POST", "/tickets/", headers, body)
end
