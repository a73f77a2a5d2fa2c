# scripts/bench_nodes.sh: the two-node part of `make bench` (issue 15):
# two `postern serve` on this machine sharing one PostgreSQL store, each
# with its own spool, queue and ports, the load split between them (one
# smtpload per node, started together); msgs/s of both together against
# one node taking the same total load, in one run.
#
#   BENCH_STORE=postgresql BENCH_PARTS=nodes sh scripts/bench.sh
#
# Sourced by scripts/bench.sh (free_port, set_conf, server_start/stop,
# wait_quiet, spool_count, field, $SL, $RES, $TMO, $REPS, $RUN, $CONF).
# Node B is a second setup (postern init) given node A's master key, DKIM
# keys and SRS secret, as README's "Several nodes" says; both relay to the
# same smtp-sink. On two cores the nodes share the same CPUs (and with
# PostgreSQL): the figure says what the sharing costs, not what a second
# machine would add.

nodes_b_setup() {
	RUN2=$B/run2
	CONF2=$RUN2/postern.conf
	rm -rf "$RUN2"
	"$BIN" init --dir "$RUN2" --hostname localhost >/dev/null
	cp "$RUN/data/master.key" "$RUN/data/srs.key" "$RUN2/data/"
	rm -rf "$RUN2/data/dkim" "$RUN2/data/tls"
	cp -a "$RUN/data/dkim" "$RUN/data/tls" "$RUN2/data/"
	cp "$CONF" "$CONF2"
	sed -i "s|$RUN/|$RUN2/|g" "$CONF2"
	free_port P_SMTP2
	free_port P_SUB2
	free_port P_SUBS2
	free_port P_HTTP2
	c1=$CONF
	CONF=$CONF2
	set_conf smtp "127.0.0.1:$P_SMTP2"
	set_conf submission "127.0.0.1:$P_SUB2"
	set_conf submissions "127.0.0.1:$P_SUBS2"
	set_conf http "127.0.0.1:$P_HTTP2"
	set_conf node_name nodeb server
	CONF=$c1
	set_conf node_name nodea server
}

nodes_spool_count() {
	find "$RUN/data/spool/queue" "$RUN2/data/spool/queue" -type f 2>/dev/null | wc -l
}

nodes_spool_wait() {
	i=0
	while [ "$(nodes_spool_count)" -gt 0 ] && [ $i -lt 1200 ]; do
		sleep 0.1
		i=$((i + 1))
	done
}

# nodes_run LABEL TWO K N: N messages of K per connection over 40
# connections, on one node (TWO=0) or split over two (TWO=1)
nodes_run() {
	label=$1 two=$2 k=$3 n=$4
	nodes_spool_wait
	wait_quiet
	t0=$(now)
	if [ "$two" = 1 ]; then
		"$SL" --host 127.0.0.1 --port "$P_SUB" --tls starttls \
		    --auth "$USER_ADDR:$PW" --from "$USER_ADDR" --conns 20 \
		    --msgs $((n / 2)) --size 1024 --per-conn "$k" --timeout "$TMO" \
		    >"$B/nodea.out" 2>"$B/nodea.err" &
		pa=$!
		"$SL" --host 127.0.0.1 --port "$P_SUB2" --tls starttls \
		    --auth "$USER_ADDR:$PW" --from "$USER_ADDR" --conns 20 \
		    --msgs $((n / 2)) --size 1024 --per-conn "$k" --timeout "$TMO" \
		    >"$B/nodeb.out" 2>"$B/nodeb.err" || true
		wait "$pa" || true
		ok=$(($(field ok "$(cat "$B/nodea.out")") + $(field ok "$(cat "$B/nodeb.out")")))
	else
		"$SL" --host 127.0.0.1 --port "$P_SUB" --tls starttls \
		    --auth "$USER_ADDR:$PW" --from "$USER_ADDR" --conns 40 \
		    --msgs "$n" --size 1024 --per-conn "$k" --timeout "$TMO" \
		    >"$B/nodea.out" 2>"$B/nodea.err" || true
		ok=$(field ok "$(cat "$B/nodea.out")")
	fi
	t1=$(now)
	nodes_spool_wait
	t2=$(now)
	line=$(echo "$ok $t0 $t1 $t2" | awk '{ printf "ok=%d accept_msgs/s=%.1f e2e_msgs/s=%.1f", $1, $1 / ($3 - $2), $1 / ($4 - $2) }')
	echo "N|$label|$line" >>"$RES"
	say "nodes $label: $line"
}

nodes_part() {
	[ "$STORE" = postgresql ] || die "the nodes part needs BENCH_STORE=postgresql"
	use_cert ecdsa
	server_stop
	nodes_b_setup
	server_start
	"$BIN" -c "$CONF2" serve >>"$B/serve2.log" 2>&1 &
	SPID2=$!
	i=0
	until grep -q 'nodes.peers node=nodeb others=[1-9]' "$B/serve2.log" 2>/dev/null &&
	    grep -q 'nodes.peers node=nodea others=[1-9]' "$LOG"; do
		i=$((i + 1))
		[ $i -lt 200 ] || die "the nodes did not see each other within 20 s"
		sleep 0.1
	done
	r=0
	while [ $r -lt "$REPS" ]; do
		r=$((r + 1))
		nodes_run "one node c40 k1 m3000" 0 1 3000
		nodes_run "two nodes c20+c20 k1 m3000" 1 1 3000
		nodes_run "one node c40 k50 m6000" 0 50 6000
		nodes_run "two nodes c20+c20 k50 m6000" 1 50 6000
	done
	kill "$SPID2" 2>/dev/null || true
	wait "$SPID2" 2>/dev/null || true
}
