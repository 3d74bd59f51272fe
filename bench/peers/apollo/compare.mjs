// Checks that the Apollo peer answers like bloc-graphql: sends the benchmark workloads
// (W1-W6, built as bench/run builds them) and a few extra queries to both servers and
// compares the `data` of each answer.
//
//   node bench/peers/apollo/compare.mjs FACADE_URL PEER_URL [SANDBOX_URL]
//
// e.g. http://127.0.0.1:18283/graphql http://127.0.0.1:18284/ http://127.0.0.1:18281/v1
// The facade must accept anonymous callers with the finance scope (--allow-anonymous
// --anonymous-scopes customers:read,finance:read); the key for the sandbox is BLOC_SECRET_KEY
// (default sk_test_bench). Exits 1 on any difference.

import { isDeepStrictEqual } from 'node:util';

const [facade, peer, sandbox = 'http://127.0.0.1:18181/v1'] = process.argv.slice(2);
if (!facade || !peer) {
  console.error('usage: node compare.mjs FACADE_URL PEER_URL [SANDBOX_URL]');
  process.exit(2);
}
const key = process.env.BLOC_SECRET_KEY ?? 'sk_test_bench';

const bloc = async (path) => (await fetch(`${sandbox}/${path}`, { headers: { authorization: `Bearer ${key}` } })).json();
const listing = await bloc('customers');
const ids = listing.data.map((c) => c.id);
// An account and a transaction of the first customer (bench/run's W5 id), to look up by key.
const [account] = (await bloc(`accounts/customers/accounts/${ids[0]}`)).data ?? [];
const [transaction] = (await bloc(`transactions?customer_id=${ids[0]}&per_page=1`)).data ?? [];
if (!account || !transaction) {
  console.error(`the sandbox's first customer (${ids[0]}) has no account or no transaction`);
  process.exit(2);
}

const fields = 'name kyc_tier status';
// Fields a caller without the `customers:pii` scope may read from the facade.
const open = `id ${fields} environment created_at updated_at address { street city state country postal_code }
  SyncData { Provider ID } full_name first_name last_name organization_id country group kyc_status
  customer_type source gender means_of_identity`;
const one = (id, sel = fields) => ({ query: `{ customer(id: "${id}") { ${sel} } }` });
const money = 'kobo amount currency';
const accountFields = `id name account_number bank_name type status balance { ${money} } currency alias kyc_tier
  customer_id created_at updated_at customer { id name }`;
const cardFields = `id customer_id name type brand currency status billing_address { street city state country postal_code }
  expiry_month expiry_year created_at updated_at customer { id }`;
const walletFields = `id customer_id alias account_number bank_name balance { ${money} } status created_at customer { id }`;
const transactionFields = `id reference amount { ${money} } fee { ${money} } drcr status narration payment_method
  payment_type source account_id customer_id account { id account_number } customer { id }
  previous_account_balance { ${money} } current_account_balance { ${money} } created_at`;

// Every customer's relations, in pages the facade's call limit (120 by default) allows.
const relationPages = Object.fromEntries(
  Array.from({ length: Math.ceil(ids.length / 25) }, (_, page) => [
    `relations of customers ${page * 25 + 1} to ${Math.min((page + 1) * 25, ids.length)}`,
    {
      query: `{ customers(limit: 25, offset: ${page * 25}) { id accounts { id balance { ${money} } }
        cards { id status } wallets { id balance { ${money} } } transactions(limit: 3) { reference } } }`,
    },
  ]),
);

const cases = {
  'W1 one customer, 3 fields': one(ids[0]),
  'W2 50 aliases, 10 ids': {
    query: `{ ${Array.from({ length: 50 }, (_, i) => `c${i}: customer(id: "${ids[i % 10]}") { ${fields} }`).join(' ')} }`,
  },
  'W3 customers(limit: 200)': { query: `{ customers(limit: 200) { ${fields} } }` },
  'W4 batch of 5': ids.slice(0, 5).map((id) => one(id)),
  'W5 customer page': {
    query: `query W5($id: ID!) { customer(id: $id) { name kyc_tier accounts { account_number balance { amount } }
      cards { brand status } transactions(limit: 5) { reference amount { amount } drcr } } }`,
    variables: { id: ids[0] },
  },
  'W6 accounts table': { query: '{ customers(limit: 20) { accounts { balance { amount } } } }' },
  'relations, every field': one(ids[0], `accounts { ${accountFields} transactions(limit: 3) { reference } }
    cards { ${cardFields} } wallets { ${walletFields} } transactions(limit: 10) { ${transactionFields} }`),
  ...relationPages,
  'transaction paging and filters': one(ids[0], `
    a: transactions(limit: 2, offset: 1) { reference }
    b: transactions(limit: 3, offset: 3) { reference }
    c: transactions(filter: { drcr: DEBIT }) { reference drcr }
    d: transactions(filter: { status: SUCCESSFUL, drcr: CREDIT }) { reference status drcr }
    e: transactions(limit: 0) { reference }
    f: transactions(offset: 1000) { reference }`),
  'account, account_by_number, transaction': {
    query: `{
      a: account(id: "${account.id}") { ${accountFields} transactions(limit: 2, filter: { drcr: CREDIT }) { reference } }
      b: account_by_number(account_number: "${account.account_number}") { id account_number }
      t: transaction(reference: "${transaction.reference}") { ${transactionFields} }
      unknown: account(id: "000000000000000000000000") { id }
      malformed: account(id: "not-an-id") { id }
      short_number: account_by_number(account_number: "12") { id }
      unknown_number: account_by_number(account_number: "0000000000") { id }
      unknown_reference: transaction(reference: "no-such-reference") { id }
    }`,
  },
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
