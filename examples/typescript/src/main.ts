// A typed client for bloc-graphql, and the CI check that it still works.
//
// It runs the documents in src/graphql/ through their generated typed documents (src/gql/,
// written by `npm run codegen`), prints what comes back, and exits 1 if any answer is wrong.
//
//   BLOC_GRAPHQL_URL    the facade's GraphQL endpoint (default http://127.0.0.1:8080/graphql)
//   BLOC_GRAPHQL_TOKEN  an API key (`bloc-graphql client add …`) or JWT, sent as
//                       `Authorization: Bearer …`; optional against `bloc-graphql --sandbox`
//
// It selects no PII field, so a key with `customers:read` and, for the customer page's
// accounts, cards and transactions, `finance:read` is enough.

import { ClientError, GraphQLClient } from 'graphql-request';

import { getFragmentData } from './gql/fragment-masking.js';
import {
  CustomerCardFragmentDoc,
  CustomerListDocument,
  CustomerPageDocument,
  CustomersByIdDocument,
  MobileCustomerDocument,
  type CustomerCardFragment,
  type CustomerPageQuery,
} from './gql/graphql.js';

const url = process.env.BLOC_GRAPHQL_URL || 'http://127.0.0.1:8080/graphql';
const token = process.env.BLOC_GRAPHQL_TOKEN;

const client = new GraphQLClient(url, {
  headers: token ? { Authorization: `Bearer ${token}` } : {},
  // The whole run, not each request: a hung server must not hang CI.
  signal: AbortSignal.timeout(30_000),
});

/** An answer that came back but is not what the API promises. */
class CheckFailed extends Error {}

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new CheckFailed(message);
}

function describe(card: CustomerCardFragment): string {
  const place = card.address ? [card.address.city, card.address.state].filter(Boolean).join(', ') : '';
  return `${card.id}  ${card.name}  (tier ${card.kyc_tier ?? '?'}, ${card.status ?? '?'}${place ? `, ${place}` : ''})`;
}

type CustomerPageData = NonNullable<CustomerPageQuery['customer']>;

/** Exact money: a decimal string with two decimals, never a float. */
const AMOUNT = /^-?\d+\.\d{2}$/;

function printPage(page: CustomerPageData): void {
  const { accounts, cards, transactions } = page;
  for (const a of accounts ?? []) {
    console.log(`  account      ${a.account_number}  ${a.bank_name}  ${a.status}  ${a.balance?.currency} ${a.balance?.amount}`);
  }
  for (const c of cards ?? []) {
    const month = String(c.expiry_month ?? '?').padStart(2, '0');
    console.log(`  card         ${c.brand}  ${c.status}  expires ${month}/${c.expiry_year ?? '?'}`);
  }
  for (const t of transactions ?? []) {
    console.log(`  transaction  ${t.created_at}  ${t.drcr}  ${t.status}  ${t.amount.amount}  ${t.reference}`);
  }
}

function checkPage(id: string, page: CustomerPageData): void {
  // `null` would come with an error, and graphql-request throws on errors: these are lists.
  check(page.accounts && page.cards && page.transactions, `customer ${id}'s page lacks a relation`);
  for (const a of page.accounts) {
    check(a.balance && AMOUNT.test(a.balance.amount), `account ${a.account_number} has balance ${JSON.stringify(a.balance)}`);
    check(/^[A-Z]{3}$/.test(a.balance.currency), `account ${a.account_number} has currency ${a.balance.currency}`);
  }
  for (const c of page.cards) {
    check(c.expiry_month === null || (c.expiry_month >= 1 && c.expiry_month <= 12), `a card expires in month ${c.expiry_month}`);
  }
  const { transactions } = page;
  check(transactions.length <= 5, `transactions(limit: 5) returned ${transactions.length}`);
  check(transactions.length === 0 || page.accounts.length > 0, `customer ${id} has transactions but no account`);
  transactions.forEach((t, i) => {
    check(AMOUNT.test(t.amount.amount), `transaction ${t.reference} moves ${t.amount.amount}`);
    const newer = transactions[i - 1];
    const when = (at: string | null | undefined) => (at ? Date.parse(at) : NaN);
    check(!newer || !(when(newer.created_at) < when(t.created_at)), `transactions are not newest first at ${t.reference}`);
  });
}

function checkCard(card: CustomerCardFragment): void {
  check(card.id.length > 0, 'a customer has an empty id');
  check(card.name.trim().length > 0, `customer ${card.id} has an empty name`);
  check(
    card.kyc_tier === null || (Number.isInteger(card.kyc_tier) && card.kyc_tier >= 0 && card.kyc_tier <= 3),
    `customer ${card.id} has kyc_tier ${card.kyc_tier}, outside 0 to 3`,
  );
}

async function main(): Promise<void> {
  console.log(`bloc-graphql at ${url}${token ? ' (with an API key)' : ' (anonymous)'}`);

  // A page of the list, unmasked through the fragment that selects its fields.
  const limit = 3;
  const page = await client.request(CustomerListDocument, { limit });
  const cards = getFragmentData(CustomerCardFragmentDoc, page.customers);
  console.log(`\nCustomerList(limit: ${limit}): ${cards.length} of ${page.customer_count}`);
  for (const card of cards) console.log(`  ${describe(card)}`);
  check(cards.length > 0, 'customers(limit: 3) is empty');
  check(cards.length <= limit, `customers(limit: ${limit}) returned ${cards.length}`);
  check(page.customer_count >= cards.length, `customer_count ${page.customer_count} < ${cards.length} listed`);
  check(new Set(cards.map((c) => c.id)).size === cards.length, 'customers lists an id twice');
  cards.forEach(checkCard);
  const [first, second] = cards;
  check(first, 'no first customer');

  // The next page starts where the first one's second row is.
  if (second) {
    const next = await client.request(CustomerListDocument, { limit: 1, offset: 1 });
    const [shifted] = getFragmentData(CustomerCardFragmentDoc, next.customers);
    console.log(`\nCustomerList(limit: 1, offset: 1): ${shifted ? shifted.name : 'nothing'}`);
    check(shifted?.id === second.id, `offset 1 gave ${shifted?.id}, expected ${second.id}`);
  }

  // A filter: enum values are string literals, checked by tsc ('active' would not compile).
  const active = await client.request(CustomerListDocument, { limit: 5, filter: { status: 'ACTIVE' } });
  const activeCards = getFragmentData(CustomerCardFragmentDoc, active.customers);
  console.log(`\nCustomerList(limit: 5, filter: {status: ACTIVE}): ${activeCards.length} of ${active.customer_count}`);
  check(activeCards.length <= 5, `customers(limit: 5) returned ${activeCards.length}`);
  check(active.customer_count >= activeCards.length, 'customer_count(ACTIVE) < customers listed');
  check(active.customer_count <= page.customer_count, 'more ACTIVE customers than customers');
  for (const card of activeCards) check(card.status === 'ACTIVE', `${card.id} is ${card.status}, not ACTIVE`);

  // The minimal mobile query, for a listed customer (one with an address, if any).
  const wanted = cards.find((c) => c.address) ?? first;
  const { customer } = await client.request(MobileCustomerDocument, { id: wanted.id });
  console.log(`\nMobileCustomer(id: ${wanted.id}):`, JSON.stringify(customer));
  check(customer, `customer(id: ${wanted.id}) is null, but the list has it`);
  check(customer.id === wanted.id, `asked for ${wanted.id}, got ${customer.id}`);
  check(customer.name.trim().length > 0, `customer ${customer.id} has an empty name`);
  check(customer.name === wanted.name, `name ${customer.name} differs from the list's ${wanted.name}`);
  check(customer.kyc_tier === wanted.kyc_tier, `kyc_tier ${customer.kyc_tier} differs from the list's ${wanted.kyc_tier}`);

  // The same customer's page: the profile with its accounts, cards and five latest
  // transactions, in one request.
  const { customer: customerPage } = await client.request(CustomerPageDocument, { id: wanted.id });
  check(customerPage, `customer(id: ${wanted.id}) is null, but the list has it`);
  console.log(
    `\nCustomerPage(id: ${wanted.id}): ${customerPage.name}, tier ${customerPage.kyc_tier ?? '?'}, ` +
      `${customerPage.accounts?.length} account(s), ${customerPage.cards?.length} card(s), ${customerPage.transactions?.length} transaction(s)`,
  );
  printPage(customerPage);
  check(customerPage.name === wanted.name, `name ${customerPage.name} differs from the list's ${wanted.name}`);
  checkPage(wanted.id, customerPage);

  // Several ids in one request, in order, with an unknown one.
  const unknown = '000000000000000000000000';
  const ids = [second?.id ?? first.id, first.id, unknown];
  const { customers_by_id } = await client.request(CustomersByIdDocument, { ids });
  console.log(`\nCustomersById(ids: [${ids.join(', ')}]):`);
  for (const c of customers_by_id) console.log(`  ${c ? `${c.id}  ${c.name}` : 'null'}`);
  check(customers_by_id.length === ids.length, `asked for ${ids.length} ids, got ${customers_by_id.length}`);
  check(customers_by_id[0]?.id === ids[0], 'customers_by_id[0] is not the first id asked for');
  check(customers_by_id[1]?.id === ids[1], 'customers_by_id[1] is not the second id asked for');
  check(customers_by_id[2] === null, `the unknown id ${unknown} is not null`);

  // Errors carry a machine-readable code: an empty id is refused before Bloc is called.
  try {
    await client.request(MobileCustomerDocument, { id: '' });
    check(false, 'customer(id: "") did not fail');
  } catch (error) {
    if (!(error instanceof ClientError)) throw error;
    const codes = (error.response.errors ?? []).map((e) => e.extensions?.['code']);
    console.log(`\nMobileCustomer(id: ""): HTTP ${error.response.status}, codes ${JSON.stringify(codes)}`);
    check(codes.length === 1 && codes[0] === 'BAD_USER_INPUT', `expected one BAD_USER_INPUT error, got ${JSON.stringify(codes)}`);
  }

  console.log('\nall checks passed');
}

main().catch((error: unknown) => {
  if (error instanceof CheckFailed) {
    console.error(`\ncheck failed: ${error.message}`);
  } else if (error instanceof ClientError) {
    // A GraphQL error (or a non-2xx answer) where none was expected.
    const errors = error.response.errors ?? [];
    console.error(`\nrequest failed: HTTP ${error.response.status}`);
    for (const e of errors) console.error(`  ${String(e.extensions?.['code'] ?? 'NO_CODE')}: ${e.message}`);
    if (errors.length === 0) console.error(`  ${error.response.body}`);
  } else {
    // Connection refused, timeout, a body that is not JSON…
    const cause = error instanceof Error && error.cause ? ` (${String(error.cause)})` : '';
    console.error(`\nrequest failed: ${error instanceof Error ? error.message : String(error)}${cause}`);
  }
  process.exitCode = 1;
});
