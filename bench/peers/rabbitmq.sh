#!/bin/sh
# RabbitMQ (Debian's `rabbitmq-server` package) for ferromq-bench.
#
#   rabbitmq.sh install          installs the package if it is missing
#   rabbitmq.sh run DIR PORT     runs a private single node in the
#                                foreground, everything in DIR
#
# Ports, all on 127.0.0.1: STOMP on PORT, AMQP on PORT+1, Erlang
# distribution on PORT+2 and a private epmd on PORT+3. This shell stays
# the parent of both epmd and the node: SIGTERM to its PID stops the node
# (rabbitmq-server stops the VM cleanly), then epmd, and reaps both, so
# nothing is left behind.
set -eu

SERVER=/usr/lib/rabbitmq/bin/rabbitmq-server

case "${1:-}" in
install)
    if [ -x "$SERVER" ] && command -v epmd >/dev/null; then
        exit 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq rabbitmq-server >/dev/null
    ;;
run)
    dir=$2
    port=$3
    mkdir -p "$dir/mnesia" "$dir/logs"
    echo '[rabbitmq_stomp].' >"$dir/enabled_plugins"
    : >"$dir/rabbitmq-env.conf"
    cat >"$dir/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$((port + 1))
stomp.listeners.tcp.1 = 127.0.0.1:$port
log.console = true
log.console.level = warning
log.file = false
CONF
    export HOME="$dir" \
        RABBITMQ_NODENAME="ferromqbench$port@localhost" \
        RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
        RABBITMQ_NODE_PORT=$((port + 1)) \
        RABBITMQ_DIST_PORT=$((port + 2)) \
        ERL_EPMD_PORT=$((port + 3)) \
        ERL_EPMD_ADDRESS=127.0.0.1 \
        RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" \
        RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
        RABBITMQ_MNESIA_BASE="$dir/mnesia" \
        RABBITMQ_LOG_BASE="$dir/logs" \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
    epmd -port $((port + 3)) -address 127.0.0.1 &
    epmd_pid=$!
    "$SERVER" &
    server_pid=$!
    stop() {
        kill -TERM "$server_pid" 2>/dev/null || true
        wait "$server_pid" || true
        kill -TERM "$epmd_pid" 2>/dev/null || true
        wait "$epmd_pid" || true
    }
    trap 'stop; exit 0' TERM INT
    # `|| true`: dash returns non-zero from a `wait` cut short by a signal.
    wait "$server_pid" || true
    stop
    ;;
*)
    echo "usage: $0 install | run DIR PORT" >&2
    exit 2
    ;;
esac
