#!/bin/sh
# Install the Debian packages postern's build, demo and tests need, only
# those missing. Called by `make`, `make run` (deps.sh run) and `make test`
# (deps.sh test); safe to run again.
set -e
build="make gcc clang pkg-config libevent-dev libssl-dev libsodium-dev
libsqlite3-dev libpq-dev libc-ares-dev libjansson-dev libidn2-dev
libqrencode-dev zlib1g-dev publicsuffix"
test="libclang-rt-14-dev clang-format python3 python3-pytest python3-dkim python3-dnslib
python3-aiosmtpd swaks libnet-ssleay-perl openssl sqlite3
chromium chromium-driver python3-selenium rspamd postgresql"
# postgresql: the tests initdb and start clusters of their own (a
# temporary folder, a loopback port), never the one Debian's postinst
# may start on 5432
# dovecot-*: the demo and the mailbox tests start their own Dovecot (own
# config, folder and ports), never the system's that Debian's postinst
# may start; swaks: the demo's message to itself. rspamd (test): the
# filter tests start their own too, on loopback ports of their own
run="dovecot-imapd dovecot-lmtpd swaks libnet-ssleay-perl"
want="$build"
[ "${1:-}" = "run" ] && want="$build $run"
[ "${1:-}" = "test" ] && want="$build $run $test"
missing=""
for p in $want; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
	    missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" != 0 ]; then
	echo "deps: missing Debian packages:$missing" >&2
	echo "deps: run as root, or: sudo apt-get install$missing" >&2
	exit 1
fi
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
