# WeftOS — build and test. `make test` is the project's test command.
GO      ?= go
VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)
BIN     := bin

.PHONY: all build run test test-short vet fmt-check bench cross clean

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

clean:
	rm -rf $(BIN)
