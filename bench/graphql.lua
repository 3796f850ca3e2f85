-- (b), (c) One fixed GraphQL request: POST the JSON body in $BODY_FILE to the wrk URL.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
if per_request_auth() then
  request = function()
    wrk.headers["Authorization"] = next_auth()
    return wrk.format()
  end
end
