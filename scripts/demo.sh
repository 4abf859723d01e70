#!/usr/bin/env bash
# make demo: a local 3-master source cluster and a 3-master destination cluster from
# redis-server, sample data of every type, xsync syncing while a writer keeps writing,
# then a key-by-key comparison. Ctrl-C stops everything.
#
# Environment: DEMO_BASE (first port, default 21001; ports and cluster bus ports (+10000)
# stay below the ephemeral range), DEMO_KEYS (default 20000),
# DEMO_WRITE_SECONDS (default 15), DEMO_EXIT=1 to stop after the comparison.
set -euo pipefail
cd "$(dirname "$0")/.."

BASE=${DEMO_BASE:-21001}
KEYS=${DEMO_KEYS:-20000}
WRITE_SECONDS=${DEMO_WRITE_SECONDS:-15}
ADMIN=${DEMO_ADMIN:-127.0.0.1:6380}
METRICS=${DEMO_METRICS:-127.0.0.1:9121}
DIR=$PWD/.demo
BIN=$PWD/bin

SRC_PORTS=($BASE $((BASE + 1)) $((BASE + 2)))
DST_PORTS=($((BASE + 10)) $((BASE + 11)) $((BASE + 12)))
pids=()

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

cleanup() {
	set +e
	say "stopping everything"
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for port in "${SRC_PORTS[@]}" "${DST_PORTS[@]}"; do
		redis-cli -p "$port" shutdown nosave >/dev/null 2>&1
	done
	wait 2>/dev/null
}
trap cleanup EXIT
trap 'exit 130' INT TERM

port_free() { ! (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; }
for port in "${SRC_PORTS[@]}" "${DST_PORTS[@]}"; do
	for p in "$port" $((port + 10000)); do
		if ! port_free "$p"; then
			echo "demo: port $p is in use; set DEMO_BASE to another first port" >&2
			exit 1
		fi
	done
done

go build -o "$BIN/xsync-load" ./tests/cmd/xsync-load
rm -rf "$DIR" && mkdir -p "$DIR"

start_node() {
	local port=$1
	mkdir -p "$DIR/$port"
	redis-server --port "$port" --bind 127.0.0.1 --cluster-enabled yes \
		--cluster-config-file "$DIR/$port/nodes.conf" --dir "$DIR/$port" \
		--save "" --appendonly no --daemonize yes --logfile "$DIR/$port/redis.log" \
		--repl-backlog-size 64mb
}

make_cluster() {
	local addrs=()
	for port in "$@"; do
		start_node "$port"
		addrs+=("127.0.0.1:$port")
	done
	for port in "$@"; do
		for i in $(seq 1 100); do
			redis-cli -p "$port" ping >/dev/null 2>&1 && break
			if [ "$i" = 100 ]; then
				echo "demo: redis-server on port $port did not start; its log says:" >&2
				tail -5 "$DIR/$port/redis.log" >&2
				echo "demo: if a port is in use, set DEMO_BASE to another first port" >&2
				exit 1
			fi
			sleep 0.1
		done
	done
	redis-cli --cluster create "${addrs[@]}" --cluster-yes >"$DIR/cluster-$1.log" 2>&1
	for port in "$@"; do
		for i in $(seq 1 150); do
			redis-cli -p "$port" cluster info 2>/dev/null | grep -q 'cluster_state:ok' && break
			if [ "$i" = 150 ]; then
				echo "demo: the cluster on ports $* did not reach cluster_state:ok; see $DIR/cluster-$1.log" >&2
				exit 1
			fi
			sleep 0.2
		done
	done
}

say "starting the source cluster on ports ${SRC_PORTS[*]}"
make_cluster "${SRC_PORTS[@]}"
say "starting the destination cluster on ports ${DST_PORTS[*]}"
make_cluster "${DST_PORTS[@]}"

SRC="redis://127.0.0.1:${SRC_PORTS[0]}"
DST="redis://127.0.0.1:${DST_PORTS[0]}"

say "loading $KEYS sample keys of every type into the source"
"$BIN/xsync-load" fill --addr "127.0.0.1:${SRC_PORTS[0]}" --keys "$KEYS" --big-keys 1 --big-len 50000

say "writing to the source for ${WRITE_SECONDS}s while xsync syncs"
"$BIN/xsync-load" write --addr "127.0.0.1:${SRC_PORTS[0]}" --duration "${WRITE_SECONDS}s" --rate 2000 &
writer=$!
pids+=("$writer")

say "running: xsync sync --source $SRC --target $DST --admin $ADMIN --metrics $METRICS"
"$BIN/xsync" sync --source "$SRC" --target "$DST" --admin "$ADMIN" --metrics "$METRICS" \
	--log-file "$DIR/xsync.log" &
pids+=($!)

wait "$writer" || true
say "the writer stopped; waiting for xsync to catch up"
for _ in $(seq 1 120); do
	info=$(redis-cli -h "${ADMIN%:*}" -p "${ADMIN##*:}" INFO xsync 2>/dev/null || true)
	if grep -q '^state:stream' <<<"$info" && grep -q '^lag_bytes:0' <<<"$info"; then break; fi
	sleep 0.5
done
redis-cli -h "${ADMIN%:*}" -p "${ADMIN##*:}" INFO xsync | tr -d '\r' | sed 's/^/    /'

say "comparing source and destination key by key"
set +e
"$BIN/xsync" verify --source "$SRC" --target "$DST"
code=$?
set -e
if [ $code -eq 0 ]; then say "verify: source and destination are equal"; else say "verify: differences found (exit $code)"; fi

cat <<EOF

xsync keeps running and follows the source. Try, in another terminal:
    redis-cli -p ${ADMIN##*:} INFO xsync
    curl -s http://$METRICS/metrics | grep ^xsync_
    redis-cli -p ${SRC_PORTS[0]} -c SET hello world && redis-cli -p ${DST_PORTS[0]} -c GET hello
Logs: $DIR/xsync.log. Press Ctrl-C to stop everything.
EOF
if [ "${DEMO_EXIT:-0}" = 1 ]; then exit $code; fi
wait
