-- bench/load.sh: one GraphQL page query; counts HTTP statuses and GraphQL error codes.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer dev-token"
wrk.body = '{"query":"{ jobExecutions(jobName: \\"data-processing-job\\", first: 20) { totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id status metadata { id createdAt completedAt } stats { total success failure } spec { parallelism envOverride } } } } }"}'

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  statuses = {}
  codes = {}
  with_errors = 0
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  if string.find(body, '"errors"', 1, true) then
    with_errors = with_errors + 1
    for code in string.gmatch(body, '"code":"([A-Z_]+)"') do
      codes[code] = (codes[code] or 0) + 1
    end
  end
end

function done(summary, latency, requests)
  local all_status, all_codes, errors = {}, {}, 0
  for _, t in ipairs(threads) do
    for k, v in pairs(t:get("statuses")) do all_status[k] = (all_status[k] or 0) + v end
    for k, v in pairs(t:get("codes")) do all_codes[k] = (all_codes[k] or 0) + v end
    errors = errors + t:get("with_errors")
  end
  io.write("RESULT requests ", summary.requests, "\n")
  io.write("RESULT duration_s ", string.format("%.2f", summary.duration / 1e6), "\n")
  io.write("RESULT rps ", string.format("%.0f", summary.requests / (summary.duration / 1e6)), "\n")
  io.write("RESULT p50_ms ", string.format("%.2f", latency:percentile(50) / 1000), "\n")
  io.write("RESULT p99_ms ", string.format("%.2f", latency:percentile(99) / 1000), "\n")
  io.write("RESULT max_ms ", string.format("%.2f", latency.max / 1000), "\n")
  io.write("RESULT socket_errors ", summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout, "\n")
  io.write("RESULT non2xx ", summary.errors.status, "\n")
  io.write("RESULT responses_with_graphql_errors ", errors, "\n")
  for k, v in pairs(all_status) do io.write("RESULT status_", k, " ", v, "\n") end
  for k, v in pairs(all_codes) do io.write("RESULT code_", k, " ", v, "\n") end
end
