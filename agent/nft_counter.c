// SPDX-License-Identifier: MIT
/*
 * Counters: a GETRULE dump of our table, keeping the rules whose comment
 * names a fault (nft_comment_parse) and reading their counter expression.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_tables.h>

#include "agent/nft_int.h"
#include "common/log.h"

#define NFT_DUMP_RETRIES 3

struct nft_dump {
	const struct nft_ctx *ctx;
	struct nft_counter   *out;
	size_t                cap, n, total;
	int                   err;
	bool                  done;
};

static int
nft_comment_cb(const struct nftnl_udata *attr, void *data)
{
	const char **comment = data;
	const char  *v       = nftnl_udata_get(attr);
	uint8_t      len     = nftnl_udata_len(attr);

	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT && len > 0 &&
	    v[len - 1] == '\0')
		*comment = v;
	return 0;
}

static bool
nft_rule_counter(const struct nftnl_rule *r, struct nft_counter *c)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr      *e;
	bool                    found = false;

	if (it == NULL)
		return false;
	while (!found && (e = nftnl_expr_iter_next(it)) != NULL) {
		if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), "counter") != 0)
			continue;
		c->packets = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_PACKETS);
		c->bytes   = nftnl_expr_get_u64(e, NFTNL_EXPR_CTR_BYTES);
		found      = true;
	}
	nftnl_expr_iter_destroy(it);
	return found;
}

/* One NEWRULE message of the dump; skips rules that are not fault rules. */
static int
nft_dump_rule(struct nft_dump *d, const struct nlmsghdr *nlh)
{
	struct nftnl_rule *r       = nftnl_rule_alloc();
	struct nft_counter c       = {0};
	const char        *comment = NULL, *table;
	const void        *ud;
	uint32_t           udlen = 0;

	if (r == NULL)
		return -ENOMEM;
	if (nftnl_rule_nlmsg_parse(nlh, r) < 0) {
		nftnl_rule_free(r);
		return -EPROTO;
	}
	table = nftnl_rule_get_str(r, NFTNL_RULE_TABLE);
	ud    = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &udlen);
	if (ud != NULL)
		nftnl_udata_parse(ud, udlen, nft_comment_cb, &comment);
	if (table && strcmp(table, d->ctx->table) == 0 &&
	    nft_comment_parse(comment, &c) && nft_rule_counter(r, &c)) {
		if (d->n < d->cap)
			d->out[d->n++] = c;
		d->total++;
	}
	nftnl_rule_free(r);
	return 0;
}

static void
nft_dump_msg(struct nft_dump *d, const struct nlmsghdr *nlh, uint32_t seq)
{
	const struct nlmsgerr *e;

	if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != d->ctx->portid)
		return;
	if (nlh->nlmsg_flags & NLM_F_DUMP_INTR) /* table changed mid-dump */
		d->err = d->err ? d->err : -EINTR;
	if (nlh->nlmsg_type == NLMSG_DONE) {
		d->done = true;
	} else if (nlh->nlmsg_type == NLMSG_ERROR) {
		e       = mnl_nlmsg_get_payload(nlh);
		d->done = true;
		if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
			d->err = d->err ? d->err : -EPROTO;
		else if (e->error != 0)
			d->err = d->err ? d->err : (e->error > 0 ? -e->error : e->error);
	} else if (d->err == 0) {
		d->err = nft_dump_rule(d, nlh);
	}
}

static int
nft_dump_send(struct nft_ctx *ctx, uint32_t seq)
{
	char               buf[MNL_SOCKET_BUFFER_SIZE];
	struct nftnl_rule *r = nftnl_rule_alloc();
	struct nlmsghdr   *nlh;
	int                err = 0;

	if (r == NULL)
		return -ENOMEM;
	if (nftnl_rule_set_str(r, NFTNL_RULE_TABLE, ctx->table) < 0) {
		nftnl_rule_free(r);
		return -ENOMEM;
	}
	nlh = nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETRULE, NFT_FAMILY, NLM_F_DUMP, seq);
	nftnl_rule_nlmsg_build_payload(nlh, r);
	nftnl_rule_free(r);
	if (mnl_socket_sendto(ctx->nl, nlh, nlh->nlmsg_len) < 0)
		err = -errno;
	return err;
}

/* Dumps once; reads to the end even after an error so no dump is left
 * half-read on the socket. */
static int
nft_dump_once(struct nft_ctx *ctx, struct nft_dump *d)
{
	uint32_t               seq = ctx->seq++;
	const struct nlmsghdr *nlh;
	ssize_t                n;
	int                    left;
	int                    err = nft_dump_send(ctx, seq);

	/* the socket's first dump: applies never needed the buffer */
	if (err == 0 && ctx->rbuf == NULL && (ctx->rbuf = malloc(NFT_RBUF_SIZE)) == NULL)
		err = -ENOMEM;
	while (err == 0 && !d->done) {
		n = nft_recv(ctx, ctx->rbuf, NFT_RBUF_SIZE);
		if (n < 0)
			return (int)n;
		nlh  = (const struct nlmsghdr *)ctx->rbuf;
		left = (int)n;
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
			nft_dump_msg(d, nlh, seq);
	}
	return err ? err : d->err;
}

chaos_err
nft_counters(struct nft_ctx *ctx, struct nft_counter *out, size_t cap, size_t *n_out,
             chaos_why *why)
{
	struct nft_dump d;
	int             err = -EINTR;

	if (ctx == NULL || n_out == NULL || (cap > 0 && out == NULL))
		return chaos_fail(why, CHAOS_EINVAL, "nft: counters: bad arguments");
	for (int i = 0; err == -EINTR && i < NFT_DUMP_RETRIES; i++) {
		d   = (struct nft_dump) {.ctx = ctx, .out = out, .cap = cap};
		err = nft_dump_once(ctx, &d);
	}
	if (err < 0) {
		log_warn("nft %s: counters: rule dump: %s", ctx->table, strerror(-err));
		return chaos_fail(why, chaos_err_from_errno(err), "rule dump: %s",
		                  strerror(-err));
	}
	*n_out = d.n;
	if (d.total > cap) {
		log_warn("nft %s: counters: %zu, room for %zu", ctx->table, d.total, cap);
		return chaos_fail(why, CHAOS_ETOOBIG, "%zu counters, room for %zu",
		                  d.total, cap);
	}
	return CHAOS_OK;
}
