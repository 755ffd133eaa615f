// SPDX-License-Identifier: MIT
/*
 * The batch: one flat buffer of netlink messages (libnftnl objects
 * serialised in place) between BEGIN and END, each message noted with its
 * sequence number and a description so that a refusal names the object.
 * Tables, sets with their elements, and chains are built here; rules in
 * nft_rule.c.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter/nf_tables.h>

#include "agent/nft_int.h"

#define NFT_ELEMS_PER_MSG 1024 /* keeps the element nest far below 64 KiB */
#define NFT_ELEM_ROOM 48       /* generous bytes per serialised element */
#define NFT_KEY_TYPE_IPV4 7    /* nft's ipv4_addr, for display only */
#define NFT_KEY_TYPE_IPV6 8    /* nft's ipv6_addr */
#define NFT_KEY_TYPE_PORT 13   /* nft's inet_service */

/* ---- the buffer ---- */

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

__attribute__((format(printf, 3, 0))) static int
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

struct nlmsghdr *
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
	b->last_off = b->len;
	return nftnl_nlmsg_build_hdr(b->buf + b->len, type, NFT_FAMILY, flags, seq);
}

void
nft_batch_msg_end(struct nft_batch *b, const struct nlmsghdr *nlh)
{
	b->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

struct nft_batch *
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

int
nft_batch_finish(struct nft_batch *b)
{
	if (nft_batch_reserve(b, NFT_MSG_ROOM) < 0)
		return -ENOMEM;
	/* The kernel answers every message that fails, ACK or not, and
	 * delivers the answers in order once the whole batch is through: the
	 * ACK of the last message comes last, whatever happened before it.
	 * One ACK instead of one per message: an skb made by the kernel and a
	 * recvmsg here less for each. */
	if (b->n_msgs > 0)
		((struct nlmsghdr *)(b->buf + b->last_off))->nlmsg_flags |= NLM_F_ACK;
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

const char *
nft_batch_what(const struct nft_batch *b, uint32_t seq)
{
	uint32_t i = seq - (b->seq_begin + 1);

	if (i >= b->n_msgs || b->msgs[i].seq != seq)
		return NULL;
	return b->msgs[i].what;
}

/* ---- tables, sets, elements, chains ---- */

int
nft_put_table(struct nft_batch *b, uint16_t type, bool excl)
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
	nlh =
	    nft_batch_msg(b, type, (add ? NLM_F_CREATE : 0) | (excl ? NLM_F_EXCL : 0),
	                  NFT_MSG_ROOM, "%s table %s", add ? "add" : "delete", b->table);
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

/* key_type: an NFT_KEY_TYPE_*; addresses make interval sets. */
static int
nft_put_set(struct nft_batch *b, const char *name, uint32_t id, uint32_t key_type)
{
	struct nftnl_set *s = nft_set_new(b, name, id);
	struct nlmsghdr  *nlh;
	uint32_t          len = key_type == NFT_KEY_TYPE_IPV4 ? 4
	             : key_type == NFT_KEY_TYPE_IPV6          ? 16
	                                                      : 2;

	if (s == NULL)
		return -ENOMEM;
	nftnl_set_set_u32(s, NFTNL_SET_KEY_LEN, len);
	nftnl_set_set_u32(s, NFTNL_SET_KEY_TYPE, key_type);
	nftnl_set_set_u32(s, NFTNL_SET_FLAGS,
	                  key_type == NFT_KEY_TYPE_PORT ? 0 : NFT_SET_INTERVAL);
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
	uint8_t  key[16];
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
		if (nftnl_set_elem_set(se, NFTNL_SET_ELEM_KEY, e[i].key, key_len) < 0) {
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
static struct nft_elem
nft_elem4(uint32_t host, uint32_t flags)
{
	struct nft_elem e  = {.flags = flags};
	uint32_t        be = htonl(host);

	memcpy(e.key, &be, sizeof(be));
	return e;
}

static size_t
nft_ranges_to_elems(const struct nft_range *r, size_t n, struct nft_elem *e)
{
	size_t k = 0;

	if (n > 0 && r[0].start != 0)
		e[k++] = nft_elem4(0, NFT_SET_ELEM_INTERVAL_END);
	for (size_t i = 0; i < n; i++) {
		e[k++] = nft_elem4(r[i].start, 0);
		if (r[i].end <= UINT32_MAX)
			e[k++] = nft_elem4((uint32_t)r[i].end, NFT_SET_ELEM_INTERVAL_END);
	}
	return k;
}

static struct nft_elem
nft_elem6(const uint8_t *key, uint32_t flags)
{
	struct nft_elem e = {.flags = flags};

	memcpy(e.key, key, sizeof(e.key));
	return e;
}

/* As nft_ranges_to_elems, over 128 bits. */
static size_t
nft_ranges6_to_elems(const struct nft_range6 *r, size_t n, struct nft_elem *e)
{
	static const uint8_t zero[16];
	size_t               k = 0;

	if (n > 0 && memcmp(r[0].start, zero, sizeof(zero)) != 0)
		e[k++] = nft_elem6(zero, NFT_SET_ELEM_INTERVAL_END);
	for (size_t i = 0; i < n; i++) {
		e[k++] = nft_elem6(r[i].start, 0);
		if (!r[i].end_max)
			e[k++] = nft_elem6(r[i].end, NFT_SET_ELEM_INTERVAL_END);
	}
	return k;
}

int
nft_put_cidr_set(struct nft_batch *b, const char *name, uint32_t id,
                 const char *const *cidrs, size_t n, bool v6)
{
	struct nft_range  *r4 = NULL;
	struct nft_range6 *r6 = NULL;
	struct nft_elem   *e  = NULL;
	size_t             nr = 0, ne;
	int                err;

	err = v6 ? nft_ranges6_build(cidrs, n, &r6, &nr)
	         : nft_ranges_build(cidrs, n, &r4, &nr);
	if (err < 0)
		goto out;
	err = -ENOMEM;
	e   = calloc(2 * nr + 1, sizeof(*e));
	if (e == NULL)
		goto out;
	ne  = v6 ? nft_ranges6_to_elems(r6, nr, e) : nft_ranges_to_elems(r4, nr, e);
	err = nft_put_set(b, name, id, v6 ? NFT_KEY_TYPE_IPV6 : NFT_KEY_TYPE_IPV4);
	if (err == 0)
		err = nft_put_elems(b, name, id, e, ne, v6 ? 16 : 4);
out:
	free(e);
	free(r4);
	free(r6);
	return err;
}

static int
nft_port_cmp(const void *a, const void *b)
{
	uint16_t x = *(const uint16_t *)a, y = *(const uint16_t *)b;

	return (x > y) - (x < y);
}

int
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
		e[m] = (struct nft_elem) {.flags = 0};
		memcpy(e[m++].key, &be, sizeof(be));
	}
	err = nft_put_set(b, name, id, NFT_KEY_TYPE_PORT);
	if (err == 0)
		err = nft_put_elems(b, name, id, e, m, 2);
	return err;
}

int
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

/* The exempt CIDRs in two sets, one per address family. */
static int
nft_put_exempt_sets(struct nft_batch *b, const struct nft_ruleset *rs)
{
	const char **v4 = calloc(rs->n_exempt + 1, sizeof(*v4));
	const char **v6 = calloc(rs->n_exempt + 1, sizeof(*v6));
	size_t       n4 = 0, n6 = 0;
	int          err = -ENOMEM;

	if (v4 == NULL || v6 == NULL)
		goto out;
	for (size_t i = 0; i < rs->n_exempt; i++) {
		if (nft_cidr_is_ipv6(rs->exempt[i]))
			v6[n6++] = rs->exempt[i];
		else
			v4[n4++] = rs->exempt[i];
	}
	err =
	    n4 > 0 ? nft_put_cidr_set(b, "exempt", NFT_SET_ID_EXEMPT, v4, n4, false) : 0;
	if (err == 0 && n6 > 0)
		err = nft_put_cidr_set(b, "exempt6", NFT_SET_ID_EXEMPT6, v6, n6, true);
out:
	free(v4);
	free(v6);
	return err;
}

/* Sets and elements first, then chains with their rules: every object
 * exists, in this transaction, before something refers to it. */
static int
nft_put_ruleset(struct nft_batch *b, const struct nft_ruleset *rs)
{
	int err = 0;

	if (rs->n_exempt > 0)
		err = nft_put_exempt_sets(b, rs);
	for (size_t i = 0; err == 0 && i < rs->n_faults; i++)
		err = nft_put_fault_sets(b, &rs->faults[i], (uint32_t)i);
	for (int c = 0; err == 0 && c < NFT_CHAIN_COUNT; c++)
		if (nft_chain_needed(rs, (enum nft_chain_id)c))
			err = nft_put_chain_and_rules(b, rs, (enum nft_chain_id)c);
	return err;
}

/* NEWTABLE first so that DELTABLE cannot fail with ENOENT; the new table
 * replaces the old one, contents and all, when the batch commits. A fresh
 * socket's first batch (fresh) skips the replacing: its NEWTABLE is
 * exclusive, so a table already there fails it with EEXIST instead. */
static int
nft_put_all(struct nft_batch *b, const struct nft_ruleset *rs, bool fresh)
{
	int err = nft_put_table(b, NFT_MSG_NEWTABLE, fresh);

	if (err == 0 && !fresh)
		err = nft_put_table(b, NFT_MSG_DELTABLE, false);
	if (err == 0 && !fresh)
		err = nft_put_table(b, NFT_MSG_NEWTABLE, false);
	if (err == 0)
		err = nft_put_ruleset(b, rs);
	if (err == 0)
		err = nft_batch_finish(b);
	return err;
}

chaos_err
nft_build_batch_ex(const char *table, const struct nft_ruleset *rs, uint32_t seq,
                   bool fresh, struct nft_batch **out, chaos_why *why)
{
	struct nft_batch *b;
	chaos_err         rv;
	int               err;

	if (!nft_table_name_ok(table))
		return chaos_fail(why, CHAOS_EINVAL,
		                  "bad table name: [A-Za-z0-9_-], 1..%d characters",
		                  NFT_MAX_TABLE_NAME - 1);
	if ((rv = nft_ruleset_check(rs, why)) != CHAOS_OK)
		return rv;
	if ((b = nft_batch_new(table, seq)) == NULL)
		return chaos_fail(why, CHAOS_ENOMEM, "out of memory for the batch");
	if ((err = nft_put_all(b, rs, fresh)) < 0) {
		nft_batch_free(b);
		return chaos_fail(why, chaos_err_from_errno(err),
		                  "building the batch: %s", strerror(-err));
	}
	*out = b;
	return CHAOS_OK;
}

chaos_err
nft_build_batch(const char *table, const struct nft_ruleset *rs, uint32_t seq,
                struct nft_batch **out, chaos_why *why)
{
	return nft_build_batch_ex(table, rs, seq, false, out, why);
}
