#!/bin/sh
# One ZooKeeper server (Debian's `zookeeper` package) of the three-server
# ensemble `ferromq-bench --cluster` (and `scripts/local-cluster`) elects
# ferromq's master with.
#
#   zookeeper.sh install    installs the package if it is missing
#   zookeeper.sh run DIR    runs the server of DIR/zoo.cfg in the foreground
#
# The caller writes DIR/zoo.cfg (every port on 127.0.0.1, tickTime 200 so
# that a 2 s session timeout is negotiable) and DIR/data/myid. `exec`
# makes the JVM this script's PID, so the bench stops it by that PID.
# Packaged QuorumPeerMain, one JVM per server, as tests/cluster/zk.py runs
# it: the jars from /usr/share/java, slf4j-simple logging to stderr.
set -eu

JARS=/usr/share/java
CLASSPATH="$JARS/zookeeper.jar:$JARS/zookeeper-jute.jar:$JARS/slf4j-simple.jar"

case "${1:-}" in
install)
    if command -v java >/dev/null && [ -f "$JARS/zookeeper.jar" ] &&
        [ -f "$JARS/slf4j-simple.jar" ]; then
        exit 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq zookeeper >/dev/null
    ;;
run)
    dir=$2
    cd "$dir"
    exec java -Xmx192m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
        -Djava.net.preferIPv4Stack=true \
        -Dzookeeper.jmx.log4j.disable=true \
        -Dzookeeper.log.dir="$dir" \
        -Dorg.slf4j.simpleLogger.showDateTime=true \
        -cp "$CLASSPATH" \
        org.apache.zookeeper.server.quorum.QuorumPeerMain "$dir/zoo.cfg"
    ;;
*)
    echo "usage: $0 install | run DIR" >&2
    exit 2
    ;;
esac
