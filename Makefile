# Bellwether — see README.md. Plain GNU make, out-of-tree builds in build/<variant>/.
VARIANT ?= debug
BUILD := build/$(VARIANT)
CC ?= cc

PKGS := libmicrohttpd libpq jansson libmosquitto openssl
WARN := -Wall -Wextra -Wshadow -Wvla -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	-fno-common -Werror
CFLAGS_COMMON := -std=c11 -D_GNU_SOURCE $(WARN) -Iserver/src -Imosquitto-plugin -MMD -MP \
	$(shell pkg-config --cflags $(PKGS) 2>/dev/null)
LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread -lm
TEST_LIBS := $(shell pkg-config --libs check libcurl 2>/dev/null)

ifeq ($(VARIANT),asan)
OPT := -O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDOPT := -fsanitize=address,undefined
else
OPT := -O2 -g
LDOPT :=
endif

SRCS := $(shell find server/src -name '*.c' ! -path server/src/main.c | sort)
OBJS := $(SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/unit/%)
INTEG_SRCS := $(sort $(wildcard tests/integration/test_*.c) $(wildcard tests/api/test_*.c))
INTEG_BINS := $(patsubst tests/%.c,$(BUILD)/tests/%,$(INTEG_SRCS))
TEST_HELPER_SRCS := $(sort $(wildcard tests/lib/*.c))
TEST_HELPER_OBJS := $(TEST_HELPER_SRCS:%.c=$(BUILD)/%.o)
BENCH_SRCS := $(sort $(wildcard tests/bench/*.c))
BENCH_BINS := $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/tests/bench/%)
PLUGIN_SRCS := $(sort $(wildcard mosquitto-plugin/*.c))

.SECONDARY:

.PHONY: all run demo migrate test test-unit test-browser test-build check check-layers check-config-docs \
	asan bench fmt fmt-check clean deps docs

all: $(BUILD)/bellwetherd

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) $(OPT) $(CFLAGS) -c $< -o $@

$(BUILD)/libbw.a: $(OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/bellwetherd: $(BUILD)/server/src/main.o $(BUILD)/libbw.a
	$(CC) $(LDOPT) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/tests/unit/%: $(BUILD)/tests/unit/%.o $(BUILD)/libbw.a
	$(CC) $(LDOPT) $(LDFLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS)

$(BUILD)/tests/integration/%: $(BUILD)/tests/integration/%.o $(TEST_HELPER_OBJS) $(BUILD)/libbw.a
	$(CC) $(LDOPT) $(LDFLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS)

$(BUILD)/tests/api/%: $(BUILD)/tests/api/%.o $(TEST_HELPER_OBJS) $(BUILD)/libbw.a
	$(CC) $(LDOPT) $(LDFLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS)

$(BUILD)/tests/bench/%: $(BUILD)/tests/bench/%.o $(BUILD)/libbw.a
	$(CC) $(LDOPT) $(LDFLAGS) -o $@ $^ $(LIBS) $(TEST_LIBS)

# Reference device agent and fleet simulator (agent/README.md). Devices do not carry server code:
# their own library (agent/lib + agent/slots), never libbw.a; OpenSSL, libcurl, libmosquitto,
# jansson directly. Agent unit tests (tests/unit/test_agent_*) link it instead of libbw.a.
AGENT_PKGS := jansson libmosquitto openssl libcurl
AGENT_INC := -Iagent/lib -Iagent/slots
AGENT_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) $(AGENT_INC) -MMD -MP \
	$(shell pkg-config --cflags $(AGENT_PKGS) 2>/dev/null)
AGENT_LIBS := $(shell pkg-config --libs $(AGENT_PKGS) 2>/dev/null) -lm
AGENT_LIB_SRCS := $(sort $(wildcard agent/lib/*.c agent/slots/*.c))
AGENT_LIB_OBJS := $(AGENT_LIB_SRCS:%.c=$(BUILD)/%.o)
AGENT_SIM_SRCS := $(sort $(wildcard agent/sim/*.c))
AGENT_SIM_OBJS := $(AGENT_SIM_SRCS:%.c=$(BUILD)/%.o)
AGENT_LIB := $(BUILD)/libbwagent.a

.PHONY: agent
agent: $(BUILD)/bellwether-agent $(BUILD)/bellwether-sim

$(BUILD)/agent/%.o: agent/%.c
	@mkdir -p $(dir $@)
	$(CC) $(AGENT_CFLAGS) $(OPT) $(CFLAGS) -c $< -o $@

$(AGENT_LIB): $(AGENT_LIB_OBJS)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BUILD)/bellwether-agent: $(BUILD)/agent/bellwether-agent.o $(AGENT_LIB)
	$(CC) $(LDOPT) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)

$(BUILD)/bellwether-sim: $(AGENT_SIM_OBJS) $(AGENT_LIB)
	$(CC) $(LDOPT) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)

$(BUILD)/tests/unit/test_agent_%.o: CFLAGS_COMMON += $(AGENT_INC)

# GNU make (>= 3.82) picks the pattern rule with the shortest stem, so this one wins over the
# generic $(BUILD)/tests/unit/% rule above for test_agent_* binaries.
$(BUILD)/tests/unit/test_agent_%: $(BUILD)/tests/unit/test_agent_%.o $(AGENT_LIB)
	$(CC) $(LDOPT) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS) $(TEST_LIBS)

test-build: $(BUILD)/bellwether-agent $(BUILD)/bellwether-sim

# bench_sim is a script (tests/bench/bench_sim.sh) driving bellwether-sim; tests/bench/run.sh runs
# every $(BUILD)/tests/bench/bench_* program, so it is installed there.
$(BUILD)/tests/bench/bench_sim: tests/bench/bench_sim.sh
	@mkdir -p $(dir $@)
	install -m 755 $< $@

bench: $(BUILD)/tests/bench/bench_sim $(BUILD)/bellwether-sim

# `make run` plus a simulated fleet that registers itself (scripts/demo.sh).
demo: deps all $(PLUGIN_SO) $(BUILD)/bellwether-sim
	@scripts/demo.sh $(BUILD)

# Bellwether's Mosquitto plugin (mosquitto-plugin/README.md), loaded by the broker of the test
# stack, of `make run` and of the tests. Same flags in every variant, no sanitizers: the system
# broker that loads it has no sanitizer runtime. Needs Debian's mosquitto-dev headers.
PLUGIN_SO := $(BUILD)/bellwether_plugin.so
PLUGIN_OBJS := $(PLUGIN_SRCS:%.c=$(BUILD)/%.o)
PLUGIN_CFLAGS := -std=c11 -D_GNU_SOURCE $(WARN) -O2 -g -fPIC -MMD -MP

.PHONY: plugin
plugin: $(PLUGIN_SO)

$(BUILD)/mosquitto-plugin/%.o: mosquitto-plugin/%.c
	@mkdir -p $(dir $@)
	$(CC) $(PLUGIN_CFLAGS) -c $< -o $@

$(PLUGIN_SO): $(PLUGIN_OBJS)
	$(CC) -shared -o $@ $^

test-build: $(PLUGIN_SO)
run: $(PLUGIN_SO)

# Everything the test suite needs, built once.
test-build: $(BUILD)/bellwetherd $(UNIT_BINS) $(INTEG_BINS)

# Installs missing Debian packages (sudo when not root). Idempotent and quick when all present.
deps:
	@scripts/install-deps.sh

run: deps all
	@scripts/run-local.sh $(BUILD)/bellwetherd

migrate: all
	$(BUILD)/bellwetherd migrate

# Unit tests only (no services).
test-unit: $(UNIT_BINS)
	@tests/run-unit.sh $(UNIT_BINS)

# Full suite: unit, integration and API tests against a real Postgres + Mosquitto started in a
# temp dir, OpenAPI lint and routes-vs-OpenAPI, compose validation. Ends with "N passed, M failed".
test: deps test-build
	@BUILD=$(BUILD) tests/run-all.sh

# Dashboard in a real Chromium against a private stack (also part of `make test`).
test-browser: deps all
	@d=$$(mktemp -d) && trap 'tests/harness/stack.sh down '"$$d"' >/dev/null' EXIT && \
		BW_BIN=$(BUILD)/bellwetherd tests/harness/stack.sh up "$$d" >/dev/null && \
		. "$$d/test.env" && tests/browser/run.sh

asan:
	$(MAKE) VARIANT=asan test

bench: deps $(BUILD)/bellwetherd $(BENCH_BINS)
	@BUILD=$(BUILD) tests/bench/run.sh

check: fmt-check check-layers check-config-docs test-unit

check-layers:
	@tests/check-layers.sh

docs: $(BUILD)/bellwetherd
	$(BUILD)/bellwetherd print-config --markdown > docs/CONFIG.md

check-config-docs: $(BUILD)/bellwetherd
	@tests/check-config-docs.sh $(BUILD)/bellwetherd

fmt:
	find server/src tests agent -name '*.[ch]' 2>/dev/null | xargs clang-format -i

fmt-check:
	@find server/src -name '*.[ch]' | xargs clang-format --dry-run -Werror

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(BUILD)/server/src/main.d $(UNIT_BINS:=.d) $(INTEG_BINS:=.d) \
	$(TEST_HELPER_OBJS:.o=.d) $(BENCH_BINS:=.d)
-include $(PLUGIN_OBJS:.o=.d)
-include $(AGENT_LIB_OBJS:.o=.d) $(AGENT_SIM_OBJS:.o=.d) $(BUILD)/agent/bellwether-agent.d
