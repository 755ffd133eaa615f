// SPDX-License-Identifier: MIT
/*
 * nftables engine: validates a ruleset, builds it into one netlink batch
 * (libnftnl objects serialised into a flat buffer), sends it in one sendmsg
 * and reads back one ACK per message. Internals use negative errno; the
 * public functions convert to CHAOS_E* once.
 */
#include "agent/nft.h"

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/expr.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <libnftnl/udata.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_nat.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include "common/err.h"
#include "common/log.h"

#define NFT_FAMILY NFPROTO_INET
#define NFT_ELEMS_PER_MSG 1024 /* keeps the element nest far below 64 KiB */
#define NFT_ELEM_ROOM 48       /* generous bytes per serialised element */
#define NFT_MSG_ROOM 4096      /* room for any table, set, chain or rule */
#define NFT_WHAT_LEN 64
#define NFT_ACK_TIMEOUT_MS 5000
#define NFT_RBUF_SIZE 65536 /* > the 32 KiB a netlink dump skb may take */
#define NFT_DUMP_RETRIES 3
#define NFT_LOOPBACK_IFINDEX 1 /* lo is ifindex 1 in every namespace */
#define NFT_KEY_TYPE_IPV4 7    /* nft's ipv4_addr, for display only */
#define NFT_KEY_TYPE_PORT 13   /* nft's inet_service */
#define NFT_SET_ID_EXEMPT 1

/* ------------------------------------------------------------------ */
/* Chains                                                              */

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

static const struct nft_chain_def nft_chains[NFT_CHAIN_COUNT] = {
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

static bool
nft_chain_needed(const struct nft_ruleset *rs, enum nft_chain_id c)
{
	for (size_t i = 0; i < rs->n_faults; i++)
		if (nft_fault_uses_chain(&rs->faults[i], c))
			return true;
	return false;
}

/* ------------------------------------------------------------------ */
/* Input parsing and validation                                        */

/* An address range [start, end) in host byte order; end may be 2^32. */
struct nft_range {
	uint32_t start;
	uint64_t end;
};

static int
nft_prefix_parse(const char *s, unsigned int *out)
{
	unsigned int v = 0;
	size_t       n = strlen(s);

	if (n == 0 || n > 2)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (v > 32)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Parses "a.b.c.d" or "a.b.c.d/n"; host bits are masked off. */
static int
nft_cidr_parse(const char *s, struct nft_range *r)
{
	char           addr[INET_ADDRSTRLEN];
	const char    *slash;
	size_t         alen;
	unsigned int   prefix = 32;
	struct in_addr in;
	uint32_t       host, mask;

	if (s == NULL)
		return -EINVAL;
	if (strchr(s, ':') != NULL)
		return -EAFNOSUPPORT;
	slash = strchr(s, '/');
	alen  = slash ? (size_t)(slash - s) : strlen(s);
	if (alen == 0 || alen >= sizeof(addr))
		return -EINVAL;
	memcpy(addr, s, alen);
	addr[alen] = '\0';
	if (inet_pton(AF_INET, addr, &in) != 1)
		return -EINVAL;
	if (slash && nft_prefix_parse(slash + 1, &prefix) < 0)
		return -EINVAL;
	host     = ntohl(in.s_addr);
	mask     = prefix ? 0xffffffffu << (32 - prefix) : 0;
	r->start = host & mask;
	r->end   = (uint64_t)r->start + ((uint64_t)1 << (32 - prefix));
	return 0;
}

static int
nft_cidrs_check(const char *const *cidrs, size_t n, const char *what, size_t idx)
{
	struct nft_range r;
	int              err;

	if (n > NFT_MAX_PEERS || (n > 0 && cidrs == NULL)) {
		log_warn("nft: %s %zu: %zu addresses (max %d)", what, idx, n,
		         NFT_MAX_PEERS);
		return -EINVAL;
	}
	for (size_t i = 0; i < n; i++) {
		err = nft_cidr_parse(cidrs[i], &r);
		if (err == -EAFNOSUPPORT) {
			log_warn("nft: %s %zu: IPv6 \"%.64s\" not supported yet", what,
			         idx, cidrs[i]);
			return err;
		}
		if (err < 0) {
			log_warn("nft: %s %zu: bad CIDR \"%.64s\"", what, idx,
			         cidrs[i] ? cidrs[i] : "(null)");
			return err;
		}
	}
	return 0;
}

static int
nft_ports_check(const struct nft_fault *f, size_t idx)
{
	if (f->n_ports > NFT_MAX_PORTS || (f->n_ports > 0 && f->ports == NULL)) {
		log_warn("nft: fault %zu: %zu ports (max %d)", idx, f->n_ports,
		         NFT_MAX_PORTS);
		return -EINVAL;
	}
	for (size_t i = 0; i < f->n_ports; i++) {
		if (f->ports[i] == 0) {
			log_warn("nft: fault %zu: port 0", idx);
			return -EINVAL;
		}
	}
	return 0;
}

static int
nft_fault_fail(size_t idx, const char *why)
{
	log_warn("nft: fault %zu: %s", idx, why);
	return -EINVAL;
}

/* Checks the fields that depend on the fault kind. */
static int
nft_fault_kind_check(const struct nft_fault *f, size_t idx)
{
	switch (f->kind) {
	case NFT_FAULT_LOSS:
		if (f->loss_percent == 0 || f->loss_percent > 100)
			return nft_fault_fail(idx, "loss percent must be 1..100");
		/* fall through */
	case NFT_FAULT_PARTITION:
		if (f->n_peers == 0)
			return nft_fault_fail(idx, "needs at least one peer");
		if (f->n_ports > 0 && f->proto == NFT_L4_ANY)
			return nft_fault_fail(idx, "ports need proto tcp or udp");
		return 0;
	case NFT_FAULT_REJECT:
	case NFT_FAULT_BLACKHOLE:
		if (f->n_ports == 0)
			return nft_fault_fail(idx, "needs at least one port");
		if (f->dir == NFT_DIR_OUT && f->n_peers == 0)
			return nft_fault_fail(idx, "an egress port fault needs peers");
		return 0;
	case NFT_FAULT_REDIRECT:
		if (f->redirect_dport == 0 || f->redirect_to_port == 0)
			return nft_fault_fail(idx, "redirect needs dport and to_port");
		if (f->n_ports > 0 || f->proto == NFT_L4_UDP)
			return nft_fault_fail(idx,
			                      "redirect is TCP to redirect_dport only");
		if (f->dir != NFT_DIR_IN && f->redirect_skip_mark == 0)
			return nft_fault_fail(idx, "output redirect needs a skip mark");
		return 0;
	}
	return nft_fault_fail(idx, "unknown kind");
}

static int
nft_fault_check(const struct nft_fault *f, size_t idx)
{
	int err;

	if (f->dir != NFT_DIR_BOTH && f->dir != NFT_DIR_IN && f->dir != NFT_DIR_OUT)
		return nft_fault_fail(idx, "bad direction");
	if (f->proto != NFT_L4_ANY && f->proto != NFT_L4_TCP && f->proto != NFT_L4_UDP)
		return nft_fault_fail(idx, "bad proto");
	err = nft_cidrs_check(f->peers, f->n_peers, "fault", idx);
	if (err < 0)
		return err;
	err = nft_ports_check(f, idx);
	if (err < 0)
		return err;
	return nft_fault_kind_check(f, idx);
}

static int
nft_ruleset_check_errno(const struct nft_ruleset *rs)
{
	int err;

	if (rs == NULL || rs->n_faults > NFT_MAX_FAULTS ||
	    (rs->n_faults && !rs->faults)) {
		log_warn("nft: bad ruleset (%zu faults, max %d)", rs ? rs->n_faults : 0,
		         NFT_MAX_FAULTS);
		return -EINVAL;
	}
	err = nft_cidrs_check(rs->exempt, rs->n_exempt, "exempt list", 0);
	for (size_t i = 0; err == 0 && i < rs->n_faults; i++)
		err = nft_fault_check(&rs->faults[i], i);
	return err;
}

int
nft_ruleset_check(const struct nft_ruleset *rs)
{
	return chaos_err_from_errno(nft_ruleset_check_errno(rs));
}

static bool
nft_table_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;

	if (n == 0 || n >= NFT_MAX_TABLE_NAME)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '-'))
			return false;
	}
	return true;
}

static int
nft_range_cmp(const void *a, const void *b)
{
	const struct nft_range *x = a, *y = b;

	return (x->start > y->start) - (x->start < y->start);
}

/* Parses CIDRs (already checked) into sorted, merged ranges. */
static int
nft_ranges_build(const char *const *cidrs, size_t n, struct nft_range **out,
                 size_t *n_out)
{
	struct nft_range *v;
	size_t            m = 0;

	v = calloc(n ? n : 1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (nft_cidr_parse(cidrs[i], &v[i]) < 0) {
			free(v);
			return -EINVAL;
		}
	qsort(v, n, sizeof(*v), nft_range_cmp);
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && v[i].start <= v[m - 1].end) {
			if (v[i].end > v[m - 1].end)
				v[m - 1].end = v[i].end;
			continue;
		}
		v[m++] = v[i];
	}
	*out   = v;
	*n_out = m;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Batch buffer                                                        */

struct nft_msg_info {
	uint32_t seq;
	char     what[NFT_WHAT_LEN];
};

struct nft_batch {
	char                *buf;
	size_t               len, cap;
	struct nft_msg_info *msgs; /* every message sent with NLM_F_ACK */
	size_t               n_msgs, cap_msgs;
	uint32_t             seq_begin, seq_next;
	char                 table[NFT_MAX_TABLE_NAME];
};

static int
nft_batch_reserve(struct nft_batch *b, size_t room)
{
	size_t cap = b->cap ? b->cap : 16384;
	char  *p;

	if (b->len + room > b->cap) {
		while (cap < b->len + room)
			cap *= 2;
		p = realloc(b->buf, cap);
		if (p == NULL)
			return -ENOMEM;
		b->buf = p;
		b->cap = cap;
	}
	/* libnftnl writes without bounds checks: room is an upper bound */
	memset(b->buf + b->len, 0, room);
	return 0;
}

static int
nft_batch_note(struct nft_batch *b, uint32_t seq, const char *fmt, va_list ap)
{
	struct nft_msg_info *m;

	if (b->n_msgs == b->cap_msgs) {
		size_t cap = b->cap_msgs ? b->cap_msgs * 2 : 32;
		m          = realloc(b->msgs, cap * sizeof(*m));
		if (m == NULL)
			return -ENOMEM;
		b->msgs     = m;
		b->cap_msgs = cap;
	}
	m      = &b->msgs[b->n_msgs++];
	m->seq = seq;
	vsnprintf(m->what, sizeof(m->what), fmt, ap);
	return 0;
}

/* Starts an ACKed message of type with room bytes; returns NULL on ENOMEM. */
__attribute__((format(printf, 5, 6))) static struct nlmsghdr *
nft_batch_msg(struct nft_batch *b, uint16_t type, uint16_t flags, size_t room,
              const char *fmt, ...)
{
	uint32_t seq = b->seq_next;
	va_list  ap;
	int      err;

	if (nft_batch_reserve(b, room) < 0)
		return NULL;
	va_start(ap, fmt);
	err = nft_batch_note(b, seq, fmt, ap);
	va_end(ap);
	if (err < 0)
		return NULL;
	b->seq_next++;
	return nftnl_nlmsg_build_hdr(b->buf + b->len, type, NFT_FAMILY, flags | NLM_F_ACK,
	                             seq);
}

static void
nft_batch_msg_end(struct nft_batch *b, const struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static struct nft_batch *
nft_batch_new(const char *table, uint32_t seq)
{
	struct nft_batch *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return NULL;
	snprintf(b->table, sizeof(b->table), "%s", table);
	b->seq_begin = seq;
	b->seq_next  = seq + 1;
	if (nft_batch_reserve(b, NFT_MSG_ROOM) < 0) {
		free(b);
		return NULL;
	}
	b->len += NLMSG_ALIGN(nftnl_batch_begin(b->buf, seq)->nlmsg_len);
	return b;
}

static int
nft_batch_finish(struct nft_batch *b)
{
	if (nft_batch_reserve(b, NFT_MSG_ROOM) < 0)
		return -ENOMEM;
	b->len += NLMSG_ALIGN(nftnl_batch_end(b->buf + b->len, b->seq_next++)->nlmsg_len);
	return 0;
}

void
nft_batch_free(struct nft_batch *b)
{
	if (b == NULL)
		return;
	free(b->buf);
	free(b->msgs);
	free(b);
}

const void *
nft_batch_data(const struct nft_batch *b)
{
	return b->buf;
}

size_t
nft_batch_len(const struct nft_batch *b)
{
	return b->len;
}

/* Description of the ACKed message with this seq, or NULL. */
static const char *
nft_batch_what(const struct nft_batch *b, uint32_t seq)
{
	uint32_t i = seq - (b->seq_begin + 1);

	if (i >= b->n_msgs || b->msgs[i].seq != seq)
		return NULL;
	return b->msgs[i].what;
}

/* ------------------------------------------------------------------ */
/* Tables, sets, elements, chains                                      */

/* NEWTABLE (owner) or DELTABLE. */
static int
nft_put_table(struct nft_batch *b, uint16_t type)
{
	struct nftnl_table *t = nftnl_table_alloc();
	struct nlmsghdr    *nlh;
	bool                add = type == NFT_MSG_NEWTABLE;

	if (t == NULL)
		return -ENOMEM;
	if (nftnl_table_set_str(t, NFTNL_TABLE_NAME, b->table) < 0) {
		nftnl_table_free(t);
		return -ENOMEM;
	}
	if (add)
		nftnl_table_set_u32(t, NFTNL_TABLE_FLAGS, NFT_TABLE_F_OWNER);
	nlh = nft_batch_msg(b, type, add ? NLM_F_CREATE : 0, NFT_MSG_ROOM, "%s table %s",
	                    add ? "add" : "delete", b->table);
	if (nlh != NULL) {
		nftnl_table_nlmsg_build_payload(nlh, t);
		nft_batch_msg_end(b, nlh);
	}
	nftnl_table_free(t);
	return nlh ? 0 : -ENOMEM;
}

static struct nftnl_set *
nft_set_new(const struct nft_batch *b, const char *name, uint32_t id)
{
	struct nftnl_set *s = nftnl_set_alloc();

	if (s == NULL)
		return NULL;
	if (nftnl_set_set_str(s, NFTNL_SET_TABLE, b->table) < 0 ||
	    nftnl_set_set_str(s, NFTNL_SET_NAME, name) < 0) {
		nftnl_set_free(s);
		return NULL;
	}
	nftnl_set_set_u32(s, NFTNL_SET_FAMILY, NFT_FAMILY);
	nftnl_set_set_u32(s, NFTNL_SET_ID, id);
	return s;
}

static int
nft_put_set(struct nft_batch *b, const char *name, uint32_t id, bool interval)
{
	struct nftnl_set *s = nft_set_new(b, name, id);
	struct nlmsghdr  *nlh;

	if (s == NULL)
		return -ENOMEM;
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, interval ? 4 : 2);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE,
	                  interval ? NFT_KEY_TYPE_IPV4 : NFT_KEY_TYPE_PORT);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS, interval ? NFT_SET_INTERVAL : 0);
	nlh =
	    nft_batch_msg(b, NFT_MSG_NEWSET, NLM_F_CREATE, NFT_MSG_ROOM, "set %s", name);
	if (nlh != NULL) {
		nftnl_set_nlmsg_build_payload(nlh, s);
		nft_batch_msg_end(b, nlh);
	}
	nftnl_set_free(s);
	return nlh ? 0 : -ENOMEM;
}

/* A set element key in network byte order (first key_len bytes used). */
struct nft_elem {
	uint32_t key;
	uint32_t flags;
};

static int
nft_put_elems_chunk(struct nft_batch *b, const char *name, uint32_t id,
                    const struct nft_elem *e, size_t n, uint32_t key_len, size_t first)
{
	struct nftnl_set      *s = nft_set_new(b, name, id);
	struct nftnl_set_elem *se;
	struct nlmsghdr       *nlh = NULL;

	if (s == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		se = nftnl_set_elem_alloc();
		if (se == NULL)
			goto out;
		if (nftnl_set_elem_set(se, NFTNL_SET_ELEM_KEY, &e[i].key, key_len) < 0) {
			nftnl_set_elem_free(se);
			goto out;
		}
		if (e[i].flags)
			nftnl_set_elem_set_u32(se, NFTNL_SET_ELEM_FLAGS, e[i].flags);
		nftnl_set_elem_add(s, se);
	}
	nlh = nft_batch_msg(b, NFT_MSG_NEWSETELEM, NLM_F_CREATE,
	                    NFT_MSG_ROOM + n * NFT_ELEM_ROOM, "elements %s[%zu..%zu]",
	                    name, first, first + n - 1);
	if (nlh != NULL) {
		nftnl_set_elems_nlmsg_build_payload(nlh, s);
		nft_batch_msg_end(b, nlh);
	}
out:
	nftnl_set_free(s);
	return nlh ? 0 : -ENOMEM;
}

static int
nft_put_elems(struct nft_batch *b, const char *name, uint32_t id,
              const struct nft_elem *e, size_t n, uint32_t key_len)
{
	int err = 0;

	for (size_t i = 0; err == 0 && i < n; i += NFT_ELEMS_PER_MSG) {
		size_t chunk = n - i < NFT_ELEMS_PER_MSG ? n - i : NFT_ELEMS_PER_MSG;
		err          = nft_put_elems_chunk(b, name, id, e + i, chunk, key_len, i);
	}
	return err;
}

/*
 * Interval set elements: each range is its start and, flagged INTERVAL_END,
 * the first address after it (omitted when the range reaches 2^32). Like
 * nft, a leading 0.0.0.0 end element closes the gap below the first range,
 * which older kernels' rbtree sets need.
 */
static size_t
nft_ranges_to_elems(const struct nft_range *r, size_t n, struct nft_elem *e)
{
	size_t k = 0;

	if (n > 0 && r[0].start != 0)
		e[k++] = (struct nft_elem) {htonl(0), NFT_SET_ELEM_INTERVAL_END};
	for (size_t i = 0; i < n; i++) {
		e[k++] = (struct nft_elem) {htonl(r[i].start), 0};
		if (r[i].end <= UINT32_MAX)
			e[k++] = (struct nft_elem) {htonl((uint32_t)r[i].end),
			                            NFT_SET_ELEM_INTERVAL_END};
	}
	return k;
}

static int
nft_put_cidr_set(struct nft_batch *b, const char *name, uint32_t id,
                 const char *const *cidrs, size_t n)
{
	struct nft_range *r = NULL;
	struct nft_elem  *e = NULL;
	size_t            nr, ne;
	int               err;

	err = nft_ranges_build(cidrs, n, &r, &nr);
	if (err < 0)
		goto out;
	err = -ENOMEM;
	e   = calloc(2 * nr + 1, sizeof(*e));
	if (e == NULL)
		goto out;
	ne  = nft_ranges_to_elems(r, nr, e);
	err = nft_put_set(b, name, id, true);
	if (err == 0)
		err = nft_put_elems(b, name, id, e, ne, 4);
out:
	free(e);
	free(r);
	return err;
}

static int
nft_port_cmp(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

	return (x > y) - (x < y);
}

static int
nft_put_port_set(struct nft_batch *b, const char *name, uint32_t id,
                 const uint16_t *ports, size_t n)
{
	uint16_t        sorted[NFT_MAX_PORTS];
	struct nft_elem e[NFT_MAX_PORTS];
	size_t          m = 0;
	int             err;

	memcpy(sorted, ports, n * sizeof(*ports));
	qsort(sorted, n, sizeof(*sorted), nft_port_cmp);
	for (size_t i = 0; i < n; i++) {
		uint16_t be = htons(sorted[i]);
		if (i > 0 && sorted[i] == sorted[i - 1])
			continue;
		e[m] = (struct nft_elem) {0, 0};
		memcpy(&e[m++].key, &be, sizeof(be));
	}
	err = nft_put_set(b, name, id, false);
	if (err == 0)
		err = nft_put_elems(b, name, id, e, m, 2);
	return err;
}

static int
nft_put_chain(struct nft_batch *b, enum nft_chain_id id)
{
	const struct nft_chain_def *d = &nft_chains[id];
	struct nftnl_chain         *c = nftnl_chain_alloc();
	struct nlmsghdr            *nlh;

	if (c == NULL)
		return -ENOMEM;
	if (nftnl_chain_set_str(c, NFTNL_CHAIN_TABLE, b->table) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_NAME, d->name) < 0 ||
	    nftnl_chain_set_str(c, NFTNL_CHAIN_TYPE, d->type) < 0) {
		nftnl_chain_free(c);
		return -ENOMEM;
	}
	nftnl_chain_set_u32(c, NFTNL_CHAIN_HOOKNUM, d->hook);
	nftnl_chain_set_s32(c, NFTNL_CHAIN_PRIO, d->prio);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_POLICY, NF_ACCEPT);
	nftnl_chain_set_u32(c, NFTNL_CHAIN_FAMILY, NFT_FAMILY);
	nlh = nft_batch_msg(b, NFT_MSG_NEWCHAIN, NLM_F_CREATE, NFT_MSG_ROOM, "chain %s",
	                    d->name);
	if (nlh != NULL) {
		nftnl_chain_nlmsg_build_payload(nlh, c);
		nft_batch_msg_end(b, nlh);
	}
	nftnl_chain_free(c);
	return nlh ? 0 : -ENOMEM;
}

/* ------------------------------------------------------------------ */
/* Rule builder: expression helpers with a sticky error                */

struct nft_rb {
	struct nftnl_rule *rule;
	int                err;
};

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

static void
nft_rb_meta(struct nft_rb *rb, uint32_t key)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "meta");

	if (e == NULL)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_KEY, key);
	nftnl_expr_set_u32(e, NFTNL_EXPR_META_DREG, NFT_REG_1);
}

static void
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

static void
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

static void
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

static void
nft_rb_counter(struct nft_rb *rb)
{
	nft_rb_expr(rb, "counter");
}

static void
nft_rb_verdict(struct nft_rb *rb, int verdict)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "immediate");

	if (e == NULL)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_DREG, NFT_REG_VERDICT);
	nftnl_expr_set_u32(e, NFTNL_EXPR_IMM_VERDICT, (uint32_t)verdict);
}

static void
nft_rb_reject(struct nft_rb *rb, uint32_t type, uint8_t code)
{
	struct nftnl_expr *e = nft_rb_expr(rb, "reject");

	if (e == NULL)
		return;
	nftnl_expr_set_u32(e, NFTNL_EXPR_REJECT_TYPE, type);
	nftnl_expr_set_u8(e, NFTNL_EXPR_REJECT_CODE, code);
}

/* `numgen random mod 100 < percent`: the byteorder step makes the
 * big-endian cmp LT compare numbers, not little-endian bytes. */
static void
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

static void
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
nft_rb_ipv4_only(struct nft_rb *rb)
{
	uint8_t proto = NFPROTO_IPV4;

	nft_rb_meta(rb, NFT_META_NFPROTO);
	nft_rb_cmp(rb, NFT_CMP_EQ, &proto, sizeof(proto));
}

/* ipv4 and (saddr or daddr) in @set. */
static void
nft_rb_addr_in_set(struct nft_rb *rb, bool saddr, const char *set, uint32_t set_id)
{
	nft_rb_ipv4_only(rb);
	nft_rb_payload(rb, NFT_PAYLOAD_NETWORK_HEADER, saddr ? 12 : 16, 4);
	nft_rb_lookup(rb, set, set_id);
}

static void
nft_rb_l4proto(struct nft_rb *rb, uint8_t proto)
{
	nft_rb_meta(rb, NFT_META_L4PROTO);
	nft_rb_cmp(rb, NFT_CMP_EQ, &proto, sizeof(proto));
}

static void
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

/* ------------------------------------------------------------------ */
/* Rules                                                               */

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
	if (err == 0 && rs->n_exempt > 0) {
		if (nft_rule_begin(b, &rb, c) < 0)
			return -ENOMEM;
		nft_rb_addr_in_set(&rb, ing, "exempt", NFT_SET_ID_EXEMPT);
		nft_rb_verdict(&rb, NF_ACCEPT);
		nft_rb_comment(&rb, "exempt addresses");
		err = nft_rule_end(b, &rb, c, "exempt addresses");
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

static int
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

static int
nft_put_fault_sets(struct nft_batch *b, const struct nft_fault *f, uint32_t idx)
{
	char peers[32], ports[32];
	int  err = 0;

	nft_set_names(idx, peers, ports, sizeof(peers));
	if (f->n_peers > 0)
		err = nft_put_cidr_set(b, peers, nft_set_id_peers(idx), f->peers,
		                       f->n_peers);
	if (err == 0 && f->n_ports > 0)
		err = nft_put_port_set(b, ports, nft_set_id_ports(idx), f->ports,
		                       f->n_ports);
	return err;
}

/* Sets and elements first, then chains with their rules: every object
 * exists, in this transaction, before something refers to it. */
static int
nft_put_ruleset(struct nft_batch *b, const struct nft_ruleset *rs)
{
	int err = 0;

	if (rs->n_exempt > 0)
		err = nft_put_cidr_set(b, "exempt", NFT_SET_ID_EXEMPT, rs->exempt,
		                       rs->n_exempt);
	for (size_t i = 0; err == 0 && i < rs->n_faults; i++)
		err = nft_put_fault_sets(b, &rs->faults[i], (uint32_t)i);
	for (int c = 0; err == 0 && c < NFT_CHAIN_COUNT; c++)
		if (nft_chain_needed(rs, (enum nft_chain_id)c))
			err = nft_put_chain_and_rules(b, rs, (enum nft_chain_id)c);
	return err;
}

/* NEWTABLE first so that DELTABLE cannot fail with ENOENT; the new table
 * replaces the old one, contents and all, when the batch commits. */
static int
nft_build_batch_errno(const char *table, const struct nft_ruleset *rs, uint32_t seq,
                      struct nft_batch **out)
{
	struct nft_batch *b;
	int               err;

	if (!nft_table_name_ok(table)) {
		log_warn("nft: bad table name");
		return -EINVAL;
	}
	err = nft_ruleset_check_errno(rs);
	if (err < 0)
		return err;
	b = nft_batch_new(table, seq);
	if (b == NULL)
		return -ENOMEM;
	err = nft_put_table(b, NFT_MSG_NEWTABLE);
	if (err == 0)
		err = nft_put_table(b, NFT_MSG_DELTABLE);
	if (err == 0)
		err = nft_put_table(b, NFT_MSG_NEWTABLE);
	if (err == 0)
		err = nft_put_ruleset(b, rs);
	if (err == 0)
		err = nft_batch_finish(b);
	if (err < 0) {
		nft_batch_free(b);
		return err;
	}
	*out = b;
	return 0;
}

int
nft_build_batch(const char *table_name, const struct nft_ruleset *rs, uint32_t seq,
                struct nft_batch **out)
{
	return chaos_err_from_errno(nft_build_batch_errno(table_name, rs, seq, out));
}

/* ------------------------------------------------------------------ */
/* Socket                                                              */

struct nft_ctx {
	struct mnl_socket *nl;
	uint32_t           portid;
	uint32_t           seq;
	int                sndbuf; /* what we last asked for, 0 = default */
	int                rcvbuf;
	char              *rbuf;
	bool               fail_batch_level; /* last failure hit the whole batch */
	char               table[NFT_MAX_TABLE_NAME];
	char               errmsg[256];
};

__attribute__((format(printf, 2, 3))) static void
nft_set_errmsg(struct nft_ctx *ctx, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx->errmsg, sizeof(ctx->errmsg), fmt, ap);
	va_end(ap);
}

const char *
nft_errmsg(const struct nft_ctx *ctx)
{
	return ctx ? ctx->errmsg : "";
}

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

/* Waits up to the ACK timeout and receives one datagram. */
static ssize_t
nft_recv(struct nft_ctx *ctx)
{
	struct pollfd p = {.fd = mnl_socket_get_fd(ctx->nl), .events = POLLIN};
	ssize_t       n;
	int           r;

	do
		r = poll(&p, 1, NFT_ACK_TIMEOUT_MS);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	n = mnl_socket_recvfrom(ctx->nl, ctx->rbuf, NFT_RBUF_SIZE);
	return n < 0 ? -errno : n;
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
	size_t   pending;
	int      err; /* first error, negative errno */
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
		a->pending     = 0;
	} else if (a->pending > 0) {
		a->pending--;
	}
	if (e->error != 0 && (a->err == 0 || seq < a->err_seq)) {
		a->err     = e->error > 0 ? -e->error : e->error;
		a->err_seq = seq;
		nft_extack(nlh, a->ext, sizeof(a->ext));
	}
}

/*
 * Reads replies until every ACKed message has had one. The kernel processes
 * the batch inside sendmsg, so they are normally all queued already.
 */
static int
nft_wait_acks(struct nft_ctx *ctx, const struct nft_batch *b, struct nft_acks *a)
{
	const struct nlmsghdr *nlh;
	ssize_t                n;
	int                    left;

	while (a->pending > 0) {
		n = nft_recv(ctx);
		if (n < 0)
			return (int)n;
		nlh  = (const struct nlmsghdr *)ctx->rbuf;
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

/* Sends b and checks every reply. Returns 0 only if the batch committed. */
static int
nft_run_batch(struct nft_ctx *ctx, const struct nft_batch *b)
{
	struct nft_acks a = {.pending = b->n_msgs};
	const char     *what;
	int             err;

	ctx->errmsg[0]        = '\0';
	ctx->fail_batch_level = false;
	err                   = nft_send_batch(ctx, b);
	if (err < 0) {
		nft_set_errmsg(ctx, "send of %zu-byte batch: %s", b->len, strerror(-err));
		return err;
	}
	err = nft_wait_acks(ctx, b, &a);
	if (err < 0) {
		nft_set_errmsg(ctx, "replies lost (%zu missing): %s", a.pending,
		               strerror(-err));
		return err == -ETIMEDOUT ? err : -EIO;
	}
	if (a.err == 0)
		return 0;
	what                  = nft_batch_what(b, a.err_seq);
	ctx->fail_batch_level = a.batch_level;
	nft_set_errmsg(ctx, "batch refused at %s: %s%s", what ? what : "batch",
	               strerror(-a.err), a.ext);
	return a.err;
}

static int
nft_commit_errno(struct nft_ctx *ctx, const struct nft_ruleset *rs)
{
	struct nft_batch *b   = NULL;
	int               err = nft_build_batch_errno(ctx->table, rs, ctx->seq, &b);

	if (err < 0) {
		snprintf(ctx->errmsg, sizeof(ctx->errmsg), "invalid ruleset: %s",
		         strerror(-err));
		return err;
	}
	ctx->seq = b->seq_next;
	err      = nft_run_batch(ctx, b);
	nft_batch_free(b);
	return err;
}

int
nft_commit(struct nft_ctx *ctx, const struct nft_ruleset *rs)
{
	int err;

	if (ctx == NULL)
		return CHAOS_EINVAL;
	err = nft_commit_errno(ctx, rs);
	if (err < 0)
		log_warn("nft %s: commit: %s", ctx->table, ctx->errmsg);
	return chaos_err_from_errno(err);
}

int
nft_clear(struct nft_ctx *ctx)
{
	const struct nft_ruleset empty = {0};

	return nft_commit(ctx, &empty);
}

/* Deletes a leftover table of our name. ENOENT means there was none. */
static int
nft_delete_leftover(struct nft_ctx *ctx)
{
	struct nft_batch *b = nft_batch_new(ctx->table, ctx->seq);
	int               err;

	if (b == NULL)
		return -ENOMEM;
	err = nft_put_table(b, NFT_MSG_DELTABLE);
	if (err == 0)
		err = nft_batch_finish(b);
	if (err == 0) {
		ctx->seq = b->seq_next;
		err      = nft_run_batch(ctx, b);
	}
	nft_batch_free(b);
	if (err == -ENOENT) {
		ctx->errmsg[0] = '\0';
		return 0;
	}
	if (err == 0)
		log_info("nft %s: deleted a leftover table", ctx->table);
	if (err == -EPERM && !ctx->fail_batch_level) /* owned by a live socket */
		return -EBUSY;
	return err;
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

int
nft_open(const char *table_name, struct nft_ctx **out)
{
	const struct nft_ruleset empty = {0};
	struct nft_ctx          *ctx;
	int                      err;

	if (!nft_table_name_ok(table_name) || out == NULL) {
		log_warn("nft: bad table name");
		return CHAOS_EINVAL;
	}
	ctx = calloc(1, sizeof(*ctx));
	if (ctx == NULL)
		return CHAOS_ENOMEM;
	snprintf(ctx->table, sizeof(ctx->table), "%s", table_name);
	ctx->rbuf = malloc(NFT_RBUF_SIZE);
	err       = ctx->rbuf ? nft_sock_open(ctx) : -ENOMEM;
	if (err < 0)
		nft_set_errmsg(ctx, "netlink socket: %s", strerror(-err));
	if (err == 0)
		err = nft_delete_leftover(ctx);
	if (err == 0)
		err = nft_commit_errno(ctx, &empty);
	if (err < 0) {
		log_warn("nft %s: open: %s", table_name,
		         ctx->errmsg[0] ? ctx->errmsg : strerror(-err));
		nft_close(ctx);
		return chaos_err_from_errno(err);
	}
	*out = ctx;
	return CHAOS_OK;
}

/* ------------------------------------------------------------------ */
/* Counters                                                            */

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

/* Parses our comment "f<idx> <kind> <in|out>"; false if it is not one. */
static bool
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

	while (err == 0 && !d->done) {
		n = nft_recv(ctx);
		if (n < 0)
			return (int)n;
		nlh  = (const struct nlmsghdr *)ctx->rbuf;
		left = (int)n;
		for (; mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
			nft_dump_msg(d, nlh, seq);
	}
	return err ? err : d->err;
}

int
nft_counters(struct nft_ctx *ctx, struct nft_counter *out, size_t cap, size_t *n_out)
{
	struct nft_dump d;
	int             err = -EINTR;

	if (ctx == NULL || n_out == NULL || (cap > 0 && out == NULL))
		return CHAOS_EINVAL;
	for (int i = 0; err == -EINTR && i < NFT_DUMP_RETRIES; i++) {
		d   = (struct nft_dump) {.ctx = ctx, .out = out, .cap = cap};
		err = nft_dump_once(ctx, &d);
	}
	if (err < 0) {
		nft_set_errmsg(ctx, "rule dump: %s", strerror(-err));
		log_warn("nft %s: counters: %s", ctx->table, ctx->errmsg);
		return chaos_err_from_errno(err);
	}
	*n_out = d.n;
	if (d.total > cap) {
		nft_set_errmsg(ctx, "%zu counters, room for %zu", d.total, cap);
		log_warn("nft %s: counters: %s", ctx->table, ctx->errmsg);
		return CHAOS_ETOOBIG;
	}
	return CHAOS_OK;
}
