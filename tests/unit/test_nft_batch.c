// SPDX-License-Identifier: MIT
/*
 * Build-then-parse round trips of nft_build_batch(): no socket, no root.
 * Each batch is walked message by message and read back with libnftnl's own
 * parsers, then the objects are checked against what the kernel needs.
 */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include "agent/nft.h"
#include "common/err.h"

#define TABLE "chaos_test"
#define SEQ0 1000u
#define MAX_OBJS 256

struct elem {
	char     set[32];
	uint8_t  key[16];
	uint32_t len;
	uint32_t flags;
};

struct parsed {
	uint16_t            types[MAX_OBJS]; /* NFNL_MSG_TYPE of every message */
	bool                acked[MAX_OBJS]; /* asked for an ACK */
	size_t              n_msgs;
	struct nftnl_table *tables[4];
	uint16_t            table_ops[4];
	size_t              n_tables;
	struct nftnl_set   *sets[64];
	size_t              n_sets;
	struct elem        *elems;
	size_t              n_elems, cap_elems, n_elem_msgs;
	struct nftnl_chain *chains[8];
	size_t              n_chains;
	struct nftnl_rule  *rules[MAX_OBJS];
	size_t              n_rules;
	size_t              max_msg_len;
};

/* ---- walking a batch ---- */

static int
collect_elem(struct nftnl_set_elem *e, void *data)
{
	struct parsed *p = data;
	struct elem   *x;
	const void    *key;

	if (p->n_elems == p->cap_elems) {
		p->cap_elems = p->cap_elems ? 2 * p->cap_elems : 64;
		p->elems     = realloc(p->elems, p->cap_elems * sizeof(*p->elems));
		assert_non_null(p->elems);
	}
	x = &p->elems[p->n_elems++];
	memset(x, 0, sizeof(*x));
	key = nftnl_set_elem_get(e, NFTNL_SET_ELEM_KEY, &x->len);
	assert_non_null(key);
	assert_true(x->len <= sizeof(x->key));
	memcpy(x->key, key, x->len);
	if (nftnl_set_elem_is_set(e, NFTNL_SET_ELEM_FLAGS))
		x->flags = nftnl_set_elem_get_u32(e, NFTNL_SET_ELEM_FLAGS);
	return 0;
}

/*
 * libnftnl 1.2.4 numbers the element nests 1..n when it builds (the kernel
 * ignores the nest type) but its parser accepts only NFTA_LIST_ELEM, the type
 * the kernel uses in replies. Parse a copy with the types normalised.
 */
static struct nlmsghdr *
elems_normalised_copy(const struct nlmsghdr *nlh)
{
	struct nlmsghdr *copy = malloc(nlh->nlmsg_len);
	struct nlattr   *list, *elem;

	assert_non_null(copy);
	memcpy(copy, nlh, nlh->nlmsg_len);
	mnl_attr_for_each(list, copy, sizeof(struct nfgenmsg))
	{
		if (mnl_attr_get_type(list) != NFTA_SET_ELEM_LIST_ELEMENTS)
			continue;
		mnl_attr_for_each_nested(elem, list)
		{
			assert_true(mnl_attr_get_type(elem) >= NFTA_LIST_ELEM);
			elem->nla_type = (uint16_t)((elem->nla_type & ~NLA_TYPE_MASK) |
			                            NFTA_LIST_ELEM);
		}
	}
	return copy;
}

static void
parse_elems(struct parsed *p, const struct nlmsghdr *nlh)
{
	struct nftnl_set *s     = nftnl_set_alloc();
	struct nlmsghdr  *copy  = elems_normalised_copy(nlh);
	size_t            first = p->n_elems;

	assert_int_equal(nftnl_set_elems_nlmsg_parse(copy, s), 0);
	free(copy);
	nftnl_set_elem_foreach(s, collect_elem, p);
	for (size_t i = first; i < p->n_elems; i++)
		snprintf(p->elems[i].set, sizeof(p->elems[i].set), "%s",
		         nftnl_set_get_str(s, NFTNL_SET_NAME));
	assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_TABLE), TABLE);
	p->n_elem_msgs++;
	nftnl_set_free(s);
}

static void
parse_object(struct parsed *p, const struct nlmsghdr *nlh, uint16_t type)
{
	switch (type) {
	case NFT_MSG_NEWTABLE:
	case NFT_MSG_DELTABLE:
		p->table_ops[p->n_tables] = type;
		p->tables[p->n_tables]    = nftnl_table_alloc();
		assert_int_equal(nftnl_table_nlmsg_parse(nlh, p->tables[p->n_tables++]),
		                 0);
		break;
	case NFT_MSG_NEWSET:
		p->sets[p->n_sets] = nftnl_set_alloc();
		assert_int_equal(nftnl_set_nlmsg_parse(nlh, p->sets[p->n_sets++]), 0);
		break;
	case NFT_MSG_NEWSETELEM:
		parse_elems(p, nlh);
		break;
	case NFT_MSG_NEWCHAIN:
		p->chains[p->n_chains] = nftnl_chain_alloc();
		assert_int_equal(nftnl_chain_nlmsg_parse(nlh, p->chains[p->n_chains++]),
		                 0);
		break;
	case NFT_MSG_NEWRULE:
		p->rules[p->n_rules] = nftnl_rule_alloc();
		assert_int_equal(nftnl_rule_nlmsg_parse(nlh, p->rules[p->n_rules++]), 0);
		break;
	default:
		fail_msg("unexpected message type %u", type);
	}
}

/* Walks the batch: BEGIN, objects with consecutive seqs (the last one
 * alone with NLM_F_ACK), END; and parses every object. */
static void
parse_batch(const struct nft_batch *b, struct parsed *p)
{
	const struct nlmsghdr *nlh = nft_batch_data(b);
	int                    len = (int)nft_batch_len(b);
	uint32_t               seq = SEQ0;

	memset(p, 0, sizeof(*p));
	for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len), seq++) {
		uint16_t type = NFNL_MSG_TYPE(nlh->nlmsg_type);

		assert_true(p->n_msgs < MAX_OBJS);
		assert_int_equal(nlh->nlmsg_seq, seq);
		p->types[p->n_msgs++] = type;
		if (nlh->nlmsg_len > p->max_msg_len)
			p->max_msg_len = nlh->nlmsg_len;
		if (nlh->nlmsg_type == NFNL_MSG_BATCH_BEGIN ||
		    nlh->nlmsg_type == NFNL_MSG_BATCH_END)
			continue;
		assert_int_equal(NFNL_SUBSYS_ID(nlh->nlmsg_type), NFNL_SUBSYS_NFTABLES);
		p->acked[p->n_msgs - 1] = (nlh->nlmsg_flags & NLM_F_ACK) != 0;
		assert_int_equal(
		    ((const struct nfgenmsg *)mnl_nlmsg_get_payload(nlh))->nfgen_family,
		    NFPROTO_INET);
		parse_object(p, nlh, type);
	}
	assert_int_equal(len, 0);
	assert_true(p->n_msgs >= 2);
	assert_int_equal(p->types[0], NFNL_MSG_BATCH_BEGIN);
	assert_int_equal(p->types[p->n_msgs - 1], NFNL_MSG_BATCH_END);
	for (size_t i = 1; i + 1 < p->n_msgs; i++) /* errors come unasked: one ACK */
		assert_int_equal(p->acked[i], i + 2 == p->n_msgs);
}

static void
parsed_free(struct parsed *p)
{
	for (size_t i = 0; i < p->n_tables; i++)
		nftnl_table_free(p->tables[i]);
	for (size_t i = 0; i < p->n_sets; i++)
		nftnl_set_free(p->sets[i]);
	for (size_t i = 0; i < p->n_chains; i++)
		nftnl_chain_free(p->chains[i]);
	for (size_t i = 0; i < p->n_rules; i++)
		nftnl_rule_free(p->rules[i]);
	free(p->elems);
}

static void
build_and_parse(const struct nft_ruleset *rs, struct parsed *p)
{
	struct nft_batch *b = NULL;

	assert_int_equal(nft_build_batch(TABLE, rs, SEQ0, &b, NULL), CHAOS_OK);
	assert_non_null(b);
	parse_batch(b, p);
	nft_batch_free(b);
}

/* ---- looking things up ---- */

static const struct nftnl_chain *
find_chain(const struct parsed *p, const char *name)
{
	for (size_t i = 0; i < p->n_chains; i++)
		if (strcmp(nftnl_chain_get_str(p->chains[i], NFTNL_CHAIN_NAME), name) ==
		    0)
			return p->chains[i];
	return NULL;
}

static const struct nftnl_set *
find_set(const struct parsed *p, const char *name)
{
	for (size_t i = 0; i < p->n_sets; i++)
		if (strcmp(nftnl_set_get_str(p->sets[i], NFTNL_SET_NAME), name) == 0)
			return p->sets[i];
	return NULL;
}

/* The n-th rule (0-based) of chain, or NULL. */
static struct nftnl_rule *
chain_rule(const struct parsed *p, const char *chain, size_t n)
{
	for (size_t i = 0; i < p->n_rules; i++)
		if (strcmp(nftnl_rule_get_str(p->rules[i], NFTNL_RULE_CHAIN), chain) ==
		        0 &&
		    n-- == 0)
			return p->rules[i];
	return NULL;
}

static size_t
chain_rule_count(const struct parsed *p, const char *chain)
{
	size_t n = 0;

	while (chain_rule(p, chain, n) != NULL)
		n++;
	return n;
}

/* "meta cmp payload lookup counter immediate" */
static void
expr_names(struct nftnl_rule *r, char *buf, size_t len)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr      *e;
	size_t                  off = 0;

	buf[0] = '\0';
	while ((e = nftnl_expr_iter_next(it)) != NULL)
		off += (size_t)snprintf(buf + off, len - off, "%s%s", off ? " " : "",
		                        nftnl_expr_get_str(e, NFTNL_EXPR_NAME));
	nftnl_expr_iter_destroy(it);
}

static void
assert_exprs(struct nftnl_rule *r, const char *want)
{
	char got[256];

	assert_non_null(r);
	expr_names(r, got, sizeof(got));
	assert_string_equal(got, want);
}

/* The n-th expression named name (0-based) in r. */
static struct nftnl_expr *
find_expr(struct nftnl_rule *r, const char *name, int n)
{
	struct nftnl_expr_iter *it = nftnl_expr_iter_create(r);
	struct nftnl_expr      *e;

	while ((e = nftnl_expr_iter_next(it)) != NULL)
		if (strcmp(nftnl_expr_get_str(e, NFTNL_EXPR_NAME), name) == 0 && n-- == 0)
			break;
	nftnl_expr_iter_destroy(it);
	assert_non_null(e);
	return e;
}

static void
assert_cmp(struct nftnl_expr *e, uint32_t op, const void *data, uint32_t len)
{
	uint32_t    got_len = 0;
	const void *got     = nftnl_expr_get(e, NFTNL_EXPR_CMP_DATA, &got_len);

	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_CMP_OP), op);
	assert_int_equal(got_len, len);
	assert_memory_equal(got, data, len);
}

static void
assert_payload(struct nftnl_expr *e, uint32_t base, uint32_t offset, uint32_t len)
{
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_BASE), base);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_OFFSET), offset);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_LEN), len);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_PAYLOAD_DREG), NFT_REG_1);
}

static void
assert_verdict(struct nftnl_rule *r, int verdict)
{
	struct nftnl_expr *e = find_expr(r, "immediate", 0);

	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_DREG), NFT_REG_VERDICT);
	assert_int_equal((int)nftnl_expr_get_u32(e, NFTNL_EXPR_IMM_VERDICT), verdict);
}

static int
comment_cb(const struct nftnl_udata *attr, void *data)
{
	if (nftnl_udata_type(attr) == NFTNL_UDATA_RULE_COMMENT)
		*(const char **)data = nftnl_udata_get(attr);
	return 0;
}

static void
assert_comment(const struct nftnl_rule *r, const char *want)
{
	uint32_t    len = 0;
	const void *ud  = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
	const char *got = NULL;

	assert_non_null(ud);
	nftnl_udata_parse(ud, len, comment_cb, &got);
	assert_non_null(got);
	assert_string_equal(got, want);
}

static void
assert_chain(const struct parsed *p, const char *name, const char *type, uint32_t hook,
             int32_t prio)
{
	const struct nftnl_chain *c = find_chain(p, name);

	assert_non_null(c);
	assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_TABLE), TABLE);
	assert_string_equal(nftnl_chain_get_str(c, NFTNL_CHAIN_TYPE), type);
	assert_int_equal(nftnl_chain_get_u32(c, NFTNL_CHAIN_HOOKNUM), hook);
	assert_int_equal(nftnl_chain_get_s32(c, NFTNL_CHAIN_PRIO), prio);
	assert_int_equal(nftnl_chain_get_u32(c, NFTNL_CHAIN_POLICY), NF_ACCEPT);
}

/* Elements of set name as "a.b.c.d" / "a.b.c.d-end" (or IPv6) strings, in
 * order. */
static size_t
set_elems(const struct parsed *p, const char *set, char out[][56], size_t cap)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_elems && n < cap; i++) {
		const struct elem *e = &p->elems[i];
		char               a[INET6_ADDRSTRLEN];
		uint16_t           port;

		if (strcmp(e->set, set) != 0)
			continue;
		if (e->len == 2) {
			memcpy(&port, e->key, 2);
			snprintf(out[n++], 56, "%u", ntohs(port));
			continue;
		}
		inet_ntop(e->len == 16 ? AF_INET6 : AF_INET, e->key, a, sizeof(a));
		snprintf(out[n++], 56, "%s%s", a,
		         e->flags & NFT_SET_ELEM_INTERVAL_END ? "-end" : "");
	}
	return n;
}

static void
assert_elems(const struct parsed *p, const char *set, const char *const *want,
             size_t n_want)
{
	char   got[16][56];
	size_t n = set_elems(p, set, got, 16);

	assert_int_equal(n, n_want);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(got[i], want[i]);
}

/* The fault rule of a one-fault ruleset: after the loopback exemption. */
static struct nftnl_rule *
fault_rule(const struct parsed *p, const char *chain)
{
	assert_int_equal(chain_rule_count(p, chain), 2);
	return chain_rule(p, chain, 1);
}

/* The fault rule in chain (and no chain named absent, unless NULL), with
 * these expressions and this comment. */
static struct nftnl_rule *
assert_fault_rule(const struct parsed *p, const char *chain, const char *absent,
                  const char *exprs, const char *comment)
{
	struct nftnl_rule *r = fault_rule(p, chain);

	if (absent != NULL)
		assert_null(find_chain(p, absent));
	assert_exprs(r, exprs);
	assert_comment(r, comment);
	return r;
}

static void
assert_meta_key(struct nftnl_rule *r, int n, uint32_t key)
{
	assert_int_equal(nftnl_expr_get_u32(find_expr(r, "meta", n), NFTNL_EXPR_META_KEY),
	                 key);
}

static void
assert_lookup(struct nftnl_rule *r, int n, const char *set)
{
	struct nftnl_expr *e = find_expr(r, "lookup", n);

	assert_string_equal(nftnl_expr_get_str(e, NFTNL_EXPR_LOOKUP_SET), set);
	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_LOOKUP_SREG), NFT_REG_1);
}

static void
assert_reject(struct nftnl_rule *r, uint32_t type, uint8_t code)
{
	struct nftnl_expr *e = find_expr(r, "reject", 0);

	assert_int_equal(nftnl_expr_get_u32(e, NFTNL_EXPR_REJECT_TYPE), type);
	assert_int_equal(nftnl_expr_get_u8(e, NFTNL_EXPR_REJECT_CODE), code);
}

/* `meta l4proto proto` as the n-th meta and cmp of r. */
static void
assert_l4proto(struct nftnl_rule *r, int n, uint8_t proto)
{
	assert_meta_key(r, n, NFT_META_L4PROTO);
	assert_cmp(find_expr(r, "cmp", n), NFT_CMP_EQ, &proto, 1);
}

/* Builds the batch of a ruleset holding f alone, and parses it. */
static void
build_one(const struct nft_fault *f, struct parsed *p)
{
	build_and_parse(&(struct nft_ruleset) {.faults = f, .n_faults = 1}, p);
}

static const char *const peer_b[]    = {"10.232.0.2"};
static const uint16_t    port_5432[] = {5432};

/* A one-partition batch's peer set, element by element. */
static void
assert_partition_elems(const char *const *peers, size_t n, const char *const *want,
                       size_t n_want)
{
	struct nft_fault f = {.kind = NFT_FAULT_PARTITION, .peers = peers, .n_peers = n};
	struct parsed    p;

	build_one(&f, &p);
	assert_elems(&p, "f0_peers", want, n_want);
	parsed_free(&p);
}

/* ---- tests ---- */

static void
test_every_batch_recreates_the_table_with_the_owner_flag(void **state)
{
	struct nft_ruleset rs = {0};
	struct parsed      p;

	(void)state;
	build_and_parse(&rs, &p);
	assert_int_equal(p.n_msgs, 5); /* BEGIN, NEWTABLE, DELTABLE, NEWTABLE, END */
	assert_int_equal(p.n_tables, 3);
	assert_int_equal(p.table_ops[0], NFT_MSG_NEWTABLE);
	assert_int_equal(p.table_ops[1], NFT_MSG_DELTABLE);
	assert_int_equal(p.table_ops[2], NFT_MSG_NEWTABLE);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(nftnl_table_get_str(p.tables[i], NFTNL_TABLE_NAME),
		                    TABLE);
	assert_int_equal(nftnl_table_get_u32(p.tables[0], NFTNL_TABLE_FLAGS),
	                 NFT_TABLE_F_OWNER);
	assert_int_equal(nftnl_table_get_u32(p.tables[2], NFTNL_TABLE_FLAGS),
	                 NFT_TABLE_F_OWNER);
	assert_int_equal(p.n_chains + p.n_sets + p.n_rules, 0);
	parsed_free(&p);
}

static void
test_partition_both_ways_builds_input_and_output_drops(void **state)
{
	struct nft_fault f = {.kind = NFT_FAULT_PARTITION, .peers = peer_b, .n_peers = 1};
	static const char  addr_match[] = "meta cmp payload lookup counter immediate";
	struct parsed      p;
	struct nftnl_rule *in, *out, *lo_rule;
	uint8_t            ipv4 = NFPROTO_IPV4;
	uint32_t           lo   = 1;

	(void)state;
	build_one(&f, &p);
	assert_chain(&p, "input", "filter", NF_INET_LOCAL_IN, 0);
	assert_chain(&p, "output", "filter", NF_INET_LOCAL_OUT, 0);
	assert_int_equal(p.n_chains, 2);

	lo_rule = chain_rule(&p, "input", 0);
	assert_exprs(lo_rule, "meta cmp immediate");
	assert_meta_key(lo_rule, 0, NFT_META_IIF);
	assert_cmp(find_expr(lo_rule, "cmp", 0), NFT_CMP_EQ, &lo, 4);
	assert_verdict(lo_rule, NF_ACCEPT);

	in  = assert_fault_rule(&p, "input", NULL, addr_match, "f0 partition in");
	out = assert_fault_rule(&p, "output", NULL, addr_match, "f0 partition out");
	assert_meta_key(in, 0, NFT_META_NFPROTO);
	assert_cmp(find_expr(in, "cmp", 0), NFT_CMP_EQ, &ipv4, 1);
	assert_payload(find_expr(in, "payload", 0), NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
	assert_payload(find_expr(out, "payload", 0), NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
	assert_lookup(in, 0, "f0_peers");
	assert_verdict(in, NF_DROP);
	assert_verdict(out, NF_DROP);
	parsed_free(&p);
}

/* One direction: one chain, matching the source (in) or destination (out). */
static void
test_partition_one_direction_builds_one_chain(void **state)
{
	struct nft_fault f = {.kind    = NFT_FAULT_PARTITION,
	                      .dir     = NFT_DIR_IN,
	                      .peers   = peer_b,
	                      .n_peers = 1};
	struct parsed    p;

	(void)state;
	build_one(&f, &p);
	assert_non_null(find_chain(&p, "input"));
	assert_null(find_chain(&p, "output"));
	assert_payload(find_expr(fault_rule(&p, "input"), "payload", 0),
	               NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
	parsed_free(&p);

	f.dir = NFT_DIR_OUT;
	build_one(&f, &p);
	assert_null(find_chain(&p, "input"));
	assert_non_null(find_chain(&p, "output"));
	assert_meta_key(chain_rule(&p, "output", 0), 0, NFT_META_OIF);
	assert_payload(find_expr(fault_rule(&p, "output"), "payload", 0),
	               NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
	parsed_free(&p);
}

static void
test_partition_cidrs_become_start_and_exclusive_end_elements(void **state)
{
	static const char *const peers[] = {"192.168.1.5", "10.0.0.0/24"};
	static const char *const want[]  = {"0.0.0.0-end", "10.0.0.0", "10.0.1.0-end",
	                                    "192.168.1.5", "192.168.1.6-end"};
	struct nft_fault f = {.kind = NFT_FAULT_PARTITION, .peers = peers, .n_peers = 2};
	const struct nftnl_set *s;
	struct parsed           p;

	(void)state;
	build_one(&f, &p);
	s = find_set(&p, "f0_peers");
	assert_non_null(s);
	assert_string_equal(nftnl_set_get_str(s, NFTNL_SET_TABLE), TABLE);
	assert_true(nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_INTERVAL);
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), 4);
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_TYPE), 7);
	assert_int_equal(
	    nftnl_expr_get_u32(find_expr(fault_rule(&p, "input"), "lookup", 0),
	                       NFTNL_EXPR_LOOKUP_SET_ID),
	    nftnl_set_get_u32(s, NFTNL_SET_ID));
	assert_elems(&p, "f0_peers", want, 5);
	parsed_free(&p);
}

static void
test_partition_overlapping_and_duplicate_cidrs_are_merged(void **state)
{
	static const char *const peers[] = {"10.0.0.7", "10.0.1.0/24", "10.0.0.0/24",
	                                    "10.0.0.7", "10.5.6.7/16"};
	static const char *const want[]  = {"0.0.0.0-end", "10.0.0.0", "10.0.2.0-end",
	                                    "10.5.0.0", "10.6.0.0-end"};

	(void)state;
	assert_partition_elems(peers, 5, want, 5);
}

static void
test_partition_of_everything_is_one_open_ended_element(void **state)
{
	static const char *const peers[] = {"0.0.0.0/0"};
	static const char *const want[]  = {"0.0.0.0"};

	(void)state;
	assert_partition_elems(peers, 1, want, 1);
}

static void
test_partition_with_ports_matches_l4proto_and_dport_set(void **state)
{
	static const uint16_t    ports[] = {5432, 80, 5432};
	static const char *const want[]  = {"80", "5432"};
	struct nft_fault         f       = {.kind    = NFT_FAULT_PARTITION,
	                                    .peers   = peer_b,
	                                    .n_peers = 1,
	                                    .proto   = NFT_L4_TCP,
	                                    .ports   = ports,
	                                    .n_ports = 3};
	const struct nftnl_set  *s;
	struct nftnl_rule       *r;
	struct parsed            p;

	(void)state;
	build_one(&f, &p);
	s = find_set(&p, "f0_ports");
	assert_non_null(s);
	assert_int_equal(nftnl_set_get_u32(s, NFTNL_SET_KEY_LEN), 2);
	assert_false(nftnl_set_get_u32(s, NFTNL_SET_FLAGS) & NFT_SET_INTERVAL);
	assert_elems(&p, "f0_ports", want, 2);
	r = assert_fault_rule(
	    &p, "output", NULL,
	    "meta cmp payload lookup meta cmp payload lookup counter immediate",
	    "f0 partition out");
	assert_l4proto(r, 1, NFT_L4_TCP);
	assert_payload(find_expr(r, "payload", 1), NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	assert_lookup(r, 1, "f0_ports");
	parsed_free(&p);
}

static void
test_port_reject_builds_counted_tcp_reset_in_input_only(void **state)
{
	struct nft_fault f = {.kind = NFT_FAULT_REJECT, .ports = port_5432, .n_ports = 1};
	struct nftnl_rule *r;
	struct parsed      p;

	(void)state;
	build_one(&f, &p);
	/* no address match, so no ipv4 guard: refuses IPv6 clients too */
	r = assert_fault_rule(&p, "input", "output",
	                      "meta cmp payload lookup counter reject", "f0 reject in");
	assert_meta_key(r, 0, NFT_META_L4PROTO);
	assert_reject(r, NFT_REJECT_TCP_RST, 0);
	parsed_free(&p);
}

static void
test_udp_port_reject_sends_icmp_port_unreachable(void **state)
{
	static const uint16_t ports[] = {53};
	struct nft_fault      f       = {
	               .kind = NFT_FAULT_REJECT, .proto = NFT_L4_UDP, .ports = ports, .n_ports = 1};
	struct parsed p;

	(void)state;
	build_one(&f, &p);
	assert_l4proto(fault_rule(&p, "input"), 0, NFT_L4_UDP);
	assert_reject(fault_rule(&p, "input"), NFT_REJECT_ICMPX_UNREACH,
	              NFT_REJECT_ICMPX_PORT_UNREACH);
	parsed_free(&p);
}

static void
test_port_blackhole_builds_counted_drop_in_input(void **state)
{
	static const uint16_t ports[] = {5432, 6432};
	struct nft_fault      f       = {
	               .kind = NFT_FAULT_BLACKHOLE, .dir = NFT_DIR_IN, .ports = ports, .n_ports = 2};
	struct parsed p;

	(void)state;
	build_one(&f, &p);
	assert_verdict(assert_fault_rule(&p, "input", NULL,
	                                 "meta cmp payload lookup counter immediate",
	                                 "f0 blackhole in"),
	               NF_DROP);
	parsed_free(&p);
}

/* Client side: the SYN to peer:port is answered with a reset right in the
 * output hook, so the local client sees ECONNREFUSED; or dropped, so its SYNs
 * vanish. */
static void
test_egress_port_faults_match_peer_daddr_and_port_in_output_only(void **state)
{
	static const char *const want[] = {"0.0.0.0-end", "10.232.0.2", "10.232.0.3-end"};
	static const char  both[] = "meta cmp payload lookup meta cmp payload lookup ";
	struct nft_fault   f      = {.kind    = NFT_FAULT_REJECT,
	                             .dir     = NFT_DIR_OUT,
	                             .peers   = peer_b,
	                             .n_peers = 1,
	                             .ports   = port_5432,
	                             .n_ports = 1};
	struct nftnl_rule *r;
	struct parsed      p;
	char               exprs[96];

	(void)state;
	build_one(&f, &p);
	assert_chain(&p, "output", "filter", NF_INET_LOCAL_OUT, 0);
	snprintf(exprs, sizeof(exprs), "%scounter reject", both);
	r = assert_fault_rule(&p, "output", "input", exprs, "f0 reject out");
	assert_payload(find_expr(r, "payload", 0), NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
	assert_lookup(r, 0, "f0_peers");
	assert_l4proto(r, 1, NFT_L4_TCP);
	assert_payload(find_expr(r, "payload", 1), NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	assert_lookup(r, 1, "f0_ports");
	assert_reject(r, NFT_REJECT_TCP_RST, 0);
	assert_elems(&p, "f0_peers", want, 3);
	parsed_free(&p);

	f.kind = NFT_FAULT_BLACKHOLE;
	build_one(&f, &p);
	snprintf(exprs, sizeof(exprs), "%scounter immediate", both);
	assert_verdict(
	    assert_fault_rule(&p, "output", "input", exprs, "f0 blackhole out"), NF_DROP);
	parsed_free(&p);
}

/* The zero direction (BOTH) of a port fault stays what it always was:
 * ingress only, never a second rule on egress to the same port. */
static void
test_port_fault_both_direction_is_ingress_only(void **state)
{
	struct nft_fault f = {.kind    = NFT_FAULT_REJECT,
	                      .dir     = NFT_DIR_BOTH,
	                      .ports   = port_5432,
	                      .n_ports = 1};
	struct parsed    p;

	(void)state;
	build_one(&f, &p);
	assert_null(find_chain(&p, "output"));
	assert_comment(fault_rule(&p, "input"), "f0 reject in");
	parsed_free(&p);
}

static void
test_loss_builds_numgen_byteorder_cmp_lt(void **state)
{
	struct nft_fault f = {
	    .kind = NFT_FAULT_LOSS, .peers = peer_b, .n_peers = 1, .loss_percent = 30};
	struct nftnl_rule *r;
	struct nftnl_expr *ng, *bo;
	struct parsed      p;
	uint32_t           limit = htonl(30);

	(void)state;
	build_one(&f, &p);
	r = fault_rule(&p, "input");
	assert_exprs(r, "meta cmp payload lookup numgen byteorder cmp counter immediate");
	ng = find_expr(r, "numgen", 0);
	assert_int_equal(nftnl_expr_get_u32(ng, NFTNL_EXPR_NG_TYPE), NFT_NG_RANDOM);
	assert_int_equal(nftnl_expr_get_u32(ng, NFTNL_EXPR_NG_MODULUS), 100);
	assert_int_equal(nftnl_expr_get_u32(ng, NFTNL_EXPR_NG_DREG), NFT_REG_1);
	bo = find_expr(r, "byteorder", 0);
	assert_int_equal(nftnl_expr_get_u32(bo, NFTNL_EXPR_BYTEORDER_OP),
	                 NFT_BYTEORDER_HTON);
	assert_int_equal(nftnl_expr_get_u32(bo, NFTNL_EXPR_BYTEORDER_LEN), 4);
	assert_int_equal(nftnl_expr_get_u32(bo, NFTNL_EXPR_BYTEORDER_SIZE), 4);
	assert_cmp(find_expr(r, "cmp", 1), NFT_CMP_LT, &limit, 4);
	assert_verdict(r, NF_DROP);
	assert_non_null(fault_rule(&p, "output"));
	parsed_free(&p);
}

/* `tcp dport 5432 meta mark != mark redirect to :15001`, as in r. */
static void
assert_redirect(struct nftnl_rule *r, uint16_t dport, uint32_t mark, uint16_t to)
{
	struct nftnl_expr *imm = find_expr(r, "immediate", 0),
	                  *red = find_expr(r, "redir", 0);
	uint16_t dport_be = htons(dport), to_be = htons(to);
	uint32_t len = 0;

	assert_payload(find_expr(r, "payload", 0), NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	assert_cmp(find_expr(r, "cmp", 2), NFT_CMP_EQ, &dport_be, 2);
	assert_meta_key(r, 2, NFT_META_MARK);
	assert_cmp(find_expr(r, "cmp", 3), NFT_CMP_NEQ, &mark, 4);
	assert_int_equal(nftnl_expr_get_u32(imm, NFTNL_EXPR_IMM_DREG), NFT_REG_1);
	assert_memory_equal(nftnl_expr_get(imm, NFTNL_EXPR_IMM_DATA, &len), &to_be, 2);
	assert_int_equal(len, 2);
	assert_int_equal(nftnl_expr_get_u32(red, NFTNL_EXPR_REDIR_REG_PROTO_MIN),
	                 NFT_REG_1);
	assert_int_equal(nftnl_expr_get_u32(red, NFTNL_EXPR_REDIR_FLAGS),
	                 NF_NAT_RANGE_PROTO_SPECIFIED);
}

static void
test_redirect_builds_nat_prerouting_and_output_with_mark_exception(void **state)
{
	static const char exprs[] =
	    "meta cmp meta cmp payload cmp meta cmp counter immediate redir";
	struct nft_fault f = {.kind               = NFT_FAULT_REDIRECT,
	                      .redirect_dport     = 5432,
	                      .redirect_to_port   = 15001,
	                      .redirect_skip_mark = 0x6368};
	struct parsed    p;

	(void)state;
	build_one(&f, &p);
	assert_int_equal(p.n_chains, 2);
	assert_chain(&p, "nat_prerouting", "nat", NF_INET_PRE_ROUTING, -100);
	assert_chain(&p, "nat_output", "nat", NF_INET_LOCAL_OUT, -100);
	assert_redirect(
	    assert_fault_rule(&p, "nat_prerouting", NULL, exprs, "f0 redirect in"), 5432,
	    0x6368, 15001);
	assert_redirect(
	    assert_fault_rule(&p, "nat_output", NULL, exprs, "f0 redirect out"), 5432,
	    0x6368, 15001);
	parsed_free(&p);
}

static void
test_redirect_to_peers_matches_their_address(void **state)
{
	struct nft_fault   f = {.kind               = NFT_FAULT_REDIRECT,
	                        .dir                = NFT_DIR_OUT,
	                        .peers              = peer_b,
	                        .n_peers            = 1,
	                        .redirect_dport     = 80,
	                        .redirect_to_port   = 15001,
	                        .redirect_skip_mark = 7};
	struct nftnl_rule *r;
	struct parsed      p;

	(void)state;
	build_one(&f, &p);
	r = assert_fault_rule(&p, "nat_output", "nat_prerouting",
	                      "meta cmp payload lookup meta cmp payload cmp meta cmp "
	                      "counter immediate redir",
	                      "f0 redirect out");
	assert_payload(find_expr(r, "payload", 0), NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
	parsed_free(&p);
}

/* IPv4 then IPv6 (a controller reached over IPv6, in a set of its own):
 * accepted before every fault. */
static void
test_exempt_cidrs_are_accepted_before_faults(void **state)
{
	static const char *const exempt[] = {"10.9.9.9", "fd00::1", "10.8.0.0/16",
	                                     "fd00:0:0:1::/64", "fd00::"};
	static const char *const want[]   = {"0.0.0.0-end", "10.8.0.0", "10.9.0.0-end",
	                                     "10.9.9.9", "10.9.9.10-end"};
	static const char *const want6[]  = {"::-end", "fd00::", "fd00::2-end",
	                                     "fd00:0:0:1::", "fd00:0:0:2::-end"};
	struct nft_fault f = {.kind = NFT_FAULT_PARTITION, .peers = peer_b, .n_peers = 1};
	struct nft_ruleset rs = {
	    .faults = &f, .n_faults = 1, .exempt = exempt, .n_exempt = 5};
	struct nftnl_rule *r;
	struct parsed      p;
	uint8_t            ipv6 = NFPROTO_IPV6;

	(void)state;
	build_and_parse(&rs, &p);
	assert_elems(&p, "exempt", want, 5);
	assert_elems(&p, "exempt6", want6, 5);
	assert_int_equal(nftnl_set_get_u32(find_set(&p, "exempt6"), NFTNL_SET_KEY_LEN),
	                 16);
	assert_int_equal(chain_rule_count(&p, "input"), 4);
	assert_exprs(chain_rule(&p, "input", 0), "meta cmp immediate"); /* iif lo */
	r = chain_rule(&p, "input", 1);
	assert_exprs(r, "meta cmp payload lookup immediate");
	assert_payload(find_expr(r, "payload", 0), NFT_PAYLOAD_NETWORK_HEADER, 12, 4);
	assert_lookup(r, 0, "exempt");
	assert_verdict(r, NF_ACCEPT);
	assert_payload(find_expr(chain_rule(&p, "output", 1), "payload", 0),
	               NFT_PAYLOAD_NETWORK_HEADER, 16, 4);
	r = chain_rule(&p, "input", 2);
	assert_exprs(r, "meta cmp payload lookup immediate");
	assert_cmp(find_expr(r, "cmp", 0), NFT_CMP_EQ, &ipv6, 1);
	assert_payload(find_expr(r, "payload", 0), NFT_PAYLOAD_NETWORK_HEADER, 8, 16);
	assert_lookup(r, 0, "exempt6");
	assert_payload(find_expr(chain_rule(&p, "output", 2), "payload", 0),
	               NFT_PAYLOAD_NETWORK_HEADER, 24, 16);
	assert_comment(chain_rule(&p, "input", 3), "f0 partition in");
	parsed_free(&p);
}

static void
test_loopback_fault_drops_the_loopback_exemption(void **state)
{
	static const char *const lo[] = {"127.0.0.0/8"};
	struct nft_fault   f  = {.kind = NFT_FAULT_PARTITION, .peers = lo, .n_peers = 1};
	struct nft_ruleset rs = {.faults = &f, .n_faults = 1, .fault_loopback = true};
	struct parsed      p;

	(void)state;
	build_and_parse(&rs, &p);
	assert_int_equal(chain_rule_count(&p, "input"), 1);
	assert_comment(chain_rule(&p, "input", 0), "f0 partition in");
	parsed_free(&p);
}

static void
test_several_faults_share_one_batch_in_fault_order(void **state)
{
	struct nft_fault f[2] = {
	    {.kind = NFT_FAULT_PARTITION, .peers = peer_b, .n_peers = 1},
	    {.kind = NFT_FAULT_REJECT, .ports = port_5432, .n_ports = 1},
	};
	struct nft_ruleset rs = {.faults = f, .n_faults = 2};
	struct parsed      p;

	(void)state;
	build_and_parse(&rs, &p);
	assert_non_null(find_set(&p, "f0_peers"));
	assert_non_null(find_set(&p, "f1_ports"));
	assert_int_equal(chain_rule_count(&p, "input"), 3);
	assert_comment(chain_rule(&p, "input", 1), "f0 partition in");
	assert_comment(chain_rule(&p, "input", 2), "f1 reject in");
	assert_int_equal(chain_rule_count(&p, "output"), 2);
	/* sets come before the chains and rules that use them */
	assert_int_equal(p.types[4], NFT_MSG_NEWSET);
	parsed_free(&p);
}

static void
test_thousand_peers_split_elements_across_messages(void **state)
{
	static char        bufs[1000][20];
	static const char *peers[1000];
	struct nft_fault   f = {
	      .kind = NFT_FAULT_PARTITION, .peers = peers, .n_peers = 1000};
	struct parsed p;
	size_t        ends = 0;

	(void)state;
	for (int i = 0; i < 1000; i++) {
		snprintf(bufs[i], sizeof(bufs[i]), "10.%d.%d.1", 100 + i / 200, i % 200);
		peers[i] = bufs[i];
	}
	build_one(&f, &p);
	assert_int_equal(p.n_elems, 2001);
	assert_true(p.n_elem_msgs >= 2);
	assert_true(p.max_msg_len < 65536);
	for (size_t i = 0; i < p.n_elems; i++)
		ends += (p.elems[i].flags & NFT_SET_ELEM_INTERVAL_END) != 0;
	assert_int_equal(ends, 1001);
	parsed_free(&p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_batch_recreates_the_table_with_the_owner_flag),
	    cmocka_unit_test(test_partition_both_ways_builds_input_and_output_drops),
	    cmocka_unit_test(test_partition_one_direction_builds_one_chain),
	    cmocka_unit_test(
	        test_partition_cidrs_become_start_and_exclusive_end_elements),
	    cmocka_unit_test(test_partition_overlapping_and_duplicate_cidrs_are_merged),
	    cmocka_unit_test(test_partition_of_everything_is_one_open_ended_element),
	    cmocka_unit_test(test_partition_with_ports_matches_l4proto_and_dport_set),
	    cmocka_unit_test(test_port_reject_builds_counted_tcp_reset_in_input_only),
	    cmocka_unit_test(test_udp_port_reject_sends_icmp_port_unreachable),
	    cmocka_unit_test(test_port_blackhole_builds_counted_drop_in_input),
	    cmocka_unit_test(
	        test_egress_port_faults_match_peer_daddr_and_port_in_output_only),
	    cmocka_unit_test(test_port_fault_both_direction_is_ingress_only),
	    cmocka_unit_test(test_loss_builds_numgen_byteorder_cmp_lt),
	    cmocka_unit_test(
	        test_redirect_builds_nat_prerouting_and_output_with_mark_exception),
	    cmocka_unit_test(test_redirect_to_peers_matches_their_address),
	    cmocka_unit_test(test_exempt_cidrs_are_accepted_before_faults),
	    cmocka_unit_test(test_loopback_fault_drops_the_loopback_exemption),
	    cmocka_unit_test(test_several_faults_share_one_batch_in_fault_order),
	    cmocka_unit_test(test_thousand_peers_split_elements_across_messages),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
