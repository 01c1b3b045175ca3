# racgate: `make run` serves the example config; `make test` runs every test.
GO      ?= go
NPM     ?= npm
BIN     := bin/racgate
CONFIG  ?= examples/racgate.yaml
# The commit racgate is built from, for `racgate version` (none outside a git checkout).
COMMIT  := $(shell git describe --always --dirty --abbrev=12 2>/dev/null)

.PHONY: all build web run test vet bench demo-desktop fuzz clean

all: build

web:
	cd webclient && $(NPM) ci --no-audit --no-fund && $(NPM) run build

build: web
	$(GO) build -ldflags "-X main.commit=$(COMMIT)" -o $(BIN) ./cmd/racgate

run: build
	./$(BIN) serve -config $(CONFIG) $(if $(LISTEN),-listen $(LISTEN))

# The benchmark harness (see docs/benchmarks.md); BENCHFLAGS passes flags, e.g. -guacd 127.0.0.1:4822.
bench: build
	$(GO) run ./bench -racgate $(BIN) $(BENCHFLAGS)

demo-desktop:
	./scripts/demo-desktop.sh

vet:
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

# go test runs the fuzz targets' seed corpora as ordinary tests; vet includes staticcheck
# (a go tool in go.mod, its checks in staticcheck.conf). The browser tests (e2e) run after
# the others, not beside them: they measure sound and pictures in real time, and the other
# packages' race-enabled real-server tests would take the machine's cores from Chromium.
test: web vet
	$(GO) test -race -count=1 -timeout 20m $$($(GO) list ./... | grep -v '/e2e$$')
	$(GO) test -race -count=1 -timeout 20m ./e2e
	cd webclient && $(NPM) test

# Every fuzz target, one after another, FUZZTIME each (default 1m, about 45 minutes in
# all); FUZZPKG=render runs only packages whose path contains it. Fails if any target fails.
FUZZTIME ?= 1m
fuzz:
	GO=$(GO) FUZZTIME=$(FUZZTIME) FUZZPKG=$(FUZZPKG) ./scripts/fuzz.sh

clean:
	rm -rf bin webclient/node_modules webclient/test/out && find webclient/dist -type f ! -name .gitkeep -delete
