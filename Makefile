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

.PHONY: all build test soak bench demo lint deps fuzz fidelity clean

all: build

deps:
	@bash scripts/deps.sh

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/xsync

test: deps
	$(GO) vet ./...
	$(GO) test $(TESTFLAGS) ./...

# A long run under faults (tests/soak): SOAK_TIME (default 3m, as in make test),
# SOAK_SEED, SOAK_DEST_LOSS=1 to add destination data loss to the faults.
SOAK_TIME ?= 3m
soak: deps
	SOAK_TIME=$(SOAK_TIME) $(GO) test -count=1 -timeout 0 -v -run '^TestSoak$$' ./tests/soak/

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

bench: deps build
	$(GO) build -o bin/xsync-bench ./tests/bench/cmd/xsync-bench
	./bin/xsync-bench --xsync $(BIN) --keys $(or $(BENCH_KEYS),1000000) $(BENCH_FLAGS)
	$(GO) test -run '^$$' -bench . -benchmem ./resp/ ./slots/ ./replicator/...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseCommand -fuzztime 30s ./resp/
	$(GO) test -run '^$$' -fuzz FuzzParseValue -fuzztime 30s ./resp/

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
