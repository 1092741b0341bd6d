# Shared by package.sh, dist.sh and package-test.sh; sourced, not run.
# make passes VERSION and LDFLAGS, so every build of the binaries gets the
# same version stamp as `make build`.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
: "${GO:=go}"
: "${VERSION:?run this through make (make package, make dist)}"
: "${LDFLAGS:?run this through make (make package, make dist)}"
# Every file's time in the archives and packages is the commit's, so two
# builds of one commit give the same bytes (nfpm reads it too).
if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
	SOURCE_DATE_EPOCH=$(git -C "$root" log -1 --format=%ct 2>/dev/null || echo 0)
fi
export SOURCE_DATE_EPOCH
# A package's version must start with a digit and may not hold '-' (rpm):
#   v1.2.3 or 1.2.3            -> 1.2.3
#   v1.2.3-4-gabc1234[-dirty]  -> 1.2.3+4.gabc1234[.dirty]
#   abc1234[-dirty] (no tag)   -> 0.0.0~git<commits>.gabc1234[.dirty]
#     ('~' sorts before 0.0.0, so a first tagged release replaces it)
pkg_version() {
	v=${VERSION#v}
	dirty=
	case $v in *-dirty) v=${v%-dirty} dirty=.dirty ;; esac
	if printf '%s\n' "$v" | grep -Eq '^[0-9]+(\.[0-9]+)*-[0-9]+-g[0-9a-f]+$'; then
		v=$(printf '%s\n' "$v" | sed -E 's/^(.*)-([0-9]+)-(g[0-9a-f]+)$/\1+\2.\3/')
	elif printf '%s\n' "$v" | grep -Eq '^[0-9]+(\.[0-9]+)*$'; then
		:
	elif printf '%s\n' "$v" | grep -Eq '^[0-9a-f]{4,40}$'; then
		v=0.0.0~git$(git -C "$root" rev-list --count HEAD 2>/dev/null || echo 0).g$v
	else
		v=0.0.0~$(printf '%s\n' "$v" | tr -c 'A-Za-z0-9.\n' .)
	fi
	printf '%s%s\n' "$v" "$dirty"
}

# build_bins GOOS GOARCH DIR: the three daemons, as `make build` builds them
# (-trimpath, the version stamp), and also: without cgo, so that one build
# runs on every distribution and cross-builds; without VCS stamping, which
# a tarball of the source lacks; stripped (-s -w: no symbol table or DWARF,
# as distributions ship binaries; panics still print their stack).
build_bins() {
	mkdir -p "$3"
	CGO_ENABLED=0 GOOS=$1 GOARCH=$2 "$GO" -C "$root" build -trimpath -buildvcs=false \
		-ldflags "$LDFLAGS -s -w" -o "$3/" ./cmd/...
}

# subst SBINDIR SRC DST [SHAREDIR]: a unit, plist or the example
# configuration with @SBINDIR@ (and @SHAREDIR@, where the example hooks
# are) filled in, as `make install` does.
subst() {
	sed -e "s|@SBINDIR@|$1|" -e "s|@SHAREDIR@|${4:-}|" "$2" >"$3"
}
