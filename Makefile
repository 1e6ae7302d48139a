# The README's two commands are `make demo` (serve the demo dataset) and
# `make test` (install what the tests need, check, and run every test).
SHELL := /bin/bash
export PATH := $(CURDIR)/.tools/bin:$(PATH)

.PHONY: demo test tools check-proto generate baseline vet fuzz-short bench

demo:
	go run ./cmd/codetrail serve --demo

tools:
	@.ci/tools.sh

test: tools vet check-proto fuzz-short
	go test -count=1 -timeout 20m ./...
	# The index's tests and the end-to-end ones again, every new partition
	# stored per event (the layout before blocks, which stores created
	# before it still read and write); the tests of the per-event
	# layout's internals run only then.
	CODETRAIL_TEST_LAYOUT=events go test -count=1 -timeout 20m ./index ./cmd/codetrail
	cd bench && go test -count=1 ./...

vet:
	@unformatted=$$(gofmt -l $$(git ls-files '*.go' | grep -v '\.pb\.go$$')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt needed: $$unformatted"; exit 1; fi
	go vet ./...
	cd bench && go vet ./...

check-proto: tools
	.ci/check-proto.sh

generate: tools
	buf generate
	examples/python/generate.sh

# baseline records the current contract as the reference for buf breaking.
baseline: tools
	buf build -o proto/baseline/image.binpb

# fuzz-short gives every fuzz target a thousand inputs beyond its corpus, as a
# smoke test. A count, not a duration: with a duration, Go 1.26's fuzzing
# coordinator can fail a target with a bare "context deadline exceeded" when
# the time runs out while a worker is busy (golang/go#75804, fixed in 1.27).
FUZZ_TIME ?= 1000x
fuzz-short:
	@set -e; for pkg in $$(go list ./...); do \
	  dir=$$(go list -f '{{.Dir}}' $$pkg); \
	  for f in $$(grep -ho '^func Fuzz[A-Za-z0-9_]*' $$dir/*_test.go 2>/dev/null | sed 's/func //'); do \
	    echo "fuzz $$pkg $$f"; \
	    if ! out=$$(go test -run '^$$' -fuzz "^$$f\$$" -fuzztime $(FUZZ_TIME) $$pkg 2>&1); then echo "$$out"; exit 1; fi; \
	  done; \
	done

bench:
	go test -run '^$$' -bench . -benchmem ./...
