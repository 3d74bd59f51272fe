# syntax=docker/dockerfile:1
#
# bloc-graphql container image.
#
#   docker build -t bloc-graphql .
#   docker run --rm -p 8080:8080 -e BLOC_SANDBOX=true bloc-graphql        # fake customers, no Bloc key
#   docker run --rm -p 8080:8080 -e BLOC_SECRET_KEY -e CLIENTS_FILE=/etc/bloc-graphql/clients.toml \
#     -v "$PWD/clients.toml:/etc/bloc-graphql/clients.toml:ro" bloc-graphql
#
# Configuration is environment-only (see the README's configuration table). The Bloc key is never
# part of the image: pass BLOC_SECRET_KEY when the container starts.
#
# Needs BuildKit (the default builder of current Docker) for the cache mounts below.
# deploy/check verifies this file's runtime contract (ENV, USER, ENTRYPOINT, HEALTHCHECK) against the
# release binary; the image build itself needs a Docker engine and is not run there.

ARG RUST_VERSION=1.95

# ---- build ------------------------------------------------------------------------------------------
# Bookworm, so the binary links against the same glibc (2.36) as the Debian 12 runtime image below.
# The full (not -slim) image brings the C toolchain aws-lc-sys compiles with.
FROM rust:${RUST_VERSION}-bookworm AS build
WORKDIR /build

# Only what `cargo build` reads. The workspace has two more members, bench/proxy and bench/loadgen:
# Cargo loads every member's manifest (and finds its targets) even when building one package, so
# they come along too.
COPY Cargo.toml Cargo.lock ./
COPY bench/proxy/Cargo.toml bench/proxy/Cargo.toml
COPY bench/proxy/src bench/proxy/src
COPY bench/loadgen/Cargo.toml bench/loadgen/Cargo.toml
COPY bench/loadgen/src bench/loadgen/src
COPY src src

# The registry and the target directory live in BuildKit cache mounts, so a source change rebuilds
# the crate itself and not its dependencies. The target directory is not part of the layer,
# hence the copy out to /out in the same step.
RUN --mount=type=cache,id=bloc-graphql-cargo-registry,target=/usr/local/cargo/registry,sharing=locked \
    --mount=type=cache,id=bloc-graphql-cargo-git,target=/usr/local/cargo/git,sharing=locked \
    --mount=type=cache,id=bloc-graphql-target,target=/build/target,sharing=locked \
    cargo build --release --locked -p bloc-graphql \
 && install -D -m 0755 target/release/bloc-graphql /out/bloc-graphql

# ---- runtime ----------------------------------------------------------------------------------------
# distroless/cc: glibc, libgcc_s and CA certificates, no shell, no package manager. The binary needs
# nothing else (ldd: libc, libm, libgcc_s; TLS is rustls over aws-lc, linked in statically).
FROM gcr.io/distroless/cc-debian12:nonroot

ARG VERSION=0.1.0
LABEL org.opencontainers.image.title="bloc-graphql" \
      org.opencontainers.image.description="A GraphQL facade over Bloc's customer REST API, with a built-in sandbox" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.base.name="gcr.io/distroless/cc-debian12:nonroot"

# Owned by root and not writable by the user the process runs as.
COPY --from=build /out/bloc-graphql /usr/local/bin/bloc-graphql

# Listen on every interface of the container (the binary's own default is loopback only) and log one
# JSON object per line for log pipelines. Everything else keeps the binary's defaults; override with
# -e or a Kubernetes ConfigMap.
ENV LISTEN_ADDR=0.0.0.0:8080 \
    LOG_FORMAT=json

# Numeric, so Kubernetes' runAsNonRoot can verify it without a passwd lookup (distroless "nonroot").
USER 65532:65532

EXPOSE 8080

# No curl in distroless: the binary asks its own /healthz (on loopback, at LISTEN_ADDR's port) and
# exits 0 on 200, 1 otherwise.
HEALTHCHECK --interval=10s --timeout=3s --start-period=5s --retries=3 \
    CMD ["/usr/local/bin/bloc-graphql", "healthcheck"]

# No CMD: `docker run IMAGE` serves; `docker run IMAGE sandbox --listen 0.0.0.0:8081`,
# `docker run IMAGE check` and `docker run IMAGE client add NAME` run the subcommands.
ENTRYPOINT ["/usr/local/bin/bloc-graphql"]
