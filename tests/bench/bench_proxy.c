// SPDX-License-Identifier: MIT
/*
 * The latency proxy's cost and accuracy, on loopback, with an echo server
 * as the upstream (the proxy in fixed-upstream mode: no nftables, no root,
 * nothing but the proxy measured):
 *
 *  (a) memory: the peak RSS (VmHWM) of a process that runs only the proxy,
 *      with 100 concurrent connections through a 500 ms proxy, each doing
 *      query-sized round trips (closed loop); and again with 100 bulk
 *      streams, which fill every queue to its bound (the worst case);
 *  (b) accuracy: added latency minus configured at 0, 10 and 500 ms, min,
 *      median and p99 over 200 round trips (20 connections x 10), next to
 *      the direct round trip without the proxy, measured in the same run.
 *
 * Bars:
 *   no round trip beats the configured delay       min(rtt - delay) >= -0.05 ms
 *   the proxy adds little beyond it                median(rtt - delay) <= 5 ms
 *   queries: memory over idle                      <= 100 x 32 KiB
 *   bulk: memory over idle                         <= 100 x 2 x 1 MiB (its queues)
 * Measured on the busy 2-core machine: direct 0.13 ms; beyond the delay
 * 0.38 / 0.62 / 1.16 ms (p50 at 0 / 10 / 500 ms), never below it; +60 KiB
 * for queries, +78 MiB for bulk. A timer of coarse ticks, Nagle's 40 ms, a
 * delay per direction, a buffer allocated whole per connection or a queue
 * that ignores its bound would miss one.
 *
 * The proxy runs in a forked child, so its VmHWM is its own; the clients
 * and the echo server run in the parent. Checks that every round trip
 * completed with its data intact. Prints a table and one JSON line with
 * the figures, the bars and whether they held; exits 1 when one is missed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/proxy.h"
#include "common/clock.h"
#include "common/err.h"
#include "tests/support/echo_srv.h"

#define MEM_CONNS 100
#define MEM_DELAY_MS 500
#define MEM_SECONDS 5
#define BULK_DELAY_MS 100
#define BULK_SECONDS 3
#define ACC_CONNS 20
#define ACC_ROUNDS 10
#define MSG_LEN 128 /* about a small query and its answer */
#define MAX_CONNS 128
#define N_SETTINGS 3

#define BAR_EARLY_MS (-0.05) /* microsecond clock reads on both sides */
#define BAR_ADDED_P50_MS 5.0
#define BAR_QUERY_KIB (MEM_CONNS * 32)
#define BAR_BULK_KIB (MEM_CONNS * 2 * (int)(PROXY_DEFAULT_BUFFER / 1024))

/* ------------------------------------------------------------------ */
/* The proxy in a child process                                         */

struct child {
	pid_t    pid;
	int      to_child, from_child;
	uint16_t port; /* the proxy's */
};

/* Child: reads the upstream port, starts the proxy, writes its port, and
 * runs until the parent closes the pipe. */
static void
child_main(int in, int out, uint32_t delay_ms)
{
	uint16_t            up_port = 0, port = 0;
	struct sockaddr_in  up  = {.sin_family      = AF_INET,
	                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct proxy_config cfg = {
	    .delay_ms = delay_ms, .bind_addr = {htonl(INADDR_LOOPBACK)}, .upstream = &up};
	struct proxy *p = NULL;
	char          c;
	chaos_why     why = {{0}};

	if (read(in, &up_port, sizeof(up_port)) != sizeof(up_port))
		_exit(2);
	up.sin_port = htons(up_port);
	if (proxy_start(&cfg, &p, &why) != CHAOS_OK) {
		fprintf(stderr, "child: %s\n", why.text);
		_exit(2);
	}
	port = proxy_port(p);
	if (write(out, &port, sizeof(port)) != sizeof(port))
		_exit(2);
	while (read(in, &c, 1) > 0)
		;
	proxy_stop(p);
	_exit(0);
}

/* The parent's ends of every child's pipes: a later child must not keep
 * an earlier one's open, or that one never sees its pipe close. */
static int parent_fds[16];
static int n_parent_fds;

/* Forks the proxy child; it must be forked before any thread exists. */
static int
child_fork(struct child *ch, uint32_t delay_ms)
{
	int a[2], b[2];

	if (pipe(a) < 0 || pipe(b) < 0)
		return -1;
	ch->pid = fork();
	if (ch->pid < 0)
		return -1;
	if (ch->pid == 0) {
		close(a[1]);
		close(b[0]);
		for (int i = 0; i < n_parent_fds; i++)
			close(parent_fds[i]);
		child_main(a[0], b[1], delay_ms);
	}
	parent_fds[n_parent_fds++] = a[1];
	parent_fds[n_parent_fds++] = b[0];
	close(a[0]);
	close(b[1]);
	ch->to_child   = a[1];
	ch->from_child = b[0];
	return 0;
}

static int
child_start(struct child *ch, uint16_t upstream_port)
{
	if (write(ch->to_child, &upstream_port, sizeof(upstream_port)) !=
	        sizeof(upstream_port) ||
	    read(ch->from_child, &ch->port, sizeof(ch->port)) != sizeof(ch->port))
		return -1;
	return 0;
}

static void
child_end(struct child *ch)
{
	int st;

	close(ch->to_child);
	close(ch->from_child);
	waitpid(ch->pid, &st, 0);
}

/* A field of /proc/<pid>/status in KiB, or -1. */
static long
status_kib(pid_t pid, const char *field)
{
	char  path[64], line[256];
	FILE *f;
	long  v = -1;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, field, strlen(field)) == 0)
			sscanf(line + strlen(field), ": %ld", &v);
	fclose(f);
	return v;
}

/* ------------------------------------------------------------------ */
/* Clients                                                             */

struct conn {
	int     fd;
	size_t  sent, got; /* of the current message */
	int64_t t0;
	int     rounds;
};

static int
dial(uint16_t port)
{
	struct sockaddr_in sin = {.sin_family      = AF_INET,
	                          .sin_port        = htons(port),
	                          .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int                fd  = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		perror("connect");
		exit(1);
	}
	return fd;
}

/*
 * n connections to port, each doing closed-loop round trips of MSG_LEN
 * bytes: until `rounds` each (rtt gets every one, in us) or, with rounds 0,
 * until the time is up. Returns the round trips completed.
 */
static long
round_trips(uint16_t port, int n, int rounds, int64_t seconds, int64_t *rtt)
{
	struct conn   c[MAX_CONNS];
	struct pollfd pfd[MAX_CONNS];
	char          msg[MSG_LEN], back[MSG_LEN];
	int64_t       end   = clk_mono_us() + seconds * 1000000;
	long          total = 0;
	int           done  = 0;

	memset(msg, 'q', sizeof(msg));
	for (int i = 0; i < n; i++)
		c[i] = (struct conn) {.fd = dial(port), .t0 = clk_mono_us()};
	while (done < n && clk_mono_us() < end + 30000000) {
		for (int i = 0; i < n; i++)
			pfd[i] = (struct pollfd) {.fd     = c[i].fd,
			                          .events = c[i].sent < MSG_LEN ? POLLOUT
			                                                        : POLLIN};
		if (poll(pfd, (nfds_t)n, 1000) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			ssize_t k;
			if (c[i].fd < 0 || pfd[i].revents == 0)
				continue;
			if (c[i].sent < MSG_LEN) {
				k = send(c[i].fd, msg + c[i].sent, MSG_LEN - c[i].sent,
				         MSG_NOSIGNAL);
				c[i].sent += k > 0 ? (size_t)k : 0;
				continue;
			}
			k = recv(c[i].fd, back + c[i].got, MSG_LEN - c[i].got, 0);
			if (k <= 0) {
				fprintf(stderr, "connection %d ended early\n", i);
				exit(1);
			}
			if ((c[i].got += (size_t)k) < MSG_LEN)
				continue;
			if (memcmp(back, msg, MSG_LEN) != 0) {
				fprintf(stderr, "echo mismatch\n");
				exit(1);
			}
			if (rtt != NULL)
				rtt[total] = clk_mono_us() - c[i].t0;
			total++;
			c[i].rounds++;
			c[i].sent = c[i].got = 0;
			c[i].t0              = clk_mono_us();
			if ((rounds > 0 && c[i].rounds == rounds) ||
			    (rounds == 0 && clk_mono_us() >= end)) {
				close(c[i].fd);
				c[i].fd = -1;
				done++;
			}
		}
	}
	for (int i = 0; i < n; i++)
		if (c[i].fd >= 0)
			close(c[i].fd);
	return total;
}

/* n connections streaming both ways as fast as they can for seconds;
 * returns the bytes that came back. */
static long long
bulk(uint16_t port, int n, int64_t seconds)
{
	static char   buf[65536];
	struct pollfd pfd[MAX_CONNS];
	int64_t       end  = clk_mono_us() + seconds * 1000000;
	long long     back = 0;

	for (int i = 0; i < n; i++)
		pfd[i] = (struct pollfd) {.fd = dial(port), .events = POLLIN | POLLOUT};
	while (clk_mono_us() < end) {
		if (poll(pfd, (nfds_t)n, 100) < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n; i++) {
			ssize_t k;
			if (pfd[i].revents & POLLOUT)
				(void)!send(pfd[i].fd, buf, sizeof(buf),
				            MSG_DONTWAIT | MSG_NOSIGNAL);
			if ((pfd[i].revents & POLLIN) &&
			    (k = recv(pfd[i].fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
				back += k;
		}
	}
	for (int i = 0; i < n; i++)
		close(pfd[i].fd);
	return back;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

static double
pct_ms(int64_t *v, long n, double p)
{
	long i = (long)(p * (double)(n - 1) + 0.5);

	return (double)v[i] / 1000.0;
}

/* ------------------------------------------------------------------ */

/* Added latency at one setting: round trip through the proxy minus the
 * configured delay, over ACC_CONNS x ACC_ROUNDS round trips. */
struct acc {
	uint32_t delay_ms;
	double   min_ms, p50_ms, p99_ms, max_ms;
};

struct results {
	long       hwm_idle, hwm_mem, hwm_bulk, rss_mem; /* KiB */
	long long  bulk_bytes;
	double     direct_p50_ms, direct_p99_ms;
	struct acc acc[N_SETTINGS];
};

static const uint32_t settings[N_SETTINGS] = {0, 10, 500};

/* (a): the proxy's peak memory with closed-loop queries, then with bulk
 * streams filling every queue. Returns 0 or -1. */
static int
measure_memory(struct child *mem, struct child *blk, uint16_t echo_port,
               struct results *res)
{
	long n;

	if (child_start(mem, echo_port) < 0)
		return -1;
	res->hwm_idle = status_kib(mem->pid, "VmHWM");
	n             = round_trips(mem->port, MEM_CONNS, 0, MEM_SECONDS, NULL);
	res->rss_mem  = status_kib(mem->pid, "VmRSS");
	res->hwm_mem  = status_kib(mem->pid, "VmHWM");
	child_end(mem);
	if (n < MEM_CONNS * (MEM_SECONDS - 1)) {
		fprintf(stderr, "only %ld round trips through the %d ms proxy\n", n,
		        MEM_DELAY_MS);
		return -1;
	}
	if (child_start(blk, echo_port) < 0)
		return -1;
	res->bulk_bytes = bulk(blk->port, MEM_CONNS, BULK_SECONDS);
	res->hwm_bulk   = status_kib(blk->pid, "VmHWM");
	child_end(blk);
	return res->bulk_bytes > 0 ? 0 : -1;
}

/* (b): the direct round trip, then through the proxy at each setting.
 * Returns 0 or -1. */
static int
measure_accuracy(struct child *acc_ch, uint16_t echo_port, struct results *res)
{
	static int64_t rtt[ACC_CONNS * ACC_ROUNDS];
	long           n = round_trips(echo_port, ACC_CONNS, ACC_ROUNDS, 60, rtt);

	qsort(rtt, (size_t)n, sizeof(rtt[0]), cmp_i64);
	res->direct_p50_ms = pct_ms(rtt, n, 0.5);
	res->direct_p99_ms = pct_ms(rtt, n, 0.99);
	for (int s = 0; s < N_SETTINGS; s++) {
		if (child_start(&acc_ch[s], echo_port) < 0)
			return -1;
		n = round_trips(acc_ch[s].port, ACC_CONNS, ACC_ROUNDS, 60, rtt);
		child_end(&acc_ch[s]);
		if (n != ACC_CONNS * ACC_ROUNDS) {
			fprintf(stderr, "%ld of %d round trips at %u ms\n", n,
			        ACC_CONNS * ACC_ROUNDS, settings[s]);
			return -1;
		}
		for (long i = 0; i < n; i++)
			rtt[i] -= (int64_t)settings[s] * 1000;
		qsort(rtt, (size_t)n, sizeof(rtt[0]), cmp_i64);
		res->acc[s] = (struct acc) {settings[s], (double)rtt[0] / 1000.0,
		                            pct_ms(rtt, n, 0.5), pct_ms(rtt, n, 0.99),
		                            (double)rtt[n - 1] / 1000.0};
	}
	return 0;
}

/* The bars (see the top of the file). */
static bool
bars_held(const struct results *r)
{
	bool ok = r->hwm_mem - r->hwm_idle <= BAR_QUERY_KIB &&
	    r->hwm_bulk - r->hwm_idle <= BAR_BULK_KIB;

	for (int s = 0; s < N_SETTINGS; s++)
		ok = ok && r->acc[s].min_ms >= BAR_EARLY_MS &&
		    r->acc[s].p50_ms <= BAR_ADDED_P50_MS;
	return ok;
}

static void
print_table(const struct results *r)
{
	printf("proxy memory (VmHWM of the process running only the proxy)\n");
	printf("  idle, listening                          %8ld KiB\n", r->hwm_idle);
	printf("  %d conns, %d B round trips, %d ms, %d s  %8ld KiB (VmRSS %ld KiB; "
	       "bar: +%d KiB)\n",
	       MEM_CONNS, MSG_LEN, MEM_DELAY_MS, MEM_SECONDS, r->hwm_mem, r->rss_mem,
	       BAR_QUERY_KIB);
	printf("  %d conns, bulk both ways, %d ms, %d s     %8ld KiB (%.1f MiB echoed; "
	       "bar: +%d KiB)\n",
	       MEM_CONNS, BULK_DELAY_MS, BULK_SECONDS, r->hwm_bulk,
	       (double)r->bulk_bytes / 1048576.0, BAR_BULK_KIB);
	printf("\nadded latency: round trip through the proxy minus configured (%d round "
	       "trips); bars: min >= %.2f ms, p50 <= %.1f ms\n",
	       ACC_CONNS * ACC_ROUNDS, BAR_EARLY_MS, BAR_ADDED_P50_MS);
	printf("  %-10s %10s %10s %10s %10s\n", "setting", "min ms", "p50 ms", "p99 ms",
	       "max ms");
	printf("  %-10s %10s %10.3f %10.3f\n", "direct", "", r->direct_p50_ms,
	       r->direct_p99_ms);
	for (int s = 0; s < N_SETTINGS; s++)
		printf("  %-7u ms %10.3f %10.3f %10.3f %10.3f\n", r->acc[s].delay_ms,
		       r->acc[s].min_ms, r->acc[s].p50_ms, r->acc[s].p99_ms,
		       r->acc[s].max_ms);
	printf("bars: %s\n", bars_held(r) ? "pass" : "MISSED");
}

static void
print_json(const struct results *r)
{
	printf("{\"bench\":\"proxy\",\"conns\":%d,\"vmhwm_idle_kib\":%ld,"
	       "\"vmhwm_query_kib\":%ld,\"vmhwm_query_bar_max_kib\":%ld,"
	       "\"vmhwm_bulk_kib\":%ld,\"vmhwm_bulk_bar_max_kib\":%ld,"
	       "\"direct_rtt_p50_ms\":%.3f,\"direct_rtt_p99_ms\":%.3f",
	       MEM_CONNS, r->hwm_idle, r->hwm_mem, r->hwm_idle + BAR_QUERY_KIB,
	       r->hwm_bulk, r->hwm_idle + BAR_BULK_KIB, r->direct_p50_ms,
	       r->direct_p99_ms);
	for (int s = 0; s < N_SETTINGS; s++)
		printf(",\"err_%ums_min_ms\":%.3f,\"err_%ums_p50_ms\":%.3f,"
		       "\"err_%ums_p99_ms\":%.3f",
		       r->acc[s].delay_ms, r->acc[s].min_ms, r->acc[s].delay_ms,
		       r->acc[s].p50_ms, r->acc[s].delay_ms, r->acc[s].p99_ms);
	printf(",\"err_min_bar_ms\":%.2f,\"err_p50_bar_max_ms\":%.1f,\"pass\":%s}\n",
	       BAR_EARLY_MS, BAR_ADDED_P50_MS, bars_held(r) ? "true" : "false");
}

int
main(void)
{
	struct child    mem, blk, acc_ch[N_SETTINGS];
	struct echo_srv echo;
	struct results  res;
	int             rv;

	memset(&res, 0, sizeof(res));
	signal(SIGPIPE, SIG_IGN);
	/* children first: fork before the echo server's thread exists */
	if (child_fork(&mem, MEM_DELAY_MS) < 0 || child_fork(&blk, BULK_DELAY_MS) < 0)
		return 1;
	for (int i = 0; i < N_SETTINGS; i++)
		if (child_fork(&acc_ch[i], settings[i]) < 0)
			return 1;
	if (echo_srv_start(&echo, 0) < 0)
		return 1;
	rv = measure_memory(&mem, &blk, echo.port, &res) == 0 &&
	        measure_accuracy(acc_ch, echo.port, &res) == 0
	    ? 0
	    : 1;
	echo_srv_stop(&echo);
	if (rv != 0)
		return rv;
	print_table(&res);
	print_json(&res);
	return bars_held(&res) ? 0 : 1;
}
