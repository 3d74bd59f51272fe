// GraphiQL in a real browser: starts `bloc-graphql --sandbox --graphiql-assets DIR` on a free
// loopback port, opens the page in Debian's Chromium (playwright-core; browsers cannot be
// downloaded here), clicks the run button on the default tab and checks that the result pane
// shows the sandbox customer's name, that the headers tab carries the Authorization header,
// that the docs explorer lists the schema, then opens the second tab (the customer page, with
// accounts, cards and transactions), runs it and checks its answer is the one plain HTTP
// gets, without errors and with the customer's accounts and transactions in it; and that the
// page fetched nothing from any other origin and broke no Content-Security-Policy rule. Saves
// a screenshot of the first tab.
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

// The text of the GraphiQL editor in view under `selector` (CodeMirror 5 keeps its instance on
// its wrapper, and renders only the lines in view, so innerText would miss a long answer's end).
function editorText(page, selector) {
  return page
    .locator(`${selector} .graphiql-editor:not(.hidden) .CodeMirror`)
    .evaluate((element) => element.CodeMirror.getValue());
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

  // The second tab: the customer page, with the customer's accounts, cards and transactions.
  await page.locator('.graphiql-tab', { hasText: 'CustomerPage' }).click();
  const pageQuery = await editorText(page, '.graphiql-query-editor');
  const pageHeaders = await editorText(page, '.graphiql-editor-tool');
  await page.click('.graphiql-editor-tools button[data-name="variables"]');
  const pageVariables = JSON.parse(await editorText(page, '.graphiql-editor-tool'));
  if (!pageQuery.includes('query CustomerPage($id: ID!)') || pageVariables.id !== exampleId) {
    fail(`the second tab is not the customer page for ${exampleId}: ${pageQuery} ${JSON.stringify(pageVariables)}`);
  }
  if (!/Bearer bgq_/.test(pageHeaders)) fail(`the second tab's headers lack the key: ${pageHeaders}`);
  const expectedPage = await fetch(`${base}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ query: pageQuery, variables: { id: exampleId } }),
  }).then((r) => r.json());
  if (expectedPage.errors) fail(`the customer page query fails over HTTP: ${JSON.stringify(expectedPage.errors)}`);
  const { accounts, transactions } = expectedPage.data.customer;
  if (!accounts?.length || !transactions?.length) {
    fail(`the sandbox gives ${exampleId} no accounts or no transactions: ${JSON.stringify(expectedPage.data)}`);
  }
  await page.click('.graphiql-execute-button');
  const pageAnswer = await page
    .waitForFunction(
      () => {
        const text = document.querySelector('.graphiql-response .CodeMirror')?.CodeMirror.getValue() ?? '';
        return text.includes('"transactions"') || text.includes('"errors"') ? text : null;
      },
      null,
      { timeout: 15000 },
    )
    .then((handle) => handle.jsonValue())
    .catch(async (error) => {
      await page.screenshot({ path: screenshot });
      fail(`the customer page tab showed no answer (${error.message})`);
    });
  const shown = JSON.parse(pageAnswer);
  if (shown.errors || JSON.stringify(shown.data) !== JSON.stringify(expectedPage.data)) {
    await page.screenshot({ path: screenshot });
    fail(`the customer page tab shows ${pageAnswer}, not HTTP's ${JSON.stringify(expectedPage)}`);
  }

  if (foreign.length) fail(`the page fetched from other origins: ${foreign.join(', ')}`);
  if (problems.length) fail(`the page reported errors: ${problems.join(' | ')}`);
  console.log(
    `ok: GraphiQL ran the default query and shows ${customer.name}, and the customer page tab ` +
      `shows ${accounts.length} account(s) and ${transactions.length} transaction(s); screenshot ${screenshot}`,
  );
} finally {
  if (browser) await browser.close();
  server.kill('SIGTERM');
}
