# Django Runserver: the Go backend, the VS Code extension, and their tests.
#
#   make run     serve testdata/mysite with fast reload, in this terminal
#   make test    every test: Go (with -race), fuzzing, cross-builds, extension
#                unit, wire conformance, end to end in a real VS Code, and a
#                smoke run of the benchmark
#
# Both install what a fresh Debian machine lacks (python3-django, Node
# packages, code-server and Chromium for the end-to-end tests).

SHELL := /bin/bash
GO ?= go
BIN := bin/django-runserver
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)
ADDR ?= 127.0.0.1:8000

# An interpreter that can import Django: the one on PATH if it can,
# else Debian's, where python3-django installs it.
PYTHON ?= $(shell for p in python3 /usr/bin/python3; do $$p -c 'import django' >/dev/null 2>&1 && command -v $$p && break; done)

.PHONY: all build run sample-db test-sample test-wine wine-deps test test-go djangos corpus fuzz test-ext cross deps deps-node code-server vet generate-check vsix bench bench-smoke clean

all: build

build:
	$(GO) build -o $(BIN) ./server/cmd/django-runserver

deps:
	@if ! python3 -c 'import django' >/dev/null 2>&1 && ! /usr/bin/python3 -c 'import django' >/dev/null 2>&1; then \
	  echo "Installing Debian's python3-django (Django for the sample project and the tests)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-django >/dev/null; \
	fi
	@if [ -x /usr/bin/python3 ] && ! /usr/bin/python3 -c 'import debugpy' >/dev/null 2>&1; then \
	  echo "Installing Debian's python3-debugpy (the debugger of the Debug Server and its tests)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-debugpy >/dev/null; \
	fi
	@if [ -x /usr/bin/python3 ] && ! /usr/bin/python3 -c 'import daphne.server, channels.routing' >/dev/null 2>&1; then \
	  echo "Installing Debian's python3-daphne and python3-django-channels (Daphne's runserver and a Channels consumer, as Channels projects run them, for the tests)"; \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=300 update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends python3-daphne python3-django-channels >/dev/null; \
	fi

run: deps build sample-db
	$(BIN) run --python "$(PYTHON)" testdata/mysite $(ADDR)

# The sample project's database, migrated, so `make run` serves it without
# Django's "You have N unapplied migration(s)" warning. The database is not
# in git: each Django version brings its own contrib migrations.
sample-db: deps
	"$(PYTHON)" testdata/mysite/manage.py migrate --noinput --verbosity 0

# The sample's models have their migrations, and sample-db applies them all.
test-sample: sample-db
	"$(PYTHON)" testdata/mysite/manage.py makemigrations --check --dry-run
	"$(PYTHON)" testdata/mysite/manage.py migrate --check
	@echo "testdata/mysite: every migration applied"

vet:
	$(GO) vet ./...
	GOOS=windows $(GO) vet ./...
	GOOS=darwin $(GO) vet ./...

# Generated files are committed. Regenerating them must change nothing, or
# protocol.go changed without go generate, or the output was edited by hand.
# The check compares with the files as they were, not with git, so it holds
# in a fresh clone and in a tree with uncommitted, regenerated changes; on a
# difference it puts the files back and shows what go generate would write.
GENERATED := vscode-extension/src/protocol.ts

generate-check:
	@before=$$(mktemp -d) && trap 'rm -rf "$$before"' EXIT && \
	for f in $(GENERATED); do mkdir -p "$$before/$$(dirname $$f)" && cp "$$f" "$$before/$$f"; done && \
	$(GO) generate ./... && \
	stale=0 && for f in $(GENERATED); do \
	  if ! cmp -s "$$before/$$f" "$$f"; then \
	    stale=1; diff -u --label "$$f (as it was)" --label "$$f (generated)" "$$before/$$f" "$$f"; cp "$$before/$$f" "$$f"; \
	  fi; \
	done; \
	if [ $$stale = 1 ]; then \
	  echo "generate-check: the files above are not what go generate writes from protocol/protocol.go."; \
	  echo "Run 'go generate ./...' and commit the result; never edit a generated file by hand."; \
	  exit 1; \
	fi; \
	echo "generate-check: every generated file matches its source"

# The backend must keep building where we can't run its tests.
cross:
	GOOS=windows GOARCH=amd64 $(GO) build -o /dev/null ./server/cmd/django-runserver
	GOOS=darwin GOARCH=arm64 $(GO) build -o /dev/null ./server/cmd/django-runserver
	GOOS=darwin GOARCH=amd64 $(GO) build -o /dev/null ./server/cmd/django-runserver

# Django 4.2 and 5.2 LTS beside the system's 3.2, from Debian's newer
# suites, unpacked under DJANGOS for PYTHONPATH; a warm cache costs nothing.
# The Go tests run the core flow on each, and fail if one is missing.
DJANGOS ?= $(CURDIR)/.cache/djangos

djangos:
	server/internal/testenv/djangos/fetch.sh "$(DJANGOS)"

# The corpus of real projects, from Debian bookworm: Mailman 3's web UI
# (mailman3-web) and graphite-web, unpacked under CORPUS by fetch.sh, and
# what they import installed with apt, without the recommends (hyperkitty
# recommends mailman3-web, which would install uwsgi and a web server).
# They run on Debian's Python and Django 3.2; a warm cache costs nothing.
CORPUS ?= $(CURDIR)/.cache/corpus
CORPUS_DEPS := python3-django-hyperkitty python3-django-postorius python3-whoosh \
	python3-django-tagging python3-cairo python3-cairocffi python3-pyparsing python3-simplejson \
	python3-tz python3-urllib3 python3-whisper python3-six

corpus: deps
	@if ! /usr/bin/python3 -c 'import hyperkitty, postorius, whoosh, tagging, whisper, cairocffi' >/dev/null 2>&1; then \
	  echo "Installing what the corpus projects import: $(CORPUS_DEPS)"; \
	  $(SUDO) apt-get -o DPkg::Lock::Timeout=300 update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends $(CORPUS_DEPS) >/dev/null; \
	fi
	internal/corpus/fetch.sh "$(CORPUS)"

test-go: deps djangos corpus vet
	DJANGO_RUNSERVER_PYTHON="$(PYTHON)" DJANGO_RUNSERVER_DJANGOS="$(DJANGOS)" DJANGO_RUNSERVER_CORPUS="$(CORPUS)" $(GO) test -race -count=1 -timeout 20m ./...

# The Windows build, run under Debian's Wine: lifecycle, the interpreter
# check, the port probe, and the Job Object when the backend is killed
# (server/internal/winsmoke). Wine 8.0 lacks bcryptprimitives.dll's
# ProcessPrng, which Go 1.22+ needs at start-up: a ten-line stand-in built
# with MinGW fills in. The Wine prefix is kept in .cache/wine, so only the
# first run pays for wineboot.
WINE := /usr/lib/wine/wine64
WINE_CACHE := $(CURDIR)/.cache/wine
WINE_DLL := $(WINE_CACHE)/bcryptprimitives.dll
PRNG := server/internal/winsmoke/prng

wine-deps:
	@if [ ! -x $(WINE) ] || ! command -v x86_64-w64-mingw32-gcc >/dev/null; then \
	  echo "Installing Debian's wine64 and gcc-mingw-w64-x86-64-win32 (for the Windows smoke test)"; \
	  $(SUDO) apt-get update -qq && $(SUDO) env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends wine wine64 gcc-mingw-w64-x86-64-win32 >/dev/null; \
	fi

$(WINE_DLL): $(PRNG)/processprng.c $(PRNG)/bcryptprimitives.def | wine-deps
	@mkdir -p $(WINE_CACHE)
	x86_64-w64-mingw32-gcc -shared -O2 -Wall -o $@ $^ -lbcrypt

test-wine: wine-deps $(WINE_DLL)
	DJANGO_RUNSERVER_WINE=$(WINE) WINEPREFIX=$(WINE_CACHE)/prefix DJANGO_RUNSERVER_WINE_DLL=$(WINE_DLL) \
	  $(GO) test -count=1 -timeout 15m -v ./server/internal/winsmoke/

# Each fuzz target for a fixed number of inputs (about 10-15 s); a crash fails the build.
fuzz:
	GO=$(GO) server/internal/fuzz/run.sh

deps-node:
	npm ci --no-audit --no-fund

# Real VS Code for the end-to-end tests, in .cache/code-server; the installer returns at once when
# its version is already there.
code-server:
	bash vscode-extension/test/e2e/install-code-server.sh .cache/code-server

test-ext: deps deps-node build code-server
	npm run build
	DJANGO_RUNSERVER_BIN="$(CURDIR)/$(BIN)" DJANGO_RUNSERVER_PYTHON="$(PYTHON)" npm test
	DJANGO_RUNSERVER_BIN="$(CURDIR)/$(BIN)" DJANGO_RUNSERVER_PYTHON="$(PYTHON)" npm run e2e

test: generate-check test-go test-sample test-wine fuzz cross test-ext bench-smoke

vsix: deps-node
	npm run package

# The benchmark: reload latency and cost against Django's own reloaders.
# It rewrites docs/benchmarks.md; bench-smoke only checks that it runs.
# Both run the corpus's real projects too (section "real"), which `make corpus` installs.
bench: deps build corpus
	DJANGO_RUNSERVER_CORPUS="$(CORPUS)" $(GO) run ./bench -python "$(PYTHON)" -reps 10 -out docs/benchmarks.md

bench-smoke: deps build corpus
	DJANGO_RUNSERVER_CORPUS="$(CORPUS)" $(GO) run ./bench -python "$(PYTHON)" -smoke

clean:
	rm -rf bin dist-vsix artifacts
