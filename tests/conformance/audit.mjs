// Runs graphql-http's GraphQL-over-HTTP audit against the URL given as the only argument
// and prints one line per finding, then a summary line. Exits 1 on any error or warning.
import { auditServer } from 'graphql-http';

const url = process.argv[2];
if (!url) {
  console.error('usage: node audit.mjs http://127.0.0.1:PORT/graphql');
  process.exit(2);
}

const results = await auditServer({ url });
let errors = 0;
let warnings = 0;
for (const result of results) {
  if (result.status === 'error') errors += 1;
  if (result.status === 'warn') warnings += 1;
  if (result.status !== 'ok') {
    console.log(`${result.status.toUpperCase()} ${result.id} ${result.name}: ${result.reason}`);
  }
}
console.log(`audit: ${results.length} checks, ${errors} errors, ${warnings} warnings`);
process.exit(errors + warnings === 0 ? 0 : 1);
