#!/bin/sh
# make package: the .deb and .rpm of each architecture, with nfpm (pinned
# in packaging/go.mod, a module of its own so that it stays out of the
# daemons' go.mod), into dist/packages/.
#   ARCHES   (default "amd64 arm64")   FORMATS (default "deb rpm")
#   PKG_MAINTAINER  the Maintainer/Packager field
. "$(dirname "$0")/lib.sh"
: "${ARCHES:=amd64 arm64}"
: "${FORMATS:=deb rpm}"
: "${PKG_MAINTAINER:=The ipfailover authors <ipfailover@example.org>}"
export PKG_MAINTAINER

work=$root/build/package
out=$root/dist/packages
rm -rf "$work"
mkdir -p "$work/stage/man" "$work/stage/systemd" "$out"
rm -f "$out"/*.deb "$out"/*.rpm "$out"/SHA256SUMS

"$GO" -C "$root/packaging" build -o "$work/nfpm" github.com/goreleaser/nfpm/v2/cmd/nfpm

PKG_VERSION=$(pkg_version)
export PKG_VERSION
stage=$work/stage

for page in "$root"/docs/man/*.[58] "$root"/scripts/config-sync/*.8; do
	gzip -n -9 -c "$page" >"$stage/man/${page##*/}.gz"
done
for unit in "$root"/init/systemd/*.service "$root"/scripts/config-sync/*.service; do
	subst /usr/sbin "$unit" "$stage/systemd/${unit##*/}"
done
subst /usr/sbin "$root/init/ipfailover.conf" "$stage/ipfailover.conf" /usr/share/ipfailover
# Debian wants a changelog in every package; this one says what was built.
{
	printf 'ipfailover (%s-1) unstable; urgency=medium\n\n' "$PKG_VERSION"
	printf '  * Built by make package from %s (git describe: %s).\n\n' \
		"$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo 'a source tree')" "$VERSION"
	printf ' -- %s  %s\n' "$PKG_MAINTAINER" "$(date -u -R -d "@$SOURCE_DATE_EPOCH")"
} | gzip -n -9 >"$stage/changelog.Debian.gz"

cd "$root"
for arch in $ARCHES; do
	PKG_ARCH=$arch
	export PKG_ARCH
	rm -rf "$work/bin"
	build_bins linux "$arch" "$work/bin"
	for format in $FORMATS; do
		"$work/nfpm" package --config packaging/nfpm.yaml --packager "$format" --target "$out/"
	done
done
cd "$out"
ls | grep -E '\.(deb|rpm)$' | xargs sha256sum -- >SHA256SUMS
ls -l "$out"
# The commands that install them, from the clone's root (as the README's).
cd "$root"
for f in dist/packages/*.deb; do [ -e "$f" ] && echo "apt install ./$f"; done
for f in dist/packages/*.rpm; do [ -e "$f" ] && echo "dnf install ./$f"; done
true
