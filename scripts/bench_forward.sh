# scripts/bench_forward.sh: the forwarding part of `make bench` (issue 14):
# mail from outside accepted on the smtp listener for a forward-only user
# and forwarded to its target (SRS, an ARC set signed with the domain's
# RSA-2048 key), msgs/s accepted and end to end, and CPU per message.
#
#   BENCH_PARTS=forward sh scripts/bench.sh
#
# Sourced by scripts/bench.sh (free_port, set_conf, server_start/stop,
# wait_quiet, busy_jiffies, proc_jiffies, spool_count, spool_wait, field,
# $SL, $RES, $TMO, $REPS) and after scripts/bench_inbound.sh (in_dns_start:
# the sender domain's SPF and DMARC, so the MX checks each message as it
# does for a mailbox). Needs smtp-sink (BENCH_DELIVERY=sink): the target's
# MX is the smarthost, smtp-sink on loopback.
#
# The user fwd@bench.test forwards only (no mailbox copy, so no Dovecot:
# `[mailbox] lmtp` names a port where nothing listens, and nothing goes
# there) to member@elsewhere.test. The target is confirmed in the store
# with sqlite3 (a bench shortcut: the link itself is the e2e tests').
# Each message is two in the spool: the one received and the forwarded
# copy; a run ends, end to end, when the spool is empty again.
#
# Then the same loads with [filter] rspamd on (an rspamd of its own, the
# tests' minimal config: in_rspamd_start), labelled "+rspamd": the round
# trip sits on the MX's loop before the end of DATA, without holding it.
#
# Knobs: BENCH_FORWARD_N=2000 (messages of 20 x 1; 20 x 50 sends twice as
# many), BENCH_REPS, BENCH_FORWARD_RSPAMD=0 to leave rspamd out.

FW_N=${BENCH_FORWARD_N:-2000}
FW_RCPT=fwd@bench.test
FW_TARGET=member@elsewhere.test

fw_run() { # LABEL CONNS PER_CONN MSGS
	label=$1 c=$2 k=$3 n=$4
	spool_wait 120
	wait_quiet
	j0=$(proc_jiffies)
	b0=$(busy_jiffies)
	c0=$(grep -c 'forward\.copy ' "$LOG" || true)
	t0=$(now)
	rc=0
	out=$("$SL" --host 127.0.0.1 --port "$P_SMTP" --tls none --from someone@sender.test \
	    --to "$FW_RCPT" --conns "$c" --msgs "$n" --size 1024 --per-conn "$k" \
	    --timeout "$TMO" 2>"$B/last.err") || rc=$?
	t1=$(now)
	spool_wait "$TMO"
	t2=$(now)
	j2=$(proc_jiffies)
	b2=$(busy_jiffies)
	ok=$(field ok "$out")
	ok=${ok:-0}
	copies=$(($(grep -c 'forward\.copy ' "$LOG" || true) - c0))
	left=$(spool_count)
	cc=$(field client_cpu_s "$out")
	line=$(echo "$j0 $j2 $b0 $b2 ${cc:-0} $ok $HZ $t0 $t1 $t2" | awk '{
	    hz = $7; n = $6 > 0 ? $6 : 1
	    printf "accept_s=%.2f e2e_s=%.2f e2e_msgs/s=%.1f srv_cpu_ms_per_msg=%.3f machine_ms_per_msg=%.3f",
		$9 - $8, $10 - $8, $6 / ($10 - $8), ($2 - $1) * 1000 / hz / n,
		(($4 - $3) / hz - $5) * 1000 / n }')
	echo "F|$label|rc=$rc forwarded=$copies spool_left=$left $line | $out" >>"$RES"
	say "forward $label rc=$rc $(field msgs/s "$out") msgs/s accepted, e2e $(field e2e_msgs/s "$line") msgs/s, $copies copies, $(field srv_cpu_ms_per_msg "$line") CPU-ms/msg, $left left in the spool"
	[ "$rc" = 0 ] || tail -3 "$B/last.err" >&2
}

forward_part() {
	[ "$DELIVERY" = sink ] || die "the forward part needs smtp-sink (BENCH_DELIVERY=sink)"
	command -v sqlite3 >/dev/null || die "no sqlite3: apt-get install sqlite3"
	/usr/bin/python3 -c 'import dnslib' 2>/dev/null ||
	    die "no python3-dnslib: apt-get install python3-dnslib"
	IN_DIR=$(mktemp -d /tmp/postern-bench-forward.XXXXXX)
	in_dns_start
	free_port P_NOLMTP
	server_stop
	set_conf lmtp "127.0.0.1:$P_NOLMTP" mailbox
	set_conf dns_servers "127.0.0.1:$P_DNS" delivery
	set_conf max_per_domain_per_hour 100000000 forward
	"$BIN" -c "$CONF" user add "$FW_RCPT" >/dev/null 2>&1 || true
	server_start
	"$BIN" -c "$CONF" user forward add "$FW_RCPT" "$FW_TARGET" >/dev/null 2>&1 ||
	    die "user forward add failed"
	sqlite3 "$RUN/data/postern.db" "UPDATE forward_target SET confirmed = strftime('%s','now'), token_hash = NULL, token_expires = NULL" ||
	    die "cannot confirm the target"
	"$BIN" -c "$CONF" user forward mode "$FW_RCPT" only >/dev/null 2>&1
	echo "# forward: smtp $P_SMTP (postern), dns $P_DNS, smtp-sink $P_SINK as the target's MX; $FW_RCPT forwards only to $FW_TARGET; ARC with the domain's RSA key" >>"$RES"
	# the path works: 20 messages, forwarded with SRS and ARC
	fw_run warm 5 1 20
	grep -q 'forward\.copy .*from=<SRS0=' "$LOG" || { tail -20 "$LOG" >&2; die "forward warm-up: no SRS copy"; }
	grep -q 'forward\.arc' "$LOG" && { grep 'forward\.arc' "$LOG" | tail -2 >&2; die "forward warm-up: no ARC set"; }
	r=0
	while [ $r -lt "$REPS" ]; do
		r=$((r + 1))
		fw_run "c20 k1 m$FW_N" 20 1 "$FW_N"
		fw_run "c20 k50 m$((FW_N * 2))" 20 50 $((FW_N * 2))
	done
	if [ "${BENCH_FORWARD_RSPAMD:-1}" = 1 ] && [ -x /usr/bin/rspamd ]; then
		in_rspamd_start
		in_rspamd_set "127.0.0.1:$P_RSPAMD"
		fw_run "warm+rspamd" 5 1 20
		r=0
		while [ $r -lt "$REPS" ]; do
			r=$((r + 1))
			fw_run "c20 k1 m$FW_N +rspamd" 20 1 "$FW_N"
			fw_run "c20 k50 m$((FW_N * 2)) +rspamd" 20 50 $((FW_N * 2))
		done
		in_rspamd_set ""
	fi
	server_stop
	set_conf lmtp "" mailbox
	set_conf dns_servers "" delivery
	"$BIN" -c "$CONF" user remove "$FW_RCPT" >/dev/null 2>&1 || true
	inbound_cleanup
}
