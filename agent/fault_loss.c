// SPDX-License-Identifier: MIT
/* loss: drop a random share of packets to and from peers (numgen random). */
#include "agent/fault_ops.h"

static void
loss_to_nft(const Chaos__V1__FaultSpec *spec, void *state, struct nft_fault *f,
            uint16_t *ports_buf)
{
	(void)state;
	const Chaos__V1__LossFault *l = spec->loss;

	(void)ports_buf;
	f->kind         = NFT_FAULT_LOSS;
	f->dir          = NFT_DIR_BOTH;
	f->peers        = (const char *const *)l->peers;
	f->n_peers      = l->n_peers;
	f->loss_percent = (uint8_t)l->percent;
}

const struct fault_ops fault_loss_ops = {
    .kind   = CHAOS__V1__FAULT_SPEC__KIND_LOSS,
    .name   = "loss",
    .to_nft = loss_to_nft,
};
