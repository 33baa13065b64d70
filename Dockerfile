# SOPilot: one image with the `sopilot` binary, which is also every shipped MCP server
# (`sopilot mcp-server kubectl|slack|cloudwatch|cost`, started by `sopilot serve` over stdio),
# the shipped SOPs, policy and scenarios, and the simulator.
#
#   docker build -t sopilot .
#   docker compose up            # see docker-compose.yml and docs/deploy.md

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# The toolchain is pinned by rust-toolchain.toml; the lock file by --locked.
RUN cargo build --release --locked -p sopilot \
 && install -Dm755 "${CARGO_TARGET_DIR:-target}/release/sopilot" /out/sopilot

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/sopilot --create-home sopilot
COPY --from=build /out/sopilot /usr/local/bin/sopilot
# `sopilot serve` reads ./sops and ./policies; scenarios feed --simulate; deploy/ holds the
# container's configuration.
WORKDIR /opt/sopilot
COPY sops ./sops
COPY policies ./policies
COPY scenarios ./scenarios
COPY deploy ./deploy
USER sopilot
ENV SOPILOT_STORE=/var/lib/sopilot/sopilot.db
EXPOSE 8080
ENTRYPOINT ["sopilot"]
CMD ["serve", "--config", "/opt/sopilot/deploy/sopilot.yaml", "--listen", "0.0.0.0:8080"]
