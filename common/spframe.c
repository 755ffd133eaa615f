// SPDX-License-Identifier: MIT
#include "common/spframe.h"

void
spframe_hello(uint8_t out[SPFRAME_HELLO_LEN], uint16_t proto)
{
	out[0] = 0, out[1] = 'S', out[2] = 'P', out[3] = 0;
	out[4] = (uint8_t)(proto >> 8), out[5] = (uint8_t)proto;
	out[6] = 0, out[7] = 0;
}

bool
spframe_hello_is(const uint8_t in[SPFRAME_HELLO_LEN], uint16_t proto, int *got)
{
	bool sp = in[0] == 0 && in[1] == 'S' && in[2] == 'P' && in[3] == 0 &&
	    in[6] == 0 && in[7] == 0;
	int peer = sp ? (in[4] << 8 | in[5]) : -1;

	if (got != NULL)
		*got = peer;
	return peer == proto;
}

void
spframe_tcp_head(uint8_t out[SPFRAME_TCP_HEAD_LEN], uint64_t len)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(len >> (56 - 8 * i));
}

uint64_t
spframe_tcp_head_len(const uint8_t in[SPFRAME_TCP_HEAD_LEN])
{
	uint64_t n = 0;

	for (int i = 0; i < 8; i++)
		n = n << 8 | in[i];
	return n;
}

void
spframe_head(uint8_t out[SPFRAME_HEAD_LEN], uint64_t len)
{
	out[0] = 1;
	spframe_tcp_head(out + 1, len);
}

bool
spframe_head_len(const uint8_t in[SPFRAME_HEAD_LEN], uint64_t *len)
{
	*len = spframe_tcp_head_len(in + 1);
	return in[0] == 1;
}
