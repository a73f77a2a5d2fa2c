#!/bin/sh
# make bench: postern under load, measured with the team's neutral load
# generator (bench/smtpload.c, the same program that measures the Postfix
# baseline). Prints msgs/s, p50/p99 latency, server CPU per message and
# memory per idle session, one table at the end (also in
# build/bench/summary.txt; every raw line in build/bench/results.txt).
#
# Everything talks to 127.0.0.1 only, on ports found free; every load run
# is bounded by --msgs and --timeout. A throwaway setup is made in
# build/bench/run each time. The queue manager DKIM-signs each accepted
# message (RSA-2048) and relays it to Postfix's smtp-sink on loopback, as
# the Postfix baseline does (BENCH_DELIVERY=sink), or writes it to
# data/capture (BENCH_DELIVERY=capture, the default when smtp-sink is not
# installed); a run ends when the spool is empty again. See
# docs/PERFORMANCE.md.
#
# Knobs (environment):
#   BENCH_REPS=1          repetitions of each load (the table shows the median)
#   BENCH_CERTS="ecdsa rsa"  server certificates to run the loads with
#                         (ecdsa: the P-256 one `postern init` makes;
#                         rsa: an RSA-2048 one, like Postfix's default)
#   BENCH_QUICK=1         only the 1 KiB loads
#   BENCH_IDLE_N=1000     idle sessions for memory per session
#   BENCH_BIG_N=10000     concurrent idle STARTTLS+AUTH sessions (0: skip)
#   BENCH_BIG_PROCS=1     smtpload processes opening BENCH_BIG_N at once
#   BENCH_TIMEOUT=120     --timeout of each load run, seconds
#   BENCH_STORM_N=10000   clients of the login storm (STARTTLS + AUTH
#                         arriving over 20 s; scripts/authstorm.py measures
#                         AUTH latency from the client's side)
#   BENCH_PARTS="loads idle storm"  which parts to run; "queue" (not by
#                         default: minutes, and disk) is the queue at scale:
#                         BENCH_QUEUE_N messages (default 50000; 1000000 for the big run)
#                         copied into the spool by scripts/spoolgen.py from one
#                         real queued message, for a smarthost that refuses
#                         connections (retry in 1 h); then postern starts and
#                         the part measures the time to queue.start and to the
#                         first attempt, CPU-seconds per 10 s of waiting
#                         (/proc/PID/stat), RSS per queued message; then an
#                         aiosmtpd sink (scripts/bench_sink.py) opens on that
#                         port, `postern queue flush`, and the drain rate.
#                         BENCH_PARTS=queue BENCH_QUEUE_N=50000 sh scripts/bench.sh
#   BENCH_PARTS=forward   (not by default) postern as the MX of a user who
#                         forwards (SRS, ARC) to smtp-sink: scripts/bench_forward.sh
#   BENCH_PARTS=nodes     (not by default; BENCH_STORE=postgresql) two nodes
#                         on one PostgreSQL store against one: scripts/bench_nodes.sh
#   BENCH_PARTS=inbound   (not by default) postern as the MX of a hosted
#                         domain delivering over LMTP into Dovecot, against
#                         Postfix delivering to the same Dovecot, in one run:
#                         scripts/bench_inbound.sh (BENCH_INBOUND_N=3000;
#                         BENCH_INBOUND_RSPAMD=1: postern with rspamd too)
#   BENCH_DELIVERY=sink   sink: smarthost = smtp-sink on 127.0.0.1 (from the
#                         postfix package); capture: files in data/capture
#   BENCH_STORE=sqlite    postgresql: the store on a PostgreSQL 15 cluster of
#                         the bench's own (tests/e2e/fixtures_pg.py: loopback,
#                         fsync off as SQLite's synchronous=NORMAL in WAL
#                         mode does not sync each commit either), started
#                         before and stopped after the run
#   BENCH_QUIET_WAIT=120  before each run, wait up to this many seconds for
#                         the machine to be idle (other work distorts the
#                         figures; the table shows what other CPU there was)
set -eu

cd "$(dirname "$0")/.."
ROOT=$(pwd)
STORE=${BENCH_STORE:-sqlite}
# on PostgreSQL: the whole run inside a cluster's lifetime
if [ "$STORE" = postgresql ] && [ -z "${POSTERN_TEST_PG:-}" ]; then
	exec /usr/bin/python3 tests/e2e/fixtures_pg.py sh "$0"
fi
B=$ROOT/build/bench
RUN=$B/run
CONF=$RUN/postern.conf
LOG=$B/serve.log
RES=$B/results.txt
SUM=$B/summary.txt
REPS=${BENCH_REPS:-1}
CERTS=${BENCH_CERTS:-ecdsa rsa}
QUICK=${BENCH_QUICK:-0}
IDLE_N=${BENCH_IDLE_N:-1000}
BIG_N=${BENCH_BIG_N:-10000}
BIG_PROCS=${BENCH_BIG_PROCS:-1}
TMO=${BENCH_TIMEOUT:-120}
STORM_N=${BENCH_STORM_N:-10000}
PARTS=${BENCH_PARTS:-loads idle storm}
QUEUE_N=${BENCH_QUEUE_N:-50000}
QUIET_WAIT=${BENCH_QUIET_WAIT:-120}
DELIVERY=${BENCH_DELIVERY:-sink}
command -v smtp-sink >/dev/null 2>&1 || DELIVERY=capture
SINKPID=
USER_ADDR=bench@bench.test
HZ=$(getconf CLK_TCK)
SPID=
BGPIDS=

say() { printf '[bench %s] %s\n' "$(date +%T)" "$*" >&2; }
die() { say "error: $*"; exit 1; }

# the inbound part (functions only; inbound_part runs it)
. "$ROOT/scripts/bench_inbound.sh"
# the forwarding part (functions only; forward_part runs it)
. "$ROOT/scripts/bench_forward.sh"
# the two-node part (functions only; nodes_part runs it)
. "$ROOT/scripts/bench_nodes.sh"

cleanup() {
	for p in $BGPIDS; do kill "$p" 2>/dev/null || true; done
	server_stop
	inbound_cleanup
	[ -z "$SINKPID" ] || kill "$SINKPID" 2>/dev/null || true
	[ -z "${QSINKPID:-}" ] || kill "$QSINKPID" 2>/dev/null || true
	[ -z "${SPID2:-}" ] || kill "$SPID2" 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- build -------------------------------------------------------------------

say "building postern and the load generator"
make -s postern >/dev/null || die "make postern failed"
mkdir -p "$B"
# run a copy: a rebuild of ./postern during the bench does not disturb it
cp postern "$B/postern"
BIN=$B/postern
for f in smtpload fsyncbench; do
	if [ ! -x "$B/$f" ] || [ "bench/$f.c" -nt "$B/$f" ]; then
		${CC:-cc} -O2 -Wall -Wextra -o "$B/$f" "bench/$f.c" \
		    -lssl -lcrypto -lpthread || die "cannot build bench/$f.c"
	fi
	# the copy must be the shared one, byte for byte, below its header
	want=$(sed -n '5s/^ \* //p' "bench/$f.c")
	got=$(tail -n +11 "bench/$f.c" | sha256sum | cut -d' ' -f1)
	[ "$want" = "$got" ] || say "warning: bench/$f.c differs from the shared copy"
done
SL=$B/smtpload

# every session is a descriptor, on both ends
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)

# --- ports on 127.0.0.1 --------------------------------------------------------

# a port nobody uses: no socket in /proc/net/tcp{,6} with it on either end
port_free() {
	h=$(printf ':%04X' "$1")
	! cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
	    awk -v h="$h" 'substr($2, length($2) - 4) == h ||
		substr($3, length($3) - 4) == h { f = 1 } END { exit !f }'
}
next_port=$((20000 + $$ % 10000))
free_port() { # VAR: the next free port into VAR
	while ! port_free $next_port; do next_port=$((next_port + 1)); done
	eval "$1=$next_port"
	next_port=$((next_port + 1))
}

# server-side established connections on a port
established() {
	if command -v ss >/dev/null; then
		ss -Htn state established "( sport = :$1 )" | wc -l
		return
	fi
	h=$(printf ':%04X' "$1")
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
	    awk -v h="$h" '$4 == "01" && substr($2, length($2) - 4) == h { n++ }
		END { print n + 0 }'
}

# listening sockets on a port
listeners() {
	h=$(printf ':%04X' "$1")
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
	    awk -v h="$h" '$4 == "0A" && substr($2, length($2) - 4) == h { n++ }
		END { print n + 0 }'
}

# listening sockets on a port that are not the server's (SO_REUSEPORT would
# let another process share the port and take part of the load)
foreign_listeners() {
	h=$(printf ':%04X' "$1")
	ours=$(ls -l "/proc/$SPID/fd" 2>/dev/null | sed -n 's/.*socket:\[\([0-9]*\)\]/\1/p')
	cat /proc/net/tcp /proc/net/tcp6 2>/dev/null |
	    awk -v h="$h" '$4 == "0A" && substr($2, length($2) - 4) == h { print $10 }' |
	    while read -r ino; do
		echo "$ours" | grep -qx "$ino" || echo "$ino"
	    done
}

# --- the server ----------------------------------------------------------------

set_conf() { # KEY VALUE [SECTION]: the key's line (in SECTION, if given)
	awk -v k="$1" -v v="$2" -v sec="${3:-}" '
	    /^\[/ { cur = substr($0, 2, index($0, "]") - 2) }
	    $0 ~ "^" k " = " && (sec == "" || sec == cur) { $0 = k " = " v }
	    { print }' "$CONF" >"$CONF.new" && mv "$CONF.new" "$CONF"
	grep -q "^$1 = $2\$" "$CONF" || die "cannot set $1 in $CONF"
}

server_start() {
	"$BIN" -c "$CONF" serve >>"$LOG" 2>&1 &
	SPID=$!
	i=0
	while :; do
		kill -0 "$SPID" 2>/dev/null || { tail -5 "$LOG" >&2; die "postern serve exited"; }
		[ "$(listeners "$P_SUB")" -ge 1 ] && break
		i=$((i + 1))
		[ $i -lt 100 ] || die "postern serve did not listen within 10 s"
		sleep 0.1
	done
	sleep 0.3
	for p in "$P_SMTP" "$P_SUB" "$P_SUBS"; do
		[ -z "$(foreign_listeners "$p")" ] ||
		    die "another process listens on 127.0.0.1:$p too (SO_REUSEPORT)"
	done
}

server_stop() {
	[ -n "$SPID" ] || return 0
	if kill -0 "$SPID" 2>/dev/null; then
		kill -TERM "$SPID" 2>/dev/null || true
		i=0
		while kill -0 "$SPID" 2>/dev/null && [ $i -lt 350 ]; do
			sleep 0.1
			i=$((i + 1))
		done
		kill -KILL "$SPID" 2>/dev/null || true
	fi
	wait "$SPID" 2>/dev/null || true
	SPID=
}

server_restart() { server_stop; server_start; }

use_cert() { # ecdsa | rsa
	case $1 in
	ecdsa) set_conf cert data/tls/cert.pem; set_conf key data/tls/key.pem ;;
	rsa) set_conf cert data/tls/rsa-cert.pem; set_conf key data/tls/rsa-key.pem ;;
	*) die "unknown certificate kind $1" ;;
	esac
	CERT=$1
	server_restart
}

proc_jiffies() { awk '{ print $14 + $15 }' "/proc/$SPID/stat"; }
busy_jiffies() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$SPID/status"; }
pss_kib() { awk '/^Pss:/ { print $2 }' "/proc/$SPID/smaps_rollup" 2>/dev/null || echo 0; }
field() { echo "$2" | tr ' ' '\n' | sed -n "s|^$1=||p" | head -1; }

# Wait (bounded) until the machine is idle but for us: under 15% of one core
# busy over a second.
wait_quiet() {
	t=0
	while [ $t -lt "$QUIET_WAIT" ]; do
		q0=$(busy_jiffies)
		sleep 1
		q1=$(busy_jiffies)
		[ $((q1 - q0)) -le $((HZ * 15 / 100)) ] && return 0
		t=$((t + 1))
	done
	say "the machine is busy with other work: measuring anyway (see 'other s')"
}

now() { date +%s.%N; }
spool_count() { find "$RUN/data/spool/queue" -type f 2>/dev/null | wc -l; }
spool_wait() { # SECS: until the spool queue is empty, at most SECS
	w_end=$(($(date +%s) + $1))
	while [ "$(spool_count)" -gt 0 ] && [ "$(date +%s)" -lt $w_end ]; do
		sleep 0.1
	done
}
# what the last run left (undelivered messages, captured copies)
clear_spool() {
	find "$RUN/data/spool/queue" "$RUN/data/capture" -type f -delete 2>/dev/null || true
}

# --- one load run ----------------------------------------------------------------

# run_load LABEL TLS PORT CONNS SIZE PER_CONN MSGS
run_load() {
	label=$1 tls=$2 port=$3 c=$4 s=$5 k=$6 n=$7
	spool_wait 120
	clear_spool
	sync
	wait_quiet
	j0=$(proc_jiffies)
	b0=$(busy_jiffies)
	t0=$(now)
	rc=0
	out=$("$SL" --host 127.0.0.1 --port "$port" --tls "$tls" \
	    --auth "$USER_ADDR:$PW" --from "$USER_ADDR" --conns "$c" \
	    --msgs "$n" --size "$s" --per-conn "$k" --timeout "$TMO" \
	    2>"$B/last.err") || rc=$?
	j1=$(proc_jiffies)
	t1=$(now)
	# the queue manager delivers (capture) behind the sessions: the run
	# ends, end to end, when the spool is empty again
	spool_wait 120
	j2=$(proc_jiffies)
	b2=$(busy_jiffies)
	t2=$(now)
	[ -n "$out" ] || out="(no output) $(tail -2 "$B/last.err" | tr '\n' ' ')"
	left=$(spool_count)
	captured=$(find "$RUN/data/capture" -type f 2>/dev/null | wc -l)
	ok=$(field ok "$out")
	cc=$(field client_cpu_s "$out")
	line=$(echo "$j0 $j1 $j2 $b0 $b2 ${cc:-0} ${ok:-0} $HZ $t0 $t1 $t2" | awk '{
	    hz = $8; n = $7 > 0 ? $7 : 1
	    acc = ($2 - $1) / hz; e2e = ($3 - $1) / hz; busy = ($5 - $4) / hz
	    printf "e2e_s=%.2f e2e_msgs/s=%.1f srv_cpu_s=%.2f srv_cpu_ms_per_msg=%.3f srv_cpu_ms_per_msg_e2e=%.3f machine_ms_per_msg_e2e=%.3f other_cpu_s=%.2f",
		$11 - $9, $7 / ($11 - $9), e2e, acc * 1000 / n, e2e * 1000 / n,
		(busy - $6) * 1000 / n, busy - e2e - $6 }')
	echo "L|$label|$CERT|rc=$rc captured=$captured spool_left=$left $line | $out" >>"$RES"
	say "$label [$CERT] rc=$rc $(field msgs/s "$out") msgs/s (e2e $(field e2e_msgs/s "$line")) p50 $(field p50_ms "$out") ms p99 $(field p99_ms "$out") ms, $(field srv_cpu_ms_per_msg_e2e "$line") CPU-ms/msg, other CPU $(field other_cpu_s "$line") s"
	[ "$rc" = 0 ] || tail -3 "$B/last.err" >&2
}

loads() {
	r=0
	while [ $r -lt "$REPS" ]; do
		r=$((r + 1))
		for c in 20 100; do
			for s in 1024 51200; do
				[ "$QUICK" = 1 ] && [ $s != 1024 ] && continue
				for k in 1 50; do
					n=3000
					[ $k = 50 ] && n=6000
					[ $s = 51200 ] && n=$((n / 2))
					run_load "starttls+auth c$c s$s k$k m$n" \
					    starttls "$P_SUB" $c $s $k $n
				done
			done
		done
		run_load "implicit+auth c20 s1024 k1 m3000" implicit "$P_SUBS" 20 1024 1 3000
	done
}

# --- idle sessions: memory per session -------------------------------------------

# run_idle LABEL MODE N HOLD PROCS STAGGER: MODE plain (smtp port, after
# EHLO) or tls (submission: STARTTLS, EHLO, AUTH PLAIN); N sessions from
# PROCS smtpload processes started STAGGER seconds apart (0: all at once)
run_idle() {
	label=$1 mode=$2 n=$3 hold=$4 procs=$5 stagger=$6
	server_restart # a fresh process: its growth is the sessions'
	if [ "$mode" = plain ]; then
		port=$P_SMTP
		set -- --port "$P_SMTP" --tls none
	else
		port=$P_SUB
		set -- --port "$P_SUB" --tls starttls --auth "$USER_ADDR:$PW"
	fi
	# warm up: one of each kind of session, then the same kind of idle ones
	"$SL" --port "$P_SUB" --tls starttls --auth "$USER_ADDR:$PW" \
	    --from "$USER_ADDR" --conns 2 --msgs 10 --timeout 30 >/dev/null 2>&1 || true
	"$SL" "$@" --conns 20 --idle 1 --timeout 30 >/dev/null 2>&1 || true
	wait_quiet
	rss0=$(rss_kib)
	pss0=$(pss_kib)
	log0=$(wc -c <"$LOG")
	per=$((n / procs))
	# measure before the first sessions end: at most hold-10 s from now
	deadline=$(($(date +%s) + hold - 10))
	BGPIDS=
	i=0
	while [ $i -lt "$procs" ]; do
		"$SL" "$@" --conns $per --idle "$hold" --timeout $((hold + 60)) \
		    >"$B/idle.$i.out" 2>"$B/idle.$i.err" &
		BGPIDS="$BGPIDS $!"
		i=$((i + 1))
		[ "$stagger" = 0 ] || [ $i -ge "$procs" ] || sleep "$stagger"
	done
	n=$((per * procs))
	# wait until every session is open (and authenticated)
	while [ "$(date +%s)" -lt $deadline ]; do
		est=$(established "$port")
		if [ "$mode" = plain ]; then
			done_auth=$n
		else
			done_auth=$(tail -c +$((log0 + 1)) "$LOG" | grep -c 'smtp.auth .*result=ok' || true)
		fi
		[ "$est" -ge "$n" ] && [ "$done_auth" -ge "$n" ] && break
		sleep 0.5
	done
	sleep 1
	rss1=$(rss_kib)
	pss1=$(pss_kib)
	est=$(established "$port")
	vm=$(awk '/^(VmHWM|Threads):/ { sub(":", "", $1); printf "%s=%s ", $1, $2 }' "/proc/$SPID/status")
	opened=0 failed=0 rcs=
	for p in $BGPIDS; do
		rc=0
		wait "$p" || rc=$?
		rcs="$rcs$rc"
	done
	BGPIDS=
	i=0
	while [ $i -lt "$procs" ]; do
		o=$(cat "$B/idle.$i.out")
		opened=$((opened + $(field sessions_opened "$o" | grep . || echo 0)))
		failed=$((failed + $(field session_fail "$o" | grep . || echo 0)))
		i=$((i + 1))
	done
	refused=$(tail -c +$((log0 + 1)) "$LOG" | grep -c 'smtp.refused' || true)
	echo "I|$label|$CERT|n=$n procs=$procs established=$est opened=$opened session_fail=$failed refused=$refused rc=$rcs rss0_kib=$rss0 rss1_kib=$rss1 pss0_kib=$pss0 pss1_kib=$pss1 $vm" >>"$RES"
	say "$label: $opened/$n open ($est established at the server), $failed failed, $refused refused; RSS $rss0 -> $rss1 KiB, $(((rss1 - rss0) / n)) KiB/session"
}

# --- a login storm -------------------------------------------------------------------

# run_storm N OVER: N clients connect, STARTTLS, AUTH evenly over OVER
# seconds and hold their sessions; served, failed, AUTH p50/p99 from the
# client's side, and whether the authentication log has every login
run_storm() {
	n=$1 over=$2
	server_restart
	wait_quiet
	log0=$(wc -c <"$LOG")
	since=$(date +%s)
	j0=$(proc_jiffies)
	b0=$(busy_jiffies)
	rc=0
	out=$(/usr/bin/python3 scripts/authstorm.py --port "$P_SUB" \
	    --auth "$USER_ADDR:$PW" --n "$n" --over "$over" --hold 5 \
	    --timeout 60 2>"$B/storm.err") || rc=$?
	j1=$(proc_jiffies)
	b1=$(busy_jiffies)
	server_stop # a clean stop: the log's last batch is written
	logged=$(sqlite3 "$RUN/data/postern.db" \
	    "SELECT count(*) FROM auth_event WHERE outcome = 'ok' AND time >= $since" 2>/dev/null || echo "?")
	authok=$(tail -c +$((log0 + 1)) "$LOG" | grep -c 'smtp.auth .*result=ok' || true)
	line=$(echo "$j0 $j1 $b0 $b1 $HZ" | awk '{ printf "srv_cpu_s=%.1f machine_cpu_s=%.1f", ($2 - $1) / $5, ($4 - $3) / $5 }')
	echo "S|login storm x$n over ${over}s|$CERT|rc=$rc auth_log_ok_rows=$logged smtp_auth_ok=$authok $line | $out" >>"$RES"
	say "login storm x$n over ${over}s [$CERT]: $out; $logged ok rows in the auth log"
	server_start
}

# --- setup -------------------------------------------------------------------------

server_stop
# a server left by an interrupted run (only ours: its config is in $RUN)
for p in $(pgrep -f "$CONF serve" 2>/dev/null || true); do
	kill "$p" 2>/dev/null || true
done
rm -rf "$RUN"
: >"$LOG"
"$BIN" init --dir "$RUN" --hostname localhost >/dev/null
free_port P_SMTP
free_port P_SUB
free_port P_SUBS
free_port P_HTTP
set_conf smtp "127.0.0.1:$P_SMTP"
set_conf submission "127.0.0.1:$P_SUB"
set_conf submissions "127.0.0.1:$P_SUBS"
set_conf http "127.0.0.1:$P_HTTP"
if [ "$STORE" = postgresql ]; then
	set_conf driver postgresql store
	set_conf conninfo "$POSTERN_TEST_PG" store
fi
set_conf connections 20000 limits
set_conf connections_per_ip 20000 limits
# one address (the load generator's) is the whole load here
set_conf mx_connections_per_minute 0 limits
set_conf mx_messages_per_minute 0 limits
if [ "$DELIVERY" = sink ]; then
	free_port P_SINK
	# bounded like every server here: it ends with the bench at the latest
	timeout 7200 smtp-sink -u nobody 127.0.0.1:"$P_SINK" 1024 \
	    >"$B/sink.out" 2>&1 &
	SINKPID=$!
	set_conf mode smarthost
	set_conf smarthost "127.0.0.1:$P_SINK"
	# smtp-sink offers no STARTTLS; it gets no password either
	set_conf smarthost_tls none
else
	set_conf mode capture
fi
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj /CN=localhost \
    -keyout "$RUN/data/tls/rsa-key.pem" -out "$RUN/data/tls/rsa-cert.pem" \
    2>/dev/null || die "openssl req failed"
chmod 600 "$RUN/data/tls/rsa-key.pem"
"$BIN" -c "$CONF" domain add bench.test >/dev/null
"$BIN" -c "$CONF" user add "$USER_ADDR" >/dev/null
PW=$("$BIN" -c "$CONF" --json smtp-password show "$USER_ADDR" |
    sed -n 's/.*"password": *"\([^"]*\)".*/\1/p')
[ -n "$PW" ] || die "no SMTP password for $USER_ADDR"

{
	echo "# $(date -u '+%F %T') UTC postern $(git rev-parse --short HEAD 2>/dev/null || echo ?)$(git diff --quiet HEAD -- src 2>/dev/null || echo '+dirty src')"
	echo "# $(nproc) cores ($(sed -n 's/^model name\t*: //p' /proc/cpuinfo | head -1)), $(awk '/^MemTotal/ { printf "%.1f GiB", $2 / 1048576 }' /proc/meminfo) RAM, $(uname -sr), $(openssl version | cut -d' ' -f1-2), nofile $NOFILE"
	echo "# ports: smtp $P_SMTP submission $P_SUB submissions $P_SUBS (127.0.0.1); delivery: $DELIVERY${P_SINK:+ (smtp-sink on $P_SINK)}; store: $STORE"
} >"$RES"
cat "$RES" >&2

# --- measurements ----------------------------------------------------------------

# disk: what one durable message file costs here (the spool's pattern)
mkdir -p "$RUN/fsync"
for t in 1 20; do
	echo "D|fsyncbench msg $t writer(s)|-|$("$B/fsyncbench" "$RUN/fsync" msg 3 $t 2048)" >>"$RES"
done
rmdir "$RUN/fsync" 2>/dev/null || true

case " $PARTS " in *" loads "*)
	for CERT in $CERTS; do
		say "loads with the $CERT certificate"
		use_cert "$CERT"
		loads
	done ;;
esac

case " $PARTS " in *" idle "*)
	use_cert ecdsa
	run_idle "idle plain (EHLO) x$IDLE_N" plain "$IDLE_N" 30 1 0
	run_idle "idle starttls+auth x$IDLE_N" tls "$IDLE_N" 30 1 0
	if [ "$BIG_N" -gt 0 ]; then
		# all at once (one smtpload, one thread per session), then the
		# same number arriving over ~20 s (20 smtploads, 1 s apart)
		run_idle "idle starttls+auth x$BIG_N at once" tls "$BIG_N" 90 "$BIG_PROCS" 0
		run_idle "idle starttls+auth x$BIG_N over 20 s" tls "$BIG_N" 70 20 1
	fi ;;
esac

case " $PARTS " in *" storm "*)
	use_cert rsa
	run_storm "$STORM_N" 20 ;;
esac

case " $PARTS " in *" inbound "*)
	inbound_part ;;
esac

case " $PARTS " in *" forward "*)
	forward_part ;;
esac

case " $PARTS " in *" nodes "*)
	nodes_part ;;
esac

# --- the queue at scale ----------------------------------------------------------

# seconds since $1 (a now) until PATTERN appears in the log after byte $2,
# polled every 50 ms, at most $4 seconds; "-" if it never did
log_wait() { # T0 LOG0 PATTERN MAXS
	lw_end=$(($(date +%s) + $4))
	while [ "$(date +%s)" -lt $lw_end ]; do
		if tail -c +$(($2 + 1)) "$LOG" | grep -q "$3"; then
			echo "$(now) $1" | awk '{ printf "%.2f", $1 - $2 }'
			return
		fi
		sleep 0.05
	done
	echo -
}
log_count() { tail -c +$(($1 + 1)) "$LOG" | grep -c "$2" || true; }

queue_part() {
	n=$QUEUE_N
	qdir=$RUN/data/spool/queue
	free_port P_DEAD
	set_conf mode smarthost
	set_conf smarthost "127.0.0.1:$P_DEAD"
	set_conf smarthost_tls none
	set_conf retry_first 1h
	set_conf retry_max_interval 1h
	server_stop
	clear_spool
	find "$qdir" -name '*.state' -delete 2>/dev/null || true
	server_start
	sleep 2
	rss0=$(rss_kib)
	# one real message, deferred: the template of every copy
	log0=$(wc -c <"$LOG")
	"$SL" --host 127.0.0.1 --port "$P_SUB" --tls starttls \
	    --auth "$USER_ADDR:$PW" --from "$USER_ADDR" --conns 1 --msgs 1 \
	    --size 2048 --per-conn 1 --timeout 30 >/dev/null 2>&1 ||
	    die "cannot queue the template message"
	[ "$(log_wait "$(now)" "$log0" 'delivery.attempt.*result=deferred' 30)" != - ] ||
	    die "the template message was not deferred"
	server_stop
	tmpl=$(find "$qdir" -type f ! -name '*.*' | head -1)
	[ -n "$tmpl" ] || die "no template message in $qdir"
	mv "$tmpl" "$B/queue.tmpl"
	clear_spool
	say "queue: writing $n spool files (spoolgen.py)"
	g0=$(now)
	/usr/bin/python3 "$ROOT/scripts/spoolgen.py" "$B/queue.tmpl" "$qdir" "$n" >/dev/null ||
	    die "spoolgen failed"
	sync
	gen_s=$(echo "$(now) $g0" | awk '{ printf "%.1f", $1 - $2 }')
	say "queue: $n files in $gen_s s; starting postern"
	wait_quiet
	log0=$(wc -c <"$LOG")
	t0=$(now)
	server_start
	start_s=$(log_wait "$t0" "$log0" 'queue\.start' 600)
	first_s=$(log_wait "$t0" "$log0" 'delivery\.attempt' 600)
	# every message deferred once (attempted, or parked with no I/O)
	w_end=$(($(date +%s) + 1800))
	while [ "$(date +%s)" -lt $w_end ]; do
		c=$(($(log_count "$log0" 'queue\.defer ') + $(log_count "$log0" 'delivery\.attempt')))
		[ "$c" -ge "$n" ] && break
		sleep 0.5
	done
	all_s=$(echo "$(now) $t0" | awk '{ printf "%.2f", $1 - $2 }')
	jst=$(proc_jiffies)
	sleep 2
	j0=$(proc_jiffies)
	b0=$(busy_jiffies)
	sleep 10
	j1=$(proc_jiffies)
	b1=$(busy_jiffies)
	rss1=$(rss_kib)
	# the smarthost opens; the operator flushes; until the spool is empty
	QSINKPID=
	/usr/bin/python3 "$ROOT/scripts/bench_sink.py" "$P_DEAD" >"$B/qsink.out" 2>&1 &
	QSINKPID=$!
	i=0
	while [ "$(listeners "$P_DEAD")" -lt 1 ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	j2=$(proc_jiffies)
	t2=$(now)
	"$BIN" -c "$CONF" queue flush >/dev/null
	spool_wait 3600
	t3=$(now)
	j3=$(proc_jiffies)
	sleep 1.5
	got=$(tail -1 "$B/qsink.out" | sed -n 's/received=//p')
	left=$(spool_count)
	kill "$QSINKPID" 2>/dev/null || true
	wait "$QSINKPID" 2>/dev/null || true
	QSINKPID=
	line=$(echo "$n $jst $j0 $j1 $b0 $b1 $j2 $j3 $t2 $t3 $rss0 $rss1 $HZ" | awk '{
	    hz = $13; n = $1
	    printf "startup_cpu_s=%.2f wait_cpu_s_per_10s=%.3f other_cpu_s_per_10s=%.2f rss0_kib=%d rss1_kib=%d bytes_per_msg=%.0f drain_s=%.2f drain_msgs_s=%.0f drain_cpu_ms_per_msg=%.3f",
		$2 / hz, ($4 - $3) / hz, ($6 - $5 - ($4 - $3)) / hz, $11, $12,
		($12 - $11) * 1024 / n, $10 - $9, n / ($10 - $9),
		($8 - $7) * 1000 / hz / n }')
	echo "Q|queue n=$n|smarthost|gen_s=$gen_s start_s=$start_s first_attempt_s=$first_s all_deferred_s=$all_s $line sink_received=${got:-?} spool_left=$left" >>"$RES"
	say "queue n=$n: queue.start after $start_s s, first attempt $first_s s, all deferred $all_s s; $(field wait_cpu_s_per_10s "$line") CPU-s per 10 s waiting; $(field bytes_per_msg "$line") B RSS/msg; drain $(field drain_msgs_s "$line") msgs/s, $(field drain_cpu_ms_per_msg "$line") CPU-ms/msg; sink got ${got:-?}, $left left"
	clear_spool
}

case " $PARTS " in *" queue "*)
	queue_part ;;
esac
server_stop

# --- the table -------------------------------------------------------------------

awk -F'|' '
function kv(s, k,   a, i, n) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++)
		if (index(a[i], k "=") == 1)
			return substr(a[i], length(k) + 2)
	return ""
}
/^#/ { print; next }
$1 == "D" { printf "disk: %s: %s\n", $2, $4; next }
$1 == "L" {
	key = $2 " [" $3 "]"
	if (!(key in cnt)) order[++nk] = key
	i = ++cnt[key]
	rate[key, i] = kv($5, "msgs/s") + 0
	row[key, i] = sprintf("%-40s %7s %7s %7s %7s %6s %6s %6s %5s %5s %4s", key,
	    kv($5, "msgs/s"), kv($4, "e2e_msgs/s"), kv($5, "p50_ms"),
	    kv($5, "p99_ms"), kv($4, "srv_cpu_ms_per_msg"),
	    kv($4, "srv_cpu_ms_per_msg_e2e"), kv($4, "machine_ms_per_msg_e2e"),
	    kv($5, "client_cpu_s"), kv($4, "other_cpu_s"),
	    kv($5, "failed") + kv($5, "unfinished"))
	next
}
$1 == "S" {
	storm[++ns] = sprintf("%-40s %6s/%-6s %6s %7s %7s %7s %7s %6s", $2 " [" $3 "]",
	    kv($5, "served"), kv($5, "n"), kv($5, "failed"), kv($5, "auth_p50_ms"),
	    kv($5, "auth_p99_ms"), kv($5, "login_p99_ms"), kv($4, "auth_log_ok_rows"),
	    kv($4, "srv_cpu_s"))
	next
}
$1 == "Q" {
	qrow[++nq] = sprintf("%-16s %6s %6s %6s %7s %8s %7s %7s %7s %8s %5s", $2,
	    kv($4, "start_s"), kv($4, "first_attempt_s"), kv($4, "all_deferred_s"),
	    kv($4, "startup_cpu_s"), kv($4, "wait_cpu_s_per_10s"),
	    kv($4, "other_cpu_s_per_10s"), kv($4, "bytes_per_msg"),
	    kv($4, "drain_msgs_s"), kv($4, "drain_cpu_ms_per_msg"),
	    kv($4, "spool_left"))
	next
}
$1 == "I" {
	n = kv($4, "n")
	idle[++ni] = sprintf("%-40s %6s/%-6s %7s %8s %8s %8.1f %8.1f", $2 " [" $3 "]",
	    kv($4, "opened"), n, kv($4, "session_fail") "/" kv($4, "refused"),
	    kv($4, "rss0_kib"), kv($4, "rss1_kib"),
	    (kv($4, "rss1_kib") - kv($4, "rss0_kib")) / n,
	    (kv($4, "pss1_kib") - kv($4, "pss0_kib")) / n)
}
END {
	if (nk) printf "\n%-40s %7s %7s %7s %7s %6s %6s %6s %5s %5s %4s\n",
	    "load (1 rcpt; median run)", "msgs/s", "e2e/s", "p50 ms", "p99 ms",
	    "CPU ms", "e2e ms", "mach", "cli s", "oth s", "fail"
	for (o = 1; o <= nk; o++) {
		key = order[o]; m = cnt[key]
		# the median run by msgs/s
		for (i = 1; i <= m; i++) idx[i] = i
		for (i = 2; i <= m; i++)
			for (j = i; j > 1 && rate[key, idx[j]] < rate[key, idx[j - 1]]; j--) {
				t = idx[j]; idx[j] = idx[j - 1]; idx[j - 1] = t
			}
		print row[key, idx[int((m + 1) / 2)]]
	}
	if (ni) printf "\n%-40s %13s %7s %8s %8s %8s %8s\n", "idle sessions", "open/asked",
	    "fail/ref", "RSS0 KiB", "RSS1 KiB", "KiB/sess", "Pss/sess"
	for (o = 1; o <= ni; o++) print idle[o]
	if (ns) printf "\n%-40s %13s %6s %7s %7s %7s %7s %6s\n", "login storm",
	    "served/asked", "failed", "auth50", "auth99", "login99", "logged", "CPU s"
	for (o = 1; o <= ns; o++) print storm[o]
	if (nq) {
		printf "\n%-16s %6s %6s %6s %7s %8s %7s %7s %7s %8s %5s\n", "queue (refused)",
		    "start", "1st", "all", "CPU s", "CPU/10s", "oth/10s", "B/msg",
		    "drain/s", "CPUms/m", "left"
		for (o = 1; o <= nq; o++) print qrow[o]
		print "start: s to queue.start; 1st: to the first attempt logged; all: every message"
		print "deferred once; CPU s: postern CPU until then; CPU/10s: postern CPU-seconds in 10 s"
		print "of waiting; oth/10s: other CPU meanwhile; B/msg: RSS growth per queued message;"
		print "drain/s, CPUms/m: after the smarthost opens and `queue flush`, to an empty spool."
	}
	if (nk) {
		print "\nmsgs/s: accepted (250 after the dot) per second of the run; e2e/s: until the queue"
		print "manager had delivered (captured) them all. CPU ms: postern process utime+stime per"
		print "message during the run; e2e ms: until delivered; mach: busy CPU of the whole machine"
		print "minus smtpload, per message, until delivered (as postfix-baseline.sh counts Postfix);"
		print "cli s: smtpload CPU; oth s: CPU used by other work meanwhile (should be ~0)."
	}
	if (ni) print "KiB/sess = (VmRSS with the sessions open - before) / sessions; Pss/sess likewise."
}' "$RES" >"$SUM"
inbound_table
cat "$SUM"
say "raw results: $RES; server log: $LOG"
