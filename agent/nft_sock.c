// SPDX-License-Identifier: MIT
/*
 * The socket: one NETLINK_NETFILTER socket per context, living in the
 * namespace it was opened in. A batch goes out in one sendmsg; the kernel
 * processes it inside the call and answers every message that failed and
 * the last one (NLM_F_ACK), in order; every answer is read and matched by
 * sequence number and port id, and the batch counts as committed when the
 * last message's ACK came with no error before it.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "agent/nft_int.h"
#include "common/log.h"

#define NFT_ACK_TIMEOUT_MS 5000

/* Grows a socket buffer; SO_*BUFFORCE (CAP_NET_ADMIN) passes rmem/wmem_max. */
static int
nft_sock_grow(struct nft_ctx *ctx, int *cur, int opt_force, int opt, size_t want)
{
	int fd = mnl_socket_get_fd(ctx->nl);
	int v;

	if (want > INT_MAX / 2)
		return -EMSGSIZE;
	v = (int)want;
	if (v <= *cur)
		return 0;
	if (setsockopt(fd, SOL_SOCKET, opt_force, &v, sizeof(v)) < 0 &&
	    setsockopt(fd, SOL_SOCKET, opt, &v, sizeof(v)) < 0)
		return -errno;
	*cur = v;
	return 0;
}

static int
nft_sock_open(struct nft_ctx *ctx)
{
	int one = 1;

	ctx->nl = mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC);
	if (ctx->nl == NULL)
		return -errno;
	if (mnl_socket_bind(ctx->nl, 0, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	/* Error replies carry the kernel's text, not a copy of our message. */
	if (mnl_socket_setsockopt(ctx->nl, NETLINK_EXT_ACK, &one, sizeof(one)) < 0 ||
	    mnl_socket_setsockopt(ctx->nl, NETLINK_CAP_ACK, &one, sizeof(one)) < 0)
		return -errno;
	ctx->portid = mnl_socket_get_portid(ctx->nl);
	ctx->seq    = (uint32_t)time(NULL);
	return 0;
}

/* One datagram if one is queued (mnl_socket_recvfrom's checks, without
 * blocking): its length, -EAGAIN, or -errno. */
static ssize_t
nft_recv_queued(struct nft_ctx *ctx, void *buf, size_t len)
{
	struct sockaddr_nl addr;
	struct iovec       iov = {.iov_base = buf, .iov_len = len};
	struct msghdr      msg = {.msg_name    = &addr,
	                          .msg_namelen = sizeof(addr),
	                          .msg_iov     = &iov,
	                          .msg_iovlen  = 1};
	ssize_t            n   = recvmsg(mnl_socket_get_fd(ctx->nl), &msg, MSG_DONTWAIT);

	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (msg.msg_flags & MSG_TRUNC)
		return -ENOSPC;
	if (msg.msg_namelen != sizeof(addr))
		return -EINVAL;
	return n;
}

/* The kernel answers a batch inside sendmsg, so the replies are nearly
 * always queued already: poll only when none is. */
ssize_t
nft_recv(struct nft_ctx *ctx, void *buf, size_t len)
{
	struct pollfd p = {.fd = mnl_socket_get_fd(ctx->nl), .events = POLLIN};
	ssize_t       n;
	int           r;

	if ((n = nft_recv_queued(ctx, buf, len)) != -EAGAIN && n != -EINTR)
		return n;
	do
		r = poll(&p, 1, NFT_ACK_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	n = nft_recv_queued(ctx, buf, len);
	return n == -EAGAIN ? -ETIMEDOUT : n;
}

/* The kernel's extended-ack text, if any, into out. */
static void
nft_extack(const struct nlmsghdr *nlh, char *out, size_t len)
{
	const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);
	const struct nlattr   *a;
	const void            *tail;
	size_t                 off = sizeof(*e);

	out[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += e->msg.nlmsg_len - sizeof(e->msg);
	if (off > mnl_nlmsg_get_payload_len(nlh))
		return;
	tail = mnl_nlmsg_get_payload_tail(nlh);
	for (a = mnl_nlmsg_get_payload_offset(nlh, off);
	     mnl_attr_ok(a, (int)((const char *)tail - (const char *)a));
	     a = mnl_attr_next(a)) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG &&
		    mnl_attr_validate(a, MNL_TYPE_NUL_STRING) == 0)
			snprintf(out, len, ": %s", mnl_attr_get_str(a));
	}
}

struct nft_acks {
	bool     done; /* the last message's ACK, or a batch-level one, came */
	int      err;  /* first error, negative errno */
	uint32_t err_seq;
	char     ext[160];
	bool     batch_level;
};

/* Accounts for one reply of the batch. */
static void
nft_ack_one(const struct nft_batch *b, const struct nlmsghdr *nlh, struct nft_acks *a)
{
	const struct nlmsgerr *e;
	uint32_t               seq = nlh->nlmsg_seq;

	if (nlh->nlmsg_type != NLMSG_ERROR ||
	    (uint32_t)(seq - b->seq_begin) >= (uint32_t)(b->seq_next - b->seq_begin))
		return; /* not a reply to this batch */
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e)) {
		a->err = a->err ? a->err : -EPROTO;
		return;
	}
	e = mnl_nlmsg_get_payload(nlh);
	if (nft_batch_what(b, seq) == NULL) {
		/* BEGIN or END: the kernel refused the batch as a whole */
		a->batch_level = true;
		a->done        = true;
	} else if (seq == b->seq_begin + b->n_msgs) {
		a->done = true; /* the last message's: nothing comes after it */
	}
	if (e->error != 0 && (a->err == 0 || seq < a->err_seq)) {
		a->err     = e->error > 0 ? -e->error : e->error;
		a->err_seq = seq;
		nft_extack(nlh, a->ext, sizeof(a->ext));
	}
}

/*
 * Reads replies until the last message's ACK (or a batch-level one). The
 * kernel processes the batch inside sendmsg, so they are normally all
 * queued already.
 */
static int
nft_wait_acks(struct nft_ctx *ctx, const struct nft_batch *b, struct nft_acks *a)
{
	const struct nlmsghdr *nlh;
	ssize_t                n;
	int                    left;
	/* aligned for the headers read in place */
	union {
		struct nlmsghdr h;
		char            bytes[NFT_ACK_BUF_SIZE];
	} buf;

	while (!a->done) {
		n = nft_recv(ctx, buf.bytes, sizeof(buf.bytes));
		if (n < 0)
			return (int)n;
		nlh  = &buf.h;
		left = (int)n;
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
			if (nlh->nlmsg_pid != ctx->portid)
				continue;
			nft_ack_one(b, nlh, a);
		}
	}
	return 0;
}

static int
nft_send_batch(struct nft_ctx *ctx, const struct nft_batch *b)
{
	/* Kernel charges about one skb (~1 KiB truesize) per ACK. */
	size_t  rcv = 65536 + b->n_msgs * 2048;
	ssize_t n;
	int     err;

	err = nft_sock_grow(ctx, &ctx->sndbuf, SO_SNDBUFFORCE, SO_SNDBUF, b->len + 4096);
	if (err == 0)
		err = nft_sock_grow(ctx, &ctx->rcvbuf, SO_RCVBUFFORCE, SO_RCVBUF, rcv);
	if (err < 0)
		return err;
	n = mnl_socket_sendto(ctx->nl, b->buf, b->len);
	if (n < 0)
		return -errno;
	return (size_t)n == b->len ? 0 : -EMSGSIZE;
}

/* Sends b and checks every reply. Returns 0 only if the batch committed;
 * otherwise -errno with why naming the message the kernel refused. */
static int
nft_run_batch(struct nft_ctx *ctx, const struct nft_batch *b, chaos_why *why)
{
	struct nft_acks a = {.done = b->n_msgs == 0};
	const char     *what;
	int             err;

	ctx->fail_batch_level = false;
	err                   = nft_send_batch(ctx, b);
	if (err < 0) {
		chaos_fail(why, CHAOS_ESYS, "send of %zu-byte batch: %s", b->len,
		           strerror(-err));
		return err;
	}
	err = nft_wait_acks(ctx, b, &a);
	if (err < 0) {
		chaos_fail(why, CHAOS_ESYS,
		           "replies lost (no ACK of the last of %zu messages): %s",
		           b->n_msgs, strerror(-err));
		return err == -ETIMEDOUT ? err : -EIO;
	}
	if (a.err == 0)
		return 0;
	what                  = nft_batch_what(b, a.err_seq);
	ctx->fail_batch_level = a.batch_level;
	chaos_fail(why, CHAOS_ESYS, "batch refused at %s: %s%s", what ? what : "batch",
	           strerror(-a.err), a.ext);
	return a.err;
}

/* Builds and runs the batch for rs; why is always filled on failure. */
static chaos_err
nft_commit_batch(struct nft_ctx *ctx, const struct nft_ruleset *rs, bool fresh, int *err,
                 chaos_why *why)
{
	struct nft_batch *b = NULL;
	chaos_err         rv;

	if ((rv = nft_cache_build(ctx->cache, ctx->table, rs, ctx->seq, fresh, &b,
	                          why)) != CHAOS_OK)
		return chaos_fail_prefix(why, rv, "invalid ruleset");
	ctx->seq = b->seq_next;
	*err     = nft_run_batch(ctx, b, why);
	nft_batch_free(b);
	return chaos_err_from_errno(*err);
}

static int nft_delete_leftover(struct nft_ctx *ctx, chaos_why *why);

/* A fresh socket tries its first batch alone; when a table is already
 * there it goes the way nft_open() does: the leftover deleted (or
 * CHAOS_EBUSY when a live socket owns it), then the usual batch. */
static chaos_err
nft_commit_why(struct nft_ctx *ctx, const struct nft_ruleset *rs, chaos_why *why)
{
	chaos_why w   = {{0}};
	int       err = 0;
	chaos_err rv;

	if (!ctx->fresh)
		return nft_commit_batch(ctx, rs, false, &err, why);
	rv = nft_commit_batch(ctx, rs, true, &err, &w);
	/* EEXIST: a table is there; EPERM: owned by a live socket, or no
	 * CAP_NET_ADMIN: nft_delete_leftover tells which */
	if (rv == CHAOS_OK || (err != -EEXIST && err != -EPERM)) {
		ctx->fresh = ctx->fresh && rv != CHAOS_OK;
		if (rv != CHAOS_OK)
			chaos_fail(why, rv, "%s", w.text);
		return rv;
	}
	if ((err = nft_delete_leftover(ctx, why)) < 0)
		return chaos_err_from_errno(err);
	ctx->fresh = false;
	return nft_commit_batch(ctx, rs, false, &err, why);
}

chaos_err
nft_commit(struct nft_ctx *ctx, const struct nft_ruleset *rs, chaos_why *why)
{
	chaos_why w = {{0}};
	chaos_err rv;

	if (ctx == NULL)
		return chaos_fail(why, CHAOS_EINVAL, "nft: no context");
	if ((rv = nft_commit_why(ctx, rs, &w)) == CHAOS_OK)
		return CHAOS_OK;
	log_warn("nft %s: commit: %s", ctx->table, w.text);
	return chaos_fail(why, rv, "%s", w.text);
}

chaos_err
nft_clear(struct nft_ctx *ctx, chaos_why *why)
{
	const struct nft_ruleset empty = {0};

	return nft_commit(ctx, &empty, why);
}

/* One batch deleting the table of our name: 0 or -errno (-ENOENT: none). */
static int
nft_delete_table(struct nft_ctx *ctx, chaos_why *why)
{
	struct nft_batch *b = nft_batch_new(ctx->table, ctx->seq);
	int               err;

	if (b == NULL)
		return -ENOMEM;
	err = nft_put_table(b, NFT_MSG_DELTABLE, false);
	if (err == 0)
		err = nft_batch_finish(b);
	if (err == 0) {
		ctx->seq = b->seq_next;
		err      = nft_run_batch(ctx, b, why);
	}
	nft_batch_free(b);
	return err;
}

/* Deletes a leftover table of our name. ENOENT means there was none. */
static int
nft_delete_leftover(struct nft_ctx *ctx, chaos_why *why)
{
	int err = nft_delete_table(ctx, why);

	if (err == -ENOENT)
		return 0;
	if (err == 0)
		log_info("nft %s: deleted a leftover table", ctx->table);
	if (err == -EPERM && !ctx->fail_batch_level) /* owned by a live socket */
		return -EBUSY;
	return err;
}

chaos_err
nft_drop(struct nft_ctx *ctx, chaos_why *why)
{
	chaos_why w = {{0}};
	int       err;

	if (ctx == NULL)
		return chaos_fail(why, CHAOS_EINVAL, "nft: no context");
	if (ctx->fresh) /* this socket made no table */
		return CHAOS_OK;
	if ((err = nft_delete_table(ctx, &w)) < 0 && err != -ENOENT) {
		log_warn("nft %s: drop: %s", ctx->table, w.text);
		return chaos_fail(why, chaos_err_from_errno(err), "%s", w.text);
	}
	/* the next commit makes the table again, as a new socket's would */
	ctx->fresh = true;
	return CHAOS_OK;
}

void
nft_close(struct nft_ctx *ctx)
{
	if (ctx == NULL)
		return;
	if (ctx->nl != NULL)
		mnl_socket_close(ctx->nl);
	free(ctx->rbuf);
	free(ctx);
}

chaos_err
nft_open_socket(const char *table_name, struct nft_ctx **out, chaos_why *why)
{
	struct nft_ctx *ctx;
	int             err;

	if (!nft_table_name_ok(table_name) || out == NULL)
		return chaos_fail(why, CHAOS_EINVAL,
		                  "nft: bad table name: [A-Za-z0-9_-], 1..%d characters",
		                  NFT_MAX_TABLE_NAME - 1);
	if ((ctx = calloc(1, sizeof(*ctx))) == NULL)
		return chaos_fail(why, CHAOS_ENOMEM, "nft: out of memory");
	snprintf(ctx->table, sizeof(ctx->table), "%s", table_name);
	ctx->fresh = true;
	err        = nft_sock_open(ctx);
	if (err < 0) {
		nft_close(ctx);
		return chaos_fail(why, chaos_err_from_errno(err), "netlink socket: %s",
		                  strerror(-err));
	}
	*out = ctx;
	return CHAOS_OK;
}

/* The socket, then the leftover deleted and the empty table made: two
 * batches, each with its own reason when it fails. */
chaos_err
nft_open(const char *table_name, struct nft_ctx **out, chaos_why *why)
{
	const struct nft_ruleset empty = {0};
	struct nft_ctx          *ctx   = NULL;
	chaos_why                w     = {{0}};
	chaos_err                rv;
	int                      err;

	if ((rv = nft_open_socket(table_name, &ctx, &w)) == CHAOS_OK) {
		ctx->fresh = false;
		if ((err = nft_delete_leftover(ctx, &w)) < 0 && w.text[0] == '\0')
			chaos_fail(&w, CHAOS_ESYS, "%s", strerror(-err));
		rv =
		    err < 0 ? chaos_err_from_errno(err) : nft_commit_why(ctx, &empty, &w);
	}
	if (rv != CHAOS_OK) {
		log_warn("nft %s: open: %s", table_name, w.text);
		nft_close(ctx);
		return chaos_fail(why, rv, "%s", w.text);
	}
	*out = ctx;
	return CHAOS_OK;
}

void
nft_set_cache(struct nft_ctx *ctx, struct nft_cache *cache)
{
	ctx->cache = cache;
}
