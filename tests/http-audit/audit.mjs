// GraphQL over HTTP conformance of a running gateway: graphql-http's auditServer.
// Usage: node audit.mjs http://127.0.0.1:PORT/graphql
// Prints every audit that is not ok; exits 1 on any error or warning.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql url>');
  process.exit(2);
}
const results = await auditServer({ url });
let errors = 0;
let warnings = 0;
for (const result of results) {
  if (result.status === 'ok') continue;
  if (result.status === 'error') errors += 1;
  if (result.status === 'warn') warnings += 1;
  const detail = result.response ? ` (HTTP ${result.response.status}: ${await result.response.text().catch(() => '?')})` : '';
  console.log(`${result.status.toUpperCase()} ${result.id} ${result.name}: ${result.reason}${detail}`);
}
console.log(`graphql-http audit: ${results.length} audits, ${errors} errors, ${warnings} warnings`);
process.exit(errors + warnings === 0 ? 0 : 1);
