/*
 * This Cassandra node's own view of the ring, served on a TCP port from inside
 * the server's JVM (loaded with -javaagent:view-agent.jar=PORT).
 *
 * nodetool reads the same MBeans but starts a JVM for every call (~0.9 s);
 * here one poll is one socket round trip, so the suite can watch a node mark
 * a peer down at sub-second resolution. One connection gets one answer, then
 * the agent closes it, like ZooKeeper's four-letter words:
 *
 *   version 1.2.0
 *   mode NORMAL
 *   schema 59adb24e-f3cd-3e02-97f0-5b395827453f
 *   live 172.18.0.2 172.18.0.3
 *   unreachable 172.18.0.4
 *   joining
 *   leaving
 *   moving
 *
 * or one line "error <reason>" while the MBeans are not registered yet.
 * Compiled for Java 8 and using only StorageServiceMBean attributes that
 * every release from 1.2 to 5.0 has, so one jar serves every image source.
 */

import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Collection;
import javax.management.MBeanServer;
import javax.management.ObjectName;

public final class ViewAgent implements Runnable {
    private static final String[][] FIELDS = {
        {"version", "ReleaseVersion"},
        {"mode", "OperationMode"},
        {"schema", "SchemaVersion"},
        {"live", "LiveNodes"},
        {"unreachable", "UnreachableNodes"},
        {"joining", "JoiningNodes"},
        {"leaving", "LeavingNodes"},
        {"moving", "MovingNodes"},
    };

    private final int port;

    private ViewAgent(int port) {
        this.port = port;
    }

    public static void premain(String args) {
        Thread thread = new Thread(new ViewAgent(Integer.parseInt(args.trim())), "chaoslab-view");
        thread.setDaemon(true); // never keeps a stopping server alive
        thread.start();
    }

    @Override
    public void run() {
        try (ServerSocket server = new ServerSocket()) {
            server.setReuseAddress(true);
            server.bind(new InetSocketAddress(InetAddress.getByName("0.0.0.0"), port));
            while (true) {
                try (Socket client = server.accept()) {
                    client.setSoTimeout(1000);
                    OutputStream out = client.getOutputStream();
                    out.write(view().getBytes(StandardCharsets.UTF_8));
                    out.flush();
                } catch (Exception e) {
                    // a client that went away must not stop the agent
                }
            }
        } catch (Exception e) {
            System.err.println("chaoslab view agent stopped: " + e);
        }
    }

    static String view() {
        StringBuilder answer = new StringBuilder();
        try {
            MBeanServer beans = ManagementFactory.getPlatformMBeanServer();
            ObjectName service = new ObjectName("org.apache.cassandra.db:type=StorageService");
            for (String[] field : FIELDS) {
                answer.append(field[0]);
                Object value = beans.getAttribute(service, field[1]);
                if (value instanceof Collection) {
                    for (Object item : (Collection<?>) value) {
                        answer.append(' ').append(item);
                    }
                } else {
                    answer.append(' ').append(value);
                }
                answer.append('\n');
            }
        } catch (Exception e) {
            return "error " + e.getClass().getSimpleName() + ": " + e.getMessage() + "\n";
        }
        return answer.toString();
    }
}
