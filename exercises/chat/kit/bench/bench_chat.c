/*
 * bench_chat.c - `make bench EX=chat`: chat lines delivered per second.
 *
 *     bench_chat [clients...]        (default: 50 200)
 *
 * Starts the server (chat_server_start: the student's, or the reference
 * with SOLUTION=1) on an executor with one worker per core, and a load
 * generator of its own on one thread: N clients over loopback, each
 * sending M lines per round, every client reading all N*M lines of the
 * round before the next round starts. N*M stays well under the channel's
 * capacity, so nobody lags and every line reaches every client: a round
 * is N*N*M deliveries. The figure is deliveries (chat lines received,
 * summed over clients) per second.
 *
 * The yardstick, timed in the same run: the same bytes written straight
 * to the same number of loopback TCP connections by one plain thread, with
 * no server in between (write(2) and read(2) alone). The chat's figure
 * over the yardstick's says what the server's work costs beyond the
 * system calls. On a machine shared with other work, compare the two
 * figures of one run, not figures of different runs.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "chat_message.h"
#include "chat_server.h"

#define LINE_TEXT "the quick brown fox jumps over the lazy dog"

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
    fprintf(stderr, "bench_chat: %s: %s\n", what, strerror(errno));
    exit(1);
}

static int connect_to(uint16_t port) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_port = htons(port)};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0)
        die("connect");
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}

static void write_all(int fd, const char *p, size_t n) {
    while (n > 0) {
        ssize_t k = write(fd, p, n);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            die("write");
        p += k;
        n -= (size_t)k;
    }
}

/* Reads from every fd until each has seen `lines` newlines (counted, not parsed). */
static void read_lines(int *fds, int n, long lines, char *buf, size_t cap) {
    long *left = malloc((size_t)n * sizeof *left);
    struct pollfd *pfd = malloc((size_t)n * sizeof *pfd);
    int open = n;
    for (int i = 0; i < n; i++) {
        left[i] = lines;
        pfd[i] = (struct pollfd){.fd = fds[i], .events = POLLIN};
    }
    while (open > 0) {
        if (poll(pfd, (nfds_t)n, 10000) <= 0) {
            fprintf(stderr, "bench_chat: no progress for 10 s (lines lost?)\n");
            exit(1);
        }
        for (int i = 0; i < n; i++) {
            if (!(pfd[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t got = read(fds[i], buf, cap);
            if (got <= 0)
                die("read (the server closed a connection)");
            for (char *p = buf; (p = memchr(p, '\n', (size_t)(buf + got - p))) != NULL; p++)
                left[i]--;
            if (left[i] <= 0) {
                pfd[i].fd = -1; /* done with this one for the round */
                open--;
            }
        }
    }
    free(left);
    free(pfd);
}

/* One measured run: returns deliveries per second. `fds` are joined clients. */
static double run_rounds(int *fds, int n, int m, int rounds, int *writers, char *buf, size_t cap) {
    char *line = chat_message_encode(
        &(chat_message){.kind = CHAT_MESSAGE_CLIENT_MESSAGE, .content = LINE_TEXT}, NULL);
    size_t len = strlen(line);
    char *out = malloc((len + 1) * (size_t)m);
    for (int k = 0; k < m; k++) {
        memcpy(out + k * (len + 1), line, len);
        out[k * (len + 1) + len] = '\n';
    }
    double start = now();
    for (int r = 0; r < rounds; r++) {
        for (int i = 0; i < n; i++)
            write_all(writers[i], out, (len + 1) * (size_t)m);
        read_lines(fds, n, (long)n * m, buf, cap);
    }
    double seconds = now() - start;
    free(out);
    free(line);
    return (double)n * n * m * rounds / seconds;
}

/* The yardstick: one thread writes each round's bytes straight to every client. */
typedef struct yard {
    int *fds;
    int n, m, rounds;
    size_t chat_len;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int round_done; /* rounds the reader finished */
} yard;

static void *yard_writer(void *arg) {
    yard *y = arg;
    size_t bytes = (y->chat_len + 1) * (size_t)y->n * (size_t)y->m;
    char *out = malloc(bytes);
    memset(out, 'x', bytes);
    for (size_t k = y->chat_len; k < bytes; k += y->chat_len + 1)
        out[k] = '\n';
    for (int r = 0; r < y->rounds; r++) {
        pthread_mutex_lock(&y->lock);
        while (y->round_done < r)
            pthread_cond_wait(&y->cond, &y->lock);
        pthread_mutex_unlock(&y->lock);
        for (int i = 0; i < y->n; i++)
            write_all(y->fds[i], out, bytes);
    }
    free(out);
    return NULL;
}

static double yardstick(int n, int m, int rounds, size_t chat_len, char *buf, size_t cap) {
    int *mine = malloc((size_t)n * sizeof *mine), *theirs = malloc((size_t)n * sizeof *theirs);
    int listener = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = {.sin_family = AF_INET};
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t size = sizeof addr;
    if (listener < 0 || bind(listener, (struct sockaddr *)&addr, sizeof addr) != 0 ||
        listen(listener, n) != 0 || getsockname(listener, (struct sockaddr *)&addr, &size) != 0)
        die("listen");
    for (int i = 0; i < n; i++) {
        mine[i] = connect_to(ntohs(addr.sin_port));
        theirs[i] = accept(listener, NULL, NULL);
        if (theirs[i] < 0)
            die("accept");
        int one = 1;
        setsockopt(theirs[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    }
    close(listener);
    yard y = {.fds = theirs, .n = n, .m = m, .rounds = rounds, .chat_len = chat_len};
    pthread_mutex_init(&y.lock, NULL);
    pthread_cond_init(&y.cond, NULL);
    pthread_t writer;
    pthread_create(&writer, NULL, yard_writer, &y);
    double start = now();
    for (int r = 0; r < rounds; r++) {
        read_lines(mine, n, (long)n * m, buf, cap);
        pthread_mutex_lock(&y.lock);
        y.round_done = r + 1;
        pthread_cond_signal(&y.cond);
        pthread_mutex_unlock(&y.lock);
    }
    double seconds = now() - start;
    pthread_join(writer, NULL);
    for (int i = 0; i < n; i++) {
        close(mine[i]);
        close(theirs[i]);
    }
    free(mine);
    free(theirs);
    return (double)n * n * m * rounds / seconds;
}

static void bench(int n) {
    /* Lines per client per round: about half the channel's capacity in flight. */
    int m = (int)(CHAT_CAPACITY_DEFAULT / 2 / (size_t)n);
    if (m < 1)
        m = 1;
    rt_executor *executor = rt_executor_new(0);
    FILE *log = tmpfile();
    chat_server_config config = {.host = "127.0.0.1", .log = log};
    uint16_t port;
    if (chat_server_start(executor, &config, &port) != RT_IO_OK)
        die("chat_server_start");
    int *fds = malloc((size_t)n * sizeof *fds);
    size_t cap = 1 << 16;
    char *buf = malloc(cap);
    char name[32];
    for (int i = 0; i < n; i++) {
        fds[i] = connect_to(port);
        int len = snprintf(name, sizeof name, "{\"User\":\"u%d\"}\n", i);
        write_all(fds[i], name, (size_t)len);
        /* Every client so far sees this join: wait for them, so rounds start clean. */
        read_lines(fds, i + 1, 1, buf, cap);
    }
    size_t chat_len = strlen("{\"Chat\":{\"user\":\"u000\",\"content\":\"" LINE_TEXT "\"}}");
    /* Warm up, then size the run to about a second. */
    double rate = run_rounds(fds, n, m, 3, fds, buf, cap);
    int rounds = (int)(rate / ((double)n * n * m)) + 1;
    if (rounds < 3)
        rounds = 3;
    rate = run_rounds(fds, n, m, rounds, fds, buf, cap);
    double yard_rate = yardstick(n, m, rounds, chat_len, buf, cap);
    printf("%4d clients, %3d lines each per round, %5d rounds: %6.3f M deliveries/s"
           "   (yardstick, plain write/read of the same bytes: %6.3f M/s; chat/yardstick %.2f)\n",
           n, m, rounds, rate / 1e6, yard_rate / 1e6, rate / yard_rate);
    fflush(stdout);
    for (int i = 0; i < n; i++)
        close(fds[i]);
    free(fds);
    free(buf);
    rt_executor_shutdown(executor);
    fclose(log);
}

int main(int argc, char **argv) {
    printf("chat: deliveries per second (chat lines received, summed over clients)\n");
    if (argc < 2) {
        bench(50);
        bench(200);
    }
    for (int i = 1; i < argc; i++)
        bench(atoi(argv[i]));
    return 0;
}
