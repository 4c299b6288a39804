// Runs graphql-http's server audits (the GraphQL-over-HTTP spec's MUST,
// SHOULD and MAY) against the GraphQL endpoint given as the first argument,
// prints each failure and "N passed, M failed", and exits 1 on any failure.
// Started by TestGraphQLOverHTTPAudit (internal/clients).
import { serverAudits } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs <graphql endpoint URL>');
  process.exit(2);
}

let passed = 0;
let failed = 0;
for (const audit of serverAudits({ url })) {
  const result = await audit.fn();
  if (result.status === 'ok') {
    passed++;
    continue;
  }
  failed++;
  let body = '';
  try {
    body = await result.response.text();
  } catch {
    // the body was read by the audit already
  }
  console.log(`FAIL ${result.id} ${result.name}: ${result.reason}` +
    ` (HTTP ${result.response.status} ${result.response.headers.get('content-type')}) ${body.slice(0, 300)}`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
