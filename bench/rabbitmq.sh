#!/usr/bin/env bash
# Start or stop a private RabbitMQ on loopback for benchmarks.
#   bench/rabbitmq.sh start DIR PORT DIST_PORT EPMD_PORT   (prints the pid file path)
#   bench/rabbitmq.sh stop DIR
# Its data, logs and config live in DIR; it runs as node bench@localhost with
# the management plugin disabled. epmd is started on EPMD_PORT for it and
# killed by stop.
set -euo pipefail
# Debian's /usr/sbin wrappers switch to the rabbitmq user, who cannot write
# DIR; the scripts they wrap run as whoever calls them.
bin=/usr/lib/rabbitmq/bin
[ -x "$bin/rabbitmq-server" ] || bin=$(dirname "$(command -v rabbitmq-server)")
cmd=${1:?start|stop}
dir=${2:?data directory}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

env_setup() {
	export RABBITMQ_NODENAME=bench@localhost
	export RABBITMQ_MNESIA_BASE=$dir/mnesia
	export RABBITMQ_LOG_BASE=$dir/log
	export RABBITMQ_CONFIG_FILE=$dir/rabbitmq          # .conf is appended
	export RABBITMQ_ENABLED_PLUGINS_FILE=$dir/enabled_plugins
	export RABBITMQ_PID_FILE=$dir/rabbitmq.pid
	export RABBITMQ_ADVANCED_CONFIG_FILE=$dir/advanced.config
	export ERL_EPMD_PORT=$(cat "$dir/epmd.port" 2>/dev/null || echo 4369)
	export ERL_EPMD_ADDRESS=127.0.0.1
	export HOME=$dir                                    # the Erlang cookie goes here
}

case $cmd in
start)
	port=${3:?AMQP port}; dist=${4:?distribution port}; epmdport=${5:?epmd port}
	echo "$epmdport" > "$dir/epmd.port"
	env_setup
	export RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$port RABBITMQ_DIST_PORT=$dist
	mkdir -p "$RABBITMQ_MNESIA_BASE" "$RABBITMQ_LOG_BASE"
	echo '[].' > "$RABBITMQ_ENABLED_PLUGINS_FILE"
	echo '[].' > "$RABBITMQ_ADVANCED_CONFIG_FILE"
	cat > "$RABBITMQ_CONFIG_FILE.conf" <<CONF
listeners.tcp.default = 127.0.0.1:$port
loopback_users.guest = true
vm_memory_high_watermark.relative = 0.4
CONF
	epmd -port "$epmdport" -address 127.0.0.1 -daemon
	# -detached makes rabbitmq-server fork; the pid file holds beam's pid.
	nohup "$bin/rabbitmq-server" > "$dir/server.out" 2>&1 &
	echo $! > "$dir/launcher.pid"
	if ! "$bin/rabbitmqctl" -q -n bench@localhost wait --timeout 90 "$RABBITMQ_PID_FILE" >/dev/null; then
		tail -20 "$dir/server.out" >&2
		exit 1
	fi
	echo "$RABBITMQ_PID_FILE"
	;;
stop)
	env_setup
	if [ -f "$RABBITMQ_PID_FILE" ]; then
		"$bin/rabbitmqctl" -q -n bench@localhost stop "$RABBITMQ_PID_FILE" >/dev/null 2>&1 ||
			kill "$(cat "$RABBITMQ_PID_FILE")" 2>/dev/null || true
	fi
	if [ -f "$dir/launcher.pid" ]; then
		kill "$(cat "$dir/launcher.pid")" 2>/dev/null || true
	fi
	epmd -port "$ERL_EPMD_PORT" -kill >/dev/null 2>&1 || true
	;;
*)
	echo "usage: $0 start|stop DIR ..." >&2; exit 2 ;;
esac
