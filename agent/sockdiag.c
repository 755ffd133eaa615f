// SPDX-License-Identifier: MIT
#include "agent/sockdiag.h"

#include <errno.h>
#include <ifaddrs.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include <libmnl/libmnl.h>

#include "agent/nft_int.h" /* nft_cidr_parse: the peers are the fault's */
#include "common/clock.h"
#include "common/log.h"

/* A reply that does not come within this (or the deadline) is lost. */
#define SOCKDIAG_RECV_TIMEOUT_MS 2000

/* The states of a connection that has a peer to reset: not LISTEN,
 * TIME_WAIT, CLOSE, SYN_SENT (ours, outgoing) or request sockets. */
#define SOCKDIAG_STATES                                                                  \
	((1u << TCP_ESTABLISHED) | (1u << TCP_SYN_RECV) | (1u << TCP_FIN_WAIT1) |        \
	 (1u << TCP_FIN_WAIT2) | (1u << TCP_CLOSE_WAIT) | (1u << TCP_LAST_ACK) |         \
	 (1u << TCP_CLOSING))

/* An address as 16 bytes: IPv6, or IPv4 mapped (::ffff:a.b.c.d). */
struct sockdiag_addr {
	uint8_t b[16];
};

struct sockdiag {
	struct mnl_socket    *nl;
	uint32_t              portid;
	uint32_t              seq;
	struct sockdiag_addr *local; /* the namespace's own addresses */
	size_t                n_local;
};

/* One socket to abort: what SOCK_DESTROY needs to find it. */
struct sockdiag_victim {
	uint8_t                 family;
	struct inet_diag_sockid id;
};

/* The dump's state: the filter, its peers parsed, what matched. */
struct sockdiag_dump {
	const struct sockdiag_filter *f;
	const struct nft_range       *ranges;
	const struct sockdiag        *sd;
	struct sockdiag_victim       *v;
	size_t                        n, cap;
	bool                          nomem;
};

/* In host order; an IPv4-mapped IPv6 address counts as IPv4. */
static bool
sockdiag_ipv4(int family, const uint8_t *a, uint32_t *out)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (family == AF_INET6) {
		if (memcmp(a, mapped, sizeof(mapped)) != 0)
			return false;
		a += 12;
	} else if (family != AF_INET) {
		return false;
	}
	*out = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
	return true;
}

static void
sockdiag_addr16(int family, const uint8_t *a, struct sockdiag_addr *out)
{
	memset(out->b, 0, sizeof(out->b));
	if (family == AF_INET) {
		out->b[10] = out->b[11] = 0xff;
		memcpy(out->b + 12, a, 4);
	} else {
		memcpy(out->b, a, 16);
	}
}

/* Loopback (127/8, ::1), or one of the namespace's own addresses: traffic
 * that goes through `lo`, which the rules never refuse (agent/nft.h). */
static bool
sockdiag_is_local(const struct sockdiag *sd, int family, const uint8_t *raddr)
{
	static const uint8_t loop6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	struct sockdiag_addr a;
	uint32_t             v4;
	size_t               i;

	if (sockdiag_ipv4(family, raddr, &v4) && (v4 >> 24) == 127)
		return true;
	if (family == AF_INET6 && memcmp(raddr, loop6, 16) == 0)
		return true;
	sockdiag_addr16(family, raddr, &a);
	for (i = 0; sd != NULL && i < sd->n_local; i++)
		if (memcmp(a.b, sd->local[i].b, 16) == 0)
			return true;
	return false;
}

/* The address bytes of an IPv4 or IPv6 sockaddr (NULL for others). */
static const uint8_t *
sockdiag_sa_bytes(const struct sockaddr *sa)
{
	if (sa == NULL)
		return NULL;
	if (sa->sa_family == AF_INET)
		return (const uint8_t *)&((const struct sockaddr_in *)(const void *)sa)
		    ->sin_addr;
	if (sa->sa_family == AF_INET6)
		return (const uint8_t *)&((const struct sockaddr_in6 *)(const void *)sa)
		    ->sin6_addr;
	return NULL;
}

/* The addresses of the calling thread's namespace into sd; a failure
 * leaves only loopback known (then a connection between two of the
 * namespace's own addresses may be reset too). */
static void
sockdiag_locals(struct sockdiag *sd)
{
	struct ifaddrs *ifa, *i;
	size_t          n = 0;

	if (getifaddrs(&ifa) != 0) {
		log_warn("sock_diag: getifaddrs: %s", strerror(errno));
		return;
	}
	for (i = ifa; i != NULL; i = i->ifa_next)
		n += sockdiag_sa_bytes(i->ifa_addr) != NULL;
	if (n > 0 && (sd->local = calloc(n, sizeof(*sd->local))) != NULL)
		for (i = ifa; i != NULL; i = i->ifa_next) {
			const uint8_t *a = sockdiag_sa_bytes(i->ifa_addr);

			if (a != NULL)
				sockdiag_addr16(i->ifa_addr->sa_family, a,
				                &sd->local[sd->n_local++]);
		}
	freeifaddrs(ifa);
}

chaos_err
sockdiag_open(struct sockdiag **out, chaos_why *why)
{
	struct sockdiag *sd = calloc(1, sizeof(*sd));

	*out = NULL;
	if (sd == NULL)
		return CHAOS_ENOMEM;
	if ((sd->nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC)) == NULL ||
	    mnl_socket_bind(sd->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		int e = errno;

		sockdiag_close(sd);
		return chaos_fail(why,
		                  e == ENOMEM || e == ENOBUFS ? CHAOS_ENOMEM : CHAOS_ESYS,
		                  "sock_diag socket: %s", strerror(e));
	}
	sd->portid = mnl_socket_get_portid(sd->nl);
	sd->seq    = (uint32_t)time(NULL);
	sockdiag_locals(sd);
	*out = sd;
	return CHAOS_OK;
}

void
sockdiag_close(struct sockdiag *sd)
{
	if (sd == NULL)
		return;
	if (sd->nl != NULL)
		mnl_socket_close(sd->nl);
	free(sd->local);
	free(sd);
}

static bool
sockdiag_match_ranges(const struct sockdiag *sd, const struct sockdiag_filter *f,
                      const struct nft_range *ranges, uint16_t lport, int family,
                      const uint8_t *raddr, uint8_t state)
{
	uint32_t a;
	size_t   i;
	bool     port = false;

	if (state >= 32 || !(SOCKDIAG_STATES & (1u << state)))
		return false;
	for (i = 0; i < f->n_ports && !port; i++)
		port = f->ports[i] == lport;
	/* the port first: most of a dump is other connections */
	if (!port || sockdiag_is_local(sd, family, raddr))
		return false;
	if (f->n_peers == 0)
		return true;
	if (!sockdiag_ipv4(family, raddr, &a))
		return false;
	for (i = 0; i < f->n_peers; i++)
		if (a >= ranges[i].start && a < ranges[i].end)
			return true;
	return false;
}

/* Parses f's peers (NULL *out when there are none). 0 or -EINVAL/-ENOMEM. */
static int
sockdiag_ranges(const struct sockdiag_filter *f, struct nft_range **out)
{
	struct nft_range *r;
	size_t            i;

	*out = NULL;
	if (f->n_peers == 0)
		return 0;
	if ((r = calloc(f->n_peers, sizeof(*r))) == NULL)
		return -ENOMEM;
	for (i = 0; i < f->n_peers; i++) {
		if (nft_cidr_parse(f->peers[i], &r[i]) < 0) {
			free(r);
			return -EINVAL;
		}
	}
	*out = r;
	return 0;
}

bool
sockdiag_match(const struct sockdiag_filter *f, uint16_t lport, int family,
               const uint8_t *raddr, uint8_t state)
{
	struct nft_range *r;
	bool              m;

	if (sockdiag_ranges(f, &r) < 0)
		return false;
	m = sockdiag_match_ranges(NULL, f, r, lport, family, raddr, state);
	free(r);
	return m;
}

/* Sends the request in buf. 0 or -errno. */
static int
sockdiag_send(struct sockdiag *sd, const struct nlmsghdr *nlh)
{
	return mnl_socket_sendto(sd->nl, nlh, nlh->nlmsg_len) < 0 ? -errno : 0;
}

/* One reply datagram, waiting until deadline (or the receive timeout):
 * its length or -errno (-ETIMEDOUT). */
static ssize_t
sockdiag_recv(struct sockdiag *sd, void *buf, size_t len, int64_t deadline)
{
	struct pollfd p  = {.fd = mnl_socket_get_fd(sd->nl), .events = POLLIN};
	int           ms = SOCKDIAG_RECV_TIMEOUT_MS, r;
	ssize_t       n;

	if (deadline > 0) {
		int64_t left = (deadline - clk_mono_us()) / 1000;

		if (left < ms)
			ms = left > 0 ? (int)left : 0;
	}
	do
		r = poll(&p, 1, ms);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	if (r == 0)
		return -ETIMEDOUT;
	n = mnl_socket_recvfrom(sd->nl, buf, len);
	return n < 0 ? -errno : n;
}

static int
sockdiag_dump_cb(const struct nlmsghdr *nlh, void *data)
{
	struct sockdiag_dump       *d = data;
	const struct inet_diag_msg *m = mnl_nlmsg_get_payload(nlh);
	struct sockdiag_victim     *v;

	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*m))
		return MNL_CB_OK; /* not one of ours to judge */
	if (!sockdiag_match_ranges(d->sd, d->f, d->ranges, ntohs(m->id.idiag_sport),
	                           m->idiag_family, (const uint8_t *)m->id.idiag_dst,
	                           m->idiag_state))
		return MNL_CB_OK;
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;

		if ((v = realloc(d->v, cap * sizeof(*v))) == NULL) {
			d->nomem = true;
			return MNL_CB_OK; /* read the dump to its end */
		}
		d->v   = v;
		d->cap = cap;
	}
	d->v[d->n].family = m->idiag_family;
	d->v[d->n].id     = m->id;
	d->n++;
	return MNL_CB_OK;
}

/* A request of type for family, with id (NULL: a dump of states). */
static struct nlmsghdr *
sockdiag_request(struct sockdiag *sd, char *buf, uint16_t type, uint8_t family,
                 const struct inet_diag_sockid *id)
{
	struct nlmsghdr         *nlh = mnl_nlmsg_put_header(buf);
	struct inet_diag_req_v2 *req;

	nlh->nlmsg_type     = type;
	nlh->nlmsg_flags    = NLM_F_REQUEST | (id == NULL ? NLM_F_DUMP : NLM_F_ACK);
	nlh->nlmsg_seq      = ++sd->seq;
	req                 = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
	req->sdiag_family   = family;
	req->sdiag_protocol = IPPROTO_TCP;
	req->idiag_states   = id == NULL ? SOCKDIAG_STATES : ~0u;
	if (id != NULL)
		req->id = *id;
	return nlh;
}

/* Runs replies to the request with seq through cb until the dump's end or
 * the ack. 0 or -errno (the kernel's, or -ETIMEDOUT). */
static int
sockdiag_run(struct sockdiag *sd, uint32_t seq, mnl_cb_t cb, void *data, int64_t deadline)
{
	char    buf[MNL_SOCKET_BUFFER_SIZE];
	ssize_t n;
	int     r;

	for (;;) {
		if ((n = sockdiag_recv(sd, buf, sizeof(buf), deadline)) < 0)
			return (int)n;
		r = mnl_cb_run(buf, (size_t)n, seq, sd->portid, cb, data);
		if (r == MNL_CB_STOP)
			return 0;
		if (r == MNL_CB_ERROR)
			return -errno;
	}
}

/* Dumps family's TCP sockets into d. 0 or -errno. */
static int
sockdiag_dump(struct sockdiag *sd, uint8_t family, struct sockdiag_dump *d,
              int64_t deadline)
{
	char             buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh =
	    sockdiag_request(sd, buf, SOCK_DIAG_BY_FAMILY, family, NULL);
	int r;

	if ((r = sockdiag_send(sd, nlh)) < 0)
		return r;
	return sockdiag_run(sd, nlh->nlmsg_seq, sockdiag_dump_cb, d, deadline);
}

/* Destroys one socket. 0, or -errno (-ENOENT: it went meanwhile). */
static int
sockdiag_destroy(struct sockdiag *sd, const struct sockdiag_victim *v, int64_t deadline)
{
	char             buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh = sockdiag_request(sd, buf, SOCK_DESTROY, v->family, &v->id);
	int              r;

	if ((r = sockdiag_send(sd, nlh)) < 0)
		return r;
	return sockdiag_run(sd, nlh->nlmsg_seq, NULL, NULL, deadline);
}

static chaos_err
sockdiag_fail(int r, const char *what, chaos_why *why)
{
	if (r == -EOPNOTSUPP)
		return chaos_fail(why, CHAOS_EUNSUPPORTED,
		                  "%s: the kernel cannot destroy sockets "
		                  "(CONFIG_INET_DIAG_DESTROY)",
		                  what);
	if (r == -EPERM || r == -EACCES)
		return chaos_fail(why, CHAOS_EPERM,
		                  "%s: %s (the agent needs CAP_NET_ADMIN)", what,
		                  strerror(-r));
	if (r == -ETIMEDOUT)
		return chaos_fail(why, CHAOS_ETIMEDOUT,
		                  "%s: no answer from the kernel in time", what);
	return chaos_fail(why, r == -ENOMEM ? CHAOS_ENOMEM : CHAOS_ESYS, "%s: %s", what,
	                  strerror(-r));
}

chaos_err
sockdiag_abort_tcp(struct sockdiag *sd, const struct sockdiag_filter *f,
                   int64_t deadline_mono, unsigned *aborted, chaos_why *why)
{
	static const uint8_t families[] = {AF_INET, AF_INET6};
	struct sockdiag_dump d          = {.f = f, .sd = sd};
	struct nft_range    *ranges     = NULL;
	chaos_err            rv         = CHAOS_OK;
	size_t               i;
	int                  r;

	*aborted = 0;
	if (f->n_ports == 0)
		return chaos_fail(why, CHAOS_EINVAL, "abort connections: no ports");
	if ((r = sockdiag_ranges(f, &ranges)) < 0)
		return r == -ENOMEM
		    ? CHAOS_ENOMEM
		    : chaos_fail(why, CHAOS_EINVAL,
		                 "abort connections: a peer is not an IPv4 CIDR");
	d.ranges = ranges;
	for (i = 0; i < sizeof(families) && rv == CHAOS_OK; i++)
		if ((r = sockdiag_dump(sd, families[i], &d, deadline_mono)) < 0)
			rv = sockdiag_fail(r, "listing connections", why);
	if (rv == CHAOS_OK && d.nomem)
		rv = CHAOS_ENOMEM;
	for (i = 0; i < d.n && rv == CHAOS_OK; i++) {
		r = sockdiag_destroy(sd, &d.v[i], deadline_mono);
		if (r == 0)
			(*aborted)++;
		else if (r != -ENOENT)
			rv = sockdiag_fail(r, "aborting a connection", why);
	}
	free(d.v);
	free(ranges);
	return rv;
}
