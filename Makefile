# xsync — see README.md. `make demo` and `make test` do all the set-up themselves.
GO        ?= go
export PATH := $(PATH):/usr/local/go/bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
BIN       := bin/xsync
TESTFLAGS ?= -race -count=1 -timeout 25m
# staticcheck is fetched from the module proxy by `go run` at this version (not a module
# dependency); its checks are chosen in staticcheck.conf.
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

.PHONY: all build test soak bench demo lint deps fuzz fuzz-short fidelity node-clients clean

all: build

deps:
	@bash scripts/deps.sh

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/xsync

test: deps
	$(GO) vet ./...
	$(GO) test $(TESTFLAGS) ./...
	@$(MAKE) --no-print-directory fuzz-short

# A long run under faults (tests/soak): SOAK_TIME (default 3m, as in make test),
# SOAK_SEED, SOAK_DEST_LOSS=0 to leave destination data loss out of the faults.
SOAK_TIME ?= 3m
soak: deps
	SOAK_TIME=$(SOAK_TIME) $(GO) test -count=1 -timeout 0 -v -run '^TestSoak$$' ./tests/soak/

# ioredis (from the npm registry, tests/gateway/node/package-lock.json) through the
# gateway across a cutover: needs node, npm and the registry, so not in make test.
node-clients: deps
	$(GO) test -count=1 -v -run '^TestNodeClientsAcrossCutover$$' ./tests/gateway/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

bench: deps build
	$(GO) build -o bin/xsync-bench ./tests/bench/cmd/xsync-bench
	./bin/xsync-bench --xsync $(BIN) --keys $(or $(BENCH_KEYS),1000000) $(BENCH_FLAGS)
	$(GO) test -run '^$$' -bench . -benchmem ./resp/ ./slots/ ./replicator/...

# Every fuzz target, FUZZTIME each (default 30s). Their seeds run in every
# 'go test'; 'make test' adds a short run of the listeners' and files' targets
# (fuzz-short).
FUZZTIME ?= 30s
FUZZ_TARGETS := \
	./resp/:FuzzParseCommand ./resp/:FuzzParseValue \
	./proxy/gateway/:FuzzClientFraming ./proxy/admin/:FuzzAdminCommands ./proxy/cutover/:FuzzStateExchange \
	./replicator/rdb/:FuzzWriteJSONSorted ./replicator/source/:FuzzGentleFacts ./replicator/:FuzzParseCheckpoint \
	./cmd/xsync/:FuzzConfigFile ./cmd/xsync/:FuzzDBs \
	./slots/:FuzzKeyIndexes ./slots/:FuzzParseTopology ./replicator/conn/:FuzzParseURL \
	./replicator/snapshot/:FuzzConvert ./replicator/translate/:FuzzTranslate \
	./replicator/rdb/:FuzzDecode ./replicator/rdb/:FuzzCRC64 \
	./replicator/source/:FuzzEOFReader ./replicator/source/:FuzzMarkIndex ./replicator/source/:FuzzHandshakeParsers

fuzz:
	@set -e; for t in $(FUZZ_TARGETS); do \
		echo "fuzz $${t#*:} ($${t%%:*}, $(FUZZTIME))"; \
		$(GO) test -run '^$$' -fuzz "^$${t#*:}$$" -fuzztime $(FUZZTIME) "$${t%%:*}"; \
	done

# The listeners' and files' targets for 5,000 inputs each (a count, not a time: a timed
# run on a loaded machine can end in the fuzzer's own "context deadline exceeded"; their
# seeds, and those of
# every other target, run in 'go test' already). Not cmd/xsync's: its fuzzing
# build instruments k8s client-go too, which takes minutes; 'make fuzz' runs them.
FUZZ_SHORT := ./proxy/gateway/:FuzzClientFraming ./proxy/admin/:FuzzAdminCommands ./proxy/cutover/:FuzzStateExchange \
	./replicator/rdb/:FuzzWriteJSONSorted ./replicator/source/:FuzzGentleFacts ./replicator/:FuzzParseCheckpoint

fuzz-short:
	@$(MAKE) --no-print-directory fuzz FUZZTIME=5000x FUZZ_TARGETS="$(FUZZ_SHORT)"

# The differential replication fuzzer (tests/fidelity): FIDELITY_TIME per setup
# (default 5m), FIDELITY_SEED, FIDELITY_SETUP (standalone-cluster,
# cluster-cluster, standalone-standalone), FIDELITY_SOURCE_BINARY and
# FIDELITY_TARGET_BINARY (e.g. ../shared/redis/redis-7.2.6/redis-server).
fidelity: deps
	FIDELITY_TIME=$(or $(FIDELITY_TIME),5m) $(GO) test -count=1 -timeout 0 -run 'TestFidelityLong' -v ./tests/fidelity/

demo: deps build
	@bash scripts/demo.sh

clean:
	rm -rf bin .demo .bench
