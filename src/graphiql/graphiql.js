// Starts GraphiQL against this server's /graphql. Served from the facade itself so the
// page's Content-Security-Policy can forbid inline scripts; the server passes the example
// customer id and (in sandbox mode only) a working key as data attributes.
const root = document.getElementById('graphiql');
const exampleId = root.dataset.exampleId;
const demoKey = root.dataset.demoKey;

const query = `# The minimal mobile query: only the fields a screen renders.
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
    // GraphiQL 3 takes a first tab's query from `defaultTabs` but its variables and
    // headers only from these props.
    defaultTabs: [{ query, variables, headers }],
    variables,
    headers,
    defaultEditorToolsVisibility: 'headers',
  }),
);
