// SPDX-License-Identifier: MIT
/*
 * Built batches, kept for the next socket that commits the same ruleset. A
 * node agent applying a partition to a hundred pods has two rulesets (one
 * per side), so it builds two batches, not a hundred. The key is the whole
 * ruleset written out (every field nft_build_batch reads), so a hit gives
 * byte for byte the batch a build would. Sequence numbers stay those of the
 * first build: replies are matched per socket, against the batch's range.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent/nft_int.h"

struct nft_cache_slot {
	char             *key;
	size_t            key_len;
	struct nft_batch *b;
	uint64_t          used;
};

struct nft_cache {
	pthread_mutex_t        mtx;
	struct nft_cache_slot *slots;
	size_t                 n_slots;
	uint64_t               tick;
};

chaos_err
nft_cache_new(size_t slots, struct nft_cache **out)
{
	struct nft_cache *c = calloc(1, sizeof(*c));

	if (c == NULL || slots == 0 ||
	    (c->slots = calloc(slots, sizeof(*c->slots))) == NULL) {
		free(c);
		return CHAOS_ENOMEM;
	}
	c->n_slots = slots;
	pthread_mutex_init(&c->mtx, NULL);
	*out = c;
	return CHAOS_OK;
}

void
nft_cache_free(struct nft_cache *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->n_slots; i++) {
		free(c->slots[i].key);
		nft_batch_free(c->slots[i].b);
	}
	pthread_mutex_destroy(&c->mtx);
	free(c->slots);
	free(c);
}

/* ---- the key ---- */

struct nft_key {
	char  *buf;
	size_t len, cap;
	bool   oom;
};

static void
nft_key_put(struct nft_key *k, const void *p, size_t n)
{
	char *nb;

	if (k->oom)
		return;
	if (k->len + n > k->cap) {
		size_t cap = (k->cap ? k->cap * 2 : 512) + n;
		if ((nb = realloc(k->buf, cap)) == NULL) {
			k->oom = true;
			return;
		}
		k->buf = nb;
		k->cap = cap;
	}
	memcpy(k->buf + k->len, p, n);
	k->len += n;
}

/* A string with its terminator, so that "a","bc" and "ab","c" differ. */
static void
nft_key_str(struct nft_key *k, const char *s)
{
	nft_key_put(k, s, strlen(s) + 1);
}

static void
nft_key_fault(struct nft_key *k, const struct nft_fault *f)
{
	uint32_t v[] = {f->kind,
	                f->dir,
	                f->proto,
	                f->loss_percent,
	                f->redirect_dport,
	                f->redirect_to_port,
	                f->redirect_skip_mark,
	                (uint32_t)f->n_peers,
	                (uint32_t)f->n_ports};

	nft_key_put(k, v, sizeof(v));
	for (size_t i = 0; i < f->n_peers; i++)
		nft_key_str(k, f->peers[i]);
	if (f->n_ports > 0)
		nft_key_put(k, f->ports, f->n_ports * sizeof(f->ports[0]));
}

/* The whole input of a build; false when out of memory. */
static bool
nft_key_make(struct nft_key *k, const char *table, const struct nft_ruleset *rs,
             bool fresh)
{
	uint32_t v[] = {fresh, rs->fault_loopback, (uint32_t)rs->n_faults,
	                (uint32_t)rs->n_exempt};

	nft_key_str(k, table);
	nft_key_put(k, v, sizeof(v));
	for (size_t i = 0; i < rs->n_faults; i++)
		nft_key_fault(k, &rs->faults[i]);
	for (size_t i = 0; i < rs->n_exempt; i++)
		nft_key_str(k, rs->exempt[i]);
	return !k->oom;
}

/* ---- copies ---- */

static struct nft_batch *
nft_batch_clone(const struct nft_batch *b)
{
	struct nft_batch *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	*c          = *b;
	c->buf      = malloc(b->len ? b->len : 1);
	c->msgs     = malloc((b->n_msgs ? b->n_msgs : 1) * sizeof(*b->msgs));
	c->cap      = b->len;
	c->cap_msgs = b->n_msgs;
	if (c->buf == NULL || c->msgs == NULL) {
		nft_batch_free(c);
		return NULL;
	}
	memcpy(c->buf, b->buf, b->len);
	memcpy(c->msgs, b->msgs, b->n_msgs * sizeof(*b->msgs));
	return c;
}

static struct nft_batch *
nft_cache_find(struct nft_cache *c, const struct nft_key *k)
{
	struct nft_batch *hit = NULL;

	pthread_mutex_lock(&c->mtx);
	for (size_t i = 0; i < c->n_slots && hit == NULL; i++) {
		struct nft_cache_slot *s = &c->slots[i];
		if (s->b == NULL || s->key_len != k->len ||
		    memcmp(s->key, k->buf, k->len) != 0)
			continue;
		s->used = ++c->tick;
		hit     = nft_batch_clone(s->b);
	}
	pthread_mutex_unlock(&c->mtx);
	return hit;
}

/* Keeps a copy of b under k (its buffer taken), evicting the least used. */
static void
nft_cache_keep(struct nft_cache *c, struct nft_key *k, const struct nft_batch *b)
{
	struct nft_batch      *copy = nft_batch_clone(b);
	struct nft_cache_slot *s;

	if (copy == NULL)
		return;
	pthread_mutex_lock(&c->mtx);
	s = &c->slots[0];
	for (size_t i = 1; i < c->n_slots; i++)
		if (c->slots[i].used < s->used)
			s = &c->slots[i];
	free(s->key);
	nft_batch_free(s->b);
	s->key     = k->buf;
	s->key_len = k->len;
	s->b       = copy;
	s->used    = ++c->tick;
	k->buf     = NULL;
	pthread_mutex_unlock(&c->mtx);
}

chaos_err
nft_cache_build(struct nft_cache *c, const char *table, const struct nft_ruleset *rs,
                uint32_t seq, bool fresh, struct nft_batch **out, chaos_why *why)
{
	struct nft_key k = {0};
	chaos_err      rv;

	if (c == NULL || !nft_key_make(&k, table, rs, fresh)) {
		free(k.buf);
		return nft_build_batch_ex(table, rs, seq, fresh, out, why);
	}
	if ((*out = nft_cache_find(c, &k)) != NULL) {
		free(k.buf);
		return CHAOS_OK;
	}
	if ((rv = nft_build_batch_ex(table, rs, seq, fresh, out, why)) == CHAOS_OK)
		nft_cache_keep(c, &k, *out);
	free(k.buf);
	return rv;
}
