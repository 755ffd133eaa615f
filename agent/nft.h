/* SPDX-License-Identifier: MIT */
/*
 * The agent's nftables engine: one table per target, owned by the agent's
 * netlink socket (NFT_TABLE_F_OWNER), so the kernel deletes it the moment the
 * socket closes (agent exit, crash, kill -9). Every apply and every revert is
 * one atomic netlink batch.
 *
 * Family: the table is `inet` (one table for IPv4 and IPv6, one socket, one
 * owner). Exempt CIDRs may be IPv4 or IPv6 (a controller reached over IPv6):
 * each family has its set, matched under `meta nfproto ipv4|ipv6`. Fault
 * peers are IPv4 only for now (guarded by `meta nfproto ipv4`); rules
 * without address matches (a port fault without peers, loopback exemption)
 * apply to IPv6 too. IPv6 peers can be added later as ipv6_addr sets, as
 * exempt6 is.
 *
 * Layout of the table (created only as needed by the ruleset):
 *   set  exempt          ipv4 interval set of exempt CIDRs
 *   set  exempt6         ipv6 interval set of exempt CIDRs
 *   set  f<i>_peers      ipv4 interval set of fault i's peers
 *   set  f<i>_ports      inet_service set of fault i's ports
 *   chain input          filter hook input priority 0
 *   chain output         filter hook output priority 0
 *   chain nat_prerouting nat hook prerouting priority -100 (redirect)
 *   chain nat_output     nat hook output priority -100 (redirect)
 * Each chain starts with the exemptions (`iif/oif lo`, `ip saddr|daddr
 * @exempt`, `ip6 saddr|daddr @exempt6`: accept), then one rule per fault and direction,
 * each with a counter and a comment "f<i> <kind> <in|out>" that nft_counters() reads
 * back.
 *
 * Threads and namespaces: nft_open() must run on a thread that is inside the
 * target's network namespace (see netns_run() in agent/netns.h); the socket
 * stays in that namespace for its whole life, so the other calls may then be
 * made from any thread (the agent's event loop). A context is not
 * thread-safe: one thread at a time.
 *
 * Errors: public functions return CHAOS_OK or a CHAOS_E* (common/err.h) and,
 * on failure, fill why (NULL allowed) with what went wrong; the socket
 * functions also log it.
 */
#ifndef CHAOS_AGENT_NFT_H
#define CHAOS_AGENT_NFT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/limits.h"

#define NFT_MAX_PEERS LIMIT_PEERS           /* CIDRs per fault, and exempt CIDRs */
#define NFT_MAX_PORTS LIMIT_FAULT_MAX_PORTS /* ports per fault */
#define NFT_MAX_FAULTS 32                   /* faults per ruleset */
#define NFT_MAX_TABLE_NAME 64

enum nft_fault_kind {
	NFT_FAULT_PARTITION, /* drop traffic to/from peers */
	NFT_FAULT_REJECT,    /* refuse TCP/UDP to ports: TCP RST / ICMP */
	NFT_FAULT_BLACKHOLE, /* drop TCP/UDP to ports */
	NFT_FAULT_LOSS,      /* drop loss_percent % of packets to/from peers */
	NFT_FAULT_REDIRECT,  /* nat-redirect TCP to a local proxy port */
};

/* Which way the fault acts. Input matches the source address (peer -> us),
 * output the destination address (us -> peer). For REDIRECT, IN is the
 * prerouting chain (peers connecting to us) and OUT the output chain (us
 * connecting to peers). REJECT and BLACKHOLE act on one side: IN (and BOTH,
 * the zero default, kept as ingress) refuses ingress to local ports, OUT
 * refuses egress to peers' ports (a reset then reaches the local client). */
enum nft_direction {
	NFT_DIR_BOTH = 0,
	NFT_DIR_IN,
	NFT_DIR_OUT,
};

enum nft_l4proto {
	NFT_L4_ANY = 0,
	NFT_L4_TCP = 6,
	NFT_L4_UDP = 17,
};

/*
 * One fault. All pointers are borrowed for the duration of the call that
 * takes the ruleset; nothing is kept afterwards. Fields a kind does not use
 * must be left zero/NULL.
 *
 * peers: IPv4 "a.b.c.d/n" or "a.b.c.d" strings; duplicates and overlaps are
 *        merged; host bits are masked. (IPv6: CHAOS_EUNSUPPORTED.)
 *        PARTITION, LOSS: required (1..NFT_MAX_PEERS; "0.0.0.0/0" for all).
 *        REJECT, BLACKHOLE, REDIRECT: optional filter (0 = everyone),
 *        except REJECT/BLACKHOLE with NFT_DIR_OUT: required.
 * proto: PARTITION, LOSS: optional filter, required when ports are given.
 *        REJECT, BLACKHOLE: TCP (default when ANY) or UDP; a UDP reject sends
 *        ICMP port unreachable.
 * ports: host byte order, 1..65535.
 *        PARTITION, LOSS: optional destination-port filter.
 *        REJECT, BLACKHOLE: required, the destination ports (local ports
 *        for IN, the peers' ports for OUT).
 * loss_percent:   LOSS: 1..100.
 * redirect_dport: REDIRECT: TCP destination port to capture.
 * redirect_to_port: REDIRECT: local port of the proxy.
 * redirect_skip_mark: REDIRECT: packets with this mark (the proxy's SO_MARK)
 *        are left alone; required (non-zero) when the direction includes OUT.
 */
struct nft_fault {
	enum nft_fault_kind kind;
	enum nft_direction  dir;
	const char *const  *peers;
	size_t              n_peers;
	enum nft_l4proto    proto;
	const uint16_t     *ports;
	size_t              n_ports;
	uint8_t             loss_percent;
	uint16_t            redirect_dport;
	uint16_t            redirect_to_port;
	uint32_t            redirect_skip_mark;
};

/*
 * The whole desired content of the table. Borrowed like nft_fault.
 * exempt: CIDRs always accepted first (the controller's addresses...),
 *        IPv4 or IPv6 ("fd00::1", "fd00::/64"), merged like peers.
 * fault_loopback: false (usual) exempts loopback (`iif lo`/`oif lo`, which
 *        covers 127.0.0.0/8 and the host's own addresses); true when the
 *        fault is about loopback traffic.
 */
struct nft_ruleset {
	const struct nft_fault *faults;
	size_t                  n_faults;
	const char *const      *exempt;
	size_t                  n_exempt;
	bool                    fault_loopback;
};

/* Packet/byte counters of one rule, as read back from the kernel. */
struct nft_counter {
	uint32_t            fault; /* index in the committed ruleset's faults */
	enum nft_fault_kind kind;
	enum nft_direction  dir; /* NFT_DIR_IN or NFT_DIR_OUT */
	uint64_t            packets;
	uint64_t            bytes;
};

struct nft_ctx;   /* an open socket plus its table name */
struct nft_batch; /* a built netlink batch, for tests and tools */

/*
 * Opens a NETLINK_NETFILTER socket in the calling thread's current network
 * namespace, deletes a leftover table `inet <table_name>` if there is one, and
 * creates the table, empty, owned by the socket. On success *out owns the
 * context (free with nft_close). table_name: [A-Za-z0-9_-], 1..63 chars.
 * Errors: CHAOS_EINVAL (name), CHAOS_EPERM (no CAP_NET_ADMIN), CHAOS_EBUSY
 * (the table is owned by another live process), CHAOS_ENOMEM, CHAOS_ESYS.
 */
chaos_err nft_open(const char *table_name, struct nft_ctx **out, chaos_why *why);

/*
 * Opens the socket only, in the calling thread's network namespace: no
 * table until the first nft_commit(), which creates it in the same batch
 * as its content (one batch instead of three: the node agent's first fault
 * on a pod). A leftover table of that name (not owned by a live socket) is
 * deleted then, as nft_open() does. Errors: CHAOS_EINVAL (name),
 * CHAOS_EPERM, CHAOS_ENOMEM, CHAOS_ESYS.
 */
chaos_err nft_open_socket(const char *table_name, struct nft_ctx **out, chaos_why *why);

/*
 * A cache of built batches that contexts may share (thread-safe): a commit
 * of a ruleset another context of the same cache committed reuses the
 * batch built then, byte for byte, instead of building it again. slots:
 * how many distinct rulesets are kept (the least used goes). Errors:
 * CHAOS_ENOMEM.
 */
struct nft_cache;
chaos_err nft_cache_new(size_t slots, struct nft_cache **out);
void      nft_cache_free(struct nft_cache *c); /* NULL ok; after its contexts */

/* Makes ctx's commits go through cache (NULL: none); cache outlives ctx. */
void nft_set_cache(struct nft_ctx *ctx, struct nft_cache *cache);

/*
 * Deletes the table in one batch and keeps the socket, in its namespace,
 * for the next nft_commit() (which makes the table again, as on a new
 * socket). Closing does the same but makes the kernel wait for an RCU grace
 * period inside close() (milliseconds per socket); this does not, and the
 * next apply needs no socket opened inside the namespace. Nothing to do on
 * a socket that made no table. Errors: as nft_commit; the table may then
 * still be there (nft_close() removes it).
 */
chaos_err nft_drop(struct nft_ctx *ctx, chaos_why *why);

/* Closes the socket; the kernel then deletes the table. Accepts NULL. */
void nft_close(struct nft_ctx *ctx);

/*
 * Checks a ruleset without building anything. Returns CHAOS_OK or
 * CHAOS_EINVAL (bad CIDR, prefix > 32 or, IPv6, > 128, too many
 * peers/ports/faults, port 0, percent 0 or > 100, ports without proto...) or
 * CHAOS_EUNSUPPORTED (an IPv6 peer), with why naming the fault ("fault 2:
 * ...").
 */
chaos_err nft_ruleset_check(const struct nft_ruleset *rs, chaos_why *why);

/*
 * Replaces the whole content of the table with rs in one atomic batch
 * (table re-created, sets, elements, chains, rules). On failure the kernel
 * keeps the previous content, and why tells which object failed and why
 * ("batch refused at set f0_peers: ...").
 * Errors: those of nft_ruleset_check, CHAOS_EPERM, CHAOS_ENOENT,
 * CHAOS_EUNSUPPORTED (kernel lacks a feature), CHAOS_ETOOBIG, CHAOS_ENOMEM,
 * CHAOS_ETIMEDOUT or CHAOS_ESYS (replies lost: the state is then unknown, so
 * clear or close the context).
 */
chaos_err nft_commit(struct nft_ctx *ctx, const struct nft_ruleset *rs, chaos_why *why);

/* Reverts every fault: one batch leaving the table empty (still owned).
 * Errors: as nft_commit. */
chaos_err nft_clear(struct nft_ctx *ctx, chaos_why *why);

/*
 * Dumps the table's rules and writes the counter of each fault rule to
 * out[0..cap), in chain order (input, output, then nat), setting *n_out.
 * Errors: CHAOS_ETOOBIG if there are more than cap (the first cap are
 * written), CHAOS_EPROTO (malformed reply), CHAOS_ESYS.
 */
chaos_err nft_counters(struct nft_ctx *ctx, struct nft_counter *out, size_t cap,
                       size_t *n_out, chaos_why *why);

/*
 * Builds, without any socket, the batch nft_commit would send for rs on table
 * table_name: BEGIN, NEWTABLE(owner), DELTABLE, NEWTABLE(owner), objects,
 * END, with sequence numbers seq, seq+1, ... On success *out owns the batch
 * (free with nft_batch_free). Errors: CHAOS_EINVAL (table name), as
 * nft_ruleset_check, CHAOS_ENOMEM.
 */
chaos_err nft_build_batch(const char *table_name, const struct nft_ruleset *rs,
                          uint32_t seq, struct nft_batch **out, chaos_why *why);

/* The batch bytes: a sequence of netlink messages (walk with mnl_nlmsg_next). */
const void *nft_batch_data(const struct nft_batch *b);
size_t      nft_batch_len(const struct nft_batch *b);

/* Frees a batch; accepts NULL. */
void nft_batch_free(struct nft_batch *b);

/* Short lowercase name of a fault kind ("partition"...), never NULL. */
const char *nft_fault_kind_name(enum nft_fault_kind kind);

#endif
