#!/usr/bin/env bash
# bench/compare.sh: Junction and the incumbents side by side on this machine.
#
# Incumbents: RabbitMQ (AMQP), Mosquitto (MQTT), goaws v0.4.5 (SQS, Query
# protocol) and kinesalite (Kinesis). Installs what is missing (Debian's
# rabbitmq-server and mosquitto, goaws with go install into $BIN,
# kinesalite with npm into $BIN/npm), starts private instances on loopback
# ports with their own data, starts Junction (bin/junction, temp data dir,
# --aws-accept-any-key --kinesis-no-limits), runs every scenario against
# Junction and the incumbent of its kind in alternation (A B A B ...),
# appends one JSON line per run to $RESULTS, prints the summary and stops
# everything it started. Only the brokers the chosen scenarios need start.
#
# Settings (environment): DURATION (10s), WARMUP (2s), RUNS (3),
# CLIENTS ("native amqp091", AMQP scenarios only), SCENARIOS (all; names
# below; the kinesis-* ones use the bench's lean client, kinesis-sdk-*
# aws-sdk-go-v2's; sqs-query-* the lean Query client, sqs-query-std-*
# the SDK signer with encoding/xml), BROKERS ("junction rabbitmq mosquitto goaws kinesalite null
# null-durable"), RESULTS
# (bench/results/DATE.jsonl), RABBITMQ_PORT (25672), JUNCTION_PORT (25682:
# AMQP; +1 MQTT, +2 AWS gateway), MOSQUITTO_PORT (25692), GOAWS_PORT
# (25694), KINESALITE_PORT (25696), NULL_PORT (25698), NULL_DURABLE_PORT
# (25699), BIN (bin: where the
# binaries are built), JUNCTION_FLAGS (more flags for junction serve, e.g.
# "--amqp-busy-poll 2ms"; empty: the defaults).
#
# "null" is junction-bench null-amqp (bench/nullamqp.go): an AMQP server
# that does no broker work (no routing, no prefetch window, no storage,
# confirms at once). AMQP scenarios other than fanout also run against it,
# third in each round: its rate is the ceiling the client alone allows on
# this machine, which no broker can pass. "null-durable" is the same with
# --durable: it appends every publish to a log file, syncs the log in
# group commits and confirms only what a sync covered. Persistent
# scenarios also run against it: its rate is the ceiling of a broker that
# makes each confirmed message durable by writing it (one that never
# routes, stores in a queue or waits for consumers).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
WARMUP=${WARMUP:-2s}
RUNS=${RUNS:-3}
CLIENTS=${CLIENTS:-native amqp091}
BROKERS=${BROKERS:-junction rabbitmq mosquitto goaws kinesalite null null-durable}
RABBITMQ_PORT=${RABBITMQ_PORT:-25672}
JUNCTION_PORT=${JUNCTION_PORT:-25682}
JUNCTION_MQTT_PORT=$((JUNCTION_PORT + 1))
JUNCTION_AWS_PORT=$((JUNCTION_PORT + 2))
MOSQUITTO_PORT=${MOSQUITTO_PORT:-25692}
GOAWS_PORT=${GOAWS_PORT:-25694}
KINESALITE_PORT=${KINESALITE_PORT:-25696}
NULL_PORT=${NULL_PORT:-25698}
NULL_DURABLE_PORT=${NULL_DURABLE_PORT:-25699}
BIN=${BIN:-bin}
RESULTS=${RESULTS:-bench/results/$(date +%F-%H%M%S).jsonl}

# name|kind|flags. Idle scenarios run first, on fresh brokers. Kinds:
# idle, amqp and churn (incumbent rabbitmq), mqtt-idle and mqtt
# (mosquitto), sqs (goaws), kinesis (kinesalite). Transactions (--tx) run
# with the amqp091 client only; churn always uses amqp091-go.
ALL_SCENARIOS='
idle-rss|idle|--conns 0
idle-1000-conns|idle|--conns 1000
mqtt-idle-1000-conns|mqtt-idle|--conns 1000
autoack-16B|amqp|--autoack --size 16
autoack-1KiB|amqp|--autoack --size 1024
ack-prefetch100-16B|amqp|--prefetch 100 --size 16
ack-prefetch100-1KiB|amqp|--prefetch 100 --size 1024
persistent-confirm100-16B|amqp|--persistent --confirm 100 --size 16
fanout10-16B|amqp|--fanout 10 --autoack --size 16
rate1000-16B|amqp|--rate 1000 --autoack --size 16
tx10-persistent-16B|amqp|--persistent --tx 10 --prefetch 100 --size 16
churn-connection|churn|--what connection
churn-channel|churn|--what channel
churn-queue|churn|--what queue
churn-binding|churn|--what binding
mqtt-qos0-16B|mqtt|--qos 0 --size 16
mqtt-qos1-16B|mqtt|--qos 1 --size 16
mqtt-qos2-16B|mqtt|--qos 2 --size 16
mqtt-fanout100-qos0-16B|mqtt|--subscribers 100 --qos 0 --size 16 --rate 1000
mqtt-rate1000-qos0-16B|mqtt|--qos 0 --size 16 --rate 1000
sqs-query-c1-b1|sqs|--protocol query --clients 1 --batch 1
sqs-query-c10-b1|sqs|--protocol query --clients 10 --batch 1
sqs-query-c1-b10|sqs|--protocol query --clients 1 --batch 10
sqs-query-c10-b10|sqs|--protocol query --clients 10 --batch 10
sqs-query-longpoll|sqs|--protocol query --longpoll
sqs-query-std-c10-b10|sqs|--protocol query --client std --clients 10 --batch 10
kinesis-1shard-b500-1KiB|kinesis|--shards 1 --batch 500 --size 1024
kinesis-4shard-b500-1KiB|kinesis|--shards 4 --batch 500 --size 1024
kinesis-sdk-1shard-b500-1KiB|kinesis|--client sdk --shards 1 --batch 500 --size 1024
kinesis-sdk-4shard-b500-1KiB|kinesis|--client sdk --shards 4 --batch 500 --size 1024
'
SCENARIOS=${SCENARIOS:-$(echo "$ALL_SCENARIOS" | cut -d'|' -f1 | xargs)}

# incumbent prints the broker a scenario kind is compared with.
incumbent() {
	case $1 in
	idle | amqp | churn) echo rabbitmq ;;
	mqtt | mqtt-idle) echo mosquitto ;;
	sqs) echo goaws ;;
	kinesis) echo kinesalite ;;
	esac
}

# others prints the brokers scenario $1 of kind $2 runs against besides
# Junction: the incumbent, for AMQP scenarios without a fanout or
# transactions the null broker (the client's ceiling), and for persistent
# ones the durable null.
others() {
	incumbent "$2"
	# grep without -q: see needed.
	if [ "$2" = amqp ] && ! echo "$ALL_SCENARIOS" | grep "^$1|" | grep -E -- '--fanout|--tx' >/dev/null; then
		echo null
		if echo "$ALL_SCENARIOS" | grep "^$1|" | grep -- --persistent >/dev/null; then
			echo null-durable
		fi
	fi
}

# kind_of prints scenario $1's kind.
kind_of() { echo "$ALL_SCENARIOS" | grep "^$1|" | cut -d'|' -f2; }

# needed reports whether broker $1 is in BROKERS and serves a chosen scenario.
needed() {
	echo " $BROKERS " | grep -q " $1 " || return 1
	[ "$1" = junction ] && return 0
	for s in $SCENARIOS; do
		# grep without -q reads all of others' output: an early exit would
		# end others with SIGPIPE, which pipefail counts as a failure.
		others "$s" "$(kind_of "$s")" | grep -x "$1" >/dev/null && return 0
	done
	return 1
}

tmp=$(mktemp -d /tmp/junction-bench.XXXXXX)
junction_pid= mosquitto_pid= goaws_pid= kinesalite_pid= null_pid= null_durable_pid=
cleanup() {
	set +e
	for pid in $junction_pid $mosquitto_pid $goaws_pid $kinesalite_pid $null_pid $null_durable_pid; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	[ -d "$tmp/rabbitmq" ] && bench/rabbitmq.sh stop "$tmp/rabbitmq"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if needed rabbitmq && ! command -v rabbitmq-server >/dev/null && [ ! -x /usr/lib/rabbitmq/bin/rabbitmq-server ]; then
	echo "== installing rabbitmq-server" >&2
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y rabbitmq-server
fi
if needed mosquitto && ! command -v mosquitto >/dev/null; then
	echo "== installing mosquitto" >&2
	apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y mosquitto
fi
if needed goaws && [ ! -x "$BIN/goaws" ]; then
	echo "== installing goaws v0.4.5" >&2
	gobin=$(mktemp -d)
	GOBIN=$gobin GOFLAGS=-mod=mod go install github.com/Admiral-Piett/goaws/app/cmd@v0.4.5
	mkdir -p "$BIN" && mv "$gobin/cmd" "$BIN/goaws" && rmdir "$gobin"
fi
if needed kinesalite && [ ! -f "$BIN/npm/node_modules/kinesalite/cli.js" ]; then
	echo "== installing kinesalite" >&2
	npm install --silent --prefix "$BIN/npm" kinesalite >&2
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
	needed "$b" || continue
	case $b in
	rabbitmq)
		echo "== starting RabbitMQ on 127.0.0.1:$RABBITMQ_PORT" >&2
		bench/rabbitmq.sh start "$tmp/rabbitmq" "$RABBITMQ_PORT" $((RABBITMQ_PORT + 1)) $((RABBITMQ_PORT + 2)) >/dev/null
		;;
	junction)
		echo "== starting Junction on 127.0.0.1:$JUNCTION_PORT (AMQP), $JUNCTION_MQTT_PORT (MQTT), $JUNCTION_AWS_PORT (AWS)" >&2
		"$BIN/junction" serve --data-dir "$tmp/junction" --amqp-listen "127.0.0.1:$JUNCTION_PORT" \
			--amqps-listen "" --mqtt-listen "127.0.0.1:$JUNCTION_MQTT_PORT" --mqtts-listen "" --mqtt-ws-listen "" \
			--aws-listen "127.0.0.1:$JUNCTION_AWS_PORT" --aws-accept-any-key --kinesis-no-limits \
			--mgmt-listen "" --metrics-listen "" ${JUNCTION_FLAGS:-} 2>"$tmp/junction.log" &
		junction_pid=$!
		wait_port "$JUNCTION_PORT"
		wait_port "$JUNCTION_MQTT_PORT"
		wait_port "$JUNCTION_AWS_PORT"
		;;
	mosquitto)
		echo "== starting Mosquitto on 127.0.0.1:$MOSQUITTO_PORT" >&2
		printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\n' "$MOSQUITTO_PORT" >"$tmp/mosquitto.conf"
		mosquitto -c "$tmp/mosquitto.conf" 2>"$tmp/mosquitto.log" &
		mosquitto_pid=$!
		wait_port "$MOSQUITTO_PORT"
		;;
	goaws)
		# goaws binds 0.0.0.0 (it has no host setting); it is in-memory.
		echo "== starting goaws on :$GOAWS_PORT" >&2
		printf 'Local:\n  Host: 127.0.0.1\n  Port: %s\n  Region: us-east-1\n  AccountId: "100010001000"\n  LogToFile: false\n  QueueAttributeDefaults:\n    VisibilityTimeout: 30\n    ReceiveMessageWaitTimeSeconds: 0\n    MaximumMessageSize: 262144\n  Queues: []\n  Topics: []\n' \
			"$GOAWS_PORT" >"$tmp/goaws.yaml"
		"$BIN/goaws" -config "$tmp/goaws.yaml" >"$tmp/goaws.log" 2>&1 &
		goaws_pid=$!
		wait_port "$GOAWS_PORT"
		;;
	kinesalite)
		# kinesalite binds all interfaces (it has no host option).
		echo "== starting kinesalite on :$KINESALITE_PORT" >&2
		node "$BIN/npm/node_modules/kinesalite/cli.js" --port "$KINESALITE_PORT" \
			--createStreamMs 0 --deleteStreamMs 0 --updateStreamMs 0 >"$tmp/kinesalite.log" 2>&1 &
		kinesalite_pid=$!
		wait_port "$KINESALITE_PORT"
		;;
	null)
		echo "== starting the null AMQP broker on 127.0.0.1:$NULL_PORT" >&2
		"$BIN/junction-bench" null-amqp --listen "127.0.0.1:$NULL_PORT" &
		null_pid=$!
		wait_port "$NULL_PORT"
		;;
	null-durable)
		echo "== starting the durable null AMQP broker on 127.0.0.1:$NULL_DURABLE_PORT" >&2
		"$BIN/junction-bench" null-amqp --listen "127.0.0.1:$NULL_DURABLE_PORT" --durable "$tmp/null-durable.log" &
		null_durable_pid=$!
		wait_port "$NULL_DURABLE_PORT"
		;;
	*) echo "unknown broker $b" >&2; exit 2 ;;
	esac
done

# target prints the flags that point junction-bench at broker $1 for
# scenario kind $2.
target() {
	case $1/$2 in
	rabbitmq/*) echo "--broker rabbitmq --uri amqp://guest:guest@127.0.0.1:$RABBITMQ_PORT/ --broker-pid $(cat "$tmp/rabbitmq/rabbitmq.pid")" ;;
	junction/mqtt*) echo "--broker junction --uri tcp://guest:guest@127.0.0.1:$JUNCTION_MQTT_PORT --broker-pid $junction_pid" ;;
	junction/sqs | junction/kinesis) echo "--broker junction --uri http://127.0.0.1:$JUNCTION_AWS_PORT --broker-pid $junction_pid" ;;
	junction/*) echo "--broker junction --uri amqp://guest:guest@127.0.0.1:$JUNCTION_PORT/ --broker-pid $junction_pid" ;;
	mosquitto/*) echo "--broker mosquitto --uri tcp://127.0.0.1:$MOSQUITTO_PORT --broker-pid $mosquitto_pid" ;;
	goaws/*) echo "--broker goaws --uri http://127.0.0.1:$GOAWS_PORT --broker-pid $goaws_pid" ;;
	null/*) echo "--broker null --uri amqp://guest:guest@127.0.0.1:$NULL_PORT/ --broker-pid $null_pid" ;;
	null-durable/*) echo "--broker null-durable --uri amqp://guest:guest@127.0.0.1:$NULL_DURABLE_PORT/ --broker-pid $null_durable_pid" ;;
	kinesalite/*) echo "--broker kinesalite --uri http://127.0.0.1:$KINESALITE_PORT --broker-pid $kinesalite_pid" ;;
	esac
}

# run_one runs scenario $1 with client $2 against broker $3.
run_one() {
	local line kind flags
	line=$(echo "$ALL_SCENARIOS" | grep "^$1|") || { echo "unknown scenario $1" >&2; exit 2; }
	kind=$(echo "$line" | cut -d'|' -f2)
	flags=$(echo "$line" | cut -d'|' -f3)
	# shellcheck disable=SC2046,SC2086
	case $kind in
	idle) "$BIN/junction-bench" idle $(target "$3" "$kind") --scenario "$1" $flags >>"$RESULTS" || true ;;
	mqtt-idle) "$BIN/junction-bench" idle --proto mqtt $(target "$3" "$kind") --scenario "$1" $flags >>"$RESULTS" || true ;;
	amqp)
		timeout 300 "$BIN/junction-bench" amqp $(target "$3" "$kind") --scenario "$1" --client "$2" \
			--duration "$DURATION" --warmup "$WARMUP" $flags >>"$RESULTS" || true
		;;
	*)
		timeout 300 "$BIN/junction-bench" "$kind" $(target "$3" "$kind") --scenario "$1" \
			--duration "$DURATION" --warmup "$WARMUP" $flags >>"$RESULTS" || true
		;;
	esac
	tail -n1 "$RESULTS" | cut -c1-200 >&2
}

mkdir -p "$(dirname "$RESULTS")"
echo "== results: $RESULTS ($RUNS runs of $DURATION per scenario, broker and client)" >&2
# Idle scenarios first, all runs, while the brokers are fresh; then the
# load scenarios. Brokers alternate innermost: A B A B.
for phase in idle load; do
	for run in $(seq "$RUNS"); do
		for s in $SCENARIOS; do
			kind=$(kind_of "$s")
			case $phase/$kind in idle/idle | idle/mqtt-idle | load/amqp | load/churn | load/mqtt | load/sqs | load/kinesis) ;; *) continue ;; esac
			clients=native
			[ "$kind" = amqp ] && clients=$CLIENTS
			for c in $clients; do
				if [ "$c" = native ] && echo "$ALL_SCENARIOS" | grep "^$s|" | grep -- --tx >/dev/null; then
					continue
				fi
				for b in junction $(others "$s" "$kind"); do
					echo " $BROKERS " | grep -q " $b " || continue
					echo "-- run $run/$RUNS $s $c $b" >&2
					run_one "$s" "$c" "$b"
				done
			done
		done
	done
done

echo >&2
"$BIN/junction-bench" summarize <"$RESULTS"
