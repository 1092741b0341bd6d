#!/bin/sh
# make package-test: build this machine's .deb, install it with dpkg, check
# what it installed, remove and purge it, and check that nothing it
# installed is left. Root on Debian (CI runs it on a fresh machine); it
# installs what it needs with apt-get. It refuses to run where any file of
# the package already exists, so it never overwrites a `make install`.
. "$(dirname "$0")/lib.sh"

fail() { echo "package-test: FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
[ "$(id -u)" = 0 ] || fail "run as root (sudo make package-test): it installs the package"
command -v dpkg >/dev/null || fail "needs dpkg (Debian or Ubuntu)"

need=
command -v man >/dev/null || need="$need man-db"
command -v systemd-analyze >/dev/null || need="$need systemd"
command -v ip >/dev/null || need="$need iproute2"
command -v unshare >/dev/null || need="$need util-linux"
command -v lintian >/dev/null || need="$need lintian"
command -v rpm >/dev/null || need="$need rpm"
if [ -n "$need" ]; then
	step "apt-get install$need"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	# lintian and rpm are worth having, not required.
	apt-get install -y -qq $need || apt-get install -y -qq man-db systemd iproute2 util-linux
fi

arch=$(dpkg --print-architecture)
formats=deb
command -v rpm >/dev/null && formats="deb rpm"
step "make package for $arch ($formats)"
ARCHES=$arch FORMATS=$formats "$root/packaging/package.sh" >/dev/null
deb=$(ls "$root"/dist/packages/ipfailover_*_"$arch".deb)
pkg_version=$(dpkg-deb -f "$deb" Version)

tmp=$(mktemp -d)
# A failed check leaves behind no package this test installed.
ours=no
cleanup() {
	rm -rf "$tmp"
	if [ "$ours" = yes ] && dpkg -s ipfailover >/dev/null 2>&1; then dpkg --purge ipfailover >/dev/null; fi
}
trap cleanup EXIT
# What the package installs: its files, and the folders that are its own.
dpkg-deb -c "$deb" | awk '$1 !~ /^d/ {print $NF}' | sed 's|^\./|/|' >"$tmp/files"
own_dirs="/usr/share/ipfailover /usr/share/doc/ipfailover /etc/ipfailover"
! dpkg -s ipfailover >/dev/null 2>&1 || fail "ipfailover is installed here; dpkg --purge ipfailover first"
for f in $(cat "$tmp/files") $own_dirs; do
	[ ! -e "$f" ] || fail "$f already exists: this machine has ipfailover installed (make uninstall, or dpkg --purge ipfailover) or a leftover; remove it first"
done

if command -v lintian >/dev/null; then
	step "lintian"
	lintian --fail-on error "$deb" || fail "lintian reports errors (above)"
fi

if command -v rpm >/dev/null; then
	step "rpm -qlp lists the .deb's files"
	rpm_arch=$(case $arch in amd64) echo x86_64 ;; arm64) echo aarch64 ;; *) echo "$arch" ;; esac)
	rpmfile=$(ls "$root"/dist/packages/ipfailover-*."$rpm_arch".rpm)
	# Each format's own documents: the .deb's copyright, changelog and lintian
	# notes; the .rpm's licence file.
	grep -v -e '^/usr/share/doc/ipfailover/copyright$' -e '^/usr/share/doc/ipfailover/changelog.Debian.gz$' \
		-e '^/usr/share/lintian/' "$tmp/files" | sort >"$tmp/deb-files"
	rpm -qlp "$rpmfile" | grep -v '^/usr/share/licenses/ipfailover/' | sort >"$tmp/rpm-files"
	diff -u "$tmp/deb-files" "$tmp/rpm-files" || fail "the .rpm and the .deb install different files"
	rpm -qlp "$rpmfile" | grep -qx /usr/share/licenses/ipfailover/LICENSE || fail "the .rpm has no licence file"
fi

step "the package pulls in no mail server: a mail transfer agent is only suggested"
recommends=$(dpkg-deb -f "$deb" Recommends)
case $recommends in *mail*|*mta*) fail "the .deb recommends $recommends: apt would install a mail server unasked" ;; esac
dpkg-deb -f "$deb" Suggests | grep -q 'mail-transport-agent' || fail "the .deb does not suggest a mail transfer agent: $(dpkg-deb -f "$deb" Suggests)"
if command -v rpm >/dev/null; then
	rpmfile=$(ls "$root"/dist/packages/ipfailover-*.rpm | head -n 1)
	[ -z "$(rpm -qp --recommends "$rpmfile")" ] || fail "the .rpm recommends $(rpm -qp --recommends "$rpmfile")"
	rpm -qp --suggests "$rpmfile" | grep -qx /usr/sbin/sendmail || fail "the .rpm does not suggest /usr/sbin/sendmail"
fi

# The README's command, as printed, from the clone's root (its own
# architecture's .deb): with nothing to read on standard input, apt
# gives up where it would ask, as before other packages it would add.
readme_apt=$(sed -n '/^### From a package/,/^### /p' "$root/README.md" | grep '^apt install ' | sed 's/ *#.*//')
[ -n "$readme_apt" ] || fail "the README's From a package section has no apt install command"
readme_apt=$(printf '%s\n' "$readme_apt" | sed "s/_amd64\.deb/_$arch.deb/")
step "as the README says, from the clone's root: $readme_apt"
ours=yes
mta_before=$(ls /usr/sbin/sendmail 2>/dev/null || true)
(cd "$root" && $readme_apt) </dev/null >"$tmp/install.out" 2>&1 || { cat "$tmp/install.out"; fail "the README's $readme_apt failed from the clone's root (above)"; }
cat "$tmp/install.out"
dpkg -s ipfailover | grep -qx 'Status: install ok installed' || fail "dpkg says ipfailover is not installed"
[ "$(ls /usr/sbin/sendmail 2>/dev/null || true)" = "$mta_before" ] || fail "installing ipfailover installed a mail transfer agent"
if [ -z "$mta_before" ]; then
	grep -q 'no mail transfer agent provides it' "$tmp/install.out" || fail "the install does not say that notices have no mail transfer agent"
	grep -q 'apt install default-mta' "$tmp/install.out" || fail "the install does not say how to install a mail transfer agent"
fi

step "/etc/default/ipfailover names the example hooks where they are"
examples=$(sed -n 's/.*Examples: \([^ ]*\)\.$/\1/p' /etc/default/ipfailover)
case $examples in /*) ;; *) fail "/etc/default/ipfailover names the example hooks as '$examples', not an absolute path" ;; esac
[ -x "$examples/Test.fence" ] || fail "/etc/default/ipfailover names $examples for the example hooks, which holds no Test.fence"

step "the binaries run"
for b in /usr/sbin/heartbeatd /usr/sbin/failoverd /usr/bin/failoverctl; do
	out=$("$b" -v) || fail "$b -v exited $?"
	echo "$out"
	case $out in *" $VERSION") ;; *) fail "$b -v says '$out', not version $VERSION" ;; esac
done
# -n with no --config reads the packaged /etc/default/ipfailover, whose keys
# are all commented out: a configuration error (78) naming that file.
set +e
out=$(heartbeatd -n 2>&1)
rc=$?
set -e
[ "$rc" = 78 ] || fail "heartbeatd -n on the packaged /etc/default/ipfailover exited $rc, not 78: $out"
echo "$out" | grep -q '/etc/default/ipfailover' || fail "heartbeatd -n does not name /etc/default/ipfailover: $out"
# A sample pair's configuration, checked in a network namespace of its own
# whose two links are those of the README's quick start.
cat >"$tmp/primary" <<'CONF'
FAILOVER_BCAST_IPS="192.0.2.255 198.51.100.255"
CONF
cat >"$tmp/secondary" <<CONF
FAILOVER_PEER_IP="192.0.2.1"
FAILOVER_PEER_IP_PAIRS="pkt1:198.51.100.10"
FAILOVER_HOOK_DIR=$tmp/hooks
# No MTA on a test machine: notices are only logged (a warning).
FAILOVER_SENDMAIL=
CONF
unshare --net sh -ec "
	ip link add pkt0 type veth peer name pkt0p
	ip link add pkt1 type veth peer name pkt1p
	ip addr add 192.0.2.2/24 dev pkt0
	ip addr add 198.51.100.11/24 dev pkt1
	for l in lo pkt0 pkt0p pkt1 pkt1p; do ip link set \$l up; done
	heartbeatd -n --config '$tmp/primary' >'$tmp/hb.out' || { cat '$tmp/hb.out'; exit 1; }
	failoverd -n --config '$tmp/secondary' >'$tmp/fd.out' || { cat '$tmp/fd.out'; exit 1; }
" || fail "-n on the sample configuration failed (above)"
grep -h 'configuration is usable' "$tmp/hb.out" "$tmp/fd.out"

step "nothing enabled or started"
for u in heartbeatd failoverd ipfailover-config-sync.timer; do
	if ls /etc/systemd/system/*.wants/"$u"* >/dev/null 2>&1; then fail "$u was enabled on install"; fi
done
# By executable, not by name: other heartbeatd and failoverd (a test lab's)
# may run on this machine.
for p in /proc/[0-9]*; do readlink "$p/exe" 2>/dev/null || true; done >"$tmp/exes"
if grep -qx -e /usr/sbin/heartbeatd -e /usr/sbin/failoverd "$tmp/exes"; then fail "a packaged daemon runs after install"; fi
[ -d /etc/ipfailover ] || fail "/etc/ipfailover was not made"
[ "$(stat -c '%U:%G %a' /etc/ipfailover)" = "root:root 755" ] || fail "/etc/ipfailover is $(stat -c '%U:%G %a' /etc/ipfailover)"

step "systemd-analyze verify"
for u in heartbeatd.service failoverd.service ipfailover-config-sync.service ipfailover-config-sync.timer; do
	out=$(systemd-analyze verify --man=no "/usr/lib/systemd/system/$u" 2>&1) || fail "$u: $out"
	[ -z "$out" ] || fail "$u: $out"
	echo "$u: ok"
done

step "man -w"
for page in 8:heartbeatd 8:failoverd 8:failoverctl 8:ipfailover-config-sync 5:ipfailover; do
	man -w "${page%%:*}" "${page#*:}" || fail "man does not find ${page#*:}(${page%%:*})$(
		grep -ls 'path-exclude.*/usr/share/man' /etc/dpkg/dpkg.cfg.d/* | sed 's/^/; dpkg leaves out man pages here: see /')"
done

step "dpkg -i again (the upgrade path): the administrator's changes stay"
mkdir -p /etc/ipfailover/198.51.100.10
echo admin >/etc/ipfailover/198.51.100.10/Test
echo "# the administrator's change" >>/etc/default/ipfailover
dpkg -i "$deb" >/dev/null
grep -qx "# the administrator's change" /etc/default/ipfailover || fail "reinstalling replaced the changed /etc/default/ipfailover"
[ "$(cat /etc/ipfailover/198.51.100.10/Test)" = admin ] || fail "reinstalling changed the administrator's hook"

step "dpkg -r: the conffile and the administrator's files stay"
dpkg -r ipfailover
[ -f /etc/default/ipfailover ] || fail "dpkg -r removed the conffile /etc/default/ipfailover"
for f in /usr/sbin/heartbeatd /usr/sbin/failoverd /usr/bin/failoverctl; do
	[ ! -e "$f" ] || fail "$f is left after dpkg -r"
done

step "dpkg --purge: the administrator's hook stays, the conffile goes"
dpkg --purge ipfailover
[ ! -e /etc/default/ipfailover ] || fail "/etc/default/ipfailover is left after purge"
[ "$(cat /etc/ipfailover/198.51.100.10/Test)" = admin ] || fail "purge removed the administrator's hook"
rm -r /etc/ipfailover

step "dpkg -i then --purge: nothing left"
dpkg -i "$deb" >/dev/null
dpkg --purge ipfailover >/dev/null
left=
for f in $(cat "$tmp/files") $own_dirs; do
	[ ! -e "$f" ] || left="$left $f"
done
ls /etc/default/ipfailover* >/dev/null 2>&1 && left="$left $(ls -d /etc/default/ipfailover*)"
for u in heartbeatd failoverd ipfailover-config-sync; do
	ls -d /etc/systemd/system/*.wants/"$u".* 2>/dev/null | grep -q . && left="$left /etc/systemd/system/*.wants/$u"
done
[ -z "$left" ] || fail "left after purge:$left"
dpkg -s ipfailover >/dev/null 2>&1 && fail "dpkg still knows ipfailover after purge"
echo "package-test: ok: ipfailover $pkg_version installed, checked, purged; nothing left"
