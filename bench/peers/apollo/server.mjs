// Apollo Server peer for bloc-graphql's benchmarks.
//
// The same schema (read from the repo's schema.graphql) over the same Bloc REST upstream,
// built the way a Node.js team would: Apollo Server's standalone HTTP server, a
// RESTDataSource for Bloc and per-request DataLoaders (customers and accounts by id, each
// customer's accounts, cards, wallets and transaction pages). No auth, scopes, PII guards,
// rate limits or query limits: this is Apollo's unprotected best case.
//
// Env: PORT (4000), HOST (127.0.0.1), BLOC_API_URL (http://127.0.0.1:18181/v1),
// BLOC_SECRET_KEY (required), NODE_ENV=production for benchmarks.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';

import { ApolloServer } from '@apollo/server';
import {
  ApolloServerPluginCacheControlDisabled,
  ApolloServerPluginInlineTraceDisabled,
  ApolloServerPluginLandingPageDisabled,
  ApolloServerPluginSchemaReportingDisabled,
  ApolloServerPluginUsageReportingDisabled,
} from '@apollo/server/plugin/disabled';
import { startStandaloneServer } from '@apollo/server/standalone';
import { RESTDataSource } from '@apollo/datasource-rest';
import DataLoader from 'dataloader';
import { GraphQLError, GraphQLScalarType, Kind } from 'graphql';
import nodeFetch from 'node-fetch';

const PORT = Number(process.env.PORT ?? 4000);
const HOST = process.env.HOST ?? '127.0.0.1';
const BLOC_API_URL = process.env.BLOC_API_URL ?? 'http://127.0.0.1:18181/v1';
const BLOC_SECRET_KEY = process.env.BLOC_SECRET_KEY;
if (!BLOC_SECRET_KEY) {
  console.error('BLOC_SECRET_KEY is not set');
  process.exit(2);
}

// Limits mirrored from bloc-graphql's query root.
const MAX_ID_LEN = 128;
const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;
const MAX_IDS = 100;
const MAX_SEARCH_LEN = 128;
const DEFAULT_TRANSACTIONS = 20;
const MAX_TRANSACTIONS = 100;
const MAX_TRANSACTIONS_OFFSET = 10_000;
const UPSTREAM_TIMEOUT_MS = 10_000;

const typeDefs = readFileSync(new URL('../../../schema.graphql', import.meta.url), 'utf8');

// ---------------------------------------------------------------------------------------
// Upstream: Bloc over RESTDataSource, with keep-alive connections.

const httpAgent = new http.Agent({ keepAlive: true });
const httpsAgent = new https.Agent({ keepAlive: true });

// RESTDataSource's default fetch is node-fetch; this one only adds the keep-alive agents
// and a timeout.
function keepAliveFetch(url, init) {
  return nodeFetch(url, {
    ...init,
    agent: (parsed) => (parsed.protocol === 'http:' ? httpAgent : httpsAgent),
    timeout: UPSTREAM_TIMEOUT_MS,
  });
}

function coded(message, code, extra) {
  return new GraphQLError(message, { extensions: { code, ...extra } });
}

// A resource Bloc does not have (see `BlocAPI.data`).
const MISSING = Symbol('missing');

const badResponse = (detail) => coded(`Bloc sent a response that could not be read: ${detail}`, 'UPSTREAM_BAD_RESPONSE');

class BlocAPI extends RESTDataSource {
  baseURL = BLOC_API_URL.endsWith('/') ? BLOC_API_URL : `${BLOC_API_URL}/`;

  willSendRequest(_path, request) {
    request.headers.authorization = `Bearer ${BLOC_SECRET_KEY}`;
    request.headers.accept = 'application/json';
  }

  async errorFromResponse({ response }) {
    const status = response.status;
    if (status === 401 || status === 403) {
      return coded("the service's Bloc credentials were rejected; this is a server problem", 'UPSTREAM_UNAUTHORIZED', { status });
    }
    if (status === 429) {
      return coded("Bloc's rate limit was reached; retry later", 'UPSTREAM_RATE_LIMITED', { status });
    }
    if (status >= 500) {
      return coded('Bloc is unavailable; retry later', 'UPSTREAM_UNAVAILABLE', { status });
    }
    return coded(`Bloc answered with status ${status}`, 'UPSTREAM_BAD_RESPONSE', { status });
  }

  // GET and unwrap Bloc's `{success, data, message}` envelope. With `orMissing`, a missing
  // resource (404, or 400 for a malformed key) is MISSING instead of an error.
  async data(path, { params, orMissing = false } = {}) {
    let body;
    try {
      body = await this.get(path, params ? { params } : undefined);
    } catch (error) {
      const status = error.extensions?.status;
      if (orMissing && (status === 404 || status === 400)) return MISSING;
      if (error instanceof GraphQLError) throw error;
      throw coded(`Bloc could not be reached: ${error.message}`, 'UPSTREAM_UNAVAILABLE');
    }
    if (body === null || typeof body !== 'object' || typeof body.success !== 'boolean') {
      throw badResponse('not a Bloc envelope');
    }
    if (!body.success) throw coded('Bloc reported the call as unsuccessful', 'UPSTREAM_BAD_RESPONSE');
    return body.data ?? null;
  }

  // One record; null when Bloc does not know it.
  async record(path, key, what) {
    if (key === '.' || key === '..') return null;
    const data = await this.data(`${path}${encodeURIComponent(key)}`, { orMissing: true });
    if (data === MISSING) return null;
    if (!isRecord(data)) throw badResponse(`${what} record without a string id`);
    return data;
  }

  // A list of records; `data: null` is an empty list, and so is a missing resource unless
  // `orMissing` is false. Records without a string id are left out.
  async records(path, what, { params, orMissing = true } = {}) {
    const data = await this.data(path, { params, orMissing });
    if (data === null || data === MISSING) return [];
    if (!Array.isArray(data)) throw badResponse(`${what} list is not an array`);
    return data.filter(isRecord);
  }

  getCustomer(id) {
    return this.record('customers/', id, 'customer');
  }

  getAccount(id) {
    return this.record('accounts/', id, 'account');
  }

  getAccountByNumber(number) {
    return this.record('accounts/number/', number, 'account');
  }

  getTransaction(reference) {
    return this.record('transactions/reference/', reference, 'transaction');
  }

  customerAccounts(id) {
    return this.records(`accounts/customers/accounts/${encodeURIComponent(id)}`, 'account');
  }

  customerCards(id) {
    return this.records(`cards/customer/${encodeURIComponent(id)}`, 'card');
  }

  customerWallets(id) {
    return this.records(`wallets/customers/${encodeURIComponent(id)}`, 'wallet');
  }

  // One page of a customer's or an account's transactions (`scope` is `customer_id` or
  // `account_id`), newest first; records of another owner are dropped.
  async transactions({ scope, owner, perPage, page, drcr, status }) {
    const params = { [scope]: owner, per_page: String(perPage), page: String(page) };
    if (drcr) params.drcr = drcr;
    if (status) params.status = status;
    const found = await this.records('transactions', 'transaction', { params });
    return found.filter((t) => t[scope] === owner);
  }

  listCustomers() {
    return this.records('customers', 'customer', { orMissing: false });
  }
}

function isRecord(value) {
  return isObject(value) && typeof value.id === 'string' && value.id !== '';
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

// ---------------------------------------------------------------------------------------
// Reading Bloc's values leniently, as bloc-graphql does: unset markers (null, omitted, blank
// strings, the Go zero time, empty objects) are null; a value that does not parse is null
// with an UPSTREAM_BAD_RESPONSE error at the field.

const INVALID = Symbol('invalid');

function fieldError(field) {
  return coded(`Bloc sent a value for \`${field}\` that could not be read`, 'UPSTREAM_BAD_RESPONSE');
}

function orThrow(value, field) {
  if (value === INVALID) throw fieldError(field);
  return value;
}

function readText(value) {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') return INVALID;
  const trimmed = value.trim();
  return trimmed === '' ? null : trimmed;
}

// The text when it parsed and is set, null otherwise (for names and filters).
function textValue(value) {
  const text = readText(value);
  return text === INVALID ? null : text;
}

function readKycTier(value) {
  if (value === undefined || value === null) return null;
  let tier;
  if (typeof value === 'string') {
    const trimmed = value.trim();
    if (trimmed === '') return null;
    if (!/^\+?\d+$/.test(trimmed)) return INVALID;
    tier = Number(trimmed.replace(/^\+/, ''));
  } else if (typeof value === 'number' && Number.isInteger(value) && value >= 0) {
    tier = value;
  } else {
    return INVALID;
  }
  return tier <= 3 ? tier : INVALID;
}

function readKeyword(value, known) {
  const text = readText(value);
  if (text === null || text === INVALID) return text;
  const key = text.toLowerCase();
  return Object.hasOwn(known, key) ? known[key] : INVALID;
}

const STATUSES = { active: 'ACTIVE', archived: 'ARCHIVED' };
const ENVIRONMENTS = { test: 'TEST', live: 'LIVE' };

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})$/;

function validDate(year, month, day) {
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  const days = [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1];
  return day <= days;
}

// An RFC 3339 instant, printed with the offset Bloc sent (`Z` for UTC) and 0, 3, 6 or 9
// fraction digits, whichever is the shortest exact form.
function readDateTime(value) {
  const text = readText(value);
  if (text === null || text === INVALID) return text;
  const m = RFC3339.exec(text);
  if (!m) return INVALID;
  const [, y, mo, d, h, mi, s, fraction = '', offset] = m;
  if (!validDate(+y, +mo, +d) || +h > 23 || +mi > 59 || +s > 60) return INVALID;
  if (offset.length > 1 && (+offset.slice(1, 3) > 23 || +offset.slice(4) > 59)) return INVALID;
  if (+y <= 1) return null;
  const nanos = (fraction + '000000000').slice(0, 9);
  let shown = '';
  if (!/^0+$/.test(nanos)) {
    if (nanos.endsWith('000000')) shown = `.${nanos.slice(0, 3)}`;
    else if (nanos.endsWith('000')) shown = `.${nanos.slice(0, 6)}`;
    else shown = `.${nanos}`;
  }
  const zone = offset === 'Z' || offset === 'z' || offset === '+00:00' ? 'Z' : offset;
  return `${y}-${mo}-${d}T${h}:${mi}:${s}${shown}${zone}`;
}

// A calendar date, taken as written from an RFC 3339 timestamp or a bare YYYY-MM-DD.
function readDate(value) {
  const text = readText(value);
  if (text === null || text === INVALID) return text;
  let date;
  if (RFC3339.test(text)) {
    if (readDateTime(text) === INVALID) return INVALID;
    date = text.slice(0, 10);
  } else if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    date = text;
  } else {
    return INVALID;
  }
  const [y, mo, d] = date.split('-').map(Number);
  if (!validDate(y, mo, d)) return INVALID;
  return y <= 1 ? null : date;
}

// A nested object (address, SyncData): null when every part is unset.
function readObject(value, parts) {
  if (value === undefined || value === null) return null;
  if (!isObject(value)) return INVALID;
  return parts.every((part) => readText(value[part]) === null) ? null : value;
}

const ADDRESS_PARTS = ['street', 'city', 'state', 'country', 'postal_code'];

const ACCOUNT_STATUSES = { open: 'OPEN', frozen: 'FROZEN', closed: 'CLOSED' };
const CARD_STATUSES = { active: 'ACTIVE', frozen: 'FROZEN', blocked: 'BLOCKED' };
const TRANSACTION_STATUSES = { successful: 'SUCCESSFUL', failed: 'FAILED', pending: 'PENDING' };
const DRCRS = { cr: 'CREDIT', credit: 'CREDIT', dr: 'DEBIT', debit: 'DEBIT' };

// A whole number sent as a JSON integer or a string of digits; null when unset.
function readWhole(value) {
  if (typeof value === 'string') {
    const text = value.trim();
    if (text === '') return null;
    return /^[+-]?\d+$/.test(text) ? Number(text) : INVALID;
  }
  if (value === undefined || value === null) return null;
  return Number.isInteger(value) ? value : INVALID;
}

function readInt(value) {
  const whole = readWhole(value);
  return whole === INVALID || whole === null || Math.abs(whole) < 2 ** 31 ? whole : INVALID;
}

// Integer kobo as Money: `kobo` exact, `amount` in naira with two decimals, the record's
// currency ("NGN" when it has none).
function readMoney(value, currency) {
  const kobo = readWhole(value);
  if (kobo === null || kobo === INVALID) return kobo;
  if (!Number.isSafeInteger(kobo)) return INVALID;
  const code = readText(currency);
  if (code === INVALID) return INVALID;
  const whole = Math.abs(kobo);
  const naira = `${Math.trunc(whole / 100)}.${String(whole % 100).padStart(2, '0')}`;
  return { kobo: String(kobo), amount: kobo < 0 ? `-${naira}` : naira, currency: code ?? 'NGN' };
}

function moneyField(field) {
  return (parent) => orThrow(readMoney(parent[field], parent.currency), field);
}

function squash(parts) {
  return parts.join(' ').split(/\s+/).filter(Boolean).join(' ');
}

// "<first> <last>", else Bloc's surname-first full_name, else "".
function displayName(customer) {
  const parts = [textValue(customer.first_name), textValue(customer.last_name)].filter((p) => p !== null);
  const name = squash(parts);
  if (name !== '') return name;
  const full = textValue(customer.full_name);
  return full === null ? '' : squash([full]);
}

function textField(field) {
  return (parent) => orThrow(readText(parent[field]), field);
}

function textFields(...fields) {
  return Object.fromEntries(fields.map((field) => [field, textField(field)]));
}

// A reference by id: Bloc's all-zero ObjectId means none, as an empty string does.
function readId(value) {
  const id = readText(value);
  return typeof id === 'string' && /^0+$/.test(id) ? null : id;
}

function idField(field) {
  return (parent) => orThrow(readId(parent[field]), field);
}

// The record a relation points at by id, or null when the id is unset.
function byId(loader, id) {
  const key = readId(id);
  return key === null || key === INVALID ? null : loader.load(key);
}

// ---------------------------------------------------------------------------------------
// Filtering and paging over the one list call.

function badInput(message) {
  return coded(message, 'BAD_USER_INPUT');
}

function checkedId(id) {
  if (id === '') throw badInput('id must not be empty');
  if ([...id].length > MAX_ID_LEN) throw badInput(`id must be at most ${MAX_ID_LEN} characters`);
  return id;
}

function lowered(text) {
  if (text === undefined || text === null) return null;
  const squashed = squash([text]).toLowerCase();
  return squashed === '' ? null : squashed;
}

// The peer has no scopes: search looks at email and phone too (as for a `customers:pii` caller).
function matcher(filter) {
  if (!filter) return () => true;
  const { status, kyc_tier: kycTier, customer_type: customerType, search } = filter;
  if (kycTier !== undefined && kycTier !== null && (kycTier < 0 || kycTier > 3)) {
    throw badInput('filter.kyc_tier must be between 0 and 3');
  }
  if (typeof search === 'string' && [...search].length > MAX_SEARCH_LEN) {
    throw badInput(`filter.search must be at most ${MAX_SEARCH_LEN} characters`);
  }
  const wantedType = lowered(customerType);
  const needle = lowered(search);
  return (customer) => {
    if (status != null && readKeyword(customer.status, STATUSES) !== status) return false;
    if (kycTier != null && readKycTier(customer.kyc_tier) !== kycTier) return false;
    if (wantedType !== null) {
      const kind = textValue(customer.customer_type);
      if (kind === null || kind.toLowerCase() !== wantedType) return false;
    }
    if (needle === null) return true;
    const haystacks = [
      squash([textValue(customer.full_name) ?? '']).toLowerCase(),
      displayName(customer).toLowerCase(),
      (textValue(customer.email) ?? '').toLowerCase(),
      (textValue(customer.phone_number) ?? '').toLowerCase(),
    ];
    return haystacks.some((hay) => hay.includes(needle));
  };
}

// The list is fetched at most once per request, however many fields ask for it.
function listing(ctx) {
  ctx.listing ??= ctx.bloc.listCustomers();
  return ctx.listing;
}

// One page of a customer's or an account's transactions, through the request's loader (the
// same page asked for twice costs one call).
function transactionPage(ctx, scope, owner, { limit, offset, filter }) {
  limit ??= DEFAULT_TRANSACTIONS;
  if (limit < 0 || limit > MAX_TRANSACTIONS) throw badInput(`limit must be between 0 and ${MAX_TRANSACTIONS}`);
  offset ??= 0;
  if (offset < 0 || offset > MAX_TRANSACTIONS_OFFSET) {
    throw badInput(`offset must be between 0 and ${MAX_TRANSACTIONS_OFFSET}`);
  }
  if (limit === 0) return [];
  const drcr = { CREDIT: 'CR', DEBIT: 'DR' }[filter?.drcr] ?? null;
  const status = filter?.status?.toLowerCase() ?? null;
  return ctx.transactions.load({ scope, owner, limit, offset, drcr, status });
}

// Bloc pages by page number: an offset that is not a multiple of the limit spans two pages.
async function loadTransactions(bloc, { limit, offset, ...rest }) {
  const first = Math.floor(offset / limit) + 1;
  const pages = offset % limit === 0 ? [first] : [first, first + 1];
  const found = await Promise.all(pages.map((page) => bloc.transactions({ ...rest, perPage: limit, page })));
  const skip = offset - (first - 1) * limit;
  return found.flat().slice(skip, skip + limit);
}

// ---------------------------------------------------------------------------------------
// Resolvers.

function stringScalar(name, description) {
  const check = (value) => {
    if (typeof value !== 'string') throw new GraphQLError(`${name} must be a string`);
    return value;
  };
  return new GraphQLScalarType({
    name,
    description,
    serialize: check,
    parseValue: check,
    parseLiteral(ast) {
      if (ast.kind !== Kind.STRING) throw new GraphQLError(`${name} must be a string`);
      return ast.value;
    },
  });
}

const resolvers = {
  DateTime: stringScalar('DateTime', 'An RFC 3339 instant.'),
  Date: stringScalar('Date', 'A calendar date as YYYY-MM-DD.'),

  Query: {
    customer(_root, { id }, ctx) {
      return ctx.customers.load(checkedId(id));
    },

    async customers_by_id(_root, { ids }, ctx) {
      if (ids.length > MAX_IDS) throw badInput(`ids must hold at most ${MAX_IDS} ids`);
      ids.forEach(checkedId);
      // An Error in the list becomes null with an error at its index.
      return ctx.customers.loadMany(ids);
    },

    async customers(_root, { limit, offset, filter }, ctx) {
      limit ??= DEFAULT_LIMIT;
      if (limit < 0 || limit > MAX_LIMIT) throw badInput(`limit must be between 0 and ${MAX_LIMIT}`);
      offset ??= 0;
      if (offset < 0) throw badInput('offset must not be negative');
      const matches = matcher(filter);
      const all = await listing(ctx);
      const page = [];
      let skipped = 0;
      for (const customer of all) {
        if (page.length >= limit) break;
        if (!matches(customer)) continue;
        if (skipped < offset) {
          skipped += 1;
          continue;
        }
        page.push(customer);
      }
      return page;
    },

    account(_root, { id }, ctx) {
      return ctx.accounts.load(checkedId(id));
    },

    async account_by_number(_root, { account_number: number }, ctx) {
      const account = await ctx.accountsByNumber.load(checkedId(number));
      if (account) ctx.accounts.prime(account.id, account);
      return account;
    },

    transaction(_root, { reference }, ctx) {
      return ctx.transactionsByReference.load(checkedId(reference));
    },

    async customer_count(_root, { filter }, ctx) {
      const matches = matcher(filter);
      const all = await listing(ctx);
      return Math.min(all.filter(matches).length, 2 ** 31 - 1);
    },
  },

  Customer: {
    id: (c) => c.id,
    name: displayName,
    kyc_tier: (c) => orThrow(readKycTier(c.kyc_tier), 'kyc_tier'),
    status: (c) => orThrow(readKeyword(c.status, STATUSES), 'status'),
    environment: (c) => orThrow(readKeyword(c.environment, ENVIRONMENTS), 'environment'),
    created_at: (c) => orThrow(readDateTime(c.created_at), 'created_at'),
    updated_at: (c) => orThrow(readDateTime(c.updated_at), 'updated_at'),
    date_of_birth: (c) => orThrow(readDate(c.date_of_birth), 'date_of_birth'),
    address: (c) => orThrow(readObject(c.address, ADDRESS_PARTS), 'address'),
    SyncData: (c) => orThrow(readObject(c.SyncData, ['Provider', 'ID']), 'SyncData'),
    accounts: (c, _args, ctx) => ctx.customerAccounts.load(c.id),
    cards: (c, _args, ctx) => ctx.customerCards.load(c.id),
    wallets: (c, _args, ctx) => ctx.customerWallets.load(c.id),
    transactions: (c, args, ctx) => transactionPage(ctx, 'customer_id', c.id, args),
    ...textFields(
      'full_name', 'first_name', 'last_name', 'organization_id', 'country', 'group',
      'kyc_status', 'customer_type', 'source', 'gender', 'means_of_identity', 'email',
      'phone_number', 'bvn', 'place_of_birth', 'image_url', 'means_of_identity_url',
      'identity_url',
    ),
  },

  Account: {
    ...textFields('id', 'name', 'account_number', 'bank_name', 'type', 'currency', 'alias'),
    customer_id: idField('customer_id'),
    status: (a) => orThrow(readKeyword(a.status, ACCOUNT_STATUSES), 'status'),
    balance: moneyField('balance'),
    kyc_tier: (a) => orThrow(readKycTier(a.kyc_tier), 'kyc_tier'),
    customer: (a, _args, ctx) => byId(ctx.customers, a.customer_id),
    created_at: (a) => orThrow(readDateTime(a.created_at), 'created_at'),
    updated_at: (a) => orThrow(readDateTime(a.updated_at), 'updated_at'),
    transactions: (a, args, ctx) => transactionPage(ctx, 'account_id', a.id, args),
  },

  Card: {
    ...textFields('id', 'name', 'type', 'brand', 'currency'),
    customer_id: idField('customer_id'),
    status: (c) => orThrow(readKeyword(c.status, CARD_STATUSES), 'status'),
    billing_address: (c) => orThrow(readObject(c.billing_address, ADDRESS_PARTS), 'billing_address'),
    expiry_month: (c) => orThrow(readInt(c.expiry_month), 'expiry_month'),
    expiry_year: (c) => orThrow(readInt(c.expiry_year), 'expiry_year'),
    created_at: (c) => orThrow(readDateTime(c.created_at), 'created_at'),
    updated_at: (c) => orThrow(readDateTime(c.updated_at), 'updated_at'),
    customer: (c, _args, ctx) => byId(ctx.customers, c.customer_id),
  },

  Wallet: {
    ...textFields('id', 'alias', 'account_number', 'bank_name', 'status'),
    customer_id: idField('customer_id'),
    balance: moneyField('balance'),
    created_at: (w) => orThrow(readDateTime(w.created_at), 'created_at'),
    customer: (w, _args, ctx) => byId(ctx.customers, w.customer_id),
  },

  Transaction: {
    ...textFields('id', 'reference', 'narration', 'payment_method', 'payment_type', 'source'),
    account_id: idField('account_id'),
    customer_id: idField('customer_id'),
    amount: moneyField('amount'),
    fee: moneyField('fee'),
    previous_account_balance: moneyField('previous_account_balance'),
    current_account_balance: moneyField('current_account_balance'),
    drcr: (t) => orThrow(readKeyword(t.drcr, DRCRS), 'drcr'),
    status: (t) => orThrow(readKeyword(t.status, TRANSACTION_STATUSES), 'status'),
    account: (t, _args, ctx) => byId(ctx.accounts, t.account_id),
    customer: (t, _args, ctx) => byId(ctx.customers, t.customer_id),
    created_at: (t) => orThrow(readDateTime(t.created_at), 'created_at'),
  },

  Address: Object.fromEntries(ADDRESS_PARTS.map((part) => [part, textField(part)])),

  SyncData: {
    Provider: textField('Provider'),
    ID: textField('ID'),
  },
};

// ---------------------------------------------------------------------------------------
// Server.

const server = new ApolloServer({
  typeDefs,
  resolvers,
  allowBatchedHttpRequests: true,
  plugins: [
    ApolloServerPluginLandingPageDisabled(),
    ApolloServerPluginCacheControlDisabled(),
    ApolloServerPluginInlineTraceDisabled(),
    ApolloServerPluginUsageReportingDisabled(),
    ApolloServerPluginSchemaReportingDisabled(),
  ],
});

process.on('unhandledRejection', (reason) => {
  console.error('unhandled rejection:', reason);
});

// A per-request loader over a one-key Bloc call (Bloc has no batch endpoints): the keys of a
// batch are asked for concurrently, each once; a failed key is an Error in its place.
function loader(fetchOne, options) {
  return new DataLoader((keys) => Promise.all(keys.map((key) => fetchOne(key).catch((error) => error))), options);
}

const { url } = await startStandaloneServer(server, {
  listen: { port: PORT, host: HOST },
  // A fresh data source and loaders per HTTP request (shared by the operations of a batch).
  context: async () => {
    const bloc = new BlocAPI({ cache: server.cache, fetch: keepAliveFetch });
    return {
      bloc,
      listing: undefined,
      customers: loader((id) => bloc.getCustomer(id)),
      accounts: loader((id) => bloc.getAccount(id)),
      accountsByNumber: loader((number) => bloc.getAccountByNumber(number)),
      transactionsByReference: loader((reference) => bloc.getTransaction(reference)),
      customerAccounts: loader((id) => bloc.customerAccounts(id)),
      customerCards: loader((id) => bloc.customerCards(id)),
      customerWallets: loader((id) => bloc.customerWallets(id)),
      transactions: loader((page) => loadTransactions(bloc, page), { cacheKeyFn: JSON.stringify }),
    };
  },
});

console.log(`apollo peer listening on ${url} (upstream ${BLOC_API_URL})`);
