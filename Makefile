# ipfailover: heartbeatd, failoverd, failoverctl

GO       ?= go
PREFIX   ?= /usr/local
DESTDIR  ?=
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -X github.com/ipfailover/ipfailover/internal/cli.Version=$(VERSION)
# A count, not a duration: with a duration Go 1.26's fuzz coordinator can
# report a spurious "context deadline exceeded" at the end (go.dev/issue/75804).
FUZZTIME ?= 500000x
STATICCHECK ?= honnef.co/go/tools/cmd/staticcheck@v0.8.2
CMDS     := heartbeatd failoverd failoverctl
MANDIR   ?= $(PREFIX)/share/man
UNITDIR  ?= /etc/systemd/system
SHAREDIR  = $(PREFIX)/share/ipfailover
SUBST     = sed -e 's|@SBINDIR@|$(PREFIX)/sbin|' -e 's|@SHAREDIR@|$(SHAREDIR)|'

.PHONY: all help build test unit fuzz sim mutate bench bench-micro lint check-docs install uninstall clean demo package package-test dist dist-check

all: build

# Each target's "## " comment is its line in make help.
help: ## list the targets
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | sed 's/:.*## /\t/' | awk -F'\t' '{printf "  %-13s %s\n", $$1, $$2}'

build: ## build bin/heartbeatd, bin/failoverd, bin/failoverctl
	@mkdir -p bin
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ ./cmd/...

# bench/ is a module of its own, so that its plotting libraries stay out of
# the daemons' go.mod; ./... at the root does not reach it, so each target
# below that should cover it names it.
BENCHMOD := bench

# Every test: unit tests, the network-namespace lab tests (they need root
# and say why they skip without it), then a short pass of each fuzz target.
test: unit fuzz ## every test: unit, then fuzz (as root the namespace tests run too)

unit: ## the unit, network-namespace and end-to-end tests, with -race (needs gcc)
	@if [ "$$(id -u)" != 0 ]; then echo "note: not root, so the network-namespace tests will skip (run: sudo make test)"; fi
	$(GO) test -count=1 -race ./...
	$(GO) -C $(BENCHMOD) test -count=1 -race ./...

fuzz: ## a short pass of each fuzz target (FUZZTIME runs each)
	@set -e; for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for target in $$(grep -h '^func Fuzz' $$dir/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "fuzz $$dir $$target for $(FUZZTIME)"; \
			$(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) $$dir; \
		done; \
	done

# The deterministic simulation of the whole pair (internal/sim): SEEDS=N
# runs seeds 1..N, SEED=S replays one (a breach prints its seed and the
# timeline of its last events; SIM_DEBUG=1 puts the daemons' debug lines
# on it). go test ./... runs 24 seeds, and each package it guards 16.
SEEDS ?= 2000
SEED  ?=
sim: ## the simulation of the pair: SEEDS=N seeds (default 2000), or SEED=S alone
	@mkdir -p bin
	$(GO) test -c -o bin/sim.test ./internal/sim
	SIM_SEEDS=$(SEEDS) SIM_SEED=$(SEED) bin/sim.test -test.count=1 -test.timeout=3h -test.run '^TestSimulation$$'

# Mutation testing of the packages that keep the first promise: gremlins
# (pinned in tools/mutate/go.mod, a module of its own as nfpm is) plants
# one small change at a time in a package and runs that package's own
# tests; a mutant lives when they still pass. The default mutators and
# invert-logical; --timeout-coefficient 10, since fast tests otherwise read
# as timed out. MUTATE=./internal/wire picks packages; each package's
# figures are the "Killed/Lived/Not covered" and efficacy lines it prints.
MUTATE ?= ./internal/failover ./internal/failoverd ./internal/heartbeatd ./internal/heartbeat ./internal/wire ./internal/monitor
mutate: ## mutation testing (gremlins) of the safety packages; MUTATE=./internal/X for some
	$(GO) -C tools/mutate build -o $(CURDIR)/bin/gremlins github.com/go-gremlins/gremlins/cmd/gremlins
	@set -e; for p in $(MUTATE); do \
		echo "== gremlins unleash $$p"; \
		bin/gremlins unleash --invert-logical --timeout-coefficient 10 $$p; \
	done

# The side-by-side benchmark against keepalived and ucarp, then three
# servers with and without the arbiter against keepalived (root; about
# 50 minutes; writes docs/benchmarks.md, .json and .png). The three
# servers alone: cd bench && go run . -cluster-only (about 20 minutes).
bench: ## keepalived and ucarp side by side, and three servers (root; about 50 minutes)
	$(GO) -C $(BENCHMOD) run .

# Go micro-benchmarks (the takeover one needs root: it builds a lab).
bench-micro: ## the Go micro-benchmarks
	$(GO) test -run='^$$' -bench=. -benchtime=200x ./...
	$(GO) -C $(BENCHMOD) test -run='^$$' -bench=. -benchtime=200x ./...

lint: ## gofmt, go vet (linux and darwin), staticcheck
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) -C $(BENCHMOD) vet ./...
	GOOS=darwin $(GO) -C $(BENCHMOD) vet ./...
	$(GO) -C $(BENCHMOD) run $(STATICCHECK) ./...

# The man pages, units and plists as a packager would check them.
check-docs: build ## lint the man pages (mandoc), verify the units (systemd-analyze) and plists (python3)
	mandoc -T lint -W warning docs/man/*.5 docs/man/*.8 scripts/config-sync/*.8
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	cp bin/heartbeatd bin/failoverd scripts/config-sync/ipfailover-config-sync $$tmp/ && \
	for u in init/systemd/*.service scripts/config-sync/*.service scripts/config-sync/*.timer; do \
		sed "s|@SBINDIR@|$$tmp|" $$u > $$tmp/$${u##*/}; done && \
	for u in $$tmp/*.service $$tmp/*.timer; do \
		echo "systemd-analyze verify $${u##*/}"; out=$$(systemd-analyze verify --man=no $$u 2>&1) || { echo "$$out"; exit 1; }; \
		if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; done
	for p in init/launchd/*.plist; do python3 -c 'import plistlib,sys; plistlib.load(open(sys.argv[1],"rb"))' $$p || exit 1; done

install: build ## install into PREFIX and /etc (root); units not enabled
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man8
	install -m 0755 bin/heartbeatd bin/failoverd $(DESTDIR)$(PREFIX)/sbin/
	install -m 0755 bin/failoverctl $(DESTDIR)$(PREFIX)/bin/
	install -m 0644 docs/man/ipfailover.5 $(DESTDIR)$(MANDIR)/man5/
	install -m 0644 docs/man/heartbeatd.8 docs/man/failoverd.8 docs/man/failoverctl.8 $(DESTDIR)$(MANDIR)/man8/
	install -d $(DESTDIR)$(UNITDIR) $(DESTDIR)$(SHAREDIR)/hooks $(DESTDIR)$(SHAREDIR)/config-sync $(DESTDIR)$(SHAREDIR)/launchd
	for u in init/systemd/heartbeatd.service init/systemd/failoverd.service scripts/config-sync/ipfailover-config-sync.service; do \
		$(SUBST) $$u > $(DESTDIR)$(UNITDIR)/$${u##*/} && chmod 0644 $(DESTDIR)$(UNITDIR)/$${u##*/} || exit 1; done
	install -m 0644 scripts/config-sync/ipfailover-config-sync.timer $(DESTDIR)$(UNITDIR)/
	install -m 0755 scripts/config-sync/ipfailover-config-sync $(DESTDIR)$(PREFIX)/sbin/
	install -m 0644 scripts/config-sync/ipfailover-config-sync.8 $(DESTDIR)$(MANDIR)/man8/
	install -m 0755 scripts/hooks/Test.fence scripts/hooks/PostAcq* scripts/hooks/PreRel* scripts/hooks/Check* $(DESTDIR)$(SHAREDIR)/hooks/
	install -m 0644 scripts/hooks/README.md $(DESTDIR)$(SHAREDIR)/hooks/
	install -m 0644 scripts/config-sync/README.md scripts/config-sync/ipfailover-config-sync.conf $(DESTDIR)$(SHAREDIR)/config-sync/
	$(SUBST) init/ipfailover.conf > $(DESTDIR)$(SHAREDIR)/ipfailover.conf.example && chmod 0644 $(DESTDIR)$(SHAREDIR)/ipfailover.conf.example
	for p in init/launchd/*.plist; do $(SUBST) $$p > $(DESTDIR)$(SHAREDIR)/launchd/$${p##*/} || exit 1; done
	@if [ ! -e $(DESTDIR)/etc/default/ipfailover ]; then \
		install -d $(DESTDIR)/etc/default && $(SUBST) init/ipfailover.conf > $(DESTDIR)/etc/default/ipfailover && chmod 0644 $(DESTDIR)/etc/default/ipfailover; \
	else echo "kept the existing $(DESTDIR)/etc/default/ipfailover"; fi
	@if [ ! -e $(DESTDIR)/etc/default/ipfailover-config-sync ]; then \
		install -d $(DESTDIR)/etc/default && install -m 0600 scripts/config-sync/ipfailover-config-sync.conf $(DESTDIR)/etc/default/ipfailover-config-sync; fi
	@if [ "$$(uname)" = Darwin ]; then install -d $(DESTDIR)/Library/LaunchDaemons && install -m 0644 $(DESTDIR)$(SHAREDIR)/launchd/*.plist $(DESTDIR)/Library/LaunchDaemons/; fi

# What install installed, except the configuration (/etc/default/ipfailover,
# /etc/default/ipfailover-config-sync) and /etc/ipfailover (hooks, keys),
# which are the administrator's. The daemons are stopped and disabled first.
uninstall: ## remove what install installed, keeping the configuration; root
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
		systemctl disable --now heartbeatd.service failoverd.service ipfailover-config-sync.timer ipfailover-config-sync.service 2>/dev/null || true; fi
	@if [ -z "$(DESTDIR)" ] && [ "$$(uname)" = Darwin ]; then \
		for p in init/launchd/*.plist; do launchctl bootout system/$$(basename $$p .plist) 2>/dev/null || true; \
			rm -f /Library/LaunchDaemons/$${p##*/}; done; fi
	rm -f $(DESTDIR)$(PREFIX)/sbin/heartbeatd $(DESTDIR)$(PREFIX)/sbin/failoverd $(DESTDIR)$(PREFIX)/bin/failoverctl
	rm -f $(DESTDIR)$(PREFIX)/sbin/ipfailover-config-sync
	rm -f $(DESTDIR)$(MANDIR)/man5/ipfailover.5 $(DESTDIR)$(MANDIR)/man8/heartbeatd.8 $(DESTDIR)$(MANDIR)/man8/failoverd.8 $(DESTDIR)$(MANDIR)/man8/failoverctl.8 \
		$(DESTDIR)$(MANDIR)/man8/ipfailover-config-sync.8
	rm -f $(DESTDIR)$(UNITDIR)/heartbeatd.service $(DESTDIR)$(UNITDIR)/failoverd.service \
		$(DESTDIR)$(UNITDIR)/ipfailover-config-sync.service $(DESTDIR)$(UNITDIR)/ipfailover-config-sync.timer
	rm -rf $(DESTDIR)$(SHAREDIR)
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi
	@echo "kept /etc/default/ipfailover, /etc/default/ipfailover-config-sync and /etc/ipfailover (yours; remove them by hand if you want them gone)"

clean: ## remove bin/, build/ and dist/
	rm -rf bin build dist

# Release builds: the scripts in packaging/ get the version stamp from here.
# nfpm, which builds the packages, is pinned in packaging/go.mod.
RELEASE_ENV = GO='$(GO)' VERSION='$(VERSION)' LDFLAGS='$(LDFLAGS)'

package: ## .deb and .rpm for linux/amd64 and linux/arm64 into dist/packages/
	$(RELEASE_ENV) ./packaging/package.sh

package-test: ## build this machine's .deb, install, check and purge it (root, Debian)
	$(RELEASE_ENV) ./packaging/package-test.sh

dist: ## reproducible tarballs for linux and darwin, amd64 and arm64, and SHA256SUMS, into dist/
	$(RELEASE_ENV) ./packaging/dist.sh

dist-check: ## make dist twice and check that both give the same bytes
	$(RELEASE_ENV) ./packaging/dist-check.sh

# A live run in a network-namespace lab (needs root).
demo: build ## a live takeover and give-back in a network-namespace lab (root)
	./scripts/demo.sh
