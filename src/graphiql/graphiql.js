// Starts GraphiQL against this server's /graphql. Served from the facade itself so the
// page's Content-Security-Policy can forbid inline scripts; the server passes the example
// customer id and (in sandbox mode only) a working key as data attributes.
const root = document.getElementById('graphiql');
const exampleId = root.dataset.exampleId;
const demoKey = root.dataset.demoKey;

// The first tab: the minimal mobile query.
const mobileQuery = `# The minimal mobile query: only the fields a screen renders.
# Run it with the pink button or Ctrl-Enter.
# The docs explorer (book icon, top left) lists every field.
query MobileCustomer($id: ID!) {
  customer(id: $id) {
    name
    kyc_tier
    address {
      city
      state
    }
  }
}
`;

// The second tab: a customer's page with its accounts, cards and latest transactions.
const pageQuery = `# A customer page: the profile, its accounts and cards,
# and its five latest transactions: one request for
# what takes Bloc four calls. Amounts are exact strings.
# Accounts, cards and transactions need finance:read.
query CustomerPage($id: ID!) {
  customer(id: $id) {
    name
    kyc_tier
    accounts {
      account_number
      bank_name
      status
      balance {
        amount
        currency
      }
    }
    cards {
      brand
      status
      expiry_month
      expiry_year
    }
    transactions(limit: 5) {
      reference
      drcr
      status
      amount {
        amount
      }
      created_at
    }
  }
}
`;

const variables = JSON.stringify({ id: exampleId || 'a customer id' }, null, 2);
// API keys (bgq_...) and JWTs both travel as a bearer token.
const headers = JSON.stringify(
  { Authorization: `Bearer ${demoKey || '<your API key or JWT>'}` },
  null,
  2,
);

const fetcher = GraphiQL.createFetcher({ url: new URL('/graphql', window.location.href).href });
ReactDOM.createRoot(root).render(
  React.createElement(GraphiQL, {
    fetcher,
    // Each tab keeps its own query, variables and headers. GraphiQL 3 fills the editors of
    // the tab it opens on from the `variables` and `headers` props, not from its entry here;
    // the other tabs' editors come from their entries when they are opened.
    defaultTabs: [
      { query: mobileQuery, variables, headers },
      { query: pageQuery, variables, headers },
    ],
    variables,
    headers,
    defaultEditorToolsVisibility: 'headers',
  }),
);
