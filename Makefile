# xsync — see README.md. `make demo` and `make test` do all the set-up themselves.
GO        ?= go
export PATH := $(PATH):/usr/local/go/bin
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -X main.version=$(VERSION)
BIN       := bin/xsync
TESTFLAGS ?= -race -count=1 -timeout 25m

.PHONY: all build test soak bench demo lint deps fuzz clean

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

bench: deps build
	$(GO) build -o bin/xsync-bench ./tests/bench/cmd/xsync-bench
	./bin/xsync-bench --xsync $(BIN) --keys $(or $(BENCH_KEYS),1000000) $(BENCH_FLAGS)
	$(GO) test -run '^$$' -bench . -benchmem ./resp/ ./slots/ ./replicator/...

fuzz:
	$(GO) test -run '^$$' -fuzz FuzzParseCommand -fuzztime 30s ./resp/
	$(GO) test -run '^$$' -fuzz FuzzParseValue -fuzztime 30s ./resp/

demo: deps build
	@bash scripts/demo.sh

clean:
	rm -rf bin .demo .bench
