/*
 * nfqueue-shaper: delay, duplicate and corrupt packets from one NFQUEUE queue.
 *
 * The userspace stand-in for tc netem on kernels built without it. An
 * iptables rule sends the packets to shape to queue N (with --queue-bypass,
 * so traffic flows unshaped if this program is not running); this program
 * holds each packet until its own release time, so it keeps thousands in
 * flight at once instead of serialising them behind one sleep.
 *
 *   --delay MS      mean added delay
 *   --jitter MS     each packet's delay is uniform in [delay-jitter, delay+jitter]
 *   --duplicate P   percent of packets also sent a second time
 *   --corrupt P     percent of packets with one bit flipped past the IP header
 *   --mark M        fwmark of the duplicates, so the queueing rule can skip them
 *   --seed S        random seed (default: time and pid)
 *   --pidfile F     written once the queue is bound
 *   --daemon        detach once the queue is bound, so a caller knows it is live
 *
 * SIGTERM or SIGINT: accept every held packet at once, unbind, exit 0.
 * IPv4 only, as are the rules that feed it.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* After netinet/in.h: the kernel's headers defer to glibc's only in this order. */
#include <linux/netfilter.h>
#include <libnetfilter_queue/libnetfilter_queue.h>

struct held {
    uint64_t release_ns;
    uint32_t id;
    uint32_t len;
    unsigned char *data; /* NULL unless the packet is duplicated or corrupted */
    int duplicate;
};

struct options {
    int queue;
    double delay_ms, jitter_ms, duplicate_pct, corrupt_pct;
    uint32_t mark;
    uint64_t seed;
    const char *pidfile;
    int daemon;
};

static struct options opt = {.mark = 0xc4a05};
static struct held *heap;
static size_t heap_len, heap_cap;
static struct nfq_q_handle *queue;
static int raw_fd = -1;
static uint64_t rng_state;
static volatile sig_atomic_t stopping;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t rng_next(void) { /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 0x2545F4914F6CDD1Dull;
}

static double rng_unit(void) { return (double)(rng_next() >> 11) / (double)(1ull << 53); }

static int chance(double percent) { return percent > 0 && rng_unit() * 100.0 < percent; }

static void heap_swap(size_t a, size_t b) {
    struct held t = heap[a];
    heap[a] = heap[b];
    heap[b] = t;
}

static void heap_push(struct held h) {
    if (heap_len == heap_cap) {
        heap_cap = heap_cap ? heap_cap * 2 : 1024;
        heap = realloc(heap, heap_cap * sizeof *heap);
        if (!heap) {
            perror("realloc");
            exit(1);
        }
    }
    size_t i = heap_len++;
    heap[i] = h;
    while (i > 0 && heap[(i - 1) / 2].release_ns > heap[i].release_ns) {
        heap_swap(i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static struct held heap_pop(void) {
    struct held top = heap[0];
    heap[0] = heap[--heap_len];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < heap_len && heap[l].release_ns < heap[m].release_ns) m = l;
        if (r < heap_len && heap[r].release_ns < heap[m].release_ns) m = r;
        if (m == i) break;
        heap_swap(i, m);
        i = m;
    }
    return top;
}

static void send_duplicate(const unsigned char *data, uint32_t len) {
    if (len < sizeof(struct iphdr) || (data[0] >> 4) != 4) return;
    const struct iphdr *ip = (const struct iphdr *)data;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_addr.s_addr = ip->daddr};
    sendto(raw_fd, data, len, 0, (struct sockaddr *)&to, sizeof to);
}

static void release(struct held *h) {
    if (h->data) {
        if (h->duplicate) send_duplicate(h->data, h->len);
        nfq_set_verdict(queue, h->id, NF_ACCEPT, h->len, h->data);
        free(h->data);
    } else {
        nfq_set_verdict(queue, h->id, NF_ACCEPT, 0, NULL);
    }
}

static void corrupt(unsigned char *data, uint32_t len) {
    uint32_t header = (data[0] >> 4) == 4 ? (uint32_t)(data[0] & 0x0f) * 4 : 0;
    if (len <= header) return;
    uint32_t bit = (uint32_t)(rng_next() % ((uint64_t)(len - header) * 8));
    data[header + bit / 8] ^= (unsigned char)(1u << (bit % 8));
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa,
                     void *unused) {
    (void)msg;
    (void)unused;
    struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
    if (!ph) return 0;
    struct held h = {.id = ntohl(ph->packet_id)};
    unsigned char *payload = NULL;
    int len = nfq_get_payload(nfa, &payload);
    h.duplicate = chance(opt.duplicate_pct);
    int corrupted = chance(opt.corrupt_pct);
    if ((h.duplicate || corrupted) && len > 0) {
        h.len = (uint32_t)len;
        h.data = malloc(h.len);
        if (!h.data) return nfq_set_verdict(qh, h.id, NF_ACCEPT, 0, NULL);
        memcpy(h.data, payload, h.len);
        if (corrupted) corrupt(h.data, h.len);
    }
    double delay = opt.delay_ms;
    if (opt.jitter_ms > 0) delay += (rng_unit() * 2.0 - 1.0) * opt.jitter_ms;
    if (delay <= 0) {
        release(&h);
        return 0;
    }
    h.release_ns = now_ns() + (uint64_t)(delay * 1e6);
    heap_push(h);
    return 0;
}

static void on_signal(int sig) {
    (void)sig;
    stopping = 1;
}

static void usage(const char *name) {
    fprintf(stderr,
            "usage: %s --queue N [--delay MS] [--jitter MS] [--duplicate PCT] [--corrupt PCT]\n"
            "          [--mark M] [--seed S] [--pidfile F] [--daemon]\n",
            name);
    exit(2);
}

static void parse(int argc, char **argv) {
    static const struct option longs[] = {
        {"queue", required_argument, 0, 'q'},     {"delay", required_argument, 0, 'd'},
        {"jitter", required_argument, 0, 'j'},    {"duplicate", required_argument, 0, 'u'},
        {"corrupt", required_argument, 0, 'c'},   {"mark", required_argument, 0, 'm'},
        {"seed", required_argument, 0, 's'},      {"pidfile", required_argument, 0, 'p'},
        {"daemon", no_argument, 0, 'D'},          {0, 0, 0, 0}};
    opt.queue = -1;
    opt.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
    int c;
    while ((c = getopt_long(argc, argv, "", longs, NULL)) != -1) {
        switch (c) {
        case 'q': opt.queue = atoi(optarg); break;
        case 'd': opt.delay_ms = atof(optarg); break;
        case 'j': opt.jitter_ms = atof(optarg); break;
        case 'u': opt.duplicate_pct = atof(optarg); break;
        case 'c': opt.corrupt_pct = atof(optarg); break;
        case 'm': opt.mark = (uint32_t)strtoul(optarg, NULL, 0); break;
        case 's': opt.seed = strtoull(optarg, NULL, 0); break;
        case 'p': opt.pidfile = optarg; break;
        case 'D': opt.daemon = 1; break;
        default: usage(argv[0]);
        }
    }
    if (opt.queue < 0 || opt.queue > 65535) usage(argv[0]);
    rng_state = opt.seed ? opt.seed : 1;
}

/* Detach only after the queue is bound, and only once stdio is released, so
 * that the `docker exec` that started us returns exactly when shaping is live. */
static void daemonize(void) {
    int ready[2];
    if (pipe(ready) < 0) {
        perror("pipe");
        exit(1);
    }
    pid_t child = fork();
    if (child < 0) {
        perror("fork");
        exit(1);
    }
    if (child > 0) {
        char byte;
        close(ready[1]);
        exit(read(ready[0], &byte, 1) == 1 ? 0 : 1);
    }
    close(ready[0]);
    setsid();
    int null = open("/dev/null", O_RDWR);
    dup2(null, 0);
    dup2(null, 1);
    dup2(null, 2);
    if (null > 2) close(null);
    if (write(ready[1], "r", 1) != 1) exit(1);
    close(ready[1]);
}

static void write_pidfile(void) {
    if (!opt.pidfile) return;
    FILE *f = fopen(opt.pidfile, "w");
    if (!f) {
        perror(opt.pidfile);
        exit(1);
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

int main(int argc, char **argv) {
    parse(argc, argv);
    struct nfq_handle *h = nfq_open();
    if (!h) {
        perror("nfq_open");
        return 1;
    }
    nfq_unbind_pf(h, AF_INET);
    if (nfq_bind_pf(h, AF_INET) < 0) {
        perror("nfq_bind_pf");
        return 1;
    }
    queue = nfq_create_queue(h, (uint16_t)opt.queue, &on_packet, NULL);
    if (!queue) {
        fprintf(stderr, "cannot bind queue %d: %s\n", opt.queue, strerror(errno));
        return 1;
    }
    if (nfq_set_mode(queue, NFQNL_COPY_PACKET, 0xffff) < 0) {
        perror("nfq_set_mode");
        return 1;
    }
    nfq_set_queue_maxlen(queue, 65536);
    /* A full queue lets packets through rather than dropping them. */
    nfq_set_queue_flags(queue, NFQA_CFG_F_FAIL_OPEN, NFQA_CFG_F_FAIL_OPEN);
    int fd = nfq_fd(h);
    int big = 8 << 20, on = 1;
    setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &big, sizeof big);
    setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &on, sizeof on);

    raw_fd = socket(AF_INET, SOCK_RAW, IPPROTO_RAW);
    if (raw_fd < 0 || setsockopt(raw_fd, SOL_SOCKET, SO_MARK, &opt.mark, sizeof opt.mark) < 0) {
        perror("raw socket for duplicates");
        return 1;
    }

    struct sigaction sa = {.sa_handler = on_signal};
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (opt.daemon) daemonize();
    write_pidfile();

    static char buf[0x10000 + 4096];
    while (!stopping) {
        int timeout = -1;
        if (heap_len) {
            uint64_t now = now_ns();
            while (heap_len && heap[0].release_ns <= now) {
                struct held due = heap_pop();
                release(&due);
            }
            if (heap_len) timeout = (int)((heap[0].release_ns - now + 999999) / 1000000);
        }
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int ready = poll(&pfd, 1, timeout);
        if (ready < 0 && errno != EINTR) {
            perror("poll");
            break;
        }
        for (int i = 0; ready > 0 && i < 256; i++) {
            ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
            if (n <= 0) break;
            nfq_handle_packet(h, buf, (int)n);
        }
    }
    while (heap_len) {
        struct held due = heap_pop();
        release(&due);
    }
    nfq_destroy_queue(queue);
    nfq_close(h);
    if (opt.pidfile) unlink(opt.pidfile);
    return 0;
}
