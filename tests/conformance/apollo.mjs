// What Apollo Client 3 sees of the facade's partial results: with a field error, every field
// the query asked for is in `data` (null where it failed), nothing is reported missing, and
// the normalised cache can answer the same query again without the network.
//
//   node apollo.mjs <graphql url> <a good customer id> <a customer id whose fields drifted>
//
// The good customer's accounts fail (500), it has one card, and one of its transactions has no
// readable amount (a non-null field), which nulls the whole `[Transaction!]` list.
//
// Prints one JSON line per check and exits 1 if any failed. tests/api/apollo_client.rs runs it.

import { ApolloClient, HttpLink, InMemoryCache, gql } from "@apollo/client/core/index.js";

const [url, good, drifted] = process.argv.slice(2);
const complaints = [];
for (const level of ["warn", "error", "log"]) {
  const original = console[level];
  console[level] = (...args) => {
    complaints.push(args.map(String).join(" "));
    original(...args);
  };
}

const client = new ApolloClient({
  link: new HttpLink({ uri: url, fetch }),
  cache: new InMemoryCache(),
});

const checks = [
  {
    name: "a PII field without the scope is null, beside the readable fields",
    query: gql`query Reader($id: ID!) { customer(id: $id) { id name kyc_tier bvn } }`,
    variables: { id: good },
    expect: (data) => data.customer?.bvn === null && typeof data.customer?.name === "string",
  },
  {
    name: "fields that all failed are each null, and the customer is an object",
    query: gql`query Drifted($id: ID!) { customer(id: $id) { kyc_tier status } }`,
    variables: { id: drifted },
    expect: (data) =>
      data.customer !== null && data.customer.kyc_tier === null && data.customer.status === null,
  },
  {
    name: "a customer page: a failed relation and a list nulled by a non-null item are null, the rest normalised",
    query: gql`query Page($id: ID!) {
      customer(id: $id) {
        id name
        accounts { id account_number }
        cards { id brand billing_address { city } }
        transactions(limit: 5) { id reference amount { kobo amount } }
      }
    }`,
    variables: { id: good },
    expect: (data) =>
      data.customer?.name != null &&
      data.customer.accounts === null &&
      data.customer.cards?.length === 1 &&
      data.customer.cards[0].billing_address?.city === "Lekki" &&
      data.customer.transactions === null &&
      // Normalised by id: the card is its own cache entry.
      client.cache.extract()[`Card:${data.customer.cards[0].id}`]?.brand === "Verve",
  },
];

let failed = 0;
for (const check of checks) {
  const before = complaints.length;
  const result = await client.query({
    query: check.query,
    variables: check.variables,
    errorPolicy: "all",
    fetchPolicy: "network-only",
  });
  const cached = client.readQuery({ query: check.query, variables: check.variables });
  const said = complaints.slice(before);
  const ok =
    result.data != null &&
    check.expect(result.data) &&
    (result.errors?.length ?? 0) > 0 &&
    cached != null &&
    JSON.stringify(cached) === JSON.stringify(result.data) &&
    !said.some((line) => /missing field/i.test(line));
  if (!ok) failed += 1;
  console.info(
    JSON.stringify({ check: check.name, ok, data: result.data, cached, errors: result.errors?.length, said }),
  );
}
console.info(`apollo client: ${checks.length - failed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);
