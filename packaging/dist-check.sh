#!/bin/sh
# make dist-check: make dist twice, the second time with an empty Go build
# cache so that nothing is reused, and compare the bytes.
. "$(dirname "$0")/lib.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
DIST_DIR=$tmp/a "$root/packaging/dist.sh" >/dev/null
DIST_DIR=$tmp/b GOCACHE=$tmp/gocache "$root/packaging/dist.sh" >/dev/null
if ! cmp "$tmp/a/SHA256SUMS" "$tmp/b/SHA256SUMS"; then
	diff "$tmp/a/SHA256SUMS" "$tmp/b/SHA256SUMS" >&2
	echo "dist-check: FAIL: two runs of make dist gave different archives" >&2
	exit 1
fi
for f in "$tmp"/a/*; do
	cmp "$f" "$tmp/b/${f##*/}" || { echo "dist-check: FAIL: ${f##*/} differs" >&2; exit 1; }
done
echo "dist-check: ok: two runs gave the same bytes:"
cat "$tmp/a/SHA256SUMS"
