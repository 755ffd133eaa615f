// SPDX-License-Identifier: MIT
/*
 * The checks a ruleset passes before anything is built, and the CIDR
 * parsing the sets are made from. No libnftnl here: pure input checking.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "agent/nft_int.h"
#include "common/limits.h"

static int
nft_prefix_parse(const char *s, unsigned int max, unsigned int *out)
{
	unsigned int v = 0;
	size_t       n = strlen(s);

	if (n == 0 || n > (max > 99 ? 3 : 2)) /* as many digits as max has */
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (unsigned int)(s[i] - '0');
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Splits "addr[/n]" into addr (NUL-terminated in buf) and its prefix
 * (max when none). 0 or -EINVAL. */
static int
nft_cidr_split(const char *s, char *buf, size_t len, unsigned int max,
               unsigned int *prefix)
{
	const char *slash = strchr(s, '/');
	size_t      alen  = slash ? (size_t)(slash - s) : strlen(s);

	if (alen == 0 || alen >= len)
		return -EINVAL;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	*prefix   = max;
	return slash ? nft_prefix_parse(slash + 1, max, prefix) : 0;
}

int
nft_cidr_parse(const char *s, struct nft_range *r)
{
	char           addr[INET_ADDRSTRLEN];
	unsigned int   prefix;
	struct in_addr in;
	uint32_t       host, mask;

	if (s == NULL)
		return -EINVAL;
	if (nft_cidr_is_ipv6(s))
		return -EAFNOSUPPORT;
	if (nft_cidr_split(s, addr, sizeof(addr), 32, &prefix) < 0 ||
	    inet_pton(AF_INET, addr, &in) != 1)
		return -EINVAL;
	host     = ntohl(in.s_addr);
	mask     = prefix ? 0xffffffffu << (32 - prefix) : 0;
	r->start = host & mask;
	r->end   = (uint64_t)r->start + ((uint64_t)1 << (32 - prefix));
	return 0;
}

bool
nft_cidr_is_ipv6(const char *s)
{
	return s != NULL && strchr(s, ':') != NULL;
}

int
nft_cidr6_parse(const char *s, struct nft_range6 *r)
{
	char            addr[INET6_ADDRSTRLEN];
	unsigned int    prefix;
	struct in6_addr in;
	bool            carry = true;

	if (s == NULL)
		return -EINVAL;
	if (!nft_cidr_is_ipv6(s))
		return -EAFNOSUPPORT;
	if (nft_cidr_split(s, addr, sizeof(addr), 128, &prefix) < 0 ||
	    inet_pton(AF_INET6, addr, &in) != 1)
		return -EINVAL;
	/* start: host bits cleared; end: host bits set, plus one */
	for (unsigned int i = 0; i < 16; i++) {
		unsigned int net  = prefix >= 8 * (i + 1) ? 8
		     : prefix > 8 * i                     ? prefix - 8 * i
		                                          : 0;
		uint8_t      mask = (uint8_t)(0xff00u >> net);
		r->start[i]       = in.s6_addr[i] & mask;
		r->end[i]         = r->start[i] | (uint8_t)~mask;
	}
	for (int i = 15; i >= 0 && carry; i--)
		carry = ++r->end[i] == 0;
	r->end_max = carry;
	return 0;
}

/* Checks cidrs; IPv6 ones are bad or unsupported unless v6 allows them. */
static chaos_err
nft_cidrs_check(const char *const *cidrs, size_t n, const char *what, size_t idx, bool v6,
                chaos_why *why)
{
	struct nft_range  r;
	struct nft_range6 r6;
	int               err;

	if (n > NFT_MAX_PEERS || (n > 0 && cidrs == NULL))
		return chaos_fail(why, CHAOS_EINVAL, "%s %zu: %zu addresses (max %u)",
		                  what, idx, n, NFT_MAX_PEERS);
	for (size_t i = 0; i < n; i++) {
		err = nft_cidr_parse(cidrs[i], &r);
		if (err == -EAFNOSUPPORT && (err = nft_cidr6_parse(cidrs[i], &r6)) == 0 &&
		    !v6)
			return chaos_fail(why, CHAOS_EUNSUPPORTED,
			                  "%s %zu: IPv6 \"%.64s\" not supported yet",
			                  what, idx, cidrs[i]);
		if (err < 0)
			return chaos_fail(why, CHAOS_EINVAL, "%s %zu: bad CIDR \"%.64s\"",
			                  what, idx, cidrs[i] ? cidrs[i] : "(null)");
	}
	return CHAOS_OK;
}

static chaos_err
nft_ports_check(const struct nft_fault *f, size_t idx, chaos_why *why)
{
	if (f->n_ports > NFT_MAX_PORTS || (f->n_ports > 0 && f->ports == NULL))
		return chaos_fail(why, CHAOS_EINVAL, "fault %zu: %zu ports (max %u)", idx,
		                  f->n_ports, NFT_MAX_PORTS);
	for (size_t i = 0; i < f->n_ports; i++)
		if (f->ports[i] < LIMIT_PORT_MIN)
			return chaos_fail(why, CHAOS_EINVAL, "fault %zu: port 0", idx);
	return CHAOS_OK;
}

static chaos_err
nft_fault_fail(size_t idx, const char *what, chaos_why *why)
{
	return chaos_fail(why, CHAOS_EINVAL, "fault %zu: %s", idx, what);
}

static chaos_err
nft_addr_kind_check(const struct nft_fault *f, size_t idx, chaos_why *why)
{
	if (f->kind == NFT_FAULT_LOSS &&
	    (f->loss_percent == 0 || f->loss_percent > LIMIT_LOSS_MAX_PERCENT))
		return nft_fault_fail(idx, "loss percent must be 1..100", why);
	if (f->n_peers == 0)
		return nft_fault_fail(idx, "needs at least one peer", why);
	if (f->n_ports > 0 && f->proto == NFT_L4_ANY)
		return nft_fault_fail(idx, "ports need proto tcp or udp", why);
	return CHAOS_OK;
}

/* Checks the fields that depend on the fault kind. */
static chaos_err
nft_fault_kind_check(const struct nft_fault *f, size_t idx, chaos_why *why)
{
	switch (f->kind) {
	case NFT_FAULT_LOSS:
	case NFT_FAULT_PARTITION:
		return nft_addr_kind_check(f, idx, why);
	case NFT_FAULT_REJECT:
	case NFT_FAULT_BLACKHOLE:
		if (f->n_ports == 0)
			return nft_fault_fail(idx, "needs at least one port", why);
		if (f->dir == NFT_DIR_OUT && f->n_peers == 0)
			return nft_fault_fail(idx, "an egress port fault needs peers",
			                      why);
		return CHAOS_OK;
	case NFT_FAULT_REDIRECT:
		if (f->redirect_dport == 0 || f->redirect_to_port == 0)
			return nft_fault_fail(idx, "redirect needs dport and to_port",
			                      why);
		if (f->n_ports > 0 || f->proto == NFT_L4_UDP)
			return nft_fault_fail(
			    idx, "redirect is TCP to redirect_dport only", why);
		if (f->dir != NFT_DIR_IN && f->redirect_skip_mark == 0)
			return nft_fault_fail(idx, "output redirect needs a skip mark",
			                      why);
		return CHAOS_OK;
	}
	return nft_fault_fail(idx, "unknown kind", why);
}

static chaos_err
nft_fault_check(const struct nft_fault *f, size_t idx, chaos_why *why)
{
	chaos_err rv;

	if (f->dir != NFT_DIR_BOTH && f->dir != NFT_DIR_IN && f->dir != NFT_DIR_OUT)
		return nft_fault_fail(idx, "bad direction", why);
	if (f->proto != NFT_L4_ANY && f->proto != NFT_L4_TCP && f->proto != NFT_L4_UDP)
		return nft_fault_fail(idx, "bad proto", why);
	if ((rv = nft_cidrs_check(f->peers, f->n_peers, "fault", idx, false, why)) !=
	        CHAOS_OK ||
	    (rv = nft_ports_check(f, idx, why)) != CHAOS_OK)
		return rv;
	return nft_fault_kind_check(f, idx, why);
}

chaos_err
nft_ruleset_check(const struct nft_ruleset *rs, chaos_why *why)
{
	chaos_err rv;

	if (rs == NULL || rs->n_faults > NFT_MAX_FAULTS || (rs->n_faults && !rs->faults))
		return chaos_fail(why, CHAOS_EINVAL, "bad ruleset (%zu faults, max %d)",
		                  rs ? rs->n_faults : 0, NFT_MAX_FAULTS);
	rv = nft_cidrs_check(rs->exempt, rs->n_exempt, "exempt list", 0, true, why);
	for (size_t i = 0; rv == CHAOS_OK && i < rs->n_faults; i++)
		rv = nft_fault_check(&rs->faults[i], i, why);
	return rv;
}

bool
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

int
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

static int
nft_range6_cmp(const void *a, const void *b)
{
	const struct nft_range6 *x = a, *y = b;

	return memcmp(x->start, y->start, sizeof(x->start));
}

/* Whether r starts at or before the end of m (they touch or overlap). */
static bool
nft_range6_joins(const struct nft_range6 *m, const struct nft_range6 *r)
{
	return m->end_max || memcmp(r->start, m->end, sizeof(r->start)) <= 0;
}

static void
nft_range6_extend(struct nft_range6 *m, const struct nft_range6 *r)
{
	if (m->end_max)
		return;
	if (r->end_max || memcmp(r->end, m->end, sizeof(r->end)) > 0) {
		memcpy(m->end, r->end, sizeof(m->end));
		m->end_max = r->end_max;
	}
}

int
nft_ranges6_build(const char *const *cidrs, size_t n, struct nft_range6 **out,
                  size_t *n_out)
{
	struct nft_range6 *v;
	size_t             m = 0;

	v = calloc(n ? n : 1, sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (nft_cidr6_parse(cidrs[i], &v[i]) < 0) {
			free(v);
			return -EINVAL;
		}
	qsort(v, n, sizeof(*v), nft_range6_cmp);
	for (size_t i = 0; i < n; i++) {
		if (m > 0 && nft_range6_joins(&v[m - 1], &v[i])) {
			nft_range6_extend(&v[m - 1], &v[i]);
			continue;
		}
		v[m++] = v[i];
	}
	*out   = v;
	*n_out = m;
	return 0;
}
