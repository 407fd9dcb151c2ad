# One image with both ferromq binaries: ferromq-broker (the entrypoint; by
# default a standalone broker on /data) and ferromq-operator (the Helm chart
# runs `ferromq-operator run`; the operator's broker pods run
# `ferromq-broker ...` from the same image).
#
#   docker build -t ferromq/ferromq:0.1.0 .
#   buildah bud --layers -t ferromq/ferromq:0.1.0 .
#
# The base images are build arguments, so a registry mirror or locally built
# bases can stand in (tests/image/run builds both from Debian with debootstrap).
# The builder needs cargo and rustc on PATH and CARGO_HOME=/usr/local/cargo, as
# the official rust image has them. The runtime must be Debian bookworm or
# later (glibc, apt) to match the builder. The cargo registry and target
# directory are cache mounts, so a rebuild after a source change recompiles
# ferromq's crates only, not RocksDB's C++ (about twenty minutes on 2 cores).
# The release profile keeps line tables (RocksDB's too: 500 MB); the image's
# binaries drop them and keep their symbols, so backtraces still name functions.
ARG BUILDER_IMAGE=docker.io/library/rust:1.95-bookworm
ARG RUNTIME_IMAGE=docker.io/library/debian:bookworm-slim

FROM ${BUILDER_IMAGE} AS builder
# librocksdb-sys generates its bindings with bindgen, which needs libclang.
RUN if ! dpkg -s clang libclang-dev >/dev/null 2>&1; then \
      apt-get update \
      && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends clang libclang-dev \
      && rm -rf /var/lib/apt/lists/*; \
    fi
WORKDIR /src
COPY . .
RUN --mount=type=cache,id=ferromq-cargo-registry,target=/usr/local/cargo/registry \
    --mount=type=cache,id=ferromq-target,target=/src/target \
    cargo build --release --locked -p ferromq-broker -p ferromq-operator \
    && mkdir -p /out \
    && cp target/release/ferromq-broker target/release/ferromq-operator /out/ \
    && strip --strip-debug /out/ferromq-broker /out/ferromq-operator

FROM ${RUNTIME_IMAGE}
# curl: the operator's preStop hook POSTs /step-down with it (through sh).
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 65532 ferromq \
    && useradd --uid 65532 --gid 65532 --home-dir /data --no-create-home \
       --shell /usr/sbin/nologin ferromq \
    && install -d -o 65532 -g 65532 -m 0750 /data
COPY --from=builder /out/ferromq-broker /out/ferromq-operator /usr/local/bin/
# The broker writes only under --data-dir (RocksDB, and checkpoints in
# /data/.checkpoints), so the root filesystem can be read-only.
USER 65532:65532
WORKDIR /data
VOLUME /data
# STOMP, admin HTTP (/livez /readyz /status /metrics), replication.
EXPOSE 61613 8161 61619
ENTRYPOINT ["ferromq-broker"]
CMD ["--data-dir", "/data"]
