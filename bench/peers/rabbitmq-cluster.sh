#!/bin/sh
# A three-node RabbitMQ cluster (Debian's `rabbitmq-server` package) for
# `ferromq-bench --cluster --peer rabbitmq`: the replicated peer of a
# ferromq cluster, measured with quorum queues (Raft over three members).
#
#   rabbitmq-cluster.sh install        installs the package if it is missing
#   rabbitmq-cluster.sh run DIR PORT   runs the three nodes, everything in DIR,
#                                      until SIGTERM
#
# Ports, all on 127.0.0.1 (node i = 1..3): STOMP on PORT+i-1, AMQP on
# PORT+2+i, Erlang distribution on PORT+5+i, one private epmd shared by
# the three on PORT+9, and PORT+10..PORT+13 for rabbitmqctl's own
# distribution listener. Nodes 2 and 3 join node 1 with `rabbitmqctl
# join_cluster`; DIR/ready appears once all three run as one cluster, and
# only then may queues be declared (a quorum queue takes its members from
# the nodes running when it is declared).
#
# This shell stays the parent of epmd and the three nodes: SIGTERM to its
# PID stops the nodes (rabbitmq-server stops its VM cleanly on SIGTERM),
# then epmd, and reaps them all, so nothing is left behind.
set -eu

SERVER=/usr/lib/rabbitmq/bin/rabbitmq-server
CTL=/usr/lib/rabbitmq/bin/rabbitmqctl
# Bound on each rabbitmqctl call: a node that never comes up must not
# hang the bench (which has its own, longer, readiness limit).
CTL_TIMEOUT=120

case "${1:-}" in
install)
    # The same package as the single node's.
    exec sh "$(dirname "$0")/rabbitmq.sh" install
    ;;
run)
    dir=$2
    port=$3
    # One cookie for all three nodes and rabbitmqctl, written before any
    # node starts (each would otherwise race to create its own).
    mkdir -p "$dir"
    printf 'ferromqbench%s' "$port" >"$dir/.erlang.cookie"
    chmod 400 "$dir/.erlang.cookie"
    echo '[rabbitmq_stomp].' >"$dir/enabled_plugins"
    : >"$dir/rabbitmq-env.conf"
    export HOME="$dir" \
        ERL_EPMD_PORT=$((port + 9)) \
        ERL_EPMD_ADDRESS=127.0.0.1 \
        RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" \
        RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
        RABBITMQ_CTL_DIST_PORT_MIN=$((port + 10)) \
        RABBITMQ_CTL_DIST_PORT_MAX=$((port + 13)) \
        RABBITMQ_CTL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}" \
        RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"

    name() { echo "ferromqbench${port}n$1@localhost"; }

    # Node $1's environment, then exec of the server: called with `&`,
    # so that `$!` is the server's own PID (rabbitmq-server stops its VM
    # on SIGTERM; a subshell in between would not pass the signal on).
    start_node() {
        d="$dir/n$1"
        export RABBITMQ_NODENAME="$(name "$1")" \
            RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 \
            RABBITMQ_NODE_PORT=$((port + 2 + $1)) \
            RABBITMQ_DIST_PORT=$((port + 5 + $1)) \
            RABBITMQ_CONFIG_FILE="$d/rabbitmq.conf" \
            RABBITMQ_MNESIA_BASE="$d/mnesia" \
            RABBITMQ_LOG_BASE="$d/logs"
        exec "$SERVER"
    }

    # In the background, then `wait`: a SIGTERM meanwhile runs the trap
    # at once instead of after the call.
    ctl() {
        i=$1
        shift
        timeout "$CTL_TIMEOUT" "$CTL" -n "$(name "$i")" "$@" &
        wait $!
    }

    epmd -port $((port + 9)) -address 127.0.0.1 &
    epmd_pid=$!
    pids=""
    stop() {
        trap - TERM INT
        for pid in $pids; do
            kill -TERM "$pid" 2>/dev/null || true
        done
        for pid in $pids; do
            wait "$pid" || true
        done
        kill -TERM "$epmd_pid" 2>/dev/null || true
        wait "$epmd_pid" || true
    }
    trap 'stop; exit 0' TERM INT

    for i in 1 2 3; do
        d="$dir/n$i"
        mkdir -p "$d/mnesia" "$d/logs"
        cat >"$d/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$((port + 2 + i))
stomp.listeners.tcp.1 = 127.0.0.1:$((port + i - 1))
log.console = true
log.console.level = warning
log.file = false
CONF
        start_node "$i" &
        pids="$pids $!"
    done

    # `|| { stop; exit 1; }`: a failed step stops what started, and the
    # bench reports the log (set -e alone would orphan the nodes).
    # await_startup fails at once while a node has not registered with
    # epmd yet, so it is retried, a bounded number of times.
    for i in 1 2 3; do
        tries=0
        until ctl "$i" await_startup >/dev/null 2>&1; do
            tries=$((tries + 1))
            if [ "$tries" -ge 120 ]; then
                echo "rabbitmq-cluster: $(name "$i") did not start" >&2
                stop
                exit 1
            fi
            sleep 1
        done
    done
    for i in 2 3; do
        {
            ctl "$i" stop_app &&
                ctl "$i" join_cluster "$(name 1)" &&
                ctl "$i" start_app
        } >/dev/null || { stop; exit 1; }
    done
    running=$(ctl 1 eval 'length(rabbit_nodes:all_running()).' | tr -dc 0-9)
    if [ "$running" != 3 ]; then
        echo "rabbitmq-cluster: $running nodes running after join_cluster, not 3" >&2
        stop
        exit 1
    fi
    echo "rabbitmq-cluster: three nodes joined: $(name 1) $(name 2) $(name 3)" >&2
    : >"$dir/ready"
    # `|| true`: dash returns non-zero from a `wait` cut short by a signal.
    for pid in $pids; do
        wait "$pid" || true
    done
    stop
    ;;
*)
    echo "usage: $0 install | run DIR PORT" >&2
    exit 2
    ;;
esac
