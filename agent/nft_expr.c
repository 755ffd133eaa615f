// SPDX-License-Identifier: MIT
/*
 * Expression builders: each appends one or a few libnftnl expressions to
 * the rule being built, with a sticky error (see struct nft_rb).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>

#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/udata.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>

#include "agent/nft_int.h"

static struct nftnl_expr *
nft_rb_expr(struct nft_rb *rb, const char *name)
{
	struct nftnl_expr *e;

	if (rb->err)
		return NULL;
	e = nftnl_expr_alloc(name);
	if (e == NULL) {
		rb->err = -ENOMEM;
		return NULL;
	}
	nftnl_rule_add_expr(rb->rule, e); /* the rule owns e from here */
	return e;
}

void
nft_rb_meta(struct nft_rb *rb, uint32_t key)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "meta");

	if (e == NULL)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

void
nft_rb_cmp(struct nft_rb *rb, uint32_t op, const void *data, uint32_t len)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "cmp");

	if (e == NULL)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_SREG, NFT_REG_1);
	nftnl_expr_set_u32(e, NFTNL_EXPR_CMP_OP, op);
	if (nftnl_expr_set(e, NFTNL_EXPR_CMP_DATA, data, len) < 0)
		rb->err = -EINVAL;
}

void
nft_rb_payload(struct nft_rb *rb, uint32_t base, uint32_t offset, uint32_t len)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "payload");

	if (e == NULL)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_BASE, base);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET, offset);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_LEN, len);
	nftnl_expr_set_u32(e, NFTNL_EXPR_PAYLOAD_DREG, NFT_REG_1);
}

void
nft_rb_lookup(struct nft_rb *rb, const char *set, uint32_t set_id)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "lookup");

	if (e == NULL)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SREG, NFT_REG_1);
	if (nftnl_expr_set_str(e, NFTNL_EXPR_LOOKUP_SET, set) < 0)
		rb->err = -ENOMEM;
	nftnl_expr_set_u32(e, NFTNL_EXPR_LOOKUP_SET_ID, set_id);
}

void
nft_rb_counter(struct nft_rb *rb)
{
	nft_rb_expr(rb, "counter");
}

void
nft_rb_verdict(struct nft_rb *rb, int verdict)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "immediate");

	if (e == NULL)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
}

void
nft_rb_reject(struct nft_rb *rb, uint32_t type, uint8_t code)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "reject");

	if (e == NULL)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
	nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
}

/* The byteorder step makes the big-endian cmp LT compare numbers, not
 * little-endian bytes. */
void
nft_rb_random_below(struct nft_rb *rb, uint8_t percent)
{
	struct nftnl_expr *ng    = nft_rb_expr(rb, "numgen");
	struct nftnl_expr *bo    = nft_rb_expr(rb, "byteorder");
	uint32_t           limit = htonl(percent);

	if (ng == NULL || bo == NULL)
		return;
	nftnl_expr_set_u32(ng, NFTNL_EXPR_NG_DREG, NFT_REG_1);
	nftnl_expr_set_u32(ng, NFTNL_EXPR_NG_TYPE, NFT_NG_RANDOM);
	nftnl_expr_set_u32(ng, NFTNL_EXPR_NG_MODULUS, 100);
	nftnl_expr_set_u32(bo, NFTNL_EXPR_BYTEORDER_SREG, NFT_REG_1);
	nftnl_expr_set_u32(bo, NFTNL_EXPR_BYTEORDER_DREG, NFT_REG_1);
	nftnl_expr_set_u32(bo, NFTNL_EXPR_BYTEORDER_OP, NFT_BYTEORDER_HTON);
	nftnl_expr_set_u32(bo, NFTNL_EXPR_BYTEORDER_LEN, 4);
	nftnl_expr_set_u32(bo, NFTNL_EXPR_BYTEORDER_SIZE, 4);
	nft_rb_cmp(rb, NFT_CMP_LT, &limit, sizeof(limit));
}

void
nft_rb_redirect(struct nft_rb *rb, uint16_t port)
{
	struct nftnl_expr *imm = nft_rb_expr(rb, "immediate");
	struct nftnl_expr *red = nft_rb_expr(rb, "redir");
	uint16_t           be  = htons(port);

	if (imm == NULL || red == NULL)
		return;
	nftnl_expr_set_u32(imm, NFTNL_EXPR_IMM_DREG, NFT_REG_1);
	if (nftnl_expr_set(imm, NFTNL_EXPR_IMM_DATA, &be, sizeof(be)) < 0)
		rb->err = -EINVAL;
	nftnl_expr_set_u32(red, NFTNL_EXPR_REDIR_REG_PROTO_MIN, NFT_REG_1);
	nftnl_expr_set_u32(red, NFTNL_EXPR_REDIR_FLAGS, NF_NAT_RANGE_PROTO_SPECIFIED);
}

static void
nft_rb_nfproto(struct nft_rb *rb, uint8_t proto)
{
	nft_rb_meta(rb, NFT_META_NFPROTO);
	nft_rb_cmp(rb, NFT_CMP_EQ, &proto, sizeof(proto));
}

void
nft_rb_ipv4_only(struct nft_rb *rb)
{
	nft_rb_nfproto(rb, NFPROTO_IPV4);
}

void
nft_rb_addr_in_set(struct nft_rb *rb, bool saddr, const char *set, uint32_t set_id)
{
	nft_rb_ipv4_only(rb);
	nft_rb_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, saddr ? 12 : 16, 4);
	nft_rb_lookup(rb, set, set_id);
}

/* The IPv6 header's source address is at 8, its destination at 24. */
void
nft_rb_addr6_in_set(struct nft_rb *rb, bool saddr, const char *set, uint32_t set_id)
{
	nft_rb_nfproto(rb, NFPROTO_IPV6);
	nft_rb_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, saddr ? 8 : 24, 16);
	nft_rb_lookup(rb, set, set_id);
}

void
nft_rb_l4proto(struct nft_rb *rb, uint8_t proto)
{
	nft_rb_meta(rb, NFT_META_L4PROTO);
	nft_rb_cmp(rb, NFT_CMP_EQ, &proto, sizeof(proto));
}

void
nft_rb_comment(struct nft_rb *rb, const char *text)
{
	struct nftnl_udata_buf *u;

	if (rb->err)
		return;
	u = nftnl_udata_buf_alloc(NFTNL_UDATA_COMMENT_MAXLEN + 16);
	if (u == NULL) {
		rb->err = -ENOMEM;
		return;
	}
	if (!nftnl_udata_put_strz(u, NFTNL_UDATA_RULE_COMMENT, text) ||
	    nftnl_rule_set_data(rb->rule, NFTNL_RULE_USERDATA, nftnl_udata_buf_data(u),
	                        nftnl_udata_buf_len(u)) < 0)
		rb->err = -ENOMEM;
	nftnl_udata_buf_free(u);
}
