#!/bin/sh
# ActiveMQ (Debian's `activemq` package) for ferromq-bench.
#
#   activemq.sh install          installs the package if it is missing
#   activemq.sh run DIR PORT     writes a private config into DIR and execs
#                                the broker in the foreground, so that the
#                                caller's child PID is the JVM itself
#
# The config is Debian's `main` instance with a STOMP connector on
# 127.0.0.1:PORT only (no OpenWire), KahaDB fsyncing every journal write
# (journalDiskSyncStrategy="always") and a 512 MB heap. Stop it with
# SIGTERM to the PID the caller got.
set -eu

JAR=/usr/share/activemq/bin/activemq.jar
LOG4J=/etc/activemq/instances-available/main/log4j2.properties

case "${1:-}" in
install)
    if [ -f "$JAR" ] && command -v java >/dev/null; then
        exit 0
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq activemq >/dev/null
    ;;
run)
    dir=$2
    port=$3
    mkdir -p "$dir/conf" "$dir/data" "$dir/tmp"
    cp "$LOG4J" "$dir/conf/log4j2.properties"
    cat >"$dir/conf/activemq.xml" <<XML
<beans
  xmlns="http://www.springframework.org/schema/beans"
  xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
  xsi:schemaLocation="http://www.springframework.org/schema/beans http://www.springframework.org/schema/beans/spring-beans-2.0.xsd
  http://activemq.apache.org/schema/core http://activemq.apache.org/schema/core/activemq-core.xsd">
    <bean class="org.springframework.beans.factory.config.PropertyPlaceholderConfigurer"/>
    <broker xmlns="http://activemq.apache.org/schema/core"
            useJmx="false" brokerName="ferromq-bench"
            dataDirectory="$dir/data">
        <persistenceAdapter>
            <kahaDB directory="$dir/data/kahadb" journalDiskSyncStrategy="always"/>
        </persistenceAdapter>
        <transportConnectors>
            <transportConnector name="stomp" uri="stomp://127.0.0.1:$port"/>
        </transportConnectors>
    </broker>
</beans>
XML
    exec java -Xms512M -Xmx512M \
        -Dorg.apache.activemq.UseDedicatedTaskRunner=true \
        -Djava.io.tmpdir="$dir/tmp" \
        -Dlog4j2.configurationFile="$dir/conf/log4j2.properties" \
        -Dactivemq.home=/usr/share/activemq \
        -Dactivemq.base="$dir" \
        -Dactivemq.conf="$dir/conf" \
        -Dactivemq.data="$dir/data" \
        -jar "$JAR" start "xbean:file:$dir/conf/activemq.xml"
    ;;
*)
    echo "usage: $0 install | run DIR PORT" >&2
    exit 2
    ;;
esac
