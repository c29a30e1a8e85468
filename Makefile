# xenify. `make demo` converts the bundled sample; `make ci` runs every
# test tier as CI does.
GO ?= $(shell command -v go 2>/dev/null || echo /usr/local/go/bin/go)

.PHONY: build demo deps test test-fast test-integration test-demo e2e bench bench-copy bench-remote lint ci

# The version `xenify version` prints: the git description of the tree.
# Without git, xenify falls back to what the Go toolchain recorded.
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null)

build:
	$(GO) build -ldflags "-X github.com/xenify/xenify/internal/cli.Version=$(VERSION)" -o bin/xenify ./cmd/xenify

deps:
	./scripts/install-deps.sh

demo: deps
	./scripts/demo.sh

# GOTEST_JSON=FILE (CI sets it): every tier also appends go test's JSON
# events to FILE, from which CI counts skipped tests; what is printed is
# still go test's ordinary output.
ifdef GOTEST_JSON
GOTEST = $(GO) run ./internal/ciskips run $(GOTEST_JSON) -- $(GO) test -json
else
GOTEST = $(GO) test
endif

# Fast tier: no root, seconds.
test-fast:
	$(GOTEST) -count=1 -timeout 20m -skip 'TestIntegration' ./...

# Integration tier: root, real loop devices, real tools (skips without
# root on a developer's machine; fails under CI=true).
test-integration:
	$(GOTEST) -count=1 -timeout 45m -run 'TestIntegration' ./...

# The README's first command, as a test: a real Debian 12 disk converted
# end to end (root). Fails unless verify passes and rollback restores
# every file.
test-demo:
	./scripts/demo.sh

# Boot tier: converted guests boot under Xen 4.17 in QEMU (root, minutes).
e2e: build
	XENIFY_BIN=$(CURDIR)/bin/xenify $(GOTEST) -tags e2e ./e2e -timeout 80m -v

test: test-fast test-integration test-demo e2e

STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2

lint:
	test -z "$$(gofmt -l $$(git ls-files '*.go'))"
	$(GO) mod tidy -diff
	$(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...

# Prints each benchmark against a baseline measured in the same run.
bench:
	./scripts/bench.sh

bench-copy:
	./bench/copy/run.sh

# Remote P2V over loopback ssh (BENCH_SIZE_GIB=4 for a quicker run).
bench-remote:
	./bench/remote/run.sh

ci:
	bash .ci/run
