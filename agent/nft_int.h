/* SPDX-License-Identifier: MIT */
/*
 * Private to the nftables engine (agent/nft_*.c); callers use agent/nft.h.
 *
 * The layers, one file each:
 *   nft_check.c    the ruleset's checks and CIDR parsing (no libnftnl)
 *   nft_batch.c    the batch buffer, tables, sets, elements, chains, and
 *                  nft_build_batch() that puts them in order
 *   nft_expr.c     expression builders with a sticky error (struct nft_rb)
 *   nft_rule.c     the chains' layout and the rules of every fault
 *   nft_sock.c     the socket: sending a batch and reading every ACK
 *   nft_counter.c  the rule dump that reads the counters back
 *   nft_cache.c    built batches kept for the next commit of the same ruleset
 * Inside, functions return 0 or a negative errno (the netlink convention);
 * the public functions convert once to chaos_err and fill why.
 */
#ifndef CHAOS_AGENT_NFT_INT_H
#define CHAOS_AGENT_NFT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <linux/netfilter.h>
#include <linux/netlink.h>

#include "agent/nft.h"
#include "common/err.h"

struct nftnl_rule;

#define NFT_FAMILY NFPROTO_INET
#define NFT_MSG_ROOM 4096 /* room for any table, set, chain or rule */
#define NFT_WHAT_LEN 64
#define NFT_RBUF_SIZE 65536 /* > the 32 KiB a netlink dump skb may take */
/* An ACK is one small datagram (NETLINK_CAP_ACK: no copy of our message,
 * an error text at most): read on the stack, not into rbuf. */
#define NFT_ACK_BUF_SIZE 8192
#define NFT_SET_ID_EXEMPT 1
#define NFT_SET_ID_EXEMPT6 (2 + 2 * NFT_MAX_FAULTS) /* after the faults' sets */

/* ---- chains (nft_rule.c) ---- */

enum nft_chain_id {
	NFT_CHAIN_INPUT,
	NFT_CHAIN_OUTPUT,
	NFT_CHAIN_NAT_PRE,
	NFT_CHAIN_NAT_OUT,
	NFT_CHAIN_COUNT
};

struct nft_chain_def {
	const char *name;
	const char *type;
	uint32_t    hook;
	int32_t     prio;
	bool        ingress; /* matches source address and iif */
};

extern const struct nft_chain_def nft_chains[NFT_CHAIN_COUNT];

/* Whether some fault of rs has a rule in chain c. */
bool nft_chain_needed(const struct nft_ruleset *rs, enum nft_chain_id c);

/* ---- checks and CIDRs (nft_check.c) ---- */

/* An address range [start, end) in host byte order; end may be 2^32. */
struct nft_range {
	uint32_t start;
	uint64_t end;
};

/* An IPv6 range [start, end), big-endian bytes; end_max: it reaches 2^128
 * (end is then unused). */
struct nft_range6 {
	uint8_t start[16];
	uint8_t end[16];
	bool    end_max;
};

/* [A-Za-z0-9_-], 1..NFT_MAX_TABLE_NAME-1 characters. */
bool nft_table_name_ok(const char *name);

/* Parses "a.b.c.d" or "a.b.c.d/n", masking host bits. 0, -EINVAL, or
 * -EAFNOSUPPORT for an IPv6 address. */
int nft_cidr_parse(const char *s, struct nft_range *r);

/* Parses checked CIDRs into sorted, merged ranges (*out: free it). 0,
 * -ENOMEM or -EINVAL. */
int nft_ranges_build(const char *const *cidrs, size_t n, struct nft_range **out,
                     size_t *n_out);

/* Whether s is written as an IPv6 address (has a ':'). */
bool nft_cidr_is_ipv6(const char *s);

/* Parses "x::y" or "x::y/n" (n 0..128), masking host bits. 0, -EINVAL, or
 * -EAFNOSUPPORT for an IPv4 address. */
int nft_cidr6_parse(const char *s, struct nft_range6 *r);

/* nft_ranges_build() for IPv6 CIDRs. */
int nft_ranges6_build(const char *const *cidrs, size_t n, struct nft_range6 **out,
                      size_t *n_out);

/* ---- the batch (nft_batch.c) ---- */

struct nft_msg_info {
	uint32_t seq;
	char     what[NFT_WHAT_LEN];
};

struct nft_batch {
	char                *buf;
	size_t               len, cap;
	struct nft_msg_info *msgs; /* every message between BEGIN and END */
	size_t               n_msgs, cap_msgs;
	size_t               last_off; /* of the last one: the one with NLM_F_ACK */
	uint32_t             seq_begin, seq_next;
	char                 table[NFT_MAX_TABLE_NAME];
};

/* A batch holding BEGIN (sequence seq); NULL when out of memory. */
struct nft_batch *nft_batch_new(const char *table, uint32_t seq);

/* Appends END. 0 or -ENOMEM. */
int nft_batch_finish(struct nft_batch *b);

/* Starts a message of type with room bytes, described by fmt for error
 * messages; NULL when out of memory. nft_batch_finish() asks the last one
 * for an ACK. */
struct nlmsghdr *nft_batch_msg(struct nft_batch *b, uint16_t type, uint16_t flags,
                               size_t room, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Ends the message nft_batch_msg started. */
void nft_batch_msg_end(struct nft_batch *b, const struct nlmsghdr *nlh);

/* Description of the ACKed message with this seq; NULL for BEGIN, END and
 * anything not in the batch. */
const char *nft_batch_what(const struct nft_batch *b, uint32_t seq);

/* NEWTABLE (owned by the socket; excl: NLM_F_EXCL) or DELTABLE of b's
 * table. 0 or -ENOMEM. */
int nft_put_table(struct nft_batch *b, uint16_t type, bool excl);

/* nft_build_batch(); fresh: the first batch of a socket that made no table
 * yet (an exclusive NEWTABLE and the content, nothing replaced). */
chaos_err nft_build_batch_ex(const char *table, const struct nft_ruleset *rs,
                             uint32_t seq, bool fresh, struct nft_batch **out,
                             chaos_why *why);

/* A set and its elements: ipv4 (v6: ipv6) intervals from CIDRs, or
 * inet_service ports. 0, -ENOMEM or -EINVAL. */
int nft_put_cidr_set(struct nft_batch *b, const char *name, uint32_t id,
                     const char *const *cidrs, size_t n, bool v6);
int nft_put_port_set(struct nft_batch *b, const char *name, uint32_t id,
                     const uint16_t *ports, size_t n);

/* A base chain from nft_chains. 0 or -ENOMEM. */
int nft_put_chain(struct nft_batch *b, enum nft_chain_id id);

/* nft_build_batch_ex() through cache (NULL: a plain build); a hit is a
 * copy of the batch built for the same input earlier (nft_cache.c). */
chaos_err nft_cache_build(struct nft_cache *c, const char *table,
                          const struct nft_ruleset *rs, uint32_t seq, bool fresh,
                          struct nft_batch **out, chaos_why *why);

/* ---- expressions (nft_expr.c) ---- */

/* A rule being built; the first failure sticks in err (negative errno) and
 * the later calls do nothing, so a rule is written as a list of steps and
 * checked once at the end. */
struct nft_rb {
	struct nftnl_rule *rule;
	int                err;
};

void nft_rb_meta(struct nft_rb *rb, uint32_t key);
void nft_rb_cmp(struct nft_rb *rb, uint32_t op, const void *data, uint32_t len);
void nft_rb_payload(struct nft_rb *rb, uint32_t base, uint32_t offset, uint32_t len);
void nft_rb_lookup(struct nft_rb *rb, const char *set, uint32_t set_id);
void nft_rb_counter(struct nft_rb *rb);
void nft_rb_verdict(struct nft_rb *rb, int verdict);
void nft_rb_reject(struct nft_rb *rb, uint32_t type, uint8_t code);
/* `numgen random mod 100 < percent` */
void nft_rb_random_below(struct nft_rb *rb, uint8_t percent);
/* `redirect to :port` */
void nft_rb_redirect(struct nft_rb *rb, uint16_t port);
/* `meta nfproto ipv4` */
void nft_rb_ipv4_only(struct nft_rb *rb);
/* `ip saddr|daddr @set` */
void nft_rb_addr_in_set(struct nft_rb *rb, bool saddr, const char *set, uint32_t set_id);
/* `ip6 saddr|daddr @set` */
void nft_rb_addr6_in_set(struct nft_rb *rb, bool saddr, const char *set, uint32_t set_id);
/* `meta l4proto proto` */
void nft_rb_l4proto(struct nft_rb *rb, uint8_t proto);
void nft_rb_comment(struct nft_rb *rb, const char *text);

/* ---- rules (nft_rule.c) ---- */

/* How many of rs's exempt CIDRs are IPv6 (v6) or IPv4 (!v6). */
size_t nft_exempt_count(const struct nft_ruleset *rs, bool v6);

/* The sets of fault idx (peers, ports), when it has them. 0 or -errno. */
int nft_put_fault_sets(struct nft_batch *b, const struct nft_fault *f, uint32_t idx);

/* Chain c with its exemptions and the rules of every fault that uses it. */
int nft_put_chain_and_rules(struct nft_batch *b, const struct nft_ruleset *rs,
                            enum nft_chain_id c);

/* Parses a rule comment "f<idx> <kind> <in|out>" into c's fault, kind and
 * dir; false when it is not one of ours. */
bool nft_comment_parse(const char *s, struct nft_counter *c);

/* ---- the socket (nft_sock.c) ---- */

struct nft_ctx {
	struct mnl_socket *nl;
	uint32_t           portid;
	uint32_t           seq;
	int                sndbuf; /* what we last asked for, 0 = default */
	int                rcvbuf;
	char              *rbuf; /* NFT_RBUF_SIZE for dumps, made on first use */
	bool               fail_batch_level; /* last failure hit the whole batch */
	bool               fresh;            /* nft_open_socket: no table made yet */
	struct nft_cache  *cache; /* built batches shared with other contexts */
	char               table[NFT_MAX_TABLE_NAME];
};

/* Waits up to the ACK timeout and receives one datagram into buf (len
 * bytes). Its length, or -errno (-ETIMEDOUT, -ENOSPC when it did not fit). */
ssize_t nft_recv(struct nft_ctx *ctx, void *buf, size_t len);

#endif
