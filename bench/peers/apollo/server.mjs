// Apollo Server peer for bloc-graphql's benchmarks.
//
// The same schema (read from the repo's schema.graphql) over the same Bloc REST upstream,
// built the way a Node.js team would: Apollo Server's standalone HTTP server, a
// RESTDataSource for Bloc and a per-request DataLoader for customers by id. No auth, scopes,
// PII guards, rate limits or query limits: this is Apollo's unprotected best case.
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

  // GET and unwrap Bloc's `{success, data, message}` envelope.
  async data(path) {
    let body;
    try {
      body = await this.get(path);
    } catch (error) {
      if (error instanceof GraphQLError) throw error;
      throw coded(`Bloc could not be reached: ${error.message}`, 'UPSTREAM_UNAVAILABLE');
    }
    if (body === null || typeof body !== 'object' || typeof body.success !== 'boolean') {
      throw badResponse('not a Bloc envelope');
    }
    if (!body.success) throw coded('Bloc reported the call as unsuccessful', 'UPSTREAM_BAD_RESPONSE');
    return body.data ?? null;
  }

  // One customer by id; null when Bloc does not know it (404, or 400 for a malformed id).
  async getCustomer(id) {
    if (id === '.' || id === '..') return null;
    let data;
    try {
      data = await this.data(`customers/${encodeURIComponent(id)}`);
    } catch (error) {
      const status = error.extensions?.status;
      if (status === 404 || status === 400) return null;
      throw error;
    }
    if (!isRecord(data)) throw badResponse('customer record without a string id');
    return data;
  }

  // Every customer; records without a string id are left out.
  async listCustomers() {
    const data = await this.data('customers');
    if (data === null) return [];
    if (!Array.isArray(data)) throw badResponse('customer list is not an array');
    return data.filter(isRecord);
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
    ...Object.fromEntries(
      [
        'full_name', 'first_name', 'last_name', 'organization_id', 'country', 'group',
        'kyc_status', 'customer_type', 'source', 'gender', 'means_of_identity', 'email',
        'phone_number', 'bvn', 'place_of_birth', 'image_url', 'means_of_identity_url',
        'identity_url',
      ].map((field) => [field, textField(field)]),
    ),
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

const { url } = await startStandaloneServer(server, {
  listen: { port: PORT, host: HOST },
  // A fresh data source and loader per HTTP request (shared by the operations of a batch).
  context: async () => {
    const bloc = new BlocAPI({ cache: server.cache, fetch: keepAliveFetch });
    const customers = new DataLoader((ids) =>
      Promise.all(ids.map((id) => bloc.getCustomer(id).catch((error) => error))),
    );
    return { bloc, customers, listing: undefined };
  },
});

console.log(`apollo peer listening on ${url} (upstream ${BLOC_API_URL})`);
