#!/bin/sh
# Writes zoo.cfg from the official image's variables and runs the quorum peer.
set -eu
mkdir -p "$ZOO_CONF_DIR" "$ZOO_DATA_DIR"
echo "${ZOO_MY_ID:-1}" > "$ZOO_DATA_DIR/myid"
{
  echo "dataDir=$ZOO_DATA_DIR"
  echo "clientPort=2181"
  echo "tickTime=${ZOO_TICK_TIME:-2000}"
  echo "initLimit=${ZOO_INIT_LIMIT:-5}"
  echo "syncLimit=${ZOO_SYNC_LIMIT:-2}"
  echo "4lw.commands.whitelist=${ZOO_4LW_COMMANDS_WHITELIST:-srvr,mntr,ruok}"
  echo "admin.enableServer=false"
  echo "standaloneEnabled=${ZOO_STANDALONE_ENABLED:-false}"
  echo "quorumListenOnAllIPs=true"
  for server in ${ZOO_SERVERS:-}; do echo "$server"; done
} > "$ZOO_CONF_DIR/zoo.cfg"
cat > "$ZOO_CONF_DIR/log4j.properties" <<'LOG'
log4j.rootLogger=INFO, CONSOLE
log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender
log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout
log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} [myid:%X{myid}] %-5p [%t:%C{1}@%L] - %m%n
LOG
# ZooKeeper logs nothing without an slf4j binding and log4j on the class path;
# Debian ships several bindings, so the class path names exactly one.
CLASSPATH="$ZOO_CONF_DIR"
for jar in zookeeper zookeeper-jute slf4j-api slf4j-log4j12 log4j-1.2 commons-cli commons-io \
    metrics-core snappy-java jackson-annotations jackson-core jackson-databind \
    netty-buffer netty-codec netty-common netty-handler netty-resolver netty-transport \
    netty-transport-native-epoll netty-transport-native-unix-common; do
  CLASSPATH="$CLASSPATH:/usr/share/java/$jar.jar"
done
exec java ${JVMFLAGS:-} -Dlog4j.configuration="file:$ZOO_CONF_DIR/log4j.properties" \
  -cp "$CLASSPATH" org.apache.zookeeper.server.quorum.QuorumPeerMain "$ZOO_CONF_DIR/zoo.cfg"
