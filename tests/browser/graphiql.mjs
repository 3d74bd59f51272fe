// GraphiQL in a real browser: starts `bloc-graphql --sandbox --graphiql-assets DIR` on a free
// loopback port, opens the page in Debian's Chromium (playwright-core; browsers cannot be
// downloaded here), clicks the run button on the default tab and checks that the result pane
// shows the sandbox customer's name, that the headers tab carries the Authorization header,
// that the docs explorer lists the schema, and that the page fetched nothing from any other
// origin and broke no Content-Security-Policy rule. Saves a screenshot.
//
//   node graphiql.mjs BINARY ASSETS_DIR SCREENSHOT
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

const [binary, assets, screenshot] = process.argv.slice(2);
if (!binary || !assets || !screenshot) {
  console.error('usage: node graphiql.mjs BINARY ASSETS_DIR SCREENSHOT');
  process.exit(2);
}

function fail(message) {
  throw new Error(message);
}

const server = spawn(
  binary,
  ['--sandbox', '--listen-addr', '127.0.0.1:0', '--graphiql-assets', assets],
  { env: { ...process.env, RUST_LOG: 'info', LOG_FORMAT: 'pretty' }, stdio: ['ignore', 'ignore', 'pipe'] },
);
const base = await new Promise((resolve, reject) => {
  const lines = createInterface({ input: server.stderr });
  const timer = setTimeout(() => reject(new Error('the server did not start in 15 s')), 15000);
  lines.on('line', (line) => {
    const match = line.match(/serving GraphQL at (http:\/\/[^\s/]+)\/graphql/);
    if (match) {
      clearTimeout(timer);
      resolve(match[1]);
    }
  });
  server.on('exit', (code) => reject(new Error(`the server exited with ${code}`)));
});

let browser;
try {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-quic',
      '--no-first-run',
      '--disable-sync',
    ],
  });
  const page = await browser.newPage({ viewport: { width: 1400, height: 820 } });
  const foreign = [];
  const problems = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(base) && !request.url().startsWith('data:')) foreign.push(request.url());
  });
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));

  await page.goto(`${base}/`);
  await page.waitForSelector('.graphiql-execute-button', { timeout: 20000 });

  // What the page should show: the example customer's name, asked for over plain HTTP.
  const exampleId = await page.locator('#graphiql').getAttribute('data-example-id');
  if (!exampleId) fail('the page names no example customer');
  const expected = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: 'query($id: ID!) { customer(id: $id) { name } }', variables: { id: exampleId } }),
  }).then((r) => r.json());
  const customer = expected.data.customer;
  if (!customer || !customer.name) fail(`the example id ${exampleId} is not a sandbox customer`);

  const headersText = await page.locator('.graphiql-editor-tool').innerText();
  if (!/Authorization/.test(headersText) || !/Bearer bgq_/.test(headersText)) {
    await page.screenshot({ path: screenshot });
    fail(`the headers tab does not carry the Authorization header: ${headersText}`);
  }

  await page.click('.graphiql-execute-button');
  const result = page.locator('.graphiql-response');
  await result
    .getByText(customer.name, { exact: false })
    .first()
    .waitFor({ timeout: 15000 })
    .catch(async (error) => {
      await page.screenshot({ path: screenshot });
      fail(`the result pane never showed ${customer.name}: ${await result.innerText()} (${error.message})`);
    });
  const resultText = await result.innerText();
  if (!resultText.includes('"kyc_tier"') || resultText.includes('"errors"')) {
    fail(`unexpected result pane: ${resultText}`);
  }

  // The docs explorer: the schema loaded through introspection.
  await page.click('button[aria-label="Show Documentation Explorer"]');
  const docs = page.locator('.graphiql-doc-explorer');
  await docs.getByText('Query', { exact: false }).first().waitFor({ timeout: 10000 });
  await page.click('button[aria-label="Hide Documentation Explorer"]');

  await page.screenshot({ path: screenshot });

  if (foreign.length) fail(`the page fetched from other origins: ${foreign.join(', ')}`);
  if (problems.length) fail(`the page reported errors: ${problems.join(' | ')}`);
  console.log(`ok: GraphiQL ran the default query and shows ${customer.name}; screenshot ${screenshot}`);
} finally {
  if (browser) await browser.close();
  server.kill('SIGTERM');
}
