-- Shared by the bench scripts (loaded with dofile from $BENCH_DIR).
--   UNIQUE_AUTH=1  every request carries its own "Authorization: Bearer bench-<n>", n cycling
--                  through AUTH_TOKENS tokens that run.sh registered with the emulator, so that
--                  no two requests in flight share a credential (nothing can be shared between
--                  callers). Otherwise every request sends "Bearer $BENCH_TOKEN" (dev-token).
local unique = os.getenv("UNIQUE_AUTH") == "1"
local tokens = tonumber(os.getenv("AUTH_TOKENS") or "1")
local fixed = "Bearer " .. (os.getenv("BENCH_TOKEN") or "dev-token")
local seq = 0

-- The Authorization value of the next request.
function next_auth()
  if not unique then
    return fixed
  end
  seq = seq + 1
  return "Bearer bench-" .. (seq % tokens)
end

-- True when requests must be built one by one (a unique header each).
function per_request_auth()
  return unique
end

wrk.headers["Authorization"] = fixed
