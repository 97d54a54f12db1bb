-- POST /auth/login with the right password, so every request costs a real argon2 hash (the
-- worst case for the server: wrong passwords would soon be throttled and cost nothing).
wrk.method = "POST"
wrk.path = "/auth/login"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"username":"worker","password":"worker123"}'
