// SPDX-License-Identifier: MIT
/*
 * Apply/revert cost of a partition of 1, 10, 100 and 1000 peer CIDRs: our
 * one-batch nft_commit()/nft_clear() against `nft -f` of the same ruleset
 * and `nft delete table`, in a fresh network namespace (never the host's),
 * REPS times each, medians compared.
 *
 * Bars (median of nft's time / median of ours), for apply (nft -f against
 * nft_commit()) and for revert (nft delete table against nft_clear()):
 *   1, 10, 100 peers  >= 10
 *   1000 peers        >= 3
 * nft pays a process and a ruleset parse; we pay one netlink batch, and
 * from 1000 elements on the kernel's own work dominates both. Measured on
 * the busy 2-core machine (6 runs, three busy loops besides): 44x..190x up
 * to 100 peers, both ways; at 1000, apply 6.7x..28x, revert 7.9x..229x.
 * A batch that went element by element, each acknowledged (~50 us a round
 * trip), would fall under both bars.
 *
 * Also checks that every apply succeeded and the kernel holds the right
 * number of elements. Prints a table and one JSON line with the figures,
 * the bars and whether they held; exits 1 when a bar is missed. Needs root
 * and nft; exits 77 otherwise.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <libmnl/libmnl.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include "agent/netns.h"
#include "agent/nft.h"
#include "common/err.h"
#include "tests/support/shell.h"

#define REPS 20
#define OUR_TABLE "chaos_bench"
#define NFT_TABLE "chaos_bench_nftf"

/* Sizes and the ratio nft / ours must reach at each, both ways. */
static const struct {
	int    peers;
	double bar;
} sizes[] = {{1, 10}, {10, 10}, {100, 10}, {1000, 3}};
#define N_SIZES (sizeof(sizes) / sizeof(sizes[0]))

static char ns_name[64], ns_path[96], nft_file[96];
static bool ns_made;

struct result {
	int    peers;
	double bar;
	double apply_p50, apply_p95, revert_p50, revert_p95;
	double nft_p50, nft_p95, nft_del_p50, nft_del_p95; /* the baseline */
};

/* ---- namespace lifetime ---- */

static void
cleanup(void)
{
	pid_t pid;

	if (nft_file[0])
		unlink(nft_file);
	if (!ns_made)
		return;
	ns_made = false;
	pid     = fork();
	if (pid == 0) {
		execlp("ip", "ip", "netns", "del", ns_name, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

static int
make_namespace(void)
{
	char cmd[160];

	snprintf(ns_name, sizeof(ns_name), "nftbench-%d", (int)getpid());
	snprintf(ns_path, sizeof(ns_path), "/run/netns/%s", ns_name);
	snprintf(cmd, sizeof(cmd), "ip netns add %s", ns_name);
	if (system(cmd) != 0)
		return -1;
	ns_made = true;
	snprintf(cmd, sizeof(cmd), "ip -n %s link set lo up", ns_name);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- timing ---- */

static double
now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
percentiles(double *v, int n, double *p50, double *p95)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	*p50 = v[n / 2];
	*p95 = v[(int)ceil(0.95 * n) - 1];
}

/* ---- kernel view: count set elements with our own dump ---- */

struct count_req {
	const char *table, *set;
	int         count;
};

static int
count_elem(struct nftnl_set_elem *e, void *data)
{
	int *count = data;

	if (!nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS) ||
	    !(nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS) &
	      NFT_SET_ELEM_INTERVAL_END))
		(*count)++;
	return 0;
}

static int
count_cb(const struct nlmsghdr *nlh, void *data)
{
	struct nftnl_set *s  = nftnl_set_alloc();
	int               rc = MNL_CB_ERROR;

	if (s == NULL)
		return rc;
	if (nftnl_set_elems_nlmsg_parse(nlh, s) == 0) {
		nftnl_set_elem_foreach(s, count_elem, data);
		rc = MNL_CB_OK;
	}
	nftnl_set_free(s);
	return rc;
}

static chaos_err
count_fn(void *p)
{
	struct count_req  *r  = p;
	struct mnl_socket *nl = mnl_socket_open(NETLINK_NETFILTER);
	static char        buf[65536];
	struct nftnl_set  *s = nftnl_set_alloc();
	struct nlmsghdr   *nlh;
	int                n, rc = -1;

	if (nl == NULL || s == NULL || mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		goto out;
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETSETELEM, NFPROTO_INET, NLM_F_DUMP, 1);
	nftnl_set_set_str(s, NFTNL_SET_TABLE, r->table);
	nftnl_set_set_str(s, NFTNL_SET_NAME, r->set);
	nftnl_set_elems_nlmsg_build_payload(nlh, s);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0)
		goto out;
	do {
		n  = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
		rc = n > 0 ? mnl_cb_run(buf, (size_t)n, 1, mnl_socket_get_portid(nl),
		                        count_cb, &r->count)
		           : -1;
	} while (rc > MNL_CB_STOP);
out:
	if (s != NULL)
		nftnl_set_free(s);
	if (nl != NULL)
		mnl_socket_close(nl);
	return rc < 0 ? CHAOS_ESYS : CHAOS_OK;
}

static int
kernel_elems(const char *table, const char *set)
{
	struct count_req r = {.table = table, .set = set};

	if (netns_run(ns_path, count_fn, &r) != CHAOS_OK)
		return -1;
	return r.count;
}

/* ---- our engine ---- */

struct open_req {
	struct nft_ctx *ctx;
};

static chaos_err
open_fn(void *p)
{
	return nft_open(OUR_TABLE, &((struct open_req *)p)->ctx, NULL);
}

static const char **
make_peers(int n)
{
	static char        bufs[1000][20];
	static const char *peers[1000];

	for (int i = 0; i < n; i++) {
		snprintf(bufs[i], sizeof(bufs[i]), "10.%d.%d.1", 100 + i / 200, i % 200);
		peers[i] = bufs[i];
	}
	return peers;
}

static int
bench_ours(struct nft_ctx *ctx, int n, struct result *res)
{
	double           apply[REPS], revert[REPS], t;
	struct nft_fault f = {
	    .kind = NFT_FAULT_PARTITION, .peers = make_peers(n), .n_peers = (size_t)n};
	struct nft_ruleset rs = {.faults = &f, .n_faults = 1};

	for (int i = 0; i < REPS; i++) {
		t = now_ms();
		if (nft_commit(ctx, &rs, NULL) != CHAOS_OK)
			return -1;
		apply[i] = now_ms() - t;
		if (i == 0 && kernel_elems(OUR_TABLE, "f0_peers") != n) {
			fprintf(stderr, "kernel does not hold %d elements\n", n);
			return -1;
		}
		t = now_ms();
		if (nft_clear(ctx, NULL) != CHAOS_OK)
			return -1;
		revert[i] = now_ms() - t;
	}
	percentiles(apply, REPS, &res->apply_p50, &res->apply_p95);
	percentiles(revert, REPS, &res->revert_p50, &res->revert_p95);
	return 0;
}

/* ---- nft -f, for comparison ---- */

/* The same table as ours, replaced the same way. */
static int
write_nft_file(int n)
{
	const char **peers = make_peers(n);
	FILE        *f     = fopen(nft_file, "w");

	if (f == NULL)
		return -1;
	fprintf(f, "table inet %s\ndelete table inet %s\ntable inet %s {\n", NFT_TABLE,
	        NFT_TABLE, NFT_TABLE);
	fprintf(f, "  set f0_peers { type ipv4_addr; flags interval; elements = { ");
	for (int i = 0; i < n; i++)
		fprintf(f, "%s%s", i ? ", " : "", peers[i]);
	fprintf(f, " }; }\n");
	fprintf(f,
	        "  chain input { type filter hook input priority 0; policy accept;\n"
	        "    iif lo accept\n    ip saddr @f0_peers counter drop\n  }\n");
	fprintf(f,
	        "  chain output { type filter hook output priority 0; policy accept;\n"
	        "    oif lo accept\n    ip daddr @f0_peers counter drop\n  }\n}\n");
	return fclose(f) == 0 ? 0 : -1;
}

/* fork, join the namespace in the child, exec nft. */
static int
run_nft(const char *const argv[])
{
	int   status;
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(ns_path, O_RDONLY | O_CLOEXEC);
		if (fd < 0 || setns(fd, CLONE_NEWNET) < 0)
			_exit(126);
		execvp("nft", (char *const *)argv);
		_exit(127);
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : -1;
}

static int
bench_nft_f(int n, struct result *res)
{
	const char *const apply[] = {"nft", "-f", nft_file, NULL};
	const char *const del[]   = {"nft", "delete", "table", "inet", NFT_TABLE, NULL};
	double            v[REPS], d[REPS], t;

	if (write_nft_file(n) != 0)
		return -1;
	for (int i = 0; i < REPS; i++) {
		t = now_ms();
		if (run_nft(apply) != 0)
			return -1;
		v[i] = now_ms() - t;
		if (i == 0 && kernel_elems(NFT_TABLE, "f0_peers") != n)
			return -1;
		t = now_ms();
		if (run_nft(del) != 0)
			return -1;
		d[i] = now_ms() - t;
	}
	percentiles(v, REPS, &res->nft_p50, &res->nft_p95);
	percentiles(d, REPS, &res->nft_del_p50, &res->nft_del_p95);
	return 0;
}

/* ---- report ---- */

static double
apply_ratio(const struct result *r)
{
	return r->nft_p50 / r->apply_p50;
}

static double
revert_ratio(const struct result *r)
{
	return r->nft_del_p50 / r->revert_p50;
}

static bool
bars_held(const struct result *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (apply_ratio(&r[i]) < r[i].bar || revert_ratio(&r[i]) < r[i].bar)
			return false;
	return true;
}

static void
print_table(const struct result *r, size_t n)
{
	printf("\n%6s | %-17s | %-17s | %-17s | %-17s | %s\n", "peers", "ours apply ms",
	       "nft -f ms", "ours revert ms", "nft delete ms", "nft / ours");
	printf("%6s | %-17s | %-17s | %-17s | %-17s | %s\n", "", "p50 / p95", "p50 / p95",
	       "p50 / p95", "p50 / p95", "apply, revert");
	for (size_t i = 0; i < n; i++)
		printf("%6d | %7.3f / %7.3f | %7.3f / %7.3f | %7.3f / %7.3f | %7.3f / "
		       "%7.3f | %6.1fx, %6.1fx\n",
		       r[i].peers, r[i].apply_p50, r[i].apply_p95, r[i].nft_p50,
		       r[i].nft_p95, r[i].revert_p50, r[i].revert_p95, r[i].nft_del_p50,
		       r[i].nft_del_p95, apply_ratio(&r[i]), revert_ratio(&r[i]));
	printf("bars: nft / ours >= 10x up to 100 peers, >= 3x at 1000, both ways: %s\n",
	       bars_held(r, n) ? "pass" : "MISSED");
}

static void
print_json(const struct result *r, size_t n)
{
	printf("{\"bench\":\"nft\",\"reps\":%d,\"results\":[", REPS);
	for (size_t i = 0; i < n; i++)
		printf(
		    "%s{\"peers\":%d,\"apply_ms_p50\":%.3f,\"apply_ms_p95\":%.3f,"
		    "\"revert_ms_p50\":%.3f,\"revert_ms_p95\":%.3f,\"nft_f_ms_p50\":%.3f,"
		    "\"nft_f_ms_p95\":%.3f,\"nft_delete_ms_p50\":%.3f,"
		    "\"nft_delete_ms_p95\":%.3f,\"apply_ratio\":%.2f,"
		    "\"revert_ratio\":%.2f,\"ratio_bar_min\":%.1f}",
		    i ? "," : "", r[i].peers, r[i].apply_p50, r[i].apply_p95,
		    r[i].revert_p50, r[i].revert_p95, r[i].nft_p50, r[i].nft_p95,
		    r[i].nft_del_p50, r[i].nft_del_p95, apply_ratio(&r[i]),
		    revert_ratio(&r[i]), r[i].bar);
	printf("],\"pass\":%s}\n", bars_held(r, n) ? "true" : "false");
}

int
main(void)
{
	struct result   res[N_SIZES];
	struct open_req o  = {0};
	int             rc = 1;

	if (geteuid() != 0) {
		printf("skipped: needs root (network namespace, nftables)\n");
		return 77;
	}
	if (system("nft --version >/dev/null 2>&1") != 0) {
		printf("skipped: needs the nft tool for the comparison\n");
		return 77;
	}
	atexit(cleanup);
	shell_cleanup_on_signals(cleanup);
	if (make_namespace() != 0 || netns_run(ns_path, open_fn, &o) != CHAOS_OK)
		goto out;
	snprintf(nft_file, sizeof(nft_file), "/tmp/%s.nft", ns_name);
	for (size_t i = 0; i < N_SIZES; i++) {
		res[i].peers = sizes[i].peers;
		res[i].bar   = sizes[i].bar;
		if (bench_ours(o.ctx, sizes[i].peers, &res[i]) != 0 ||
		    bench_nft_f(sizes[i].peers, &res[i]) != 0) {
			fprintf(stderr, "bench failed at %d peers\n", sizes[i].peers);
			goto out;
		}
	}
	print_table(res, N_SIZES);
	print_json(res, N_SIZES);
	rc = bars_held(res, N_SIZES) ? 0 : 1;
out:
	nft_close(o.ctx);
	cleanup();
	return rc;
}
