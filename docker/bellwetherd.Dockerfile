# Bellwether server image. Build from the repository root:
#   docker build -f docker/bellwetherd.Dockerfile -t bellwether:local .
# (docker-compose.yml does this.) Runtime: Debian 12 slim, only the shared libraries the daemon
# links, a non-root user, migrations and the dashboard under /usr/share/bellwether.

FROM debian:bookworm AS build
RUN apt-get update \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		build-essential pkg-config \
		libmicrohttpd-dev libpq-dev libjansson-dev libmosquitto-dev libssl-dev \
	&& rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY Makefile ./
COPY server/ server/
RUN make -j"$(nproc)" VARIANT=release all \
	&& strip --strip-unneeded -o /bellwetherd build/release/bellwetherd

FROM debian:bookworm-slim
RUN apt-get update \
	&& DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		libmicrohttpd12 libpq5 libjansson4 libmosquitto1 libssl3 ca-certificates \
	&& rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 bellwether \
	&& useradd --system --uid 10001 --gid bellwether --home-dir /var/lib/bellwether \
		--shell /usr/sbin/nologin bellwether \
	&& mkdir -p /var/lib/bellwether \
	&& chown bellwether:bellwether /var/lib/bellwether \
	&& chmod 0700 /var/lib/bellwether
COPY --from=build /bellwetherd /usr/local/bin/bellwetherd
COPY migrations/ /usr/share/bellwether/migrations/
COPY web-static/ /usr/share/bellwether/web-static/
COPY docker/bellwetherd-entrypoint.sh /usr/local/bin/bellwetherd-entrypoint
COPY docker/bellwetherd-healthcheck.sh /usr/local/bin/bellwetherd-healthcheck
RUN chmod 0755 /usr/local/bin/bellwetherd-entrypoint /usr/local/bin/bellwetherd-healthcheck
ENV BW_HTTP_LISTEN=0.0.0.0:8080 \
	BW_STATIC_DIR=/usr/share/bellwether/web-static \
	BW_MIGRATIONS_DIR=/usr/share/bellwether/migrations \
	BW_BOOTSTRAP_TOKEN_FILE=/var/lib/bellwether/admin.token
USER 10001:10001
WORKDIR /var/lib/bellwether
VOLUME ["/var/lib/bellwether"]
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
	CMD ["/usr/local/bin/bellwetherd-healthcheck"]
ENTRYPOINT ["/usr/local/bin/bellwetherd-entrypoint"]
CMD ["serve"]
