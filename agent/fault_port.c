// SPDX-License-Identifier: MIT
/*
 * port: refuse (TCP reset) or blackhole (drop) TCP to ports. DIRECTION_IN
 * (default): ingress to local ports, from everyone or only from peers (the
 * server side). DIRECTION_OUT: egress to peers:ports (the client side; the
 * local client gets the reset, or its SYNs vanish).
 *
 * A server-side refusal also resets the connections already open to those
 * ports, once its rules are in force (agent/sockdiag.h says why): both ends
 * then see the reset, as when the server goes away, and this side's
 * processes (database backends) do not wait hours for clients that left. A
 * blackhole leaves them alone: a silent network tells neither end.
 */
#include <stdio.h>
#include <stdlib.h>

#include "agent/fault_ops.h"
#include "agent/sockdiag.h"
#include "common/log.h"

#define PORT_RESET_TIMEOUT_MS 2000

struct port_state {
	const Chaos__V1__PortFault *port; /* the entry's spec: it outlives us */
	struct sockdiag            *sd;   /* opened in the target's namespace */
	int64_t                     until;
	int                         reset; /* connections reset; -1: none tried */
	chaos_why                   not_reset;
};

static bool
port_is_out(const Chaos__V1__PortFault *p)
{
	return p->has_direction && p->direction == CHAOS__V1__DIRECTION__DIRECTION_OUT;
}

static bool
port_is_drop(const Chaos__V1__PortFault *p)
{
	return p->has_mode && p->mode == CHAOS__V1__REJECT_MODE__REJECT_MODE_DROP;
}

static bool
port_resets_open(const Chaos__V1__PortFault *p)
{
	return !port_is_out(p) && !port_is_drop(p);
}

static void
port_to_nft(const Chaos__V1__FaultSpec *spec, void *state, struct nft_fault *f,
            uint16_t *ports_buf)
{
	const Chaos__V1__PortFault *p = spec->port;

	(void)state;
	f->kind    = port_is_drop(p) ? NFT_FAULT_BLACKHOLE : NFT_FAULT_REJECT;
	f->dir     = port_is_out(p) ? NFT_DIR_OUT : NFT_DIR_IN;
	f->proto   = NFT_L4_TCP;
	f->peers   = (const char *const *)p->peers;
	f->n_peers = p->n_peers;
	f->ports   = ports_buf;
	f->n_ports = fault_nft_ports(p->ports, p->n_ports, ports_buf);
}

/* Runs in the target's namespace: the socket that resets connections is
 * made here, to be used once the rules are in. Not having it does not fail
 * the fault (the refusal is what it is), it is said in the report. */
static chaos_err
port_start(const Chaos__V1__FaultSpec *spec, int64_t until, void **state, chaos_why *why)
{
	struct port_state *st = calloc(1, sizeof(*st));

	(void)why;
	if (st == NULL)
		return CHAOS_ENOMEM;
	st->port  = spec->port;
	st->until = until;
	st->reset = -1;
	if (port_resets_open(spec->port) &&
	    sockdiag_open(&st->sd, &st->not_reset) != CHAOS_OK)
		st->sd = NULL;
	*state = st;
	return CHAOS_OK;
}

static void
port_stop(void *state)
{
	struct port_state *st = state;

	if (st == NULL)
		return;
	sockdiag_close(st->sd);
	free(st);
}

static chaos_err
port_after_commit(void *state, chaos_why *why)
{
	struct port_state     *st = state;
	uint16_t               ports[NFT_MAX_PORTS];
	struct sockdiag_filter f = {
	    .ports   = ports,
	    .n_ports = fault_nft_ports(st->port->ports, st->port->n_ports, ports),
	    .peers   = (const char *const *)st->port->peers,
	    .n_peers = st->port->n_peers,
	};
	unsigned  n;
	chaos_err rv;

	(void)why;
	if (st->sd == NULL)
		return CHAOS_OK;
	rv        = sockdiag_abort_tcp(st->sd, &f,
	                               fault_step_deadline(st->until, PORT_RESET_TIMEOUT_MS), &n,
	                               &st->not_reset);
	st->reset = (int)n;
	if (rv != CHAOS_OK)
		log_warn("port: open connections not all reset (%u were): %s", n,
		         st->not_reset.text);
	/* one use: the socket goes now, not at the revert */
	sockdiag_close(st->sd);
	st->sd = NULL;
	return CHAOS_OK;
}

static void
port_describe(void *state, char *buf, size_t len)
{
	const struct port_state *st   = state;
	const char              *what = port_is_drop(st->port) ? "drop" : "reject";

	if (!port_resets_open(st->port))
		snprintf(buf, len, "port: %s %s", what,
		         port_is_out(st->port) ? "out" : "in");
	else if (st->not_reset.text[0] != '\0')
		snprintf(buf, len,
		         "port: reject in, %d open connection(s) reset, not all: %s",
		         st->reset < 0 ? 0 : st->reset, st->not_reset.text);
	else
		snprintf(buf, len, "port: reject in, %d open connection(s) reset",
		         st->reset);
}

const struct fault_ops fault_port_ops = {
    .kind         = CHAOS__V1__FAULT_SPEC__KIND_PORT,
    .name         = "port",
    .to_nft       = port_to_nft,
    .start        = port_start,
    .stop         = port_stop,
    .after_commit = port_after_commit,
    .describe     = port_describe,
};
