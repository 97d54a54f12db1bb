-- POST /auth/login as one of the loaded workers, with the right password: every request
-- costs a real argon2 hash, as a sign-in does.
counter = 0

function request()
  counter = counter + 1
  local body = string.format('{"username":"worker%d","password":"worker-pass"}', counter % 50)
  return wrk.format("POST", "/auth/login", { ["Content-Type"] = "application/json" }, body)
end
