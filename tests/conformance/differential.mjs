// Differential testing against graphql-js, the GraphQL reference implementation.
//
// The facade and graphql-js execute the same schema.graphql over the same Bloc data with the
// same upstream failures, and must give the same `data` (key order included) and the same
// errors (by path, message and code; the spec leaves their order open).
//
// What each field resolves to (a value or an error) is the facade's business: the world
// graphql-js executes over is read from the facade's answers to one-field probe queries.
// How fields combine into a result is the spec's: which keys appear, in what order, where
// `null` goes and how far it propagates through non-null types, with fragments, aliases,
// `@skip`/`@include`, variables and lists. That part graphql-js decides here.
//
// A customer's relations (accounts, cards, wallets, transactions) are probed per argument set:
// one probe for the list (its length, or its error), then one per item field, whose answer
// holds that field of every item and whose errors carry the items' indices. An error the
// facade reports beside a value (records it could not read) is added where graphql-js kept
// the value.
//
//   node differential.mjs plan '<json: {kinds, related, seed, count}>'   -> {probes, corpus}
//   node differential.mjs compare <results.json>                -> report; exit 1 on mismatch
//
// tests/api/differential.rs drives both steps.

import { readFileSync } from "node:fs";
import {
  buildSchema,
  execute,
  parse,
  validate,
  GraphQLError,
  getNamedType,
  isObjectType,
  isLeafType,
  isEnumType,
  isNonNullType,
} from "graphql";

const schema = buildSchema(
  readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8"),
);
const customerType = schema.getType("Customer");
// The Bloc records. A field leading to one is a relation (another Bloc call): relations are
// followed one level deep, from Customer (its accounts, cards, wallets and transactions); the
// records' own back-references (`customer`, `account`, `Account.transactions`) are left out.
const RECORDS = new Set(["Customer", "Account", "Card", "Wallet", "Transaction"]);
const RELATIONS = Object.entries(customerType.getFields())
  .filter(([, field]) => RECORDS.has(getNamedType(field.type).name))
  .map(([name]) => name);
const isRelation = (type, name) => type === customerType && RELATIONS.includes(name);

/// The fields of `type` the corpus selects: Customer's all, the other records' without the
/// back-references.
const fieldsOf = (type) =>
  Object.entries(type.getFields()).filter(
    ([, field]) => type === customerType || !RECORDS.has(getNamedType(field.type).name),
  );
/// The same without Customer's relations: what one probe per field covers.
const plainFields = (type) => fieldsOf(type).filter(([name]) => !isRelation(type, name));

/// Leaf paths below `type`: ["name"], ["address"], ["address", "city"], ...
function leafPaths(type) {
  const paths = [];
  for (const [name, field] of plainFields(type)) {
    const named = getNamedType(field.type);
    paths.push([name]);
    if (isObjectType(named)) {
      for (const [sub] of plainFields(named)) paths.push([name, sub]);
    }
  }
  return paths;
}

function selection(path, type = customerType) {
  const [head, ...rest] = path;
  const named = getNamedType(type.getFields()[head].type);
  if (rest.length === 0) return isObjectType(named) ? `${head} { __typename }` : head;
  return `${head} { ${selection(rest, named)} }`;
}

// The arguments `transactions` is probed with, so the corpus may use any of them (literally,
// or `limit` from a variable, given or left out): defaults, a page, an empty page, a page
// past the start, filters, an explicit null and a limit out of range.
const TRANSACTION_ARGUMENTS = [
  {},
  { limit: 1 },
  { limit: 2 },
  { limit: 0 },
  { limit: 2, offset: 2 },
  { filter: { drcr: "DEBIT" } },
  { limit: 1, filter: { status: "SUCCESSFUL" } },
  { limit: null },
  { limit: 101 },
];

/// The argument sets `field` is probed with.
const argumentSets = (field) => (field.args.length ? TRANSACTION_ARGUMENTS : [{}]);

/// A value as a GraphQL literal: strings are enum values, `{ $: name }` a variable.
function literal(value) {
  if (value === null) return "null";
  if (typeof value === "object" && "$" in value) return `$${value.$}`;
  if (typeof value === "object") {
    return `{ ${Object.entries(value).map(([k, v]) => `${k}: ${literal(v)}`).join(", ")} }`;
  }
  return String(value);
}

const argumentsText = (args) => {
  const entries = Object.entries(args);
  return entries.length ? `(${entries.map(([k, v]) => `${k}: ${literal(v)}`).join(", ")})` : "";
};

/// What the arguments of `field` come to once defaults are applied, as a key: the same for
/// the probe's literal arguments and for graphql-js's coerced ones.
function argumentsKey(field, args) {
  const canonical = (value) =>
    value !== null && typeof value === "object"
      ? Object.fromEntries(Object.keys(value).sort().map((k) => [k, canonical(value[k])]))
      : value;
  return JSON.stringify(
    field.args.map((arg) => canonical(arg.name in args ? args[arg.name] : (arg.defaultValue ?? null))),
  );
}

// ---------------------------------------------------------------- plan: probes and corpus

function probes(ids, related) {
  const list = [
    { key: ["list"], query: "{ customers(limit: 500) { id } }" },
    { key: ["count"], query: "{ customer_count }" },
  ];
  for (const id of ids) {
    list.push({
      key: ["customer", id],
      query: "query($id: ID!) { customer(id: $id) { __typename } }",
      variables: { id },
    });
    for (const path of leafPaths(customerType)) {
      list.push({
        key: ["field", id, ...path],
        query: `query($id: ID!) { customer(id: $id) { ${selection(path)} } }`,
        variables: { id },
      });
    }
  }
  // A relation's list (its length, or its error), then each field of its items: the probe's
  // answer holds that field of every item, and its errors carry the items' indices.
  for (const id of related) {
    for (const name of RELATIONS) {
      const field = customerType.getFields()[name];
      const itemType = getNamedType(field.type);
      for (const args of argumentSets(field)) {
        const at = [id, name, argumentsKey(field, args)];
        const relation = `${name}${argumentsText(args)}`;
        list.push({
          key: ["relation", ...at],
          query: `query($id: ID!) { customer(id: $id) { ${relation} { __typename } } }`,
          variables: { id },
        });
        for (const path of leafPaths(itemType)) {
          list.push({
            key: ["item", ...at, ...path],
            query: `query($id: ID!) { customer(id: $id) { ${relation} { ${selection(path, itemType)} } } }`,
            variables: { id },
          });
        }
      }
    }
  }
  return list;
}

/// A small seeded PRNG (mulberry32), so the generated corpus is the same on every run.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/// Random queries: root fields over every id (good, drifted, failing, unknown), aliases,
/// named and inline fragments, @skip/@include from literals and variables, lists and
/// nested objects, and a customer's relations (lists of records, `transactions` with
/// arguments).
function generate(ids, seed, count) {
  const random = prng(seed);
  const pick = (items) => items[Math.floor(random() * items.length)];
  const chance = (p) => random() < p;
  const corpus = [];
  for (let n = 0; n < count; n++) {
    const fragments = [];
    const variables = {};
    const declarations = [];
    let aliasCount = 0;
    let fragmentCount = 0;
    // A few relations a query at most: a batch of four queries stays within the facade's
    // budget of Bloc calls per request (each relation is a call per customer it is under).
    let relationsLeft = 3;
    const condition = () => {
      if (!chance(0.3)) return "";
      const directive = pick(["skip", "include"]);
      if (chance(0.5)) return ` @${directive}(if: ${pick(["true", "false"])})`;
      const name = `v${declarations.length}`;
      declarations.push(`$${name}: Boolean!`);
      variables[name] = chance(0.5);
      return ` @${directive}(if: $${name})`;
    };
    const alias = () => (chance(0.3) ? `a${aliasCount++}: ` : "");
    // Arguments of a relation, if it takes any: one of the probed sets, `limit` sometimes
    // from a variable (left out when the set has none, so the default applies). A field
    // with arguments always gets an alias, so two of them never conflict.
    const relationArguments = (field) => {
      if (!field.args.length || !chance(0.6)) return "";
      const args = { ...pick(argumentSets(field)) };
      if (chance(0.3)) {
        const name = `n${declarations.length}`;
        declarations.push(`$${name}: Int`);
        if ("limit" in args) variables[name] = args.limit;
        args.limit = { $: name };
      }
      return argumentsText(args);
    };
    const objectSelection = (type, depth) => {
      const fields = plainFields(type);
      const items = [];
      const size = 1 + Math.floor(random() * 4);
      for (let i = 0; i < size; i++) {
        let [name, field] = pick(fields);
        let args = "";
        if (type === customerType && relationsLeft > 0 && chance(0.3)) {
          relationsLeft -= 1;
          name = pick(RELATIONS);
          field = type.getFields()[name];
          args = relationArguments(field);
        }
        const named = getNamedType(field.type);
        const key = args ? `a${aliasCount++}: ` : alias();
        let item = isObjectType(named)
          ? `${key}${name}${args}${condition()} { ${objectSelection(named, depth + 1)} }`
          : `${key}${name}${condition()}`;
        if (chance(0.15)) item = `... on ${type.name}${condition()} { ${item} }`;
        else if (chance(0.15)) {
          const fragment = `F${fragmentCount++}`;
          fragments.push(`fragment ${fragment} on ${type.name} { ${item} }`);
          item = `...${fragment}${condition()}`;
        }
        items.push(item);
      }
      if (chance(0.1)) items.push("__typename");
      return items.join(" ");
    };
    const root = [];
    const rootSize = 1 + Math.floor(random() * 3);
    for (let i = 0; i < rootSize; i++) {
      const kind = pick(["customer", "customer", "customer", "by_id", "list", "count"]);
      const key = `r${i}: `;
      if (kind === "customer") {
        const id = pick(ids);
        let argument = JSON.stringify(id);
        if (chance(0.3)) {
          const name = `id${declarations.length}`;
          declarations.push(`$${name}: ID!`);
          variables[name] = id;
          argument = `$${name}`;
        }
        root.push(`${key}customer(id: ${argument})${condition()} { ${objectSelection(customerType, 1)} }`);
      } else if (kind === "by_id") {
        const chosen = Array.from({ length: 1 + Math.floor(random() * 4) }, () => pick(ids));
        root.push(`${key}customers_by_id(ids: ${JSON.stringify(chosen)})${condition()} { ${objectSelection(customerType, 1)} }`);
      } else if (kind === "list") {
        const limit = Math.floor(random() * 4);
        const offset = Math.floor(random() * 3);
        root.push(`${key}customers(limit: ${limit}, offset: ${offset})${condition()} { ${objectSelection(customerType, 1)} }`);
      } else {
        root.push(`${key}customer_count${condition()}`);
      }
    }
    const head = declarations.length ? `query Q(${declarations.join(", ")})` : "query Q";
    corpus.push({
      name: `generated ${n}`,
      query: `${head} { ${root.join(" ")} }\n${fragments.join("\n")}`,
      variables,
    });
  }
  return corpus;
}

/// Hand-written edge cases. `ID.x` stands for the id of kind x (see tests/api/differential.rs).
function handWritten(kinds) {
  const cases = [
    ["upstream JSON unreadable", `{ customer(id: "${kinds.badjson}") { id } }`],
    ["one alias fails, one unknown", `{ a: customer(id: "${kinds.fails}") { id } b: customer(id: "${kinds.unknown}") { id } }`],
    ["every selected field unreadable", `{ customer(id: "${kinds.drifted}") { kyc_tier status } }`],
    ["unreadable fields among readable ones", `{ customer(id: "${kinds.drifted}") { id kyc_tier name status created_at } }`],
    ["an unreadable object", `{ customer(id: "${kinds.drifted}") { id address { city street } SyncData { Provider } } }`],
    ["PII beside plain fields", `{ customer(id: "${kinds.good}") { name bvn phone_number kyc_tier } }`],
    ["only PII fields", `{ customer(id: "${kinds.good}") { bvn date_of_birth } }`],
    ["the whole selection skipped", `{ customer(id: "${kinds.good}") { name @skip(if: true) } }`],
    ["every root field skipped", `{ customer(id: "${kinds.good}") @skip(if: true) { id } }`],
    ["a skipped fragment", `{ customer(id: "${kinds.good}") { ...F @include(if: false) } } fragment F on Customer { id }`],
    ["a failing id in a list", `{ customers_by_id(ids: ["${kinds.good}", "${kinds.fails}", "${kinds.unknown}", "${kinds.drifted}"]) { id kyc_tier } }`],
    ["the same key from two fragments", `{ c: customer(id: "${kinds.drifted}") { ...A ...B } } fragment A on Customer { kyc_tier id } fragment B on Customer { name kyc_tier }`],
    ["the same failing field twice", `{ c: customer(id: "${kinds.fails}") { id } c: customer(id: "${kinds.fails}") { name } }`],
    ["a list with unreadable items", `{ customers(limit: 10) { id kyc_tier status } customer_count }`],
    ["the list beside single lookups", `{ a: customer(id: "${kinds.good}") { name } customers(limit: 2) { name } b: customer(id: "${kinds.badjson}") { name } }`],
    ["typename only", `{ __typename customer(id: "${kinds.drifted}") { __typename } }`],
    ["inline fragments with conditions", `query($yes: Boolean = true) { customer(id: "${kinds.drifted}") { ... on Customer @include(if: $yes) { kyc_tier } ... @skip(if: $yes) { id } address { ... on Address { city } } } }`],
    ["nested objects with failures at every depth", `{ a: customer(id: "${kinds.fails}") { address { city } } b: customer(id: "${kinds.drifted}") { address { city } } c: customer(id: "${kinds.good}") { address { city } SyncData { Provider ID } } }`],
    ["the same alias twice, merged", `{ c: customer(id: "${kinds.drifted}") { id } c: customer(id: "${kinds.drifted}") { kyc_tier address { city } } }`],
    ["every field of a list item skipped", `query($no: Boolean = false) { customers_by_id(ids: ["${kinds.good}", "${kinds.unknown}"]) { id @include(if: $no) } }`],
    ["a fragment spread inside an inline fragment", `{ customer(id: "${kinds.drifted}") { ... on Customer { ...F status } } } fragment F on Customer { kyc_tier name }`],
    // A customer's relations: lists of records, their errors at item indices, `null` through
    // non-null items.
    ["relations under a page of customers", `{ customers(limit: 3) { id accounts { id status balance { amount } } transactions(limit: 2) { reference amount { kobo } } } }`],
    ["a relation twice under aliases", `{ customer(id: "${kinds.good}") { first: transactions(limit: 2) { reference drcr } all: transactions { id drcr status } accounts { id } again: accounts { status balance { kobo } } } }`],
    ["a relation merged from two selections", `{ customer(id: "${kinds.good}") { transactions(limit: 2) { id } transactions(limit: 2) { amount { amount } fee { amount } } } }`],
    ["a fragment on Account", `{ a: customer(id: "${kinds.drifted}") { accounts { ...A } } b: customer(id: "${kinds.good}") { accounts { ...A } } } fragment A on Account { id status kyc_tier created_at balance { kobo amount currency } }`],
    ["skipped relations", `query($yes: Boolean = true) { customer(id: "${kinds.good}") { name cards @skip(if: $yes) { id } wallets @include(if: $yes) { balance { amount } } transactions @skip(if: true) { reference } } }`],
    ["a non-null violation in a list item", `{ customer(id: "${kinds.good3}") { name transactions { id reference } accounts { id } } }`],
    ["non-null items outside the page", `{ customer(id: "${kinds.good3}") { first: transactions(limit: 1) { reference } later: transactions(limit: 2, offset: 2) { reference } } }`],
    ["a non-null Money that does not parse", `{ customer(id: "${kinds.drifted}") { transactions { id amount { amount } fee { kobo } drcr status } } }`],
    ["nullable fields that do not parse in items", `{ customer(id: "${kinds.drifted}") { accounts { id status balance { amount } kyc_tier } cards { billing_address { city } expiry_year } wallets { created_at balance { kobo } } transactions { fee { kobo } drcr status } } }`],
    ["failing and empty relations", `{ customer(id: "${kinds.good2}") { accounts { id } cards { id } wallets { id } transactions { id } } }`],
    ["failing relations and dropped records", `{ customer(id: "${kinds.good4}") { accounts { id account_number } cards { status expiry_month billing_address { city } } wallets { id } transactions { id } } }`],
    ["dropped records under two aliases", `{ a: customer(id: "${kinds.good4}") { accounts { id } } b: customer(id: "${kinds.good4}") { accounts { id } } }`],
    ["relations of several customers by id", `{ customers_by_id(ids: ["${kinds.good3}", "${kinds.fails}", "${kinds.good}", "${kinds.unknown}", "${kinds.good3}"]) { id transactions(limit: 2) { reference } cards { brand } } }`],
    ["a violation in every page's customer", `{ customers(limit: 5) { id transactions { reference } } }`],
    ["relations inside inline fragments", `{ customer(id: "${kinds.good}") { ... on Customer { wallets { ... on Wallet { alias balance { currency } } } } } }`],
    ["an out-of-range limit beside an explicit null and zero", `{ customer(id: "${kinds.good}") { a: transactions(limit: 101) { id } b: transactions(limit: null) { id } c: transactions(limit: 0) { id } } }`],
    ["filters on transactions", `{ customer(id: "${kinds.good}") { debits: transactions(filter: { drcr: DEBIT }) { reference drcr } settled: transactions(limit: 1, filter: { status: SUCCESSFUL }) { reference status } } }`],
    ["item typenames and a card's address", `{ customer(id: "${kinds.good}") { cards { __typename id billing_address { formatted city } } } }`],
  ];
  const named = [
    {
      name: "the operation picked by name",
      query: `query A { customer(id: "${kinds.fails}") { id } } query B { customer(id: "${kinds.drifted}") { status name } }`,
      operationName: "B",
      variables: {},
    },
    {
      name: "a required variable left out",
      query: `query($a: ID!, $b: ID!) { a: customer(id: $a) { name } b: customer(id: $b) { name } }`,
      variables: { a: kinds.good },
    },
    {
      name: "a required variable set to null",
      query: `query($a: ID!) { a: customer(id: $a) { name } other: customer(id: "${kinds.good}") { name } }`,
      variables: { a: null },
    },
    ...[
      ["a limit from a variable left out", {}],
      ["a limit from a variable set to null", { n: null }],
      ["a limit from a variable", { n: 2 }],
    ].map(([name, variables]) => ({
      name,
      query: `query($n: Int) { customer(id: "${kinds.good3}") { transactions(limit: $n) { reference } } }`,
      variables,
    })),
    {
      name: "ids from variables, one failing",
      query: `query($a: ID!, $b: ID!) { a: customer(id: $a) { name } b: customer(id: $b) { name } }`,
      variables: { a: kinds.good, b: kinds.fails },
    },
  ];
  return [...cases.map(([name, query]) => ({ name, query, variables: {} })), ...named];
}

// ---------------------------------------------------------------- compare

/// A placeholder of `type` for items in a probe whose list null propagation threw away: the
/// same propagation throws it away in every query selecting that field, so it never shows
/// (and if it did, the comparison would fail).
function placeholder(type) {
  if (isEnumType(type)) return type.getValues()[0].value;
  if (isObjectType(type)) {
    return Object.fromEntries(
      plainFields(type).map(([name, field]) => [name, placeholder(getNamedType(field.type))]),
    );
  }
  return { Int: 0, Float: 0, Boolean: false }[type.name] ?? "";
}

/// A resolver's path as an array of keys and indices.
function pathOf(path) {
  const keys = [];
  for (let at = path; at; at = at.prev) keys.unshift(at.key);
  return keys;
}

class World {
  constructor(probes) {
    this.answers = new Map();
    for (const { key, response } of probes) this.answers.set(JSON.stringify(key), response);
    // Errors the facade reports beside a value (a relation's records it could not read),
    // which no graphql-js resolver can return: collected per execution.
    this.sideErrors = [];
    // What the corpus made graphql-js resolve, so a harness that stopped reaching the
    // relations fails instead of passing.
    this.covered = { lists: 0, items: 0, itemErrors: 0, nonNullItemErrors: 0, relationErrors: 0, sideErrors: 0 };
  }

  answer(key) {
    const response = this.answers.get(JSON.stringify(key));
    if (!response) throw new Error(`no probe for ${JSON.stringify(key)}`);
    return response;
  }

  /// The error the facade reported at `path`, as graphql-js should raise it.
  static errorAt(response, path) {
    const error = (response.errors || []).find(
      (e) => JSON.stringify(e.path) === JSON.stringify(path),
    );
    return error && new GraphQLError(error.message, { extensions: error.extensions });
  }

  /// The value graphql-js resolves `customer(id:)` to: an Error, null, or an object whose
  /// properties resolve each field.
  customer(id) {
    const response = this.answer(["customer", id]);
    const error = World.errorAt(response, ["customer"]);
    if (error) return error;
    if (response.data?.customer == null) return null;
    const object = {};
    for (const [name, field] of fieldsOf(customerType)) {
      const named = getNamedType(field.type);
      object[name] = isRelation(customerType, name)
        ? (args, _context, info) => this.relation(id, name, args, info)
        : () => this.field(id, [name], named);
    }
    return object;
  }

  field(id, path, type) {
    const response = this.answer(["field", id, ...path]);
    const full = ["customer", ...path];
    const error = World.errorAt(response, full);
    if (error) throw error;
    let value = response.data?.customer;
    for (const segment of path) value = value?.[segment];
    if (value == null || isLeafType(type)) return value ?? null;
    const object = {};
    for (const name of Object.keys(type.getFields())) {
      object[name] = () => this.field(id, [...path, name], getNamedType(type.getFields()[name].type));
    }
    return object;
  }

  /// A customer's relation `name` with `args`: an error, null, or one object per item.
  relation(id, name, args, info) {
    const field = customerType.getFields()[name];
    const at = [id, name, argumentsKey(field, args)];
    const response = this.answer(["relation", ...at]);
    const error = World.errorAt(response, ["customer", name]);
    const items = response.data?.customer?.[name];
    if (!Array.isArray(items)) {
      if (error) {
        this.covered.relationErrors += 1;
        throw error;
      }
      return null;
    }
    if (error) {
      this.covered.sideErrors += 1;
      this.sideErrors.push({ path: pathOf(info.path), error });
    }
    this.covered.lists += 1;
    this.covered.items += items.length;
    const type = getNamedType(field.type);
    return items.map((_, index) => this.itemObject(at, index, [], type));
  }

  /// The object at `path` in item `index` of the relation `at`, its fields resolved from
  /// the probes of each.
  itemObject(at, index, path, type) {
    const object = {};
    for (const [name, field] of plainFields(type)) {
      const named = getNamedType(field.type);
      const nonNull = isNonNullType(field.type);
      object[name] = () => this.itemField(at, index, [...path, name], named, nonNull);
    }
    return object;
  }

  itemField(at, index, path, type, nonNull) {
    const [, relation] = at;
    const response = this.answer(["item", ...at, ...path]);
    const error = World.errorAt(response, ["customer", relation, index, ...path]);
    if (error) {
      this.covered.itemErrors += 1;
      if (nonNull) this.covered.nonNullItemErrors += 1;
      throw error;
    }
    const items = response.data?.customer?.[relation];
    // Another item's error at this field took the probe's whole list.
    if (!Array.isArray(items)) return placeholder(type);
    let value = items[index];
    for (const segment of path) value = value?.[segment];
    if (value == null || isLeafType(type)) return value ?? null;
    return this.itemObject(at, index, path, type);
  }

  rootValue() {
    return {
      customer: ({ id }) => {
        const value = this.customer(id);
        if (value instanceof Error) throw value;
        return value;
      },
      customers_by_id: ({ ids }) => ids.map((id) => this.customer(id)),
      customers: ({ limit = 50, offset = 0 }) => {
        const response = this.answer(["list"]);
        const error = World.errorAt(response, ["customers"]);
        if (error) throw error;
        return response.data.customers
          .slice(offset, offset + limit)
          .map(({ id }) => this.customer(id));
      },
      customer_count: () => {
        const response = this.answer(["count"]);
        const error = World.errorAt(response, ["customer_count"]);
        if (error) throw error;
        return response.data.customer_count;
      },
    };
  }
}

function reference(world, { query, variables, operationName }) {
  operationName = operationName ?? undefined;
  const document = parse(query);
  const invalid = validate(schema, document);
  if (invalid.length) return { errors: invalid.map((e) => e.toJSON()) };
  world.sideErrors = [];
  const result = JSON.parse(
    JSON.stringify(
      execute({
        schema,
        document,
        rootValue: world.rootValue(),
        variableValues: variables,
        operationName,
      }),
    ),
  );
  // An error beside a value belongs where the value is still in the result.
  for (const { path, error } of world.sideErrors) {
    if (valueAt(result.data, path) != null) {
      result.errors = [...(result.errors || []), { ...error.toJSON(), path }];
    }
  }
  return result;
}

/// Errors as the comparison sees them: path, message and code, sorted.
function errorSet(result) {
  return (result.errors || [])
    .map((e) => JSON.stringify([e.path ?? null, e.message, e.extensions?.code ?? null]))
    .sort();
}

/// The value at `path` in `data`; undefined past a null.
function valueAt(data, path) {
  let value = data;
  for (const segment of path) value = value?.[segment];
  return value;
}

/// Whether `path` lies inside a part of `data` that null propagation threw away. Errors
/// there depend on when the executor stops (graphql-js stops at the first failing non-null
/// field while its sibling fields may already have failed too): the spec leaves reporting
/// them open.
function discarded(data, path) {
  let value = data;
  for (const segment of path.slice(0, -1)) {
    if (value === null || value === undefined) return true;
    value = value[segment];
  }
  return value === null || value === undefined;
}

/// The same errors, up to those under discarded data.
function sameErrors(got, expected) {
  const want = errorSet(expected);
  const have = errorSet(got);
  const missing = want.filter((e) => !have.includes(e));
  const extra = (got.errors || []).filter(
    (e) =>
      !want.includes(JSON.stringify([e.path ?? null, e.message, e.extensions?.code ?? null])) &&
      !(e.path && discarded(expected.data, e.path)),
  );
  return missing.length === 0 && extra.length === 0 && have.length === new Set(have).size;
}

function compare(file) {
  const { scenarios } = JSON.parse(readFileSync(file, "utf8"));
  let cases = 0;
  const failures = [];
  const covered = {};
  for (const scenario of scenarios) {
    const world = new World(scenario.probes);
    for (const run of scenario.runs) {
      cases += 1;
      const expected = reference(world, run);
      if (!("data" in expected)) {
        // A request error (variables that do not coerce): no `data` at all, the same messages.
        const messages = (result) => (result.errors || []).map((e) => e.message).sort();
        for (const [how, text] of Object.entries(run.responses)) {
          const got = JSON.parse(text);
          if ("data" in got || JSON.stringify(messages(got)) !== JSON.stringify(messages(expected))) {
            failures.push({ scenario: scenario.name, case: run.name, how, query: run.query, expected, got });
          }
        }
        continue;
      }
      for (const [how, text] of Object.entries(run.responses)) {
        const got = JSON.parse(text);
        const sameData = JSON.stringify(got.data) === JSON.stringify(expected.data);
        if (!sameData || !sameErrors(got, expected) || !("data" in got)) {
          failures.push({
            scenario: scenario.name,
            case: run.name,
            how,
            query: run.query,
            variables: run.variables,
            expected: { data: expected.data, errors: errorSet(expected) },
            got: { data: got.data, errors: errorSet(got) },
          });
        }
      }
    }
    for (const [what, count] of Object.entries(world.covered)) covered[what] = (covered[what] ?? 0) + count;
  }
  for (const failure of failures.slice(0, 10)) console.log(JSON.stringify(failure, null, 1));
  const uncovered = Object.keys(covered).filter((what) => covered[what] === 0);
  console.log(`relations resolved by graphql-js: ${JSON.stringify(covered)}`);
  if (uncovered.length) console.log(`the corpus no longer reaches: ${uncovered.join(", ")}`);
  console.log(`differential: ${cases} cases, ${failures.length} mismatches`);
  process.exit(failures.length || uncovered.length ? 1 : 0);
}

const [command, argument] = process.argv.slice(2);
if (command === "plan") {
  const { kinds, related, seed, count } = JSON.parse(argument);
  const ids = Object.values(kinds);
  const corpus = [...handWritten(kinds), ...generate(ids, seed, count)];
  for (const entry of corpus) {
    const errors = validate(schema, parse(entry.query));
    if (errors.length) throw new Error(`corpus entry ${entry.name} is invalid: ${errors[0].message}\n${entry.query}`);
  }
  console.log(JSON.stringify({ probes: probes(ids, related), corpus }));
} else if (command === "compare") {
  compare(argument);
} else {
  console.error("usage: differential.mjs plan JSON | compare FILE");
  process.exit(2);
}
