#!/bin/sh
# Starts one Cassandra node of a chaoslab cluster, whatever the image source:
# the local image (Cassandra 1.2 from a jar), one built from a user's tarball,
# or the official image. Compose mounts this folder at /opt/chaoslab in every
# source, so they all get the same settings from the same variables (the
# official image's names where it has one) and the same view agent.
set -eu

home="${CASSANDRA_HOME:-/opt/cassandra}"
conf="${CASSANDRA_CONF:-$home/conf}"
yaml="$conf/cassandra.yaml"
ip="$(hostname -i)"
ip="${ip%% *}"  # the first address: the cluster network's

mkdir -p "$conf"

# A release's stock cassandra.yaml keeps its tuned defaults; the jar has none,
# so it gets the minimum every release from 1.2 on accepts.
if [ ! -f "$yaml" ]; then
  cat > "$yaml" <<'YAML'
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
data_file_directories: [/var/lib/cassandra/data]
commitlog_directory: /var/lib/cassandra/commitlog
saved_caches_directory: /var/lib/cassandra/saved_caches
commitlog_sync: periodic
commitlog_sync_period_in_ms: 10000
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "127.0.0.1"
start_rpc: false
YAML
fi

# Sets a top-level scalar: drops the key's live line (a commented-out one
# stays) and appends the value, so a restarted container never doubles a key.
set_key() {
  sed -i -E "/^$1:/d" "$yaml"
  echo "$1: $2" >> "$yaml"
}
sed -i -E "s|^( *- seeds:).*|\1 \"${CASSANDRA_SEEDS:-$ip}\"|" "$yaml"
set_key cluster_name "'${CASSANDRA_CLUSTER_NAME:-chaoslab}'"
set_key listen_address "$ip"
set_key rpc_address "$ip"
set_key num_tokens "${CASSANDRA_NUM_TOKENS:-16}"
set_key endpoint_snitch "${CASSANDRA_ENDPOINT_SNITCH:-SimpleSnitch}"
set_key phi_convict_threshold "${CASSANDRA_PHI_CONVICT_THRESHOLD:-8}"
set_key auto_bootstrap "${CASSANDRA_AUTO_BOOTSTRAP:-true}"
set_key start_native_transport true
set_key native_transport_port 9042

# A release's launcher reads MAX_HEAP_SIZE, HEAP_NEWSIZE and JVM_EXTRA_OPTS
# itself (cassandra-env.sh); -R lets it run as root in a throwaway container.
if [ -x "$home/bin/cassandra" ]; then
  exec "$home/bin/cassandra" -f -R
fi

# Cassandra 1.2 from the jar, on Java 17: the opens and exports let it unmap
# files and reach its direct buffers' cleaners (without them the first
# memtable flush fails); log4j writes to the console; G1 sizes the young
# generation itself, so HEAP_NEWSIZE is for cassandra-env.sh only.
cat > "$conf/log4j-server.properties" <<'LOG'
log4j.rootLogger=INFO,stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=%5p [%t] %d{ISO8601} %F:%L - %m%n
LOG
# shellcheck disable=SC2086  # JVM_EXTRA_OPTS is a list of options
exec java -Xms"${MAX_HEAP_SIZE:-512M}" -Xmx"${MAX_HEAP_SIZE:-512M}" -XX:+UseG1GC \
  -XX:+ExitOnOutOfMemoryError -Djava.net.preferIPv4Stack=true \
  --add-exports java.base/sun.nio.ch=ALL-UNNAMED \
  --add-exports java.base/jdk.internal.ref=ALL-UNNAMED \
  --add-opens java.base/java.lang=ALL-UNNAMED \
  --add-opens java.base/java.io=ALL-UNNAMED \
  --add-opens java.base/java.nio=ALL-UNNAMED \
  --add-opens java.base/sun.nio.ch=ALL-UNNAMED \
  --add-opens java.base/jdk.internal.ref=ALL-UNNAMED \
  -Dcassandra-foreground=yes \
  -Dcassandra.config="file://$yaml" \
  -Dlog4j.defaultInitOverride=true \
  -Dlog4j.configuration="file:$conf/log4j-server.properties" \
  ${JVM_EXTRA_OPTS:-} \
  -cp "$home/lib/*" org.apache.cassandra.service.CassandraDaemon
