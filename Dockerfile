# syntax=docker/dockerfile:1
#
# Image of the velero-hooks admission webhook:
#   docker build -t ghcr.io/velero-hooks/velero-hooks-webhook:0.1.0 .
#
# Stage 1 builds a fully static binary for x86_64-unknown-linux-musl (rustls
# with ring, no OpenSSL, so no C library is needed at run time). Stage 2 is
# distroless/static: no shell, no package manager, runs as uid 65532.

# Any Rust release at or above the workspace's rust-version (1.90).
ARG RUST_VERSION=1

FROM docker.io/library/rust:${RUST_VERSION}-bookworm AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends musl-tools \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release -p velero-hooks-webhook --target x86_64-unknown-linux-musl \
 && install -D -m 0755 target/x86_64-unknown-linux-musl/release/velero-hooks-webhook /out/velero-hooks-webhook

FROM gcr.io/distroless/static-debian12:nonroot
LABEL org.opencontainers.image.source="https://github.com/velero-hooks/velero-hooks" \
      org.opencontainers.image.description="Admission webhook that checks Velero hook annotations" \
      org.opencontainers.image.licenses="Apache-2.0"
COPY --from=build /out/velero-hooks-webhook /velero-hooks-webhook
USER 65532:65532
EXPOSE 8443 9090
ENTRYPOINT ["/velero-hooks-webhook"]
CMD ["--listen=0.0.0.0:8443", "--metrics-listen=0.0.0.0:9090"]
