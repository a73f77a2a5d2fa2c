# scripts/bench_inbound.sh: the inbound part of `make bench` (issue 13):
# mail from outside accepted on the smtp listener (the MX role) and
# delivered over LMTP into a Dovecot INBOX, msgs/s and CPU per message,
# against Postfix delivering to the same Dovecot over LMTP, in one run.
#
#   BENCH_PARTS=inbound sh scripts/bench.sh
#
# Sourced by scripts/bench.sh (its functions and variables: free_port,
# set_conf, server_start/stop, wait_quiet, busy_jiffies, field, $SL, $RES,
# $SUM, $TMO, $REPS); not a program of its own.
#
# Everything on 127.0.0.1, ports found free, in a folder of its own
# (/tmp/postern-bench-inbound.XXXXXX, mode 0755: Dovecot's and Postfix's
# processes run as their own users), removed at exit:
#   - DNS: tests/dns/dnsserver.py with the sender domain's zone (SPF
#     "v=spf1 ip4:127.0.0.1 -all", DMARC p=none), postern's
#     [delivery] dns_servers: postern's MX does its real SPF, DKIM (the load
#     is unsigned: "none") and DMARC checks on every message;
#   - Dovecot (Debian's dovecot-lmtpd) with a config of its own, LMTP on a
#     TCP port, maildirs in the folder (emptied before each run), any user;
#   - postern ($RUN of bench.sh): [mailbox] lmtp = that port, the user
#     rcpt@bench.test;
#   - Postfix (Debian's postfix), an instance of its own (`postfix -c`,
#     its own queue and data directories and log in the folder): smtpd on a
#     free port, virtual_mailbox_domains = bench.test, virtual_transport =
#     lmtp to the same Dovecot. Postfix checks no SPF, DKIM or DMARC (it has
#     none built in): postern does more work per message.
#
# Loads (plain SMTP to the MX port, 1 KiB, one recipient, from
# someone@sender.test to rcpt@bench.test), each bounded by --msgs and
# --timeout: 20 connections x 1 message (BENCH_INBOUND_N messages, default
# 3000) and 20 x 50 (2 x BENCH_INBOUND_N). A run ends, end to end, when
# that many messages are files in the user's maildir new/.
#
# Knobs: BENCH_INBOUND_N=3000, BENCH_INBOUND_MTAS="postern postfix",
# BENCH_REPS (the table shows the median run by e2e msgs/s).
#
# BENCH_INBOUND_RSPAMD=1 adds the MTA "postern+rspamd": the same postern
# with [filter] rspamd set (issue 14), asking an rspamd of its own
# (Debian's, the tests' minimal config: its core and the GTUBE patterns,
# no rule, no Redis, no DNS), started on a free port, stopped at the end.
# It measures the round trip and rspamd's MIME parsing, not a full rule
# set's checks (those ask DNS and Redis, and cost what they cost under
# any MTA). Its CPU per message is the table's "rsp ms".

IN_N=${BENCH_INBOUND_N:-3000}
IN_MTAS=${BENCH_INBOUND_MTAS:-postern postfix}
IN_DIR=
IN_DNSPID=
IN_DOVEPID=
IN_PFUP=
IN_RSPAMDPID=
IN_FROM=someone@sender.test
IN_RCPT=rcpt@bench.test

# utime+stime+cutime+cstime of the processes PID... and every descendant:
# a child that exited in between counts in its parent's cutime/cstime once
# reaped, so the difference of two readings is what the tree used
tree_jiffies() { # PID...
	cat /proc/[0-9]*/stat 2>/dev/null | awk -v roots="$*" '
	{
		pid = $1; s = $0
		sub(/^.*\) /, "", s)	# after "(comm) ": state ppid ...
		split(s, f, " ")
		ppid[pid] = f[2]; j[pid] = f[12] + f[13] + f[14] + f[15]
	}
	END {
		n = split(roots, r, " ")
		for (i = 1; i <= n; i++) if (r[i] in j) in_[r[i]] = 1
		do {
			more = 0
			for (p in ppid)
				if (!(p in in_) && (ppid[p] in in_)) { in_[p] = 1; more = 1 }
		} while (more)
		for (p in in_) t += j[p]
		print t + 0
	}'
}

in_wait_port() { # PORT WHAT PID: until something listens on 127.0.0.1:PORT, at most 15 s
	i=0
	while [ "$(listeners "$1")" -lt 1 ]; do
		kill -0 "$3" 2>/dev/null || die "$2 exited at start"
		i=$((i + 1))
		[ $i -lt 150 ] || die "$2 does not listen on 127.0.0.1:$1 within 15 s"
		sleep 0.1
	done
}

inbound_cleanup() {
	[ -n "$IN_DIR" ] || return 0
	in_postfix_stop
	for p in $IN_DOVEPID $IN_DNSPID $IN_RSPAMDPID; do kill "$p" 2>/dev/null || true; done
	for p in $IN_DOVEPID $IN_DNSPID $IN_RSPAMDPID; do wait "$p" 2>/dev/null || true; done
	IN_DOVEPID=''
	IN_DNSPID=''
	IN_RSPAMDPID=''
	rm -rf "$IN_DIR"
	IN_DIR=
}

# --- DNS ----------------------------------------------------------------------------

in_dns_start() {
	cat >"$IN_DIR/zone" <<-EOF
	sender.test.        TXT "v=spf1 ip4:127.0.0.1 -all"
	_dmarc.sender.test. TXT "v=DMARC1; p=none"
	sender.test.        MX  10 mx.sender.test.
	mx.sender.test.     A   127.0.0.1
	EOF
	timeout 7200 /usr/bin/python3 "$ROOT/tests/dns/dnsserver.py" --address 127.0.0.1 \
	    --port 0 --zone "$IN_DIR/zone" --ttl 300 >"$IN_DIR/dns.out" 2>"$IN_DIR/dns.log" &
	IN_DNSPID=$!
	i=0
	while ! grep -q '^ready [0-9]' "$IN_DIR/dns.out"; do
		kill -0 "$IN_DNSPID" 2>/dev/null || { cat "$IN_DIR/dns.log" >&2; die "dnsserver.py exited"; }
		i=$((i + 1))
		[ $i -lt 100 ] || die "dnsserver.py did not start within 10 s"
		sleep 0.1
	done
	P_DNS=$(sed -n 's/^ready \([0-9]*\).*/\1/p' "$IN_DIR/dns.out" | head -1)
}

# --- Dovecot --------------------------------------------------------------------------

in_dovecot_start() {
	dd=$IN_DIR/dovecot
	mkdir -p "$dd/run" "$dd/state" "$IN_DIR/mail"
	chmod 755 "$dd" "$dd/run" "$dd/state" "$IN_DIR/mail"
	chown dovecot:dovecot "$IN_DIR/mail"
	free_port P_LMTP
	cat >"$dd/dovecot.conf" <<-EOF
	# written by scripts/bench_inbound.sh
	base_dir = $dd/run
	state_dir = $dd/state
	log_path = $dd/dovecot.log
	protocols = lmtp
	listen = 127.0.0.1
	ssl = no
	default_internal_user = dovecot
	default_internal_group = dovecot
	default_login_user = dovenull
	first_valid_uid = 1
	mail_uid = dovecot
	mail_gid = dovecot
	mail_location = maildir:$IN_DIR/mail/%d/%n
	passdb {
	  driver = static
	  args = nopassword=y
	}
	userdb {
	  driver = static
	  args = uid=dovecot gid=dovecot home=$IN_DIR/mail/%d/%n allow_all_users=yes
	}
	service lmtp {
	  inet_listener lmtp {
	    address = 127.0.0.1
	    port = $P_LMTP
	  }
	}
	EOF
	timeout 7200 /usr/sbin/dovecot -F -c "$dd/dovecot.conf" >"$dd/stdout.log" 2>&1 &
	IN_DOVEPID=$!
	in_wait_port "$P_LMTP" dovecot "$IN_DOVEPID"
}

# --- rspamd ------------------------------------------------------------------------------

in_rspamd_start() {
	rd=$IN_DIR/rspamd
	mkdir -p "$rd"
	free_port P_RSPAMD
	free_port P_RSPAMD_DNS # nobody answers there: no rule asks anyway
	printf 'test\norg\nnet\ncom\n' >"$rd/tld.dat"
	cat >"$rd/rspamd.conf" <<-EOF
	# written by scripts/bench_inbound.sh (as tests/e2e/fixtures_rspamd.py)
	options {
	  pidfile = "$rd/rspamd.pid";
	  dbdir = "$rd";
	  tempdir = "$rd";
	  filters = "";
	  url_tld = "$rd/tld.dat";
	  enable_test_patterns = true;
	  dns { nameserver = ["127.0.0.1:$P_RSPAMD_DNS"]; timeout = 1s; retransmits = 1; }
	}
	logging { type = "file"; filename = "$rd/rspamd.log"; level = "warning"; }
	actions { greylist = 4; add_header = 6; rewrite_subject = 8; reject = 15; }
	worker "normal" { bind_socket = "127.0.0.1:$P_RSPAMD"; count = 1; }
	EOF
	ru=
	if [ "$(id -u)" = 0 ]; then
		chown -R _rspamd:_rspamd "$rd"
		ru="-u _rspamd -g _rspamd"
	fi
	# shellcheck disable=SC2086
	timeout 7200 /usr/bin/rspamd -f -c "$rd/rspamd.conf" $ru >"$rd/stdout.log" 2>&1 &
	IN_RSPAMDPID=$!
	in_wait_port "$P_RSPAMD" rspamd "$IN_RSPAMDPID"
}

# [filter] rspamd on (MTA postern+rspamd) or off, by a reload (names of
# its own: sh has no local variables, and in_run's n is the load's size)
in_rspamd_set() { # VALUE
	rs_cur=$(sed -n 's/^rspamd = //p' "$CONF")
	[ "$rs_cur" = "$1" ] && return 0
	rs_n=$(grep -c 'server.reload result=ok' "$LOG" || true)
	set_conf rspamd "$1" filter
	kill -HUP "$SPID"
	rs_i=0
	while [ "$(grep -c 'server.reload result=ok' "$LOG" || true)" -le "$rs_n" ]; do
		rs_i=$((rs_i + 1))
		[ $rs_i -lt 100 ] || die "postern did not reload within 10 s"
		sleep 0.1
	done
}

# --- Postfix ----------------------------------------------------------------------------

in_postfix_start() {
	pf=$IN_DIR/postfix
	PF_ETC=$pf/etc
	PF_Q=$pf/spool
	mkdir -p "$PF_ETC" "$PF_Q" "$pf/data"
	chmod 755 "$pf" "$PF_ETC" "$PF_Q"
	chown postfix "$pf/data"
	free_port P_PF
	echo "$IN_RCPT ok" >"$PF_ETC/vmailbox"
	cat >"$PF_ETC/main.cf" <<-EOF
	# written by scripts/bench_inbound.sh: an MX for bench.test that
	# delivers to Dovecot over LMTP (no SPF, DKIM or DMARC checks)
	compatibility_level = 3.6
	queue_directory = $PF_Q
	data_directory = $pf/data
	meta_directory = /etc/postfix
	mail_owner = postfix
	setgid_group = postdrop
	maillog_file = $pf/maillog
	maillog_file_prefixes = $pf
	myhostname = mx.bench.test
	mydomain = bench.test
	myorigin = \$myhostname
	mydestination =
	local_recipient_maps =
	alias_maps =
	alias_database =
	biff = no
	inet_interfaces = loopback-only
	inet_protocols = ipv4
	mynetworks = 127.0.0.0/8
	smtpd_peername_lookup = no
	smtpd_relay_restrictions = reject_unauth_destination
	smtpd_tls_security_level = none
	smtp_dns_support_level = disabled
	smtp_host_lookup = native
	lmtp_host_lookup = native
	virtual_mailbox_domains = bench.test
	virtual_mailbox_maps = texthash:$PF_ETC/vmailbox
	virtual_transport = lmtp:inet:127.0.0.1:$P_LMTP
	local_transport = error:no local delivery here
	default_transport = error:no outbound mail here
	relay_transport = error:no outbound mail here
	EOF
	cat >"$PF_ETC/master.cf" <<-EOF
	127.0.0.1:$P_PF inet n - n - - smtpd
	pickup    unix  n       -       n       60      1       pickup
	cleanup   unix  n       -       n       -       0       cleanup
	qmgr      unix  n       -       n       300     1       qmgr
	rewrite   unix  -       -       n       -       -       trivial-rewrite
	bounce    unix  -       -       n       -       0       bounce
	defer     unix  -       -       n       -       0       bounce
	trace     unix  -       -       n       -       0       bounce
	verify    unix  -       -       n       -       1       verify
	flush     unix  n       -       n       1000?   0       flush
	proxymap  unix  -       -       n       -       -       proxymap
	proxywrite unix -       -       n       -       1       proxymap
	lmtp      unix  -       -       n       -       -       lmtp
	showq     unix  n       -       n       -       -       showq
	error     unix  -       -       n       -       -       error
	retry     unix  -       -       n       -       -       error
	discard   unix  -       -       n       -       -       discard
	anvil     unix  -       -       n       -       1       anvil
	scache    unix  -       -       n       -       1       scache
	postlog   unix-dgram n  -       n       -       1       postlogd
	EOF
	postfix -c "$PF_ETC" check >"$pf/check.out" 2>&1 ||
	    { cat "$pf/check.out" >&2; die "postfix check failed"; }
	postfix -c "$PF_ETC" start >"$pf/start.out" 2>&1 ||
	    { cat "$pf/start.out" >&2; die "postfix start failed"; }
	IN_PFUP=1
	i=0
	while [ ! -s "$PF_Q/pid/master.pid" ]; do
		i=$((i + 1))
		[ $i -lt 100 ] || die "postfix wrote no master.pid within 10 s"
		sleep 0.1
	done
	PF_PID=$(tr -d ' \n' <"$PF_Q/pid/master.pid")
	in_wait_port "$P_PF" postfix "$PF_PID"
}

in_postfix_stop() {
	[ -n "$IN_PFUP" ] || return 0
	IN_PFUP=
	postfix -c "$PF_ETC" stop >/dev/null 2>&1 || true
	i=0
	while kill -0 "$PF_PID" 2>/dev/null && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if kill -0 "$PF_PID" 2>/dev/null; then
		postfix -c "$PF_ETC" abort >/dev/null 2>&1 || kill -KILL "$PF_PID" 2>/dev/null || true
	fi
}

pf_queue_count() {
	find "$PF_Q/incoming" "$PF_Q/active" "$PF_Q/deferred" "$PF_Q/maildrop" \
	    "$PF_Q/hold" -type f 2>/dev/null | wc -l
}

# --- one run ------------------------------------------------------------------------------

in_maildir=
in_count() { find "$in_maildir/new" -type f 2>/dev/null | wc -l; }

# until MTA's queue is empty, at most SECS
in_queue_wait() { # MTA SECS
	w_end=$(($(date +%s) + $2))
	while [ "$(date +%s)" -lt $w_end ]; do
		if [ "${1%+rspamd}" = postern ]; then
			[ "$(spool_count)" -gt 0 ] || return 0
		else
			[ "$(pf_queue_count)" -gt 0 ] || return 0
		fi
		sleep 0.1
	done
}

in_mta_jiffies() { # MTA
	case $1 in postern*) tree_jiffies "$SPID" ;; *) tree_jiffies "$PF_PID" ;; esac
}

# in_run MTA LABEL CONNS PER_CONN MSGS [warm]
in_run() {
	mta=$1 label=$2 c=$3 k=$4 n=$5
	case $mta in postern*) port=$P_SMTP ;; *) port=$P_PF ;; esac
	case $mta in
	postern+rspamd) in_rspamd_set "127.0.0.1:$P_RSPAMD" ;;
	postern) [ -z "$IN_RSPAMDPID" ] || in_rspamd_set "" ;;
	esac
	in_queue_wait "$mta" 120
	# an empty INBOX: Dovecot makes the maildir again at the first delivery
	rm -rf "$IN_DIR/mail/bench.test"
	sync
	[ "${6:-}" = warm ] || wait_quiet
	m0=$(in_mta_jiffies "$mta")
	d0=$(tree_jiffies "$IN_DOVEPID")
	n0=$(tree_jiffies "$IN_DNSPID")
	r0=0
	[ -z "$IN_RSPAMDPID" ] || r0=$(tree_jiffies "$IN_RSPAMDPID")
	b0=$(busy_jiffies)
	t0=$(now)
	rc=0
	out=$("$SL" --host 127.0.0.1 --port "$port" --tls none --from "$IN_FROM" \
	    --to "$IN_RCPT" --conns "$c" --msgs "$n" --size 1024 --per-conn "$k" \
	    --timeout "$TMO" 2>"$B/last.err") || rc=$?
	t1=$(now)
	ok=$(field ok "$out")
	ok=${ok:-0}
	# end to end: every accepted message is a file in the INBOX's new/
	w_end=$(($(date +%s) + TMO))
	while [ "$(in_count)" -lt "$ok" ] && [ "$(date +%s)" -lt $w_end ]; do
		sleep 0.05
	done
	t2=$(now)
	m2=$(in_mta_jiffies "$mta")
	d2=$(tree_jiffies "$IN_DOVEPID")
	n2=$(tree_jiffies "$IN_DNSPID")
	r2=0
	[ -z "$IN_RSPAMDPID" ] || r2=$(tree_jiffies "$IN_RSPAMDPID")
	b2=$(busy_jiffies)
	got=$(in_count)
	[ "${6:-}" = warm ] && { IN_WARM_GOT=$got; return 0; }
	[ -n "$out" ] || out="(no output) $(tail -2 "$B/last.err" | tr '\n' ' ')"
	cc=$(field client_cpu_s "$out")
	line=$(echo "$m0 $m2 $d0 $d2 $n0 $n2 $b0 $b2 ${cc:-0} $ok $HZ $t0 $t1 $t2 $r0 $r2" | awk '{
	    hz = $11; n = $10 > 0 ? $10 : 1
	    mta = ($2 - $1) / hz; dove = ($4 - $3) / hz; dns = ($6 - $5) / hz
	    busy = ($8 - $7) / hz; rsp = ($16 - $15) / hz
	    printf "accept_s=%.2f e2e_s=%.2f e2e_msgs/s=%.1f mta_cpu_s=%.2f mta_ms_per_msg=%.3f dovecot_ms_per_msg=%.3f dns_ms_per_msg=%.3f rspamd_ms_per_msg=%.3f machine_ms_per_msg=%.3f other_cpu_s=%.2f",
		$13 - $12, $14 - $12, $10 / ($14 - $12), mta, mta * 1000 / n,
		dove * 1000 / n, dns * 1000 / n, rsp * 1000 / n, (busy - $9) * 1000 / n,
		busy - mta - dove - dns - rsp - $9 }')
	echo "N|$label|$mta|rc=$rc delivered=$got $line | $out" >>"$RES"
	say "inbound $label [$mta] rc=$rc $(field msgs/s "$out") msgs/s accepted, e2e $(field e2e_msgs/s "$line") msgs/s ($got in the INBOX), $(field mta_ms_per_msg "$line") CPU-ms/msg (+ Dovecot $(field dovecot_ms_per_msg "$line"), DNS $(field dns_ms_per_msg "$line")), other CPU $(field other_cpu_s "$line") s"
	[ "$rc" = 0 ] || tail -3 "$B/last.err" >&2
	[ "$got" -ge "$ok" ] || say "warning: only $got of $ok accepted messages reached the INBOX within ${TMO} s"
}

# a few messages first: the path works (else stop with the logs), and
# every process has started
in_warm() { # MTA
	in_run "$1" warm 5 1 20 warm
	if [ "$IN_WARM_GOT" -ge 20 ]; then
		case $1 in postern*) ;; *) return 0 ;; esac
		# postern checked them: SPF and DMARC pass, DKIM none
		ar=$(find "$in_maildir/new" -type f | head -1 | xargs sed -n \
		    '/^Authentication-Results:/,/^[^ \t]/p' | sed '$d' | tr -s ' \t\n' ' ')
		echo "# inbound: postern wrote $ar" >>"$RES"
		case $ar in *spf=pass*dmarc=pass*) ;;
		*) die "inbound warm-up: postern did not check SPF and DMARC: '$ar'" ;;
		esac
		[ "$1" = postern+rspamd ] || return 0
		xs=$(find "$in_maildir/new" -type f | head -1 | xargs sed -n '/^X-Spam-Status:/p')
		echo "# inbound: postern+rspamd wrote $xs" >>"$RES"
		case $xs in *"No, score="*) ;;
		*) die "inbound warm-up: rspamd was not asked: '$xs'" ;;
		esac
		return 0
	fi
	tail -20 "$IN_DIR/dovecot/dovecot.log" >&2 2>/dev/null || true
	if [ "${1%+rspamd}" = postern ]; then tail -20 "$LOG" >&2
	else tail -20 "$IN_DIR/postfix/maillog" >&2 2>/dev/null || true; fi
	die "inbound warm-up: $IN_WARM_GOT of 20 messages reached the INBOX through $1"
}

inbound_part() {
	for f in /usr/sbin/dovecot /usr/lib/dovecot/lmtp /usr/sbin/postfix; do
		[ -x "$f" ] || die "no $f: apt-get install dovecot-lmtpd postfix"
	done
	/usr/bin/python3 -c 'import dnslib' 2>/dev/null ||
	    die "no python3-dnslib: apt-get install python3-dnslib"
	IN_DIR=$(mktemp -d /tmp/postern-bench-inbound.XXXXXX)
	chmod 755 "$IN_DIR"
	in_maildir=$IN_DIR/mail/bench.test/rcpt
	in_dns_start
	in_dovecot_start
	if [ "${BENCH_INBOUND_RSPAMD:-0}" = 1 ]; then
		[ -x /usr/bin/rspamd ] || die "no /usr/bin/rspamd: apt-get install rspamd"
		in_rspamd_start
		IN_MTAS="$IN_MTAS postern+rspamd"
	fi
	server_stop
	set_conf lmtp "127.0.0.1:$P_LMTP" mailbox
	set_conf dns_servers "127.0.0.1:$P_DNS" delivery
	"$BIN" -c "$CONF" user add "$IN_RCPT" >/dev/null 2>&1 || true
	case " $IN_MTAS " in *" postfix "*) in_postfix_start ;; esac
	server_start
	echo "# inbound: smtp $P_SMTP (postern), ${P_PF:+$P_PF (postfix), }lmtp $P_LMTP (dovecot $(dovecot --version 2>/dev/null | cut -d' ' -f1)), dns $P_DNS; postfix $(postconf -d -h mail_version 2>/dev/null); postern [delivery] connections_per_destination $(sed -n 's/^connections_per_destination = //p' "$CONF"), postfix lmtp concurrency $(postconf -d -h default_destination_concurrency_limit 2>/dev/null)" >>"$RES"
	for mta in $IN_MTAS; do in_warm "$mta"; done
	r=0
	while [ $r -lt "$REPS" ]; do
		r=$((r + 1))
		for mta in $IN_MTAS; do
			in_run "$mta" "c20 k1 m$IN_N" 20 1 "$IN_N"
			in_run "$mta" "c20 k50 m$((IN_N * 2))" 20 50 $((IN_N * 2))
		done
	done
	in_queue_wait postern 30
	server_stop
	# the other parts run without a mailbox (or rspamd)
	set_conf rspamd "" filter
	set_conf lmtp "" mailbox
	set_conf dns_servers "" delivery
	inbound_cleanup
}

# the table: appended to $SUM
inbound_table() {
	grep -q '^N|' "$RES" || return 0
	awk -F'|' '
function kv(s, k,   a, i, n) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++)
		if (index(a[i], k "=") == 1)
			return substr(a[i], length(k) + 2)
	return ""
}
$1 == "N" {
	key = $2 SUBSEP $3
	if (!(key in cnt)) { order[++nk] = key; if (!($2 in seen)) { seen[$2] = 1; loads[++nl] = $2 } }
	i = ++cnt[key]
	rate[key, i] = kv($4, "e2e_msgs/s") + 0
	acc[key, i] = kv($5, "msgs/s") + 0
	cpu[key, i] = kv($4, "mta_ms_per_msg") + 0
	mach[key, i] = kv($4, "machine_ms_per_msg") + 0
	row[key, i] = sprintf("%-18s %-14s %7s %7s %7s %7s %7s %7s %7s %5s %5s %4s", $2, $3,
	    kv($5, "msgs/s"), kv($4, "e2e_msgs/s"), kv($4, "mta_ms_per_msg"),
	    kv($4, "dovecot_ms_per_msg"), kv($4, "dns_ms_per_msg"),
	    kv($4, "rspamd_ms_per_msg"),
	    kv($4, "machine_ms_per_msg"), kv($5, "client_cpu_s"), kv($4, "other_cpu_s"),
	    kv($5, "failed") + kv($5, "unfinished") + kv($5, "ok") - kv($4, "delivered"))
}
END {
	printf "\n%-18s %-14s %7s %7s %7s %7s %7s %7s %7s %5s %5s %4s\n",
	    "inbound (median)", "MTA", "acc/s", "e2e/s", "MTA ms", "dove ms",
	    "dns ms", "rsp ms", "mach ms", "cli s", "oth s", "miss"
	for (o = 1; o <= nk; o++) {
		key = order[o]; m = cnt[key]
		for (i = 1; i <= m; i++) idx[i] = i
		for (i = 2; i <= m; i++)
			for (j = i; j > 1 && rate[key, idx[j]] < rate[key, idx[j - 1]]; j--) {
				t = idx[j]; idx[j] = idx[j - 1]; idx[j - 1] = t
			}
		med[key] = idx[int((m + 1) / 2)]
		print row[key, med[key]]
	}
	for (l = 1; l <= nl; l++) {
		a = loads[l] SUBSEP "postern"; b = loads[l] SUBSEP "postfix"
		if (!(a in cnt) || !(b in cnt)) continue
		ia = med[a]; ib = med[b]
		printf "%-18s postern/postfix: accepted %.2fx, e2e %.2fx; CPU per message: MTA %.2fx, machine %.2fx of postfix'"'"'s\n",
		    loads[l], acc[b, ib] ? acc[a, ia] / acc[b, ib] : 0,
		    rate[b, ib] ? rate[a, ia] / rate[b, ib] : 0,
		    cpu[b, ib] ? cpu[a, ia] / cpu[b, ib] : 0,
		    mach[b, ib] ? mach[a, ia] / mach[b, ib] : 0
	}
	for (l = 1; l <= nl; l++) {
		a = loads[l] SUBSEP "postern+rspamd"; b = loads[l] SUBSEP "postern"
		if (!(a in cnt) || !(b in cnt)) continue
		ia = med[a]; ib = med[b]
		printf "%-18s rspamd on/off: accepted %.2fx, e2e %.2fx; postern CPU per message %+.3f ms\n",
		    loads[l], acc[b, ib] ? acc[a, ia] / acc[b, ib] : 0,
		    rate[b, ib] ? rate[a, ia] / rate[b, ib] : 0, cpu[a, ia] - cpu[b, ib]
	}
	print "\ninbound: plain SMTP to the MX port, 1 KiB, from someone@sender.test (SPF pass, DMARC"
	print "p=none, unsigned) to rcpt@bench.test, delivered over LMTP to one Dovecot. postern checks"
	print "SPF, DKIM and DMARC on every message; Postfix checks none (it has none built in)."
	print "acc/s: 250 after the dot per second; e2e/s: until every accepted message was a file in"
	print "the INBOX (maildir new/). MTA ms: CPU per message until then of postern (its process) or"
	print "Postfix (all its processes); dove ms: of Dovecot (all its processes); dns ms: of the"
	print "loopback DNS server (the world'"'"'s DNS, not postern'"'"'s work); rsp ms: of rspamd (postern+rspamd:"
	print "postern with [filter] rspamd, BENCH_INBOUND_RSPAMD=1); mach ms: busy CPU of the"
	print "machine minus smtpload; cli s: smtpload CPU; oth s: other CPU meanwhile (~0 when quiet);"
	print "miss: messages not accepted or not in the INBOX."
}' "$RES" >>"$SUM"
}
