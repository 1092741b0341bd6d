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
SUBST     = sed 's|@SBINDIR@|$(PREFIX)/sbin|'

.PHONY: all help build test unit fuzz bench bench-micro lint check-docs install uninstall clean demo package package-test dist dist-check

all: build

build:
	@mkdir -p bin
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/ ./cmd/...

# bench/ is a module of its own, so that its plotting libraries stay out of
# the daemons' go.mod; ./... at the root does not reach it, so each target
# below that should cover it names it.
BENCHMOD := bench

# Every test: unit tests, the network-namespace lab tests (they need root
# and say why they skip without it), then a short pass of each fuzz target.
test: unit fuzz

unit:
	@if [ "$$(id -u)" != 0 ]; then echo "note: not root, so the network-namespace tests will skip (run: sudo make test)"; fi
	$(GO) test -count=1 -race ./...
	$(GO) -C $(BENCHMOD) test -count=1 -race ./...

fuzz:
	@set -e; for dir in $$(grep -rl --include='*_test.go' '^func Fuzz' . | xargs -n1 dirname | sort -u); do \
		for target in $$(grep -h '^func Fuzz' $$dir/*_test.go | sed 's/func \(Fuzz[A-Za-z0-9_]*\).*/\1/'); do \
			echo "fuzz $$dir $$target for $(FUZZTIME)"; \
			$(GO) test -run='^$$' -fuzz="^$$target$$" -fuzztime=$(FUZZTIME) $$dir; \
		done; \
	done

# The side-by-side benchmark against keepalived and ucarp (root; about
# 30 minutes; writes docs/benchmarks.md and docs/benchmarks.png).
bench:
	$(GO) -C $(BENCHMOD) run .

# Go micro-benchmarks (the takeover one needs root: it builds a lab).
bench-micro:
	$(GO) test -run='^$$' -bench=. -benchtime=200x ./...
	$(GO) -C $(BENCHMOD) test -run='^$$' -bench=. -benchtime=200x ./...

lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	GOOS=darwin $(GO) vet ./...
	$(GO) run $(STATICCHECK) ./...
	$(GO) -C $(BENCHMOD) vet ./...
	GOOS=darwin $(GO) -C $(BENCHMOD) vet ./...
	$(GO) -C $(BENCHMOD) run $(STATICCHECK) ./...

# The man pages, units and plists as a packager would check them.
check-docs: build
	mandoc -T lint -W warning docs/man/*.5 docs/man/*.8
	@tmp=$$(mktemp -d) && trap 'rm -rf $$tmp' EXIT && \
	cp bin/heartbeatd bin/failoverd scripts/config-sync/ipfailover-config-sync $$tmp/ && \
	for u in init/systemd/*.service scripts/config-sync/*.service scripts/config-sync/*.timer; do \
		sed "s|@SBINDIR@|$$tmp|" $$u > $$tmp/$${u##*/}; done && \
	for u in $$tmp/*.service $$tmp/*.timer; do \
		echo "systemd-analyze verify $${u##*/}"; out=$$(systemd-analyze verify --man=no $$u 2>&1) || { echo "$$out"; exit 1; }; \
		if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; done
	for p in init/launchd/*.plist; do python3 -c 'import plistlib,sys; plistlib.load(open(sys.argv[1],"rb"))' $$p || exit 1; done

install: build
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
	install -m 0755 scripts/hooks/Test.fence scripts/hooks/PostAcq* scripts/hooks/PreRel* scripts/hooks/Check* $(DESTDIR)$(SHAREDIR)/hooks/
	install -m 0644 scripts/hooks/README.md $(DESTDIR)$(SHAREDIR)/hooks/
	install -m 0644 scripts/config-sync/README.md scripts/config-sync/ipfailover-config-sync.conf $(DESTDIR)$(SHAREDIR)/config-sync/
	install -m 0644 init/ipfailover.conf $(DESTDIR)$(SHAREDIR)/ipfailover.conf.example
	for p in init/launchd/*.plist; do $(SUBST) $$p > $(DESTDIR)$(SHAREDIR)/launchd/$${p##*/} || exit 1; done
	@if [ ! -e $(DESTDIR)/etc/default/ipfailover ]; then \
		install -d $(DESTDIR)/etc/default && install -m 0644 init/ipfailover.conf $(DESTDIR)/etc/default/ipfailover; \
	else echo "kept the existing $(DESTDIR)/etc/default/ipfailover"; fi
	@if [ ! -e $(DESTDIR)/etc/default/ipfailover-config-sync ]; then \
		install -d $(DESTDIR)/etc/default && install -m 0600 scripts/config-sync/ipfailover-config-sync.conf $(DESTDIR)/etc/default/ipfailover-config-sync; fi
	@if [ "$$(uname)" = Darwin ]; then install -d $(DESTDIR)/Library/LaunchDaemons && install -m 0644 $(DESTDIR)$(SHAREDIR)/launchd/*.plist $(DESTDIR)/Library/LaunchDaemons/; fi

clean:
	rm -rf bin build dist

# Release builds: the scripts in packaging/ get the version stamp from here.
RELEASE_ENV = GO='$(GO)' VERSION='$(VERSION)' LDFLAGS='$(LDFLAGS)'

# .deb and .rpm for linux/amd64 and linux/arm64 (nfpm, pinned in
# packaging/go.mod) into dist/packages/.
package:
	$(RELEASE_ENV) ./packaging/package.sh

# Build this machine's .deb, install it, check it, purge it (root; Debian).
package-test:
	$(RELEASE_ENV) ./packaging/package-test.sh

# Reproducible tarballs for linux and darwin, amd64 and arm64, and
# SHA256SUMS, into dist/.
dist:
	$(RELEASE_ENV) ./packaging/dist.sh

# make dist twice: the same bytes both times.
dist-check:
	$(RELEASE_ENV) ./packaging/dist-check.sh

# A live run in a network-namespace lab (needs root).
demo: build
	./scripts/demo.sh
