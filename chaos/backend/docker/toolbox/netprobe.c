/*
 * netprobe: the measurements that prove a network fault took effect.
 *
 * netprobe tcp [-t TIMEOUT_MS] [-n COUNT] IP:PORT...
 *   Opens COUNT concurrent TCP connections to every target and waits at most
 *   TIMEOUT_MS. An answer of either kind (SYN-ACK or RST) proves the path
 *   works both ways, so a closed port is a fine target and no listener is
 *   needed on official images; silence until the timeout means a packet was
 *   dropped. Prints one line per target:
 *     IP:PORT reached=R lost=L median_us=M
 *   The connect time is a round trip, which is how an added delay is measured.
 *
 * netprobe udp IP:PORT BYTES
 *   Sends BYTES in 1400-byte datagrams through a small send buffer, so the
 *   send rate is held to what the egress queue lets out; prints
 *     elapsed_us=E bytes=B
 *   No receiver is needed: the datagrams only have to leave the interface.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct attempt {
    int target;
    int fd;
    int64_t rtt_us; /* -1 while pending or lost */
};

static int64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int parse_target(const char *text, struct sockaddr_in *addr) {
    char host[64];
    const char *colon = strrchr(text, ':');
    if (!colon || (size_t)(colon - text) >= sizeof host) return -1;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    memset(addr, 0, sizeof *addr);
    addr->sin_family = AF_INET;
    addr->sin_port = htons((uint16_t)atoi(colon + 1));
    return inet_pton(AF_INET, host, &addr->sin_addr) == 1 ? 0 : -1;
}

static int compare(const void *a, const void *b) {
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

static int probe_tcp(int argc, char **argv) {
    int timeout_ms = 250, count = 1, c;
    while ((c = getopt(argc, argv, "t:n:")) != -1) {
        if (c == 't') timeout_ms = atoi(optarg);
        else if (c == 'n') count = atoi(optarg);
        else return 2;
    }
    int targets = argc - optind;
    if (targets < 1 || count < 1) return 2;
    struct sockaddr_in *addrs = calloc((size_t)targets, sizeof *addrs);
    struct attempt *att = calloc((size_t)targets * (size_t)count, sizeof *att);
    struct pollfd *pfds = calloc((size_t)targets * (size_t)count, sizeof *pfds);
    int64_t *rtts = calloc((size_t)count, sizeof *rtts);
    if (!addrs || !att || !pfds || !rtts) return 1;
    for (int t = 0; t < targets; t++) {
        if (parse_target(argv[optind + t], &addrs[t]) < 0) {
            fprintf(stderr, "bad target %s (want IPv4:PORT)\n", argv[optind + t]);
            return 2;
        }
    }
    int total = targets * count;
    int64_t start = now_us();
    for (int i = 0; i < total; i++) {
        att[i].target = i / count;
        att[i].rtt_us = -1;
        att[i].fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
        if (att[i].fd < 0) {
            perror("socket");
            return 1;
        }
        int r = connect(att[i].fd, (struct sockaddr *)&addrs[att[i].target], sizeof addrs[0]);
        if (r == 0 || errno == ECONNREFUSED) att[i].rtt_us = now_us() - start;
    }
    int64_t deadline = start + (int64_t)timeout_ms * 1000;
    for (;;) {
        int pending = 0;
        for (int i = 0; i < total; i++) {
            pfds[i].fd = att[i].rtt_us < 0 ? att[i].fd : -1;
            pfds[i].events = POLLOUT;
            pending += att[i].rtt_us < 0;
        }
        int64_t left = deadline - now_us();
        if (!pending || left <= 0) break;
        if (poll(pfds, (nfds_t)total, (int)((left + 999) / 1000)) < 0 && errno != EINTR) break;
        int64_t now = now_us();
        for (int i = 0; i < total; i++) {
            if (pfds[i].fd < 0 || !pfds[i].revents) continue;
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(att[i].fd, SOL_SOCKET, SO_ERROR, &err, &len);
            /* Refused is an answer; unreachable and the like are not. */
            if (err == 0 || err == ECONNREFUSED) att[i].rtt_us = now - start;
            else att[i].rtt_us = -2;
        }
    }
    for (int t = 0; t < targets; t++) {
        int reached = 0;
        for (int k = 0; k < count; k++) {
            struct attempt *a = &att[t * count + k];
            if (a->rtt_us >= 0) rtts[reached++] = a->rtt_us;
            close(a->fd);
        }
        qsort(rtts, (size_t)reached, sizeof *rtts, compare);
        printf("%s reached=%d lost=%d median_us=%lld\n", argv[optind + t], reached,
               count - reached, reached ? (long long)rtts[reached / 2] : -1LL);
    }
    return 0;
}

static int probe_udp(int argc, char **argv) {
    struct sockaddr_in addr;
    if (argc != 4 || parse_target(argv[2], &addr) < 0) return 2;
    long long total = atoll(argv[3]);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    int sndbuf = 16384;
    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
    static char datagram[1400];
    long long sent = 0;
    int64_t start = now_us();
    while (sent < total) {
        ssize_t n = sendto(fd, datagram, sizeof datagram, 0, (struct sockaddr *)&addr, sizeof addr);
        if (n < 0 && errno != ENOBUFS && errno != ECONNREFUSED && errno != EINTR) {
            perror("sendto");
            return 1;
        }
        if (n > 0) sent += n;
    }
    printf("elapsed_us=%lld bytes=%lld\n", (long long)(now_us() - start), sent);
    return 0;
}

int main(int argc, char **argv) {
    if (argc >= 2 && strcmp(argv[1], "tcp") == 0) return probe_tcp(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "udp") == 0) return probe_udp(argc, argv);
    fprintf(stderr, "usage: netprobe tcp [-t MS] [-n COUNT] IP:PORT... | netprobe udp IP:PORT BYTES\n");
    return 2;
}
