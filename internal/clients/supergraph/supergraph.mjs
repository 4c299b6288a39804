// A supergraph in front of orgraph, for internal/clients' supergraph test:
//
//   node supergraph.mjs <orgraph /graphql URL> <billed organization ids, comma-separated>
//
// 1. starts "billing", a second subgraph (plain graphql-js over node:http)
//    that adds Organization.plan, keyed by id, and lists the billed
//    organizations as references (only their ids), so a query starting
//    there reaches orgraph through _entities;
// 2. composes orgraph's SDL (its `_service { sdl }`) with billing's, with
//    @theguild/federation-composition;
// 3. runs Hive Gateway (@graphql-hive/gateway-runtime) on the supergraph,
//    and prints "READY <gateway /graphql URL>" once both listen. It runs
//    until it is killed.
import http from 'node:http';
import { parse, buildASTSchema, graphql, GraphQLScalarType } from 'graphql';
import { composeServices } from '@theguild/federation-composition';
import { createGatewayRuntime } from '@graphql-hive/gateway-runtime';

// Hive Gateway's runtime needs node 20 or later.
if (Number(process.versions.node.split('.')[0]) < 20) {
  console.error(`node ${process.versions.node}: the supergraph test needs node 20 or later`);
  process.exit(1);
}

const [orgraphURL, billedArg] = process.argv.slice(2);
if (!orgraphURL || billedArg === undefined) {
  console.error('usage: node supergraph.mjs <orgraph /graphql URL> <ids,comma-separated>');
  process.exit(2);
}
const billed = billedArg.split(',').filter(Boolean);

// planOf is billing's answer for an organization: derived from the id, so
// the Go test can check it without sharing data with this script.
const planOf = (id) => `plan-${id.slice(-4)}`;

const billingSDL = `
extend schema @link(url: "https://specs.apollo.dev/federation/v2.7", import: ["@key"])

type Organization @key(fields: "id") {
  id: ID!
  "The organization's billing plan."
  plan: String!
}

type Query {
  "The organizations billing bills, as references: orgraph answers the rest."
  billedOrganizations: [Organization!]!
}
`;

// The subgraph protocol's own part, which a subgraph library would add.
const billingSchema = buildASTSchema(parse(`
scalar _Any
scalar link__Import
union _Entity = Organization
type _Service { sdl: String! }
directive @link(url: String!, import: [link__Import]) repeatable on SCHEMA
directive @key(fields: String!, resolvable: Boolean = true) repeatable on OBJECT | INTERFACE
extend type Query {
  _entities(representations: [_Any!]!): [_Entity]!
  _service: _Service!
}
${billingSDL}`), { assumeValidSDL: true });
billingSchema.getType('_Any').parseValue = (v) => v;
billingSchema.getType('_Entity').resolveType = (v) => v.__typename;

let entityCalls = 0;
const billingRoot = {
  billedOrganizations: () => billed.map((id) => ({ id, plan: planOf(id) })),
  _service: () => ({ sdl: billingSDL }),
  _entities: ({ representations }) => {
    entityCalls++;
    return representations.map((r) => (r.__typename === 'Organization' ? { __typename: 'Organization', id: r.id, plan: planOf(r.id) } : null));
  },
};

function readJSON(req) {
  return new Promise((resolve, reject) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (c) => { body += c; });
    req.on('end', () => { try { resolve(JSON.parse(body)); } catch (e) { reject(e); } });
    req.on('error', reject);
  });
}

const billing = http.createServer(async (req, res) => {
  try {
    if (req.method === 'GET' && req.url === '/calls') {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ entities: entityCalls }));
      return;
    }
    const { query, variables, operationName } = await readJSON(req);
    const result = await graphql({ schema: billingSchema, source: query, rootValue: billingRoot, variableValues: variables, operationName });
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(result));
  } catch (e) {
    res.writeHead(400, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ errors: [{ message: String(e) }] }));
  }
});

const listen = (server) => new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server.address().port)));

const billingURL = `http://127.0.0.1:${await listen(billing)}/graphql`;

const sdlAnswer = await fetch(orgraphURL, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ query: '{ _service { sdl } }' }),
});
const sdlBody = await sdlAnswer.json();
if (!sdlBody.data?._service?.sdl) {
  console.error('orgraph gave no subgraph SDL:', JSON.stringify(sdlBody));
  process.exit(1);
}

const composed = composeServices([
  { name: 'orgraph', typeDefs: parse(sdlBody.data._service.sdl), url: orgraphURL },
  { name: 'billing', typeDefs: parse(billingSDL), url: billingURL },
]);
if (composed.errors?.length) {
  console.error('composition failed:', composed.errors.map((e) => e.message).join('\n'));
  process.exit(1);
}

const gateway = createGatewayRuntime({ supergraph: composed.supergraphSdl, logging: 'error' });
const gatewayServer = http.createServer(gateway);
const gatewayPort = await listen(gatewayServer);
// Billing's counter is beside the gateway, so the Go test can ask both.
console.log(`READY http://127.0.0.1:${gatewayPort}/graphql ${billingURL.replace('/graphql', '/calls')}`);
