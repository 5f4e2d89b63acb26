# ParaK8s — set-up, tests and benchmarks. `make help` lists the targets.
SHELL := /bin/bash
GO    ?= go
BIN   := bin
CUE_VERSION := v0.17.1
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)

.PHONY: help build demo test test-short fuzz bench golden lint libtorch clean

help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: ## build bin/parac (pure Go, CGO_ENABLED=0)
	CGO_ENABLED=0 $(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN)/parac ./cmd/parac

demo: build ## vet and compile both reference experiments into validated Argo workflows under out/
	@mkdir -p out
	@for ex in ecg pneumonia; do \
	  $(BIN)/parac vet examples/$$ex && \
	  $(BIN)/parac compile examples/$$ex -o out/$$ex.yaml 2>/dev/null && \
	  echo "examples/$$ex: $$($(BIN)/parac trials examples/$$ex | tail -n +2 | wc -l) trials -> out/$$ex.yaml ($$(wc -c < out/$$ex.yaml) bytes, validated by Argo's validator)" || exit 1; \
	done
	@$(BIN)/parac trials examples/ecg | head -6
	@echo "submit with: argo submit -n argo out/ecg.yaml   (or: $(BIN)/parac compile examples/ecg | argo submit -)"

test: ## run every test (starts PostgreSQL, MLflow and a registry for the packages that need them)
	$(GO) vet ./...
	@test -z "$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*'))" || { gofmt -l $$(find . -name '*.go' -not -path './.git/*'); echo 'gofmt needed'; exit 1; }
	$(GO) test -count=1 -timeout 30m ./...

test-short: ## the fast tests only (no servers, no binary builds)
	PARAK8S_SKIP_SERVERS=1 $(GO) test -short ./...

fuzz: ## run each fuzz target for FUZZTIME (default 20s)
	@for t in "FuzzLoad ./compiler/spec" "FuzzParseSet ./runtime/step" "FuzzParseCondition ./runtime/step"; do \
	  set -- $$t; $(GO) test -run='^$$' -fuzz="^$$1$$" -fuzztime=$${FUZZTIME:-20s} $$2 || exit 1; \
	done

$(BIN)/cue:
	GOBIN=$(abspath $(BIN)) $(GO) install cuelang.org/go/cmd/cue@$(CUE_VERSION)

bench: build $(BIN)/cue ## measure parac against cue export and on large sweeps; writes out/bench.json
	$(GO) run ./bench -parac $(BIN)/parac -cue $(BIN)/cue -out out/bench.json

golden: ## regenerate the examples' golden workflows (review the diff)
	$(GO) test ./examples -update

libtorch: ## install libtorch 2.1.2 (CPU) for the gotch packages into ~/.cache/parak8s
	scripts/libtorch.sh

clean: ## remove build outputs
	rm -rf $(BIN) out .parak8s
