/* SPDX-License-Identifier: MIT */
/*
 * One ops table per fault kind (fault_<kind>.c). nftables kinds translate
 * their spec into an nft_fault; process kinds (kill, latency proxy) start
 * and stop something of their own.
 */
#ifndef CHAOS_AGENT_FAULT_OPS_H
#define CHAOS_AGENT_FAULT_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "agent/nft.h"
#include "proto/chaos.pb-c.h"

struct fault_ops {
	Chaos__V1__FaultSpec__KindCase kind;
	const char                    *name;
	/* nftables kinds: fill f from spec; ports go to ports_buf (64). */
	int (*to_nft)(const Chaos__V1__FaultSpec *spec, struct nft_fault *f, uint16_t *ports_buf);
	/* process kinds: start; *state is theirs. err gets why on failure. */
	int (*start)(const Chaos__V1__FaultSpec *spec, void **state, char *err, size_t errlen);
	void (*stop)(void *state);
};

extern const struct fault_ops fault_partition_ops;
extern const struct fault_ops fault_port_ops;
extern const struct fault_ops fault_loss_ops;

/* Shared helpers for the nftables kinds. */
enum nft_direction fault_nft_direction(Chaos__V1__Direction d);
enum nft_l4proto   fault_nft_proto(Chaos__V1__L4Proto p);
size_t             fault_nft_ports(const uint32_t *ports, size_t n, uint16_t *buf);

#endif
