// Starts GraphiQL against this server's /graphql. Served from the facade itself so the
// page's Content-Security-Policy can forbid inline scripts.
const defaultQuery = `# Ask for exactly the customer fields you render.
{
  customer_count
  customers(limit: 5, filter: { status: ACTIVE }) {
    id
    name
    kyc_tier
    address { city state }
  }
}
`;
const fetcher = GraphiQL.createFetcher({ url: new URL('/graphql', window.location.href).href });
ReactDOM.createRoot(document.getElementById('graphiql')).render(
  React.createElement(GraphiQL, { fetcher, defaultQuery, defaultEditorToolsVisibility: true }),
);
