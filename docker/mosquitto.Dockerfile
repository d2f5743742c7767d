# Broker image for docker-compose.yml: the official eclipse-mosquitto:2 image plus Bellwether's
# plugin (mosquitto-plugin/README.md) at /usr/lib/bellwether/bellwether_plugin.so, the path
# docker/mosquitto/mosquitto.conf loads it from. Build from the repository root:
#   docker build -f docker/mosquitto.Dockerfile -t bellwether-mosquitto:local .
# The plugin is compiled on the runtime image itself (Alpine, musl), against Alpine's
# mosquitto-dev headers of the same 2.0 plugin API, so it links against what it runs on.

FROM eclipse-mosquitto:2 AS build
RUN apk add --no-cache build-base mosquitto-dev
WORKDIR /src
COPY mosquitto-plugin/ mosquitto-plugin/
RUN cc -std=c11 -D_GNU_SOURCE -O2 -Wall -Wextra -fPIC -shared \
		-o /bellwether_plugin.so mosquitto-plugin/*.c \
	&& strip --strip-unneeded /bellwether_plugin.so

FROM eclipse-mosquitto:2
COPY --from=build /bellwether_plugin.so /usr/lib/bellwether/bellwether_plugin.so
