#!/bin/sh
# make dist: release archives for each TARGETS entry (default linux/amd64
# linux/arm64 darwin/amd64 darwin/arm64) and SHA256SUMS, into DIST_DIR
# (default dist/). Reproducible: the binaries are built with -trimpath and
# no VCS stamp, every entry has the commit's time, owner 0 and a mode that
# depends only on whether it is executable, entries are sorted by name, and
# gzip writes no name or time; two runs give the same bytes (make dist-check).
. "$(dirname "$0")/lib.sh"
: "${TARGETS:=linux/amd64 linux/arm64 darwin/amd64 darwin/arm64}"
: "${DIST_DIR:=$root/dist}"
tar --version 2>/dev/null | grep -q 'GNU tar' || { echo "dist: needs GNU tar (--sort, --mtime)" >&2; exit 1; }

work=$root/build/dist
rm -rf "$work"
mkdir -p "$work" "$DIST_DIR"
rm -f "$DIST_DIR"/ipfailover-*.tar.gz "$DIST_DIR"/SHA256SUMS

for target in $TARGETS; do
	os=${target%/*} arch=${target#*/}
	name=ipfailover-$VERSION-$os-$arch
	d=$work/$name
	build_bins "$os" "$arch" "$d/bin"
	mkdir -p "$d/sbin" "$d/man/man5" "$d/man/man8" "$d/examples/hooks"
	mv "$d/bin/heartbeatd" "$d/bin/failoverd" "$d/sbin/"
	cp "$root"/docs/man/*.5 "$d/man/man5/"
	cp "$root"/docs/man/*.8 "$d/man/man8/"
	cp "$root"/README.md "$root"/LICENSE "$d/"
	# Its comment names the example hooks where the README's commands
	# put them: /usr/local/share/ipfailover, as make install does.
	subst /usr/local/sbin "$root"/init/ipfailover.conf "$d/examples/ipfailover.conf" /usr/local/share/ipfailover
	cp "$root"/scripts/hooks/* "$d/examples/hooks/"
	# The units and plists expect the binaries where `make install` puts
	# them by default: /usr/local/sbin.
	case $os in
	linux)
		mkdir -p "$d/systemd" "$d/examples/config-sync"
		for u in "$root"/init/systemd/*.service "$root"/scripts/config-sync/*.service; do
			subst /usr/local/sbin "$u" "$d/systemd/${u##*/}"
		done
		cp "$root"/scripts/config-sync/*.timer "$d/systemd/"
		cp "$root"/scripts/config-sync/*.8 "$d/man/man8/"
		cp "$root"/scripts/config-sync/README.md "$root"/scripts/config-sync/ipfailover-config-sync \
			"$root"/scripts/config-sync/ipfailover-config-sync.conf "$d/examples/config-sync/"
		;;
	darwin)
		mkdir -p "$d/launchd"
		for p in "$root"/init/launchd/*.plist; do
			subst /usr/local/sbin "$p" "$d/launchd/${p##*/}"
		done
		;;
	esac
	tar -C "$work" --sort=name --format=ustar --mtime="@$SOURCE_DATE_EPOCH" \
		--owner=0 --group=0 --numeric-owner --mode='u=rwX,go=rX' -cf - "$name" |
		gzip -n -9 >"$DIST_DIR/$name.tar.gz"
done
cd "$DIST_DIR"
sha256sum -- ipfailover-*.tar.gz >SHA256SUMS
cat SHA256SUMS
