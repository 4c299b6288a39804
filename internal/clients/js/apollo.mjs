// Runs GraphQL operations through Apollo Client's normalizing InMemoryCache
// against the endpoint given as the first argument, all in one cache, as an
// app that shows several of them at once would. Reads a JSON array of
// {"query", "variables"} on stdin and prints one JSON object:
// {"answers": [...], "warnings": [...]}, where answers[i] is what the cache
// gives back for operation i once every operation has run (cache-first, so
// from the cache alone), and warnings are everything Apollo printed (lost
// cache data, missing fields). Run with `node --conditions=development` so
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

const client = new ApolloClient({
  cache: new InMemoryCache(),
  link: new HttpLink({ uri: url }),
});

// Each operation once over the network, in order, into the one cache.
for (const op of operations) {
  const { error } = await client.query({ ...op, fetchPolicy: 'network-only' });
  if (error) {
    process.stdout.write(JSON.stringify({ error: String(error) }) + '\n');
    process.exit(1);
  }
}

// Then what the cache holds for each: later operations may have overwritten
// entries an earlier one wrote, which is what this test looks for.
const answers = [];
for (const op of operations) {
  const { data, error } = await client.query({ ...op, fetchPolicy: 'cache-only' });
  if (error) {
    process.stdout.write(JSON.stringify({ error: String(error) }) + '\n');
    process.exit(1);
  }
  answers.push(data ?? null);
}
process.stdout.write(JSON.stringify({ answers, warnings }) + '\n');
