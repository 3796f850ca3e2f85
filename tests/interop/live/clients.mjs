// The reference GraphQL subscription clients against the gateway: graphql-ws (protocol
// graphql-transport-ws) and graphql-sse (distinct connections mode). For each: create an
// execution, subscribe, advance the emulator's virtual clock after each event, and collect the
// statuses until the client sees the subscription complete. Prints {"ws": [...], "sse": [...]}.
// Usage: node clients.mjs http://127.0.0.1:GATEWAY/graphql http://127.0.0.1:EMULATOR
import { createClient as createWsClient } from "graphql-ws";
import { createClient as createSseClient } from "graphql-sse";
import WebSocket from "ws";

const [gateway, emulator] = process.argv.slice(2);
const auth = { Authorization: "Bearer dev-token" };
const advances = [2, 3, 120];

async function create(id) {
  const res = await fetch(gateway, {
    method: "POST",
    headers: { "content-type": "application/json", ...auth },
    body: JSON.stringify({
      query: "mutation($id: String!) { createJobExecution(jobName: \"data-processing-job\", input: {executionId: $id}) { id } }",
      variables: { id },
    }),
  });
  const body = await res.json();
  if (body.errors) throw new Error(JSON.stringify(body.errors));
}

async function advance(seconds) {
  await fetch(`${emulator}/_emulator/clock`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ advanceSeconds: seconds }),
  });
}

async function watch(client, id) {
  await create(id);
  const statuses = [];
  const query = `subscription { jobExecutionUpdated(jobName: "data-processing-job", id: "${id}") { status } }`;
  for await (const result of client.iterate({ query })) {
    if (result.errors) throw new Error(JSON.stringify(result.errors));
    statuses.push(result.data.jobExecutionUpdated.status);
    const step = advances[statuses.length - 1];
    if (step !== undefined) await advance(step);
  }
  return statuses;
}

const ws = createWsClient({
  url: gateway.replace(/^http/, "ws"),
  webSocketImpl: WebSocket,
  connectionParams: auth,
  lazy: true,
  retryAttempts: 0,
});
const sse = createSseClient({ url: gateway, headers: auth, retryAttempts: 0 });
const out = { ws: await watch(ws, "interop-ws"), sse: await watch(sse, "interop-sse") };
await ws.dispose();
sse.dispose();
console.log(JSON.stringify(out));
