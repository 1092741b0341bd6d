#!/bin/sh
# make dist-check: make dist twice and compare the bytes. The second run
# relinks every binary and writes every archive again; with
# DIST_CHECK_COLD=1 it also starts from an empty Go build cache, so that
# nothing compiled is reused (minutes longer: the standard library is
# built again for all four platforms; CI keeps to the warm run).
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
DIST_DIR=$tmp/a "$root/packaging/dist.sh" >/dev/null
if [ "${DIST_CHECK_COLD:-}" = 1 ]; then
	DIST_DIR=$tmp/b GOCACHE=$tmp/gocache "$root/packaging/dist.sh" >/dev/null
else
	DIST_DIR=$tmp/b "$root/packaging/dist.sh" >/dev/null
fi
failed=no
for f in "$tmp"/a/*.tar.gz; do
	g=$tmp/b/${f##*/}
	cmp -s "$f" "$g" && continue
	failed=yes
	echo "dist-check: FAIL: two runs of make dist gave different ${f##*/}; the files that differ:" >&2
	mkdir -p "$tmp/x/a" "$tmp/x/b"
	tar -C "$tmp/x/a" -xzf "$f"
	tar -C "$tmp/x/b" -xzf "$g"
	diff -rq "$tmp/x/a" "$tmp/x/b" >&2 || true
	rm -rf "$tmp/x"
done
# A source file changed while this ran (an editor) also shows up here.
cmp "$tmp/a/SHA256SUMS" "$tmp/b/SHA256SUMS" >/dev/null || failed=yes
[ "$failed" = no ] || exit 1
echo "dist-check: ok: two runs gave the same bytes:"
cat "$tmp/a/SHA256SUMS"
