#!/usr/bin/env bash
# bench/compare.sh: Junction and RabbitMQ side by side on this machine.
#
# Installs Debian's rabbitmq-server if missing, starts a private RabbitMQ
# (node bench@localhost, own data dir, ports and epmd, no management plugin)
# and Junction (bin/junction, temp data dir) on loopback, runs every scenario
# against each in alternation (A B A B ...), appends one JSON line per run to
# $RESULTS, prints the summary and stops everything it started.
#
# Settings (environment): DURATION (10s), WARMUP (2s), RUNS (3),
# CLIENTS ("native amqp091"), SCENARIOS (all; names below), BROKERS
# ("junction rabbitmq"), RESULTS (bench/results/DATE.jsonl),
# RABBITMQ_PORT (25672), JUNCTION_PORT (25682), BIN (bin: where the
# binaries are built).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
RUNS=${RUNS:-3}
CLIENTS=${CLIENTS:-native amqp091}
BROKERS=${BROKERS:-junction rabbitmq}
RABBITMQ_PORT=${RABBITMQ_PORT:-25672}
JUNCTION_PORT=${JUNCTION_PORT:-25682}
BIN=${BIN:-bin}
RESULTS=${RESULTS:-bench/results/$(date +%F-%H%M%S).jsonl}

# name|kind|flags. Idle scenarios run first, on fresh brokers.
ALL_SCENARIOS='
idle-rss|idle|--conns 0
idle-1000-conns|idle|--conns 1000
autoack-16B|amqp|--autoack --size 16
autoack-1KiB|amqp|--autoack --size 1024
ack-prefetch100-16B|amqp|--prefetch 100 --size 16
ack-prefetch100-1KiB|amqp|--prefetch 100 --size 1024
persistent-confirm100-16B|amqp|--persistent --confirm 100 --size 16
fanout10-16B|amqp|--fanout 10 --autoack --size 16
rate1000-16B|amqp|--rate 1000 --autoack --size 16
'
SCENARIOS=${SCENARIOS:-$(echo "$ALL_SCENARIOS" | cut -d'|' -f1 | xargs)}

tmp=$(mktemp -d /tmp/junction-bench.XXXXXX)
junction_pid=
cleanup() {
	set +e
	if [ -n "$junction_pid" ]; then
		kill "$junction_pid" 2>/dev/null
		wait "$junction_pid" 2>/dev/null
	fi
	[ -d "$tmp/rabbitmq" ] && bench/rabbitmq.sh stop "$tmp/rabbitmq"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if ! command -v rabbitmq-server >/dev/null && [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
	echo "== installing rabbitmq-server" >&2
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y rabbitmq-server
fi

echo "== building" >&2
go build -ldflags "-X main.version=$(git describe --tags --always --dirty 2>/dev/null || echo dev)" -o "$BIN/junction" ./cmd/junction
go build -o "$BIN/junction-bench" ./cmd/junction-bench

# wait_port waits until something accepts on 127.0.0.1:$1.
wait_port() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.1
	done
	echo "nothing listens on port $1" >&2
	return 1
}

for b in $BROKERS; do
	case $b in
	rabbitmq)
		echo "== starting RabbitMQ on 127.0.0.1:$RABBITMQ_PORT" >&2
		bench/rabbitmq.sh start "$tmp/rabbitmq" "$RABBITMQ_PORT" $((RABBITMQ_PORT + 1)) $((RABBITMQ_PORT + 2)) >/dev/null
		;;
	junction)
		echo "== starting Junction on 127.0.0.1:$JUNCTION_PORT" >&2
		"$BIN/junction" serve --data-dir "$tmp/junction" --amqp-listen "127.0.0.1:$JUNCTION_PORT" \
			--amqps-listen "" --mqtt-listen "" --mqtts-listen "" --mqtt-ws-listen "" \
			--aws-listen "" --mgmt-listen "" --metrics-listen "" 2>"$tmp/junction.log" &
		junction_pid=$!
		wait_port "$JUNCTION_PORT"
		;;
	*) echo "unknown broker $b" >&2; exit 2 ;;
	esac
done

# target prints the flags that point junction-bench at broker $1.
target() {
	case $1 in
	rabbitmq) echo "--broker rabbitmq --uri amqp://guest:guest@127.0.0.1:$RABBITMQ_PORT/ --broker-pid $(cat "$tmp/rabbitmq/rabbitmq.pid")" ;;
	junction) echo "--broker junction --uri amqp://guest:guest@127.0.0.1:$JUNCTION_PORT/ --broker-pid $junction_pid" ;;
	esac
}

# run_one runs scenario $1 with client $2 against broker $3.
run_one() {
	local line kind flags
	line=$(echo "$ALL_SCENARIOS" | grep "^$1|") || { echo "unknown scenario $1" >&2; exit 2; }
	kind=$(echo "$line" | cut -d'|' -f2)
	flags=$(echo "$line" | cut -d'|' -f3)
	if [ "$kind" = idle ]; then
		# shellcheck disable=SC2046,SC2086
		"$BIN/junction-bench" idle $(target "$3") --scenario "$1" $flags >>"$RESULTS" || true
	else
		# shellcheck disable=SC2046,SC2086
		timeout 300 "$BIN/junction-bench" amqp $(target "$3") --scenario "$1" --client "$2" \
			--duration "$DURATION" --warmup "$WARMUP" $flags >>"$RESULTS" || true
	fi
	tail -n1 "$RESULTS" | cut -c1-200 >&2
}

mkdir -p "$(dirname "$RESULTS")"
echo "== results: $RESULTS ($RUNS runs of $DURATION per scenario, broker and client)" >&2
# Idle scenarios first, all runs, while the brokers are fresh; then the
# load scenarios. Brokers alternate innermost: A B A B.
for phase in idle amqp; do
	for run in $(seq "$RUNS"); do
		for s in $SCENARIOS; do
			echo "$ALL_SCENARIOS" | grep -q "^$s|$phase|" || continue
			clients=$CLIENTS
			[ "$phase" = idle ] && clients=native
			for c in $clients; do
				for b in $BROKERS; do
					echo "-- run $run/$RUNS $s $c $b" >&2
					run_one "$s" "$c" "$b"
				done
			done
		done
	done
done

echo >&2
"$BIN/junction-bench" summarize <"$RESULTS"
