# Multi-stage build: compile in the Rust image, run in a small Debian image as a non-root user.
FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked -p crm-server

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --no-create-home crm \
 && mkdir -p /var/lib/repair-crm/attachments \
 && chown crm /var/lib/repair-crm/attachments
COPY --from=build /src/target/release/crm-server /usr/local/bin/crm-server
USER crm
ENV HOST=0.0.0.0 PORT=8000
EXPOSE 8000
# bash (always in Debian) opens a TCP connection: the image carries no HTTP client.
HEALTHCHECK --interval=10s --timeout=3s CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8000"]
ENTRYPOINT ["/usr/local/bin/crm-server"]
