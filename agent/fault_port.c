// SPDX-License-Identifier: MIT
/*
 * port: refuse (TCP reset) or blackhole (drop) TCP to ports. DIRECTION_IN
 * (default): ingress to local ports, from everyone or only from peers (the
 * server side). DIRECTION_OUT: egress to peers:ports (the client side; the
 * local client gets the reset, or its SYNs vanish).
 */
#include "agent/fault_ops.h"

static void
port_to_nft(const Chaos__V1__FaultSpec *spec, void *state, struct nft_fault *f,
            uint16_t *ports_buf)
{
	const Chaos__V1__PortFault *p = spec->port;
	bool                        out =
	    p->has_direction && p->direction == CHAOS__V1__DIRECTION__DIRECTION_OUT;

	(void)state;
	f->kind    = p->has_mode && p->mode == CHAOS__V1__REJECT_MODE__REJECT_MODE_DROP
	       ? NFT_FAULT_BLACKHOLE
	       : NFT_FAULT_REJECT;
	f->dir     = out ? NFT_DIR_OUT : NFT_DIR_IN;
	f->proto   = NFT_L4_TCP;
	f->peers   = (const char *const *)p->peers;
	f->n_peers = p->n_peers;
	f->ports   = ports_buf;
	f->n_ports = fault_nft_ports(p->ports, p->n_ports, ports_buf);
}

const struct fault_ops fault_port_ops = {
    .kind   = CHAOS__V1__FAULT_SPEC__KIND_PORT,
    .name   = "port",
    .to_nft = port_to_nft,
};
