// SPDX-License-Identifier: MIT
/*
 * The table's layout: which chains exist, and in each the exemptions first,
 * then one rule per fault and direction, each with a counter and a comment
 * "f<i> <kind> <in|out>" that nft_counters() reads back (nft_counter.c).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libnftnl/rule.h>
#include <linux/netfilter/nf_tables.h>

#include "agent/nft_int.h"

#define NFT_LOOPBACK_IFINDEX 1 /* lo is ifindex 1 in every namespace */

/* ---- chains ---- */

const struct nft_chain_def nft_chains[NFT_CHAIN_COUNT] = {
    [NFT_CHAIN_INPUT]   = {"input", "filter", NF_INET_LOCAL_IN, 0, true},
    [NFT_CHAIN_OUTPUT]  = {"output", "filter", NF_INET_LOCAL_OUT, 0, false},
    [NFT_CHAIN_NAT_PRE] = {"nat_prerouting", "nat", NF_INET_PRE_ROUTING, -100, true},
    [NFT_CHAIN_NAT_OUT] = {"nat_output", "nat", NF_INET_LOCAL_OUT, -100, false},
};

static const char *const nft_kind_names[] = {
    [NFT_FAULT_PARTITION] = "partition", [NFT_FAULT_REJECT] = "reject",
    [NFT_FAULT_BLACKHOLE] = "blackhole", [NFT_FAULT_LOSS] = "loss",
    [NFT_FAULT_REDIRECT] = "redirect",
};

#define NFT_KIND_COUNT (sizeof(nft_kind_names) / sizeof(nft_kind_names[0]))

const char *
nft_fault_kind_name(enum nft_fault_kind kind)
{
	if ((size_t)kind >= NFT_KIND_COUNT)
		return "unknown";
	return nft_kind_names[kind];
}

/* Whether fault f has a rule in chain c. */
static bool
nft_fault_uses_chain(const struct nft_fault *f, enum nft_chain_id c)
{
	bool in  = f->dir != NFT_DIR_OUT;
	bool out = f->dir != NFT_DIR_IN;

	switch (f->kind) {
	case NFT_FAULT_PARTITION:
	case NFT_FAULT_LOSS:
		return (c == NFT_CHAIN_INPUT && in) || (c == NFT_CHAIN_OUTPUT && out);
	case NFT_FAULT_REJECT:
	case NFT_FAULT_BLACKHOLE:
		/* one side only: BOTH is IN, see nft.h */
		return c == (f->dir == NFT_DIR_OUT ? NFT_CHAIN_OUTPUT : NFT_CHAIN_INPUT);
	case NFT_FAULT_REDIRECT:
		return (c == NFT_CHAIN_NAT_PRE && in) || (c == NFT_CHAIN_NAT_OUT && out);
	}
	return false;
}

bool
nft_chain_needed(const struct nft_ruleset *rs, enum nft_chain_id c)
{
	for (size_t i = 0; i < rs->n_faults; i++)
		if (nft_fault_uses_chain(&rs->faults[i], c))
			return true;
	return false;
}

/* ---- rules ---- */

size_t
nft_exempt_count(const struct nft_ruleset *rs, bool v6)
{
	size_t n = 0;

	for (size_t i = 0; i < rs->n_exempt; i++)
		n += nft_cidr_is_ipv6(rs->exempt[i]) == v6;
	return n;
}

static void
nft_set_names(uint32_t idx, char *peers, char *ports, size_t len)
{
	snprintf(peers, len, "f%u_peers", idx);
	snprintf(ports, len, "f%u_ports", idx);
}

static uint32_t
nft_set_id_peers(uint32_t idx)
{
	return 2 + 2 * idx;
}

static uint32_t
nft_set_id_ports(uint32_t idx)
{
	return 3 + 2 * idx;
}

static int
nft_rule_begin(struct nft_batch *b, struct nft_rb *rb, enum nft_chain_id c)
{
	rb->err  = 0;
	rb->rule = nftnl_rule_alloc();
	if (rb->rule == NULL)
		return -ENOMEM;
	if (nftnl_rule_set_str(rb->rule, NFTNL_RULE_TABLE, b->table) < 0 ||
	    nftnl_rule_set_str(rb->rule, NFTNL_RULE_CHAIN, nft_chains[c].name) < 0) {
		nftnl_rule_free(rb->rule);
		rb->rule = NULL;
		return -ENOMEM;
	}
	nftnl_rule_set_u32(rb->rule, NFTNL_RULE_FAMILY, NFT_FAMILY);
	return 0;
}

/* Serialises the rule and frees it, whatever happened. */
static int
nft_rule_end(struct nft_batch *b, struct nft_rb *rb, enum nft_chain_id c,
             const char *what)
{
	struct nlmsghdr *nlh;
	int              err = rb->err;

	if (err == 0) {
		nlh =
		    nft_batch_msg(b, NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND,
		                  NFT_MSG_ROOM, "rule %s (%s)", nft_chains[c].name, what);
		if (nlh != NULL) {
			nftnl_rule_nlmsg_build_payload(nlh, rb->rule);
			nft_batch_msg_end(b, nlh);
		}
		err = nlh ? 0 : -ENOMEM;
	}
	nftnl_rule_free(rb->rule);
	rb->rule = NULL;
	return err;
}

static int
nft_put_exempt_rules(struct nft_batch *b, const struct nft_ruleset *rs,
                     enum nft_chain_id c)
{
	struct nft_rb rb;
	uint32_t      lo  = NFT_LOOPBACK_IFINDEX;
	bool          ing = nft_chains[c].ingress;
	int           err = 0;

	if (!rs->fault_loopback) {
		if (nft_rule_begin(b, &rb, c) < 0)
			return -ENOMEM;
		nft_rb_meta(&rb, ing ? NFT_META_IIF : NFT_META_OIF);
		nft_rb_cmp(&rb, NFT_CMP_EQ, &lo, sizeof(lo));
		nft_rb_verdict(&rb, NF_ACCEPT);
		nft_rb_comment(&rb, "exempt loopback");
		err = nft_rule_end(b, &rb, c, "exempt loopback");
	}
	if (err == 0 && nft_exempt_count(rs, false) > 0) {
		if (nft_rule_begin(b, &rb, c) < 0)
			return -ENOMEM;
		nft_rb_addr_in_set(&rb, ing, "exempt", NFT_SET_ID_EXEMPT);
		nft_rb_verdict(&rb, NF_ACCEPT);
		nft_rb_comment(&rb, "exempt addresses");
		err = nft_rule_end(b, &rb, c, "exempt addresses");
	}
	if (err == 0 && nft_exempt_count(rs, true) > 0) {
		if (nft_rule_begin(b, &rb, c) < 0)
			return -ENOMEM;
		nft_rb_addr6_in_set(&rb, ing, "exempt6", NFT_SET_ID_EXEMPT6);
		nft_rb_verdict(&rb, NF_ACCEPT);
		nft_rb_comment(&rb, "exempt addresses ipv6");
		err = nft_rule_end(b, &rb, c, "exempt addresses ipv6");
	}
	return err;
}

/* The match part shared by partition, loss, reject and blackhole. */
static void
nft_rb_fault_match(struct nft_rb *rb, const struct nft_fault *f, uint32_t idx,
                   bool ingress)
{
	char    peers[32], ports[32];
	uint8_t proto = (uint8_t)f->proto;

	nft_set_names(idx, peers, ports, sizeof(peers));
	if (f->n_peers > 0)
		nft_rb_addr_in_set(rb, ingress, peers, nft_set_id_peers(idx));
	if ((f->kind == NFT_FAULT_REJECT || f->kind == NFT_FAULT_BLACKHOLE) &&
	    proto == NFT_L4_ANY)
		proto = NFT_L4_TCP;
	if (proto != NFT_L4_ANY)
		nft_rb_l4proto(rb, proto);
	if (f->n_ports > 0) {
		nft_rb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2); /* dport */
		nft_rb_lookup(rb, ports, nft_set_id_ports(idx));
	}
}

static void
nft_rb_redirect_rule(struct nft_rb *rb, const struct nft_fault *f, uint32_t idx,
                     bool ingress)
{
	char     peers[32], ports[32];
	uint16_t dport = htons(f->redirect_dport);
	uint32_t mark  = f->redirect_skip_mark;

	nft_set_names(idx, peers, ports, sizeof(peers));
	if (f->n_peers > 0)
		nft_rb_addr_in_set(rb, ingress, peers, nft_set_id_peers(idx));
	else
		nft_rb_ipv4_only(rb); /* the proxy listens on IPv4 */
	nft_rb_l4proto(rb, NFT_L4_TCP);
	nft_rb_payload(rb, NFT_PAYLOAD_TRANSPORT_HEADER, 2, 2);
	nft_rb_cmp(rb, NFT_CMP_EQ, &dport, sizeof(dport));
	if (mark != 0) {
		nft_rb_meta(rb, NFT_META_MARK);
		nft_rb_cmp(rb, NFT_CMP_NEQ, &mark, sizeof(mark));
	}
	nft_rb_counter(rb);
	nft_rb_redirect(rb, f->redirect_to_port);
}

static void
nft_rb_fault_action(struct nft_rb *rb, const struct nft_fault *f)
{
	if (f->kind == NFT_FAULT_LOSS)
		nft_rb_random_below(rb, f->loss_percent);
	nft_rb_counter(rb);
	if (f->kind != NFT_FAULT_REJECT)
		nft_rb_verdict(rb, NF_DROP);
	else if (f->proto == NFT_L4_UDP)
		nft_rb_reject(rb, NFT_REJECT_ICMPX_UNREACH,
		              NFT_REJECT_ICMPX_PORT_UNREACH);
	else
		nft_rb_reject(rb, NFT_REJECT_TCP_RST, 0);
}

static int
nft_put_fault_rule(struct nft_batch *b, const struct nft_fault *f, uint32_t idx,
                   enum nft_chain_id c)
{
	struct nft_rb rb;
	char          what[NFT_WHAT_LEN];
	bool          ing = nft_chains[c].ingress;

	if (nft_rule_begin(b, &rb, c) < 0)
		return -ENOMEM;
	if (f->kind == NFT_FAULT_REDIRECT) {
		nft_rb_redirect_rule(&rb, f, idx, ing);
	} else {
		nft_rb_fault_match(&rb, f, idx, ing);
		nft_rb_fault_action(&rb, f);
	}
	snprintf(what, sizeof(what), "f%u %s %s", idx, nft_fault_kind_name(f->kind),
	         ing ? "in" : "out");
	nft_rb_comment(&rb, what);
	return nft_rule_end(b, &rb, c, what);
}

int
nft_put_chain_and_rules(struct nft_batch *b, const struct nft_ruleset *rs,
                        enum nft_chain_id c)
{
	int err = nft_put_chain(b, c);

	if (err == 0)
		err = nft_put_exempt_rules(b, rs, c);
	for (size_t i = 0; err == 0 && i < rs->n_faults; i++)
		if (nft_fault_uses_chain(&rs->faults[i], c))
			err = nft_put_fault_rule(b, &rs->faults[i], (uint32_t)i, c);
	return err;
}

int
nft_put_fault_sets(struct nft_batch *b, const struct nft_fault *f, uint32_t idx)
{
	char peers[32], ports[32];
	int  err = 0;

	nft_set_names(idx, peers, ports, sizeof(peers));
	if (f->n_peers > 0)
		err = nft_put_cidr_set(b, peers, nft_set_id_peers(idx), f->peers,
		                       f->n_peers, false);
	if (err == 0 && f->n_ports > 0)
		err = nft_put_port_set(b, ports, nft_set_id_ports(idx), f->ports,
		                       f->n_ports);
	return err;
}

bool
nft_comment_parse(const char *s, struct nft_counter *c)
{
	char          kind[16], dir[4];
	unsigned long idx;
	char         *end;

	if (s == NULL || s[0] != 'f' || s[1] < '0' || s[1] > '9')
		return false;
	idx = strtoul(s + 1, &end, 10);
	if (idx >= NFT_MAX_FAULTS || sscanf(end, " %15s %3s", kind, dir) != 2)
		return false;
	if (strcmp(dir, "in") != 0 && strcmp(dir, "out") != 0)
		return false;
	c->fault = (uint32_t)idx;
	c->dir   = strcmp(dir, "in") == 0 ? NFT_DIR_IN : NFT_DIR_OUT;
	for (size_t k = 0; k < NFT_KIND_COUNT; k++) {
		if (strcmp(kind, nft_kind_names[k]) == 0) {
			c->kind = (enum nft_fault_kind)k;
			return true;
		}
	}
	return false;
}
