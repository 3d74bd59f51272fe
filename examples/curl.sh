#!/usr/bin/env bash
# bloc-graphql from the command line: POST, GET, a batch, and automatic persisted queries
# (APQ) the way a mobile app uses them. Every answer is checked, so this is also a CI check:
# it exits non-zero on the first answer that is not what the server promises.
#
#   examples/curl.sh             against BLOC_GRAPHQL_URL (default http://127.0.0.1:8080/graphql,
#                                where `cargo run -- --sandbox` listens), with
#                                `Authorization: Bearer $BLOC_GRAPHQL_TOKEN` if that is set
#   examples/curl.sh --sandbox   starts its own sandboxed bloc-graphql for the run
#                                (BLOC_GRAPHQL_BIN, default target/debug/bloc-graphql): for CI
#
# Needs curl, jq and sha256sum. Responses are printed without `extensions.upstream`, the
# upstream trace the sandbox adds to every answer.
#
# The $s in single quotes are jq's and GraphQL's variables, not the shell's:
# shellcheck disable=SC2016
set -euo pipefail

fresh_server=false
if [[ "${1:-}" == "--sandbox" ]]; then
  # shellcheck source=SCRIPTDIR/sandbox.bash
  source "$(dirname "${BASH_SOURCE[0]}")/sandbox.bash"
  start_sandbox
  fresh_server=true
elif [[ $# -gt 0 ]]; then
  sed -n '2,13p' "${BASH_SOURCE[0]}" | cut -c3- >&2
  exit 2
fi
for tool in curl jq sha256sum; do
  command -v "$tool" >/dev/null || { echo "curl.sh: needs $tool" >&2; exit 1; }
done

url="${BLOC_GRAPHQL_URL:-http://127.0.0.1:8080/graphql}"
auth=()
if [[ -n "${BLOC_GRAPHQL_TOKEN:-}" ]]; then
  auth=(-H "Authorization: Bearer $BLOC_GRAPHQL_TOKEN")
fi
scratch="$(mktemp)"
trap 'rm -f "$scratch"; if declare -F stop_sandbox >/dev/null; then stop_sandbox; fi' EXIT

# gql CURL_ARGS...: curl "$url" with the key (if any) and CURL_ARGS; sets $status and $body.
gql() {
  status="$(curl -sS --max-time 10 "${auth[@]}" -o "$scratch" -w '%{http_code}' "$@" "$url")"
  body="$(<"$scratch")"
  local shown
  shown="$(jq -c 'def bare: del(.extensions.upstream) | if .extensions == {} then del(.extensions) else . end;
                  if type == "array" then map(bare) else bare end' <<<"$body" 2>/dev/null)" || shown="$body"
  echo "  HTTP $status $shown"
}

# expect JQ_FILTER WHAT: the last answer must make JQ_FILTER true ($id and $name are the
# customer's, taken from the first answer).
id=""
name=""
expect() {
  if ! jq -e --arg id "$id" --arg name "$name" "$1" <<<"$body" >/dev/null 2>&1; then
    echo "curl.sh: FAILED: $2" >&2
    echo "  (jq: $1)" >&2
    exit 1
  fi
}

step() { printf '\n## %s\n' "$*"; }

# The queries. The mobile one takes its id as a variable, so one persisted hash serves
# every customer.
LIST='{ customer_count customers(limit: 2) { id name } }'
MOBILE='query MobileCustomer($id: ID!) { customer(id: $id) { id name kyc_tier address { city state } } }'
JSON='content-type: application/json'

echo "bloc-graphql at $url$([[ ${#auth[@]} -gt 0 ]] && echo ' (with an API key)' || echo ' (anonymous)')"

step "POST: a list and the total"
gql -H "$JSON" -d '{"query": "{ customer_count customers(limit: 2) { id name } }"}'
expect '.data.customers | length >= 1 and length <= 2' "customers(limit: 2) has 1 or 2 entries"
expect '.data.customer_count >= (.data.customers | length)' "customer_count covers the list"
expect '.errors == null' "no errors"
id="$(jq -r '.data.customers[0].id' <<<"$body")"
name="$(jq -r '.data.customers[0].name' <<<"$body")"

step "POST with variables: the minimal mobile query"
gql -H "$JSON" -d "$(jq -nc --arg q "$MOBILE" --arg id "$id" '{query: $q, variables: {id: $id}}')"
expect '.data.customer.id == $id' "customer(id) answers the customer asked for"
expect '.data.customer.name == $name and ($name | length > 0)' "the list's name, not empty"

step "GET: the same query in the URL (queries only; mutations need POST)"
gql -G --data-urlencode "query=$MOBILE" --data-urlencode "variables={\"id\":\"$id\"}"
expect '.data.customer.id == $id and .errors == null' "GET answers like POST"

step "A batch: a JSON array of operations, answered with an array in the same order"
gql -H "$JSON" -d "$(jq -nc --arg list "$LIST" --arg q "$MOBILE" --arg id "$id" \
  '[{query: $list}, {query: $q, variables: {id: $id}}]')"
expect 'type == "array" and length == 2' "two answers"
expect '.[0].data.customers | length >= 1' "the first answer is the list"
expect '.[1].data.customer.id == $id' "the second answer is the customer"

step "Errors carry a code: an out-of-range limit never reaches Bloc"
gql -H "$JSON" -d '{"query": "{ customers(limit: 1000) { id } }"}'
expect '.errors[0].extensions.code == "BAD_USER_INPUT"' "limit 1000 is BAD_USER_INPUT"

# Automatic persisted queries: the app sends the SHA-256 (lowercase hex) of the exact query
# text instead of the text. An unknown hash is answered PERSISTED_QUERY_NOT_FOUND (HTTP 200
# under Accept: application/json, 400 under application/graphql-response+json); the app then
# sends text and hash once, the server checks that they match and remembers the query, and
# from then on the hash alone is enough, from any client, in a short GET URL.
hash="$(printf '%s' "$MOBILE" | sha256sum | cut -c1-64)"
apq="{\"persistedQuery\":{\"version\":1,\"sha256Hash\":\"$hash\"}}"

step "APQ 1: the hash alone, in a GET (sha256 $hash)"
gql -G --data-urlencode "extensions=$apq" --data-urlencode "variables={\"id\":\"$id\"}"
if $fresh_server || [[ "$(jq -r '.errors[0].extensions.code // empty' <<<"$body")" == PERSISTED_QUERY_NOT_FOUND ]]; then
  expect '.errors[0].extensions.code == "PERSISTED_QUERY_NOT_FOUND" and .data == null' \
    "an unknown hash is PERSISTED_QUERY_NOT_FOUND"
else
  expect '.data.customer.id == $id' "a hash this server already knew runs"
  echo "  (this server already knew the hash from an earlier run)"
fi

step "APQ 2: text and hash together, by POST (a GET with both works too); the server remembers it"
gql -H "$JSON" -d "$(jq -nc --arg q "$MOBILE" --argjson ext "$apq" --arg id "$id" \
  '{query: $q, variables: {id: $id}, extensions: $ext}')"
expect '.data.customer.id == $id' "the query runs and is registered"

step "APQ 3: the hash alone again, now answered"
gql -G --data-urlencode "extensions=$apq" --data-urlencode "variables={\"id\":\"$id\"}"
expect '.data.customer.id == $id and .errors == null' "the hash-only GET runs the remembered query"

step "APQ: a hash that does not match its text is refused"
gql -H "$JSON" -d "$(jq -nc --arg q "{ customer_count }" --argjson ext "$apq" '{query: $q, extensions: $ext}')"
expect '.errors[0].extensions.code == "BAD_REQUEST" and .data == null' "a mismatched hash is BAD_REQUEST"

printf '\nall answers as expected\n'
