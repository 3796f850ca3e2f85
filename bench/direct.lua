-- (a) One page by direct REST GET to the emulator: GET $DIRECT_PATH with the API version header.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
wrk.method = "GET"
wrk.path = os.getenv("DIRECT_PATH")
wrk.headers["Blaxel-Version"] = "2026-04-28"
if per_request_auth() then
  request = function()
    wrk.headers["Authorization"] = next_auth()
    return wrk.format()
  end
end
