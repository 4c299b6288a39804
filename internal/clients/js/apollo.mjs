// Runs GraphQL operations through Apollo Client's normalizing InMemoryCache
// against the endpoint given as the first argument, all in one cache, as an
// app that shows several of them at once would. Reads a JSON array of
// {"query", "variables"} on stdin and prints one JSON object:
// {"answers": [...], "refetched": [...], "warnings": [...]}, where answers[i]
// is what Apollo gives operation i (cache-first, as an app's query does) once
// every operation has run, refetched lists the operations Apollo had to send
// again because another one's answer replaced data they had cached, and
// warnings are everything Apollo printed (lost cache data, missing fields). Run with `node --conditions=development` so
// Apollo's development build prints its warnings. Started by
// TestApolloCacheMatchesServer (internal/clients).
import { ApolloClient, HttpLink, InMemoryCache, gql } from '@apollo/client';

const url = process.argv[2];
if (!url) {
  console.error('usage: node --conditions=development apollo.mjs <graphql endpoint URL> < operations.json');
  process.exit(2);
}

// Apollo reports lost or missing cache data only through the console; keep
// every line so the test can fail on any of them.
const warnings = [];
for (const level of ['log', 'info', 'debug', 'warn', 'error']) {
  console[level] = (...args) => warnings.push(`${level}: ${args.map(String).join(' ')}`);
}

let input = '';
for await (const chunk of process.stdin) {
  input += chunk;
}
const operations = JSON.parse(input).map(({ query, variables }) => ({ query: gql(query), variables: variables ?? {} }));

// Requests sent, so a read that should come from the cache and went to the
// network shows.
let requests = 0;
const client = new ApolloClient({
  cache: new InMemoryCache(),
  link: new HttpLink({ uri: url, fetch: (...args) => { requests++; return fetch(...args); } }),
});

// Each operation once over the network, in order, into the one cache.
for (const op of operations) {
  const { error } = await client.query({ ...op, fetchPolicy: 'network-only' });
  if (error) {
    process.stdout.write(JSON.stringify({ error: String(error) }) + '\n');
    process.exit(1);
  }
}

// Then each again, cache-first: later operations may have overwritten
// entries an earlier one wrote (wrong data, served from the cache), or
// replaced lists it read (lost data, fetched again).
const answers = [];
const refetched = [];
for (const [i, op] of operations.entries()) {
  const before = requests;
  const { data, error } = await client.query({ ...op, fetchPolicy: 'cache-first' });
  if (error) {
    process.stdout.write(JSON.stringify({ error: String(error) }) + '\n');
    process.exit(1);
  }
  if (requests !== before) {
    refetched.push(i);
  }
  answers.push(data ?? null);
}
process.stdout.write(JSON.stringify({ answers, refetched, warnings }) + '\n');
