# WeftOS — build and test. `make test` is the project's test command.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin
CROSSTEST ?= $(shell mktemp -d -u /tmp/weftos-crosstest.XXXXXX)

.PHONY: all build run test test-short vet fmt-check bench cross cross-test test-arm64 tags sizes release release-check release-check-quick clean

all: build

build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ ./cmd/...

# Boot the kernel in the foreground on $WEFTOS_HOME (default ~/.weftos).
run:
	$(GO) run ./cmd/weave boot

# The full suite, race detector on.
test:
	$(GO) test -race -timeout 20m ./...

test-short:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...

fmt-check:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

bench:
	$(GO) test -run '^$$' -bench . -benchmem ./internal/kernel ./chain ./internal/governance ./internal/authority

# Every platform WeftOS targets must at least build.
cross:
	GOOS=linux   GOARCH=amd64 $(GO) build ./...
	GOOS=linux   GOARCH=arm64 $(GO) build ./...
	GOOS=darwin  GOARCH=arm64 $(GO) build ./...
	GOOS=windows GOARCH=amd64 $(GO) build ./...
	GOOS=js      GOARCH=wasm  $(GO) build ./...
	GOOS=wasip1  GOARCH=wasm  $(GO) build ./...

# Every optional layer can be compiled out (docs/PLATFORMS.md, "Build
# tags"): the code and tests vet with each tag alone and with all of them
# (the edge build), and the edge build boots, serves the layers' endpoints
# with layer_not_built and refuses a configuration that needs them.
# EDGE_TAGS is the edge build: every layer tag, plus the tags that trim
# what the edge binary does not use. nonethttp (the local API on
# internal/minihttp, no net/http linked) is only valid with every layer
# out (internal/localhttp/guard.go); nethttpomithttp2 (net/http without
# its bundled HTTP/2, which only the gateway, the channels and the model
# providers could speak) trims the same build with the local API on
# net/http (.ci/sizes' "local API on net/http" row). .ci/sizes and
# cmd/weave's TestEdgeBuild read both lists from here.
LAYER_TAGS := nomesh nosandbox nomemory nochannels nomcp noui nollm
EDGE_TAGS  := nomesh,nosandbox,nomemory,nochannels,nomcp,noui,nollm,nethttpomithttp2,nonethttp
tags:
	for t in $(LAYER_TAGS) $(EDGE_TAGS); do $(GO) vet -tags $$t ./... || exit 1; done
	$(GO) test -tags $(EDGE_TAGS) ./internal/layers ./internal/localapi ./internal/tools
	$(GO) test -tags $(EDGE_TAGS) -run 'Layer|TestEveryEndpoint|TestUIOffByDefault|TestOpenServeClose' ./internal/daemon
	$(GO) test -run 'TestEdgeBuild' ./cmd/weave

# Stripped size of weave per tag set (docs/BENCHMARKS.md).
sizes:
	.ci/sizes

# The test binaries of every package must build for the platforms CI cannot
# run them on (docs/PLATFORMS.md lists what is not run there).
cross-test:
	GOOS=windows GOARCH=amd64 $(GO) test -c -o $(CROSSTEST)/windows-amd64/ ./... >/dev/null
	GOOS=darwin  GOARCH=arm64 $(GO) test -c -o $(CROSSTEST)/darwin-arm64/ ./... >/dev/null
	rm -rf $(CROSSTEST)

# The packages whose code differs on arm64 (assembly kernels) or that the
# every node runs, tested on arm64 under qemu-user. -short: a crash test
# re-executes its own binary, which needs binfmt_misc (absent in containers).
ARM64_PKGS := ./internal/hnsw ./chain ./internal/kernel ./internal/governance
test-arm64:
	.ci/install-qemu
	GOARCH=arm64 $(GO) test -short -exec qemu-aarch64-static $(ARM64_PKGS)
	GOARCH=arm64 $(GO) test -short -tags purego -exec qemu-aarch64-static ./internal/hnsw

# Reproducible, checksummed, signed archives in dist/ (docs/PLATFORMS.md):
# WEFTOS_RELEASE_KEY=key.pem make release
release:
	VERSION=$(VERSION) .ci/release dist

# Two release builds (the second from an empty cache) must be identical.
release-check:
	.ci/release-check

# The cheap variant CI runs: linux/amd64 and the wasm builds, the second
# build from a copy of the tree elsewhere (same cache).
release-check-quick:
	.ci/release-check --quick

clean:
	rm -rf $(BIN) dist
