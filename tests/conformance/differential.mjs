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
//   node differential.mjs plan '<json: {ids, seed, count}>'   -> {probes, corpus}
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
  isListType,
  isNonNullType,
} from "graphql";

const schema = buildSchema(
  readFileSync(new URL("../../schema.graphql", import.meta.url), "utf8"),
);
const customerType = schema.getType("Customer");
// The reference resolvers serve customers only: a customer's accounts, cards, wallets and
// transactions (which reach other Bloc endpoints) are left out of the generated queries.
const RELATIONS = new Set(["accounts", "cards", "wallets", "transactions"]);
const customerFields = (type) =>
  Object.entries(type.getFields()).filter(([name]) => !(type === customerType && RELATIONS.has(name)));

/// Leaf paths below Customer: ["name"], ["address"], ["address", "city"], ...
function customerPaths() {
  const paths = [];
  for (const [name, field] of customerFields(customerType)) {
    const named = getNamedType(field.type);
    paths.push([name]);
    if (isObjectType(named)) {
      for (const sub of Object.keys(named.getFields())) paths.push([name, sub]);
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

// ---------------------------------------------------------------- plan: probes and corpus

function probes(ids) {
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
    for (const path of customerPaths()) {
      list.push({
        key: ["field", id, ...path],
        query: `query($id: ID!) { customer(id: $id) { ${selection(path)} } }`,
        variables: { id },
      });
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
/// nested objects.
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
    const objectSelection = (type, depth) => {
      const fields = customerFields(type);
      const items = [];
      const size = 1 + Math.floor(random() * 4);
      for (let i = 0; i < size; i++) {
        const [name, field] = pick(fields);
        const named = getNamedType(field.type);
        let item = isObjectType(named)
          ? `${alias()}${name}${condition()} { ${objectSelection(named, depth + 1)} }`
          : `${alias()}${name}${condition()}`;
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
    {
      name: "ids from variables, one failing",
      query: `query($a: ID!, $b: ID!) { a: customer(id: $a) { name } b: customer(id: $b) { name } }`,
      variables: { a: kinds.good, b: kinds.fails },
    },
  ];
  return [...cases.map(([name, query]) => ({ name, query, variables: {} })), ...named];
}

// ---------------------------------------------------------------- compare

class World {
  constructor(probes) {
    this.answers = new Map();
    for (const { key, response } of probes) this.answers.set(JSON.stringify(key), response);
  }

  answer(key) {
    return this.answers.get(JSON.stringify(key));
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
    if (!response) throw new Error(`no probe for customer ${id}`);
    const error = World.errorAt(response, ["customer"]);
    if (error) return error;
    if (response.data?.customer == null) return null;
    const object = {};
    for (const [name, field] of customerFields(customerType)) {
      const named = getNamedType(field.type);
      object[name] = () => this.field(id, [name], named);
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
  return JSON.parse(
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
}

/// Errors as the comparison sees them: path, message and code, sorted.
function errorSet(result) {
  return (result.errors || [])
    .map((e) => JSON.stringify([e.path ?? null, e.message, e.extensions?.code ?? null]))
    .sort();
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
  }
  for (const failure of failures.slice(0, 10)) console.log(JSON.stringify(failure, null, 1));
  console.log(`differential: ${cases} cases, ${failures.length} mismatches`);
  process.exit(failures.length ? 1 : 0);
}

const [command, argument] = process.argv.slice(2);
if (command === "plan") {
  const { kinds, seed, count } = JSON.parse(argument);
  const ids = Object.values(kinds);
  const corpus = [...handWritten(kinds), ...generate(ids, seed, count)];
  for (const entry of corpus) {
    const errors = validate(schema, parse(entry.query));
    if (errors.length) throw new Error(`corpus entry ${entry.name} is invalid: ${errors[0].message}\n${entry.query}`);
  }
  console.log(JSON.stringify({ probes: probes(ids), corpus }));
} else if (command === "compare") {
  compare(argument);
} else {
  console.error("usage: differential.mjs plan JSON | compare FILE");
  process.exit(2);
}
