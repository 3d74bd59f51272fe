# Sourced by the examples' checks (not run on its own): start_sandbox starts bloc-graphql
# over its built-in sandbox on a free loopback port, with a fresh API key, and stops it
# when the calling script exits.
#
#   BLOC_GRAPHQL_BIN  the binary (default: target/debug/bloc-graphql in this repository;
#                     a relative path is taken from the caller's working directory)
#
# After start_sandbox, BLOC_GRAPHQL_URL and BLOC_GRAPHQL_TOKEN are exported. The key has the
# `customers:read` and `finance:read` scopes (profiles and their accounts, cards, wallets and
# transactions, no PII), as a real web app's would; anonymous requests still work too, as they
# always do in sandbox mode.

sandbox_repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
sandbox_bin="${BLOC_GRAPHQL_BIN:-$sandbox_repo/target/debug/bloc-graphql}"
case "$sandbox_bin" in
  /*) ;;
  *) sandbox_bin="$PWD/$sandbox_bin" ;;
esac
sandbox_pid=""
sandbox_dir=""

stop_sandbox() {
  if [[ -n "$sandbox_pid" ]]; then
    kill "$sandbox_pid" 2>/dev/null || true
    wait "$sandbox_pid" 2>/dev/null || true
    sandbox_pid=""
  fi
  if [[ -n "$sandbox_dir" ]]; then
    rm -rf "$sandbox_dir"
    sandbox_dir=""
  fi
}

sandbox_fail() {
  echo "sandbox: $*" >&2
  if [[ -n "$sandbox_dir" && -s "$sandbox_dir/server.log" ]]; then
    echo "--- server log" >&2
    tail -n 20 "$sandbox_dir/server.log" >&2
  fi
  exit 1
}

start_sandbox() {
  if [[ ! -x "$sandbox_bin" ]]; then
    echo "sandbox: no bloc-graphql binary at $sandbox_bin: run \`cargo build\` or set BLOC_GRAPHQL_BIN" >&2
    exit 1
  fi
  command -v curl >/dev/null || { echo "sandbox: needs curl" >&2; exit 1; }
  sandbox_dir="$(mktemp -d)"
  trap stop_sandbox EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM

  # A key for this run, made the way the README says: `client add` prints it once, then the
  # clients-file entry holding only its SHA-256.
  "$sandbox_bin" client add examples --scopes customers:read,finance:read >"$sandbox_dir/client-add.txt" \
    || sandbox_fail "\`bloc-graphql client add\` failed"
  BLOC_GRAPHQL_TOKEN="$(grep -oE 'bgq_[0-9a-f]{64}' "$sandbox_dir/client-add.txt" | head -n 1)"
  sed -n '/^\[\[clients\]\]/,$p' "$sandbox_dir/client-add.txt" >"$sandbox_dir/clients.toml"
  [[ -n "$BLOC_GRAPHQL_TOKEN" && -s "$sandbox_dir/clients.toml" ]] \
    || sandbox_fail "no key or clients entry in the output of \`bloc-graphql client add\`"

  # Port 0: the OS picks a free port and the server logs the address it got, so there is no
  # window between choosing a port and binding it.
  : >"$sandbox_dir/server.log"
  "$sandbox_bin" --sandbox --listen-addr 127.0.0.1:0 --clients "$sandbox_dir/clients.toml" \
    >"$sandbox_dir/server.log" 2>&1 &
  sandbox_pid=$!

  local base="" i
  for ((i = 0; i < 100; i++)); do
    kill -0 "$sandbox_pid" 2>/dev/null || { sandbox_pid=""; sandbox_fail "bloc-graphql exited at start"; }
    base="$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$sandbox_dir/server.log" | head -n 1 || true)"
    if [[ -n "$base" ]] && curl -fsS --max-time 2 "$base/healthz" >/dev/null 2>&1; then
      break
    fi
    base=""
    sleep 0.1
  done
  [[ -n "$base" ]] || sandbox_fail "no answer from /healthz within 10 s"

  export BLOC_GRAPHQL_URL="$base/graphql"
  export BLOC_GRAPHQL_TOKEN
  echo "sandbox: bloc-graphql (pid $sandbox_pid) at $BLOC_GRAPHQL_URL"
}
