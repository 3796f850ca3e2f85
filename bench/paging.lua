-- (d) Paging by cursor, restarting at the end of the listing.
--   MODE=graphql  POST $BODY_FILE, whose "__AFTER__" is replaced by null or the previous page's
--                 pageInfo.endCursor; the chain ends when hasNextPage is false.
--   MODE=rest     GET $DIRECT_PATH, adding &cursor=<meta.nextCursor> of the previous page; the
--                 chain ends when meta.hasMore is false.
-- wrk runs every connection of a thread in one Lua state, so each response pushes its successor
-- cursor on a stack and each request pops one (or starts a new chain): with C connections, C
-- chains advance side by side and every request is the next page of some chain.
dofile(os.getenv("BENCH_DIR") .. "/common.lua")
local mode = os.getenv("MODE") or "graphql"
local pending = {}
pages, chains, bad = 0, 0, 0

local prefix, suffix, path
if mode == "graphql" then
  local f = assert(io.open(os.getenv("BODY_FILE"), "rb"))
  local body = f:read("*a")
  f:close()
  local at = assert(body:find("__AFTER__", 1, true), "BODY_FILE has no __AFTER__")
  prefix, suffix = body:sub(1, at - 1), body:sub(at + #"__AFTER__")
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
else
  path = os.getenv("DIRECT_PATH")
  wrk.method = "GET"
  wrk.headers["Blaxel-Version"] = "2026-04-28"
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

request = function()
  wrk.headers["Authorization"] = next_auth()
  local cursor = table.remove(pending)
  if cursor == nil then
    chains = chains + 1
  end
  if mode == "graphql" then
    local after = cursor and ('"' .. cursor .. '"') or "null"
    return wrk.format(nil, nil, nil, prefix .. after .. suffix)
  end
  local p = path
  if cursor then
    p = p .. "&cursor=" .. urlencode(cursor)
  end
  return wrk.format(nil, p)
end

response = function(status, headers, body)
  pages = pages + 1
  if status ~= 200 then
    bad = bad + 1
    return
  end
  local more, cursor
  if mode == "graphql" then
    if body:find('"errors"', 1, true) then
      bad = bad + 1
      return
    end
    more = body:match('"hasNextPage":(%a+)')
    cursor = body:match('"endCursor":"([^"]*)"')
  else
    more = body:match('"hasMore":(%a+)')
    cursor = body:match('"nextCursor":"([^"]*)"')
  end
  if more == "true" then
    if cursor == nil or cursor == "" then
      bad = bad + 1
    else
      table.insert(pending, cursor)
    end
  end
end

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

function done(summary, latency, requests)
  local p, c, b = 0, 0, 0
  for _, t in ipairs(threads) do
    p = p + t:get("pages")
    c = c + t:get("chains")
    b = b + t:get("bad")
  end
  io.write(string.format("paging: pages=%d chains=%d bad=%d\n", p, c, b))
end
