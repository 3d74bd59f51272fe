// Checks that the Apollo peer answers like bloc-graphql: sends the benchmark workloads
// (W1-W4, built as bench/run builds them) and a few extra queries to both servers and
// compares the `data` of each answer.
//
//   node bench/peers/apollo/compare.mjs FACADE_URL PEER_URL [SANDBOX_URL]
//
// e.g. http://127.0.0.1:18283/graphql http://127.0.0.1:18284/ http://127.0.0.1:18281/v1
// The facade must accept anonymous callers (--allow-anonymous); the key for the sandbox is
// BLOC_SECRET_KEY (default sk_test_bench). Exits 1 on any difference.

import { isDeepStrictEqual } from 'node:util';

const [facade, peer, sandbox = 'http://127.0.0.1:18181/v1'] = process.argv.slice(2);
if (!facade || !peer) {
  console.error('usage: node compare.mjs FACADE_URL PEER_URL [SANDBOX_URL]');
  process.exit(2);
}
const key = process.env.BLOC_SECRET_KEY ?? 'sk_test_bench';

const listing = await (await fetch(`${sandbox}/customers`, { headers: { authorization: `Bearer ${key}` } })).json();
const ids = listing.data.map((c) => c.id);

const fields = 'name kyc_tier status';
// Fields a caller without the `customers:pii` scope may read from the facade.
const open = `id ${fields} environment created_at updated_at address { street city state country postal_code }
  SyncData { Provider ID } full_name first_name last_name organization_id country group kyc_status
  customer_type source gender means_of_identity`;
const one = (id, sel = fields) => ({ query: `{ customer(id: "${id}") { ${sel} } }` });

const cases = {
  'W1 one customer, 3 fields': one(ids[0]),
  'W2 50 aliases, 10 ids': {
    query: `{ ${Array.from({ length: 50 }, (_, i) => `c${i}: customer(id: "${ids[i % 10]}") { ${fields} }`).join(' ')} }`,
  },
  'W3 customers(limit: 200)': { query: `{ customers(limit: 200) { ${fields} } }` },
  'W4 batch of 5': ids.slice(0, 5).map((id) => one(id)),
  'every customer, open fields': { query: `{ customers(limit: ${ids.length}) { ${open} } }` },
  'unknown and malformed ids': one('000000000000000000000000', open),
  'customer, malformed id': one('not-an-id', open),
  'customers_by_id with repeats and unknowns': {
    query: `{ customers_by_id(ids: ["${ids[3]}", "nope", "${ids[3]}", "${ids[7]}"]) { ${open} } }`,
  },
  'paging and filters': {
    query: `{
      a: customers(limit: 5, offset: 3) { id name }
      b: customers(filter: { status: ACTIVE, kyc_tier: 2 }) { id kyc_tier status }
      c: customers(filter: { customer_type: "personal", search: "  ${listing.data[4].last_name.toUpperCase()} " }) { id name }
      d: customers(filter: { status: ARCHIVED }) { id status }
      n: customer_count
      m: customer_count(filter: { kyc_tier: 0 })
    }`,
  },
};

async function post(url, body) {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const dataOf = (body) => (Array.isArray(body) ? body.map((b) => b.data) : body.data);

let failed = 0;
for (const [name, body] of Object.entries(cases)) {
  const [ours, theirs] = await Promise.all([post(facade, body), post(peer, body)]);
  const same = isDeepStrictEqual(dataOf(ours.body), dataOf(theirs.body));
  if (!same) failed += 1;
  console.log(`${same ? 'same' : 'DIFFERENT'}  ${name}  (HTTP ${ours.status} / ${theirs.status})`);
  if (!same) {
    console.log('  facade:', JSON.stringify(ours.body).slice(0, 600));
    console.log('  peer:  ', JSON.stringify(theirs.body).slice(0, 600));
  }
}
console.log(`${Object.keys(cases).length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
