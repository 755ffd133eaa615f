// SPDX-License-Identifier: MIT
/* partition: drop traffic to and from a set of peer CIDRs. */
#include "agent/fault_ops.h"

static void
partition_to_nft(const Chaos__V1__FaultSpec *spec, void *state, struct nft_fault *f,
                 uint16_t *ports_buf)
{
	(void)state;
	const Chaos__V1__PartitionFault *p = spec->partition;

	f->kind    = NFT_FAULT_PARTITION;
	f->dir     = fault_nft_direction(p->has_direction ? p->direction : 0);
	f->peers   = (const char *const *)p->peers;
	f->n_peers = p->n_peers;
	f->proto   = fault_nft_proto(p->has_proto ? p->proto : 0);
	f->ports   = ports_buf;
	f->n_ports = fault_nft_ports(p->ports, p->n_ports, ports_buf);
	/* A port filter needs a protocol; TCP is what "port" means to users. */
	if (f->n_ports > 0 && f->proto == NFT_L4_ANY)
		f->proto = NFT_L4_TCP;
}

const struct fault_ops fault_partition_ops = {
    .kind   = CHAOS__V1__FAULT_SPEC__KIND_PARTITION,
    .name   = "partition",
    .to_nft = partition_to_nft,
};
