// SPDX-License-Identifier: MIT
/*
 * The nftables engine against the real kernel, inside throw-away network
 * namespaces only: A, B and C, each with one veth to a bridge that lives in
 * a fourth namespace, addresses 10.232.1.{1,2,3}/24. Rules are applied in A
 * through nft_open() run inside A (netns_run). The host's namespace is never
 * touched. Needs root; exits 77 otherwise.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netfilter_ipv4.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent/netns.h"
#include "agent/nft.h"
#include "common/err.h"
#include "tests/support/shell.h"

#define PORT_APP 8080
#define PORT_PROXY 15001
#define PROXY_MARK 0x63
#define BLOCKED_MS 300
#define TABLE "nfttest"

enum { NS_A, NS_B, NS_C, NS_BR, NS_COUNT };

static const char *const ns_role[NS_COUNT] = {"a", "b", "c", "br"};
static const char *const ns_addr[NS_BR]    = {"10.232.1.1", "10.232.1.2", "10.232.1.3"};

static char        ns_name[NS_COUNT][48];
static char        ns_path[NS_COUNT][80];
static bool        ns_made[NS_COUNT];
static const char *ip_bin;
static int         listener[NS_BR] = {-1, -1, -1}; /* PORT_APP in A, B, C */
static int         proxy_fd        = -1;           /* PORT_PROXY in A */

/* ---- namespaces: created and deleted on every exit path ---- */

/* fork/execv/waitpid only, so that a signal handler may call it. */
static void
ns_delete(const char *name)
{
	pid_t pid = fork();

	if (pid == 0) {
		int devnull = open("/dev/null", O_WRONLY);
		dup2(devnull, 2);
		execl(ip_bin, "ip", "netns", "del", name, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static void
cleanup_namespaces(void)
{
	for (int i = 0; i < NS_COUNT; i++) {
		if (ns_made[i])
			ns_delete(ns_name[i]);
		ns_made[i] = false;
	}
}

/* Deletes nfttest-<pid>-* namespaces left by runs that were SIGKILLed. */
static void
sweep_stale_namespaces(void)
{
	DIR           *d = opendir("/run/netns");
	struct dirent *e;
	int            pid;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (sscanf(e->d_name, "nfttest-%d-", &pid) == 1 && pid > 0 &&
		    kill(pid, 0) < 0 && errno == ESRCH)
			ns_delete(e->d_name);
	}
	closedir(d);
}

static const char *
nft_in_a(const char *args)
{
	return shell_out("%s netns exec %s nft %s 2>&1", ip_bin, ns_name[NS_A], args);
}

/* ---- sockets, made inside a namespace ---- */

struct sock_req {
	const char *addr;
	uint16_t    port;
	uint32_t    mark;
	int         fd;  /* out */
	int         err; /* out: 0 or errno */
};

static chaos_err
listen_fn(void *p)
{
	struct sock_req   *r   = p;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(r->port)};
	int                one = 1;

	r->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0 ||
	    setsockopt(r->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    bind(r->fd, (struct sockaddr *)&sin, sizeof(sin)) < 0 ||
	    listen(r->fd, 64) < 0)
		r->err = errno;
	return CHAOS_OK;
}

static chaos_err
connect_fn(void *p)
{
	struct sock_req   *r   = p;
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(r->port)};
	struct pollfd      pfd;
	socklen_t          len = sizeof(r->err);

	inet_pton(AF_INET, r->addr, &sin.sin_addr);
	r->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (r->fd < 0)
		return r->err = errno, CHAOS_OK;
	if (r->mark &&
	    setsockopt(r->fd, SOL_SOCKET, SO_MARK, &r->mark, sizeof(r->mark)) < 0)
		return r->err = errno, CHAOS_OK;
	if (connect(r->fd, (struct sockaddr *)&sin, sizeof(sin)) == 0)
		return CHAOS_OK;
	if (errno != EINPROGRESS)
		return r->err = errno, CHAOS_OK;
	pfd = (struct pollfd) {.fd = r->fd, .events = POLLOUT};
	if (poll(&pfd, 1, BLOCKED_MS) == 0)
		return r->err = ETIMEDOUT, CHAOS_OK;
	getsockopt(r->fd, SOL_SOCKET, SO_ERROR, &r->err, &len);
	return CHAOS_OK;
}

static int
listen_in(int ns, uint16_t port)
{
	struct sock_req r = {.port = port, .fd = -1};

	assert_int_equal(netns_run(ns_path[ns], listen_fn, &r), 0);
	assert_int_equal(r.err, 0);
	return r.fd;
}

/* Connects from namespace `from` to addr:port; returns 0 or an errno. The
 * client socket is returned in *fd_out (or closed if fd_out is NULL). */
static int
connect_from(int from, const char *addr, uint16_t port, uint32_t mark, int *fd_out)
{
	struct sock_req r = {.addr = addr, .port = port, .mark = mark, .fd = -1};

	assert_int_equal(netns_run(ns_path[from], connect_fn, &r), 0);
	if (fd_out != NULL && r.err == 0)
		*fd_out = r.fd;
	else if (r.fd >= 0)
		close(r.fd);
	return r.err;
}

static int
connect_to(int from, int to)
{
	return connect_from(from, ns_addr[to], PORT_APP, 0, NULL);
}

/* Accepts one connection within 500 ms; -1 if none came. */
static int
accept_one(int lfd)
{
	struct pollfd pfd = {.fd = lfd, .events = POLLIN};

	if (poll(&pfd, 1, 500) <= 0)
		return -1;
	return accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
}

static void
drain_listeners(void)
{
	int fds[NS_BR + 1] = {listener[0], listener[1], listener[2], proxy_fd};
	int c;

	for (int i = 0; i < NS_BR + 1; i++)
		while (fds[i] >= 0 &&
		       (c = accept4(fds[i], NULL, NULL, SOCK_NONBLOCK)) >= 0)
			close(c);
}

/* ---- the engine, opened inside A ---- */

struct open_req {
	const char     *table;
	struct nft_ctx *ctx;
};

static chaos_err
open_fn(void *p)
{
	struct open_req *r = p;

	return nft_open(r->table, &r->ctx, NULL);
}

static chaos_err
open_socket_fn(void *p)
{
	struct open_req *r = p;

	return nft_open_socket(r->table, &r->ctx, NULL);
}

static int
open_in_a(const char *table, struct nft_ctx **out)
{
	struct open_req r  = {.table = table};
	int             rc = netns_run(ns_path[NS_A], open_fn, &r);

	if (rc == CHAOS_OK)
		*out = r.ctx;
	return rc;
}

static int
ctx_setup(void **state)
{
	struct nft_ctx *ctx = NULL;

	drain_listeners();
	if (open_in_a(TABLE, &ctx) != CHAOS_OK)
		return -1;
	*state = ctx;
	return 0;
}

static int
ctx_teardown(void **state)
{
	nft_close(*state);
	drain_listeners();
	return 0;
}

static const char *const peer_b[] = {"10.232.1.2"};

static uint64_t
counter_packets(struct nft_ctx *ctx, enum nft_direction dir)
{
	struct nft_counter c[16];
	size_t             n   = 0;
	uint64_t           sum = 0;

	assert_int_equal(nft_counters(ctx, c, 16, &n, NULL), CHAOS_OK);
	for (size_t i = 0; i < n; i++)
		if (c[i].dir == dir)
			sum += c[i].packets;
	return sum;
}

/* ---- group setup ---- */

static int
make_namespace(int i)
{
	snprintf(ns_name[i], sizeof(ns_name[i]), "nfttest-%d-%s", (int)getpid(),
	         ns_role[i]);
	snprintf(ns_path[i], sizeof(ns_path[i]), "/run/netns/nfttest-%d-%s",
	         (int)getpid(), ns_role[i]);
	if (shell_run("%s netns add %s", ip_bin, ns_name[i]) != 0)
		return -1;
	ns_made[i] = true;
	return shell_run("%s -n %s link set lo up", ip_bin, ns_name[i]);
}

static int
wire_host(int i)
{
	const char *n = ns_name[i], *br = ns_name[NS_BR];

	if (shell_run("%s -n %s link add eth0 type veth peer name p%s netns %s", ip_bin,
	              n, ns_role[i], br) != 0 ||
	    shell_run("%s -n %s link set p%s master br0 up", ip_bin, br, ns_role[i]) !=
	        0 ||
	    shell_run("%s -n %s addr add %s/24 dev eth0", ip_bin, n, ns_addr[i]) != 0)
		return -1;
	return shell_run("%s -n %s link set eth0 up", ip_bin, n);
}

/* Waits (bounded) until A reaches B and C: links up, ARP done. */
static int
wait_reachable(void)
{
	for (int tries = 0; tries < 20; tries++) {
		if (connect_to(NS_A, NS_B) == 0 && connect_to(NS_A, NS_C) == 0 &&
		    connect_to(NS_B, NS_C) == 0)
			return 0;
		usleep(100 * 1000);
	}
	return -1;
}

static int
group_setup(void **state)
{
	(void)state;
	for (int i = 0; i < NS_COUNT; i++)
		if (make_namespace(i) != 0)
			return -1;
	if (shell_run("%s -n %s link add br0 type bridge && %s -n %s link set br0 up",
	              ip_bin, ns_name[NS_BR], ip_bin, ns_name[NS_BR]) != 0)
		return -1;
	for (int i = 0; i < NS_BR; i++)
		if (wire_host(i) != 0)
			return -1;
	for (int i = 0; i < NS_BR; i++)
		listener[i] = listen_in(i, PORT_APP);
	proxy_fd = listen_in(NS_A, PORT_PROXY);
	if (wait_reachable() != 0)
		return -1;
	drain_listeners();
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NS_BR; i++)
		if (listener[i] >= 0)
			close(listener[i]);
	if (proxy_fd >= 0)
		close(proxy_fd);
	cleanup_namespaces();
	return 0;
}

/* ---- tests ---- */

static void
test_partition_blocks_a_and_b_both_ways_but_not_c(void **state)
{
	struct nft_ctx  *ctx = *state;
	struct nft_fault f = {.kind = NFT_FAULT_PARTITION, .peers = peer_b, .n_peers = 1};
	struct nft_ruleset rs = {.faults = &f, .n_faults = 1};
	const char        *out;

	assert_int_equal(connect_to(NS_A, NS_B), 0);
	assert_int_equal(nft_commit(ctx, &rs, NULL), CHAOS_OK);
	assert_int_equal(connect_to(NS_A, NS_B), ETIMEDOUT);
	assert_int_equal(connect_to(NS_B, NS_A), ETIMEDOUT);
	assert_int_equal(connect_to(NS_A, NS_C), 0);
	assert_int_equal(connect_to(NS_C, NS_A), 0);
	assert_int_equal(connect_to(NS_B, NS_C), 0);

	out = nft_in_a("list ruleset");
	assert_non_null(strstr(out, "table inet " TABLE));
	assert_non_null(strstr(out, "flags owner"));
	assert_non_null(strstr(out, "ip saddr @f0_peers counter"));

	assert_true(counter_packets(ctx, NFT_DIR_OUT) > 0); /* A's SYNs to B */
	assert_true(counter_packets(ctx, NFT_DIR_IN) > 0);  /* B's SYNs to A */

	assert_int_equal(nft_clear(ctx, NULL), CHAOS_OK);
	assert_int_equal(connect_to(NS_A, NS_B), 0);
	assert_int_equal(connect_to(NS_B, NS_A), 0);
	out = nft_in_a("list table inet " TABLE);
	assert_null(strstr(out, "chain"));
	assert_non_null(strstr(out, "flags owner"));
}

static void
test_partition_out_only_blocks_a_to_b_only(void **state)
{
	static const uint16_t ports[] = {PORT_APP};
	struct nft_fault      f       = {.kind    = NFT_FAULT_PARTITION,
	                                 .dir     = NFT_DIR_OUT,
	                                 .peers   = peer_b,
	                                 .n_peers = 1,
	                                 .proto   = NFT_L4_TCP,
	                                 .ports   = ports,
	                                 .n_ports = 1};
	struct nft_ruleset    rs      = {.faults = &f, .n_faults = 1};

	assert_int_equal(nft_commit(*state, &rs, NULL), CHAOS_OK);
	assert_int_equal(connect_to(NS_A, NS_B), ETIMEDOUT);
	/* B -> A: A's SYN-ACK goes to B's ephemeral port, not 8080 */
	assert_int_equal(connect_to(NS_B, NS_A), 0);
}

static void
test_port_reject_refuses_and_blackhole_times_out(void **state)
{
	static const uint16_t ports[] = {PORT_APP};
	struct nft_fault   f  = {.kind = NFT_FAULT_REJECT, .ports = ports, .n_ports = 1};
	struct nft_ruleset rs = {.faults = &f, .n_faults = 1};

	assert_int_equal(nft_commit(*state, &rs, NULL), CHAOS_OK);
	assert_int_equal(connect_to(NS_B, NS_A), ECONNREFUSED);
	assert_int_equal(connect_to(NS_C, NS_A), ECONNREFUSED);
	assert_int_equal(connect_to(NS_A, NS_B), 0); /* outgoing is not a port fault */
	assert_true(counter_packets(*state, NFT_DIR_IN) >= 2);

	f.kind = NFT_FAULT_BLACKHOLE;
	assert_int_equal(nft_commit(*state, &rs, NULL), CHAOS_OK);
	assert_int_equal(connect_to(NS_B, NS_A), ETIMEDOUT);
}

static void
test_partition_and_port_fault_are_active_together(void **state)
{
	static const uint16_t ports[] = {PORT_APP};
	struct nft_fault      f[2]    = {
	            {.kind = NFT_FAULT_PARTITION, .peers = peer_b, .n_peers = 1},
	            {.kind = NFT_FAULT_REJECT, .ports = ports, .n_ports = 1},
        };
	struct nft_ruleset rs = {.faults = f, .n_faults = 2};

	assert_int_equal(nft_commit(*state, &rs, NULL), CHAOS_OK);
	assert_int_equal(connect_to(NS_B, NS_A), ETIMEDOUT);
	assert_int_equal(connect_to(NS_C, NS_A), ECONNREFUSED);
}

static void
test_exempt_address_is_never_cut(void **state)
{
	static const char *const all[] = {"0.0.0.0/0"};
	static const char *const ctl[] = {"10.232.1.3"};
	struct nft_fault   f  = {.kind = NFT_FAULT_PARTITION, .peers = all, .n_peers = 1};
	struct nft_ruleset rs = {
	    .faults = &f, .n_faults = 1, .exempt = ctl, .n_exempt = 1};

	assert_int_equal(nft_commit(*state, &rs, NULL), CHAOS_OK);
	assert_int_equal(connect_to(NS_A, NS_B), ETIMEDOUT);
	assert_int_equal(connect_to(NS_A, NS_C), 0);
	assert_int_equal(connect_to(NS_C, NS_A), 0);
	assert_int_equal(connect_from(NS_A, "127.0.0.1", PORT_APP, 0, NULL),
	                 0); /* lo exempt */
}

static void
test_full_loss_drops_traffic_to_peer_only(void **state)
{
	struct nft_fault   f  = {.kind         = NFT_FAULT_LOSS,
	                         .dir          = NFT_DIR_OUT,
	                         .peers        = peer_b,
	                         .n_peers      = 1,
	                         .loss_percent = 100};
	struct nft_ruleset rs = {.faults = &f, .n_faults = 1};

	assert_int_equal(nft_commit(*state, &rs, NULL), CHAOS_OK);
	assert_int_equal(connect_to(NS_A, NS_B), ETIMEDOUT);
	assert_int_equal(connect_to(NS_A, NS_C), 0);
	assert_true(counter_packets(*state, NFT_DIR_OUT) > 0);
}

static void
assert_original_dst(int fd, const char *addr, uint16_t port)
{
	struct sockaddr_in sin;
	socklen_t          len = sizeof(sin);
	char               a[INET_ADDRSTRLEN];

	assert_int_equal(getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &sin, &len), 0);
	inet_ntop(AF_INET, &sin.sin_addr, a, sizeof(a));
	assert_string_equal(a, addr);
	assert_int_equal(ntohs(sin.sin_port), port);
}

/* A connection from namespace from to to's PORT_APP is accepted by A's
 * proxy, which reads the original destination back, and never reaches to's
 * own listener. */
static void
assert_lands_on_proxy(int from, int to)
{
	int cli = -1, srv;

	assert_int_equal(connect_from(from, ns_addr[to], PORT_APP, 0, &cli), 0);
	srv = accept_one(proxy_fd);
	assert_true(srv >= 0);
	assert_original_dst(srv, ns_addr[to], PORT_APP);
	close(srv);
	close(cli);
	assert_int_equal(accept_one(listener[to]), -1);
}

static void
test_redirect_sends_connections_to_the_local_proxy(void **state)
{
	struct nft_fault   f   = {.kind               = NFT_FAULT_REDIRECT,
	                          .redirect_dport     = PORT_APP,
	                          .redirect_to_port   = PORT_PROXY,
	                          .redirect_skip_mark = PROXY_MARK};
	struct nft_ruleset rs  = {.faults = &f, .n_faults = 1};
	int                cli = -1, srv;

	assert_int_equal(nft_commit(*state, &rs, NULL), CHAOS_OK);

	/* A -> B:8080 lands on A's proxy (nat output) */
	assert_lands_on_proxy(NS_A, NS_B);

	/* the proxy's own upstream socket, marked, reaches B */
	assert_int_equal(connect_from(NS_A, ns_addr[NS_B], PORT_APP, PROXY_MARK, &cli),
	                 0);
	srv = accept_one(listener[NS_B]);
	assert_true(srv >= 0);
	close(srv);
	close(cli);

	/* B -> A:8080 lands on A's proxy too (nat prerouting) */
	assert_lands_on_proxy(NS_B, NS_A);
	assert_true(counter_packets(*state, NFT_DIR_IN) >= 1);
	assert_true(counter_packets(*state, NFT_DIR_OUT) >= 1);
}

static void
test_thousand_cidr_partition_applies_in_one_batch(void **state)
{
	static char        bufs[1000][20];
	static const char *peers[1000];
	struct nft_fault   f = {
	      .kind = NFT_FAULT_PARTITION, .peers = peers, .n_peers = 1000};
	struct nft_ruleset rs = {.faults = &f, .n_faults = 1};
	struct timespec    t0, t1;
	const char        *out;
	size_t             commas = 0;

	for (int i = 0; i < 999; i++) {
		snprintf(bufs[i], sizeof(bufs[i]), "10.%d.%d.1", 100 + i / 200, i % 200);
		peers[i] = bufs[i];
	}
	peers[999] = ns_addr[NS_B];
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(nft_commit(*state, &rs, NULL), CHAOS_OK);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	print_message("1000-peer commit: %.2f ms\n",
	              (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	                  (double)(t1.tv_nsec - t0.tv_nsec) / 1e6);
	assert_int_equal(connect_to(NS_A, NS_B), ETIMEDOUT);
	assert_int_equal(connect_to(NS_A, NS_C), 0);
	out = nft_in_a("list set inet " TABLE " f0_peers");
	for (const char *p = strstr(out, "elements"); p && *p; p++)
		commas += *p == ',';
	assert_int_equal(commas + 1, 1000);
}

/* 4096 peers: 8193 elements, a batch above the default wmem_max. */
static void
test_max_peer_partition_fits_one_batch(void **state)
{
	static char        bufs[NFT_MAX_PEERS][20];
	static const char *peers[NFT_MAX_PEERS];
	struct nft_fault   f = {
	      .kind = NFT_FAULT_PARTITION, .peers = peers, .n_peers = NFT_MAX_PEERS};
	struct nft_ruleset rs = {.faults = &f, .n_faults = 1};
	const char        *out;
	size_t             commas = 0;

	for (unsigned i = 0; i < NFT_MAX_PEERS; i++) {
		snprintf(bufs[i], sizeof(bufs[i]), "10.%u.%u.1", 100 + i / 200, i % 200);
		peers[i] = bufs[i];
	}
	assert_int_equal(nft_commit(*state, &rs, NULL), CHAOS_OK);
	out = nft_in_a("list set inet " TABLE " f0_peers");
	for (const char *p = strstr(out, "elements"); p && *p; p++)
		commas += *p == ',';
	assert_int_equal(commas + 1, NFT_MAX_PEERS);
}

static void
test_failed_commit_keeps_the_previous_rules(void **state)
{
	struct nft_fault f = {.kind = NFT_FAULT_PARTITION, .peers = peer_b, .n_peers = 1};
	struct nft_ruleset rs  = {.faults = &f, .n_faults = 1};
	struct nft_fault   bad = {.kind = NFT_FAULT_LOSS, .peers = peer_b, .n_peers = 1};

	assert_int_equal(nft_commit(*state, &rs, NULL), CHAOS_OK);
	rs.faults = &bad; /* loss_percent 0 */
	assert_int_equal(nft_commit(*state, &rs, NULL), CHAOS_EINVAL);
	assert_int_equal(connect_to(NS_A, NS_B), ETIMEDOUT);
}

static void
test_second_open_of_an_owned_table_is_busy(void **state)
{
	struct nft_ctx *other = NULL;

	(void)state;
	assert_int_equal(open_in_a(TABLE, &other), CHAOS_EBUSY);
	assert_null(other);
}

/* A fresh socket's first batch is refused (the table is there, owned by
 * the fixture's socket; only the batch's last message asks for an ACK):
 * the refusal is read and turned into "busy", not taken for a commit. */
static void
test_first_batch_of_a_socket_on_an_owned_table_is_busy(void **state)
{
	struct nft_fault f = {.kind = NFT_FAULT_PARTITION, .peers = peer_b, .n_peers = 1};
	struct nft_ruleset rs  = {.faults = &f, .n_faults = 1};
	struct open_req    r   = {.table = TABLE};
	chaos_why          why = {{0}};

	(void)state;
	assert_int_equal(netns_run(ns_path[NS_A], open_socket_fn, &r), CHAOS_OK);
	assert_int_equal(nft_commit(r.ctx, &rs, &why), CHAOS_EBUSY);
	assert_true(why.text[0] != '\0');
	nft_close(r.ctx);
	assert_int_equal(connect_to(NS_A, NS_B), 0); /* no rule of its went in */
}

static void
test_open_replaces_a_leftover_table(void **state)
{
	struct nft_ctx *ctx = NULL;
	const char     *out;

	(void)state;
	assert_int_equal(shell_run("%s netns exec %s nft add table inet nfttest_left",
	                           ip_bin, ns_name[NS_A]),
	                 0);
	assert_int_equal(open_in_a("nfttest_left", &ctx), CHAOS_OK);
	out = nft_in_a("list table inet nfttest_left");
	assert_non_null(strstr(out, "flags owner"));
	nft_close(ctx);
}

static void
test_close_removes_the_owner_table(void **state)
{
	struct nft_ctx *ctx = NULL;

	(void)state;
	assert_int_equal(open_in_a("nfttest_close", &ctx), CHAOS_OK);
	assert_non_null(strstr(nft_in_a("list tables"), "nfttest_close"));
	nft_close(ctx);
	assert_null(strstr(nft_in_a("list tables"), "nfttest_close"));
}

static void
test_drop_removes_the_table_and_the_next_commit_makes_it_again(void **state)
{
	struct nft_fault f = {.kind = NFT_FAULT_PARTITION, .peers = peer_b, .n_peers = 1};
	struct nft_ruleset rs  = {.faults = &f, .n_faults = 1};
	struct nft_ctx    *ctx = NULL;

	(void)state;
	assert_int_equal(open_in_a("nfttest_drop", &ctx), CHAOS_OK);
	assert_int_equal(nft_commit(ctx, &rs, NULL), CHAOS_OK);
	assert_int_equal(connect_to(NS_A, NS_B), ETIMEDOUT);
	assert_int_equal(nft_drop(ctx, NULL), CHAOS_OK);
	assert_null(strstr(nft_in_a("list tables"), "nfttest_drop"));
	assert_int_equal(connect_to(NS_A, NS_B), 0);
	assert_int_equal(nft_drop(ctx, NULL), CHAOS_OK); /* nothing to drop */
	/* the same socket, from this thread (outside A): the table is A's */
	assert_int_equal(nft_commit(ctx, &rs, NULL), CHAOS_OK);
	assert_non_null(strstr(nft_in_a("list table inet nfttest_drop"), "flags owner"));
	assert_int_equal(connect_to(NS_A, NS_B), ETIMEDOUT);
	nft_close(ctx);
	assert_null(strstr(nft_in_a("list tables"), "nfttest_drop"));
	assert_int_equal(connect_to(NS_A, NS_B), 0);
}

static void
child_apply_and_wait(int wfd)
{
	struct nft_fault f = {.kind = NFT_FAULT_PARTITION, .peers = peer_b, .n_peers = 1};
	struct nft_ruleset rs = {.faults = &f, .n_faults = 1};
	struct nft_ctx    *ctx;

	if (open_in_a("nfttest_child", &ctx) != CHAOS_OK ||
	    nft_commit(ctx, &rs, NULL) != CHAOS_OK)
		_exit(1);
	if (write(wfd, "x", 1) != 1)
		_exit(1);
	for (int i = 0; i < 600; i++) /* bounded: SIGKILLed long before */
		sleep(1);
	_exit(0);
}

static bool
child_table_present(void)
{
	return strstr(nft_in_a("list tables"), "nfttest_child") != NULL;
}

static void
test_sigkilled_owner_leaves_no_table(void **state)
{
	int           p[2];
	char          c;
	pid_t         pid;
	struct pollfd pfd;
	bool          gone = false;

	(void)state;
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		child_apply_and_wait(p[1]);
	}
	close(p[1]);
	pfd = (struct pollfd) {.fd = p[0], .events = POLLIN};
	assert_int_equal(poll(&pfd, 1, 5000), 1);
	assert_int_equal(read(p[0], &c, 1), 1);
	close(p[0]);
	assert_true(child_table_present());
	assert_int_equal(connect_to(NS_A, NS_B), ETIMEDOUT);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	for (int i = 0; i < 20 && !gone; i++) {
		gone = !child_table_present();
		if (!gone)
			usleep(100 * 1000);
	}
	assert_true(gone);
	assert_int_equal(connect_to(NS_A, NS_B), 0);
}

static const char *
find_ip(void)
{
	static const char *const cands[] = {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip",
	                                    "/bin/ip"};

	for (size_t i = 0; i < sizeof(cands) / sizeof(cands[0]); i++)
		if (access(cands[i], X_OK) == 0)
			return cands[i];
	return NULL;
}

/* Tests that act through one engine opened in A for them. */
#define WITH_CTX(fn) cmocka_unit_test_setup_teardown(fn, ctx_setup, ctx_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    WITH_CTX(test_partition_blocks_a_and_b_both_ways_but_not_c),
	    WITH_CTX(test_partition_out_only_blocks_a_to_b_only),
	    WITH_CTX(test_port_reject_refuses_and_blackhole_times_out),
	    WITH_CTX(test_partition_and_port_fault_are_active_together),
	    WITH_CTX(test_exempt_address_is_never_cut),
	    WITH_CTX(test_full_loss_drops_traffic_to_peer_only),
	    WITH_CTX(test_redirect_sends_connections_to_the_local_proxy),
	    WITH_CTX(test_thousand_cidr_partition_applies_in_one_batch),
	    WITH_CTX(test_max_peer_partition_fits_one_batch),
	    WITH_CTX(test_failed_commit_keeps_the_previous_rules),
	    WITH_CTX(test_second_open_of_an_owned_table_is_busy),
	    WITH_CTX(test_first_batch_of_a_socket_on_an_owned_table_is_busy),
	    cmocka_unit_test(test_open_replaces_a_leftover_table),
	    cmocka_unit_test(test_close_removes_the_owner_table),
	    cmocka_unit_test(
	        test_drop_removes_the_table_and_the_next_commit_makes_it_again),
	    cmocka_unit_test(test_sigkilled_owner_leaves_no_table),
	};
	int rc;

	if (geteuid() != 0) {
		printf("skipped: needs root (network namespaces, nftables)\n");
		return 77;
	}
	ip_bin = find_ip();
	if (ip_bin == NULL || system("nft --version >/dev/null 2>&1") != 0) {
		printf("skipped: needs the ip and nft tools\n");
		return 77;
	}
	sweep_stale_namespaces();
	atexit(cleanup_namespaces);
	shell_cleanup_on_signals(cleanup_namespaces);
	rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
	cleanup_namespaces();
	return rc;
}
