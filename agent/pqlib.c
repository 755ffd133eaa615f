// SPDX-License-Identifier: MIT
#include "agent/pqlib.h"

#include <dlfcn.h>
#include <stdatomic.h>
#include <pthread.h>
#include <stddef.h>
#include <string.h>

#define PQLIB_USERS "PostgreSQL probes and faults need it"

static const struct {
	const char *name;
	size_t      offset;
} pqlib_symbols[] = {
#define PQLIB_SYMBOL(fn) {#fn, offsetof(struct pqlib, fn)},
    PQLIB_FUNCTIONS(PQLIB_SYMBOL)
#undef PQLIB_SYMBOL
};

static pthread_mutex_t               pqlib_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pqlib                  pqlib_table;
static _Atomic(const struct pqlib *) pqlib_ready; /* &pqlib_table once loaded */

chaos_err
pqlib_open(const char *soname, struct pqlib *out, chaos_why *why)
{
	struct pqlib t;
	/* RTLD_LOCAL: libpq's symbols (and OpenSSL's) stay out of the global
	 * scope, where they could capture a later library's lookups. */
	void *h = dlopen(soname, RTLD_NOW | RTLD_LOCAL);

	if (h == NULL)
		return chaos_fail(why, CHAOS_EUNSUPPORTED,
		                  "%s cannot be loaded (%s): install the package "
		                  "libpq5 (" PQLIB_USERS ")",
		                  soname, dlerror());
	for (size_t i = 0; i < sizeof(pqlib_symbols) / sizeof(pqlib_symbols[0]); i++) {
		void *fn = dlsym(h, pqlib_symbols[i].name);

		if (fn == NULL) {
			/* dlclose is safe here: nothing of it was called yet. */
			dlclose(h);
			return chaos_fail(
			    why, CHAOS_EUNSUPPORTED,
			    "%s has no %s: not a usable libpq; " PQLIB_USERS, soname,
			    pqlib_symbols[i].name);
		}
		memcpy((char *)&t + pqlib_symbols[i].offset, &fn, sizeof(fn));
	}
	*out = t;
	return CHAOS_OK;
}

const struct pqlib *
pqlib_get(chaos_why *why)
{
	const struct pqlib *t = atomic_load_explicit(&pqlib_ready, memory_order_acquire);

	if (t != NULL)
		return t;
	pthread_mutex_lock(&pqlib_lock);
	t = atomic_load_explicit(&pqlib_ready, memory_order_relaxed);
	if (t == NULL && pqlib_open(PQLIB_SONAME, &pqlib_table, why) == CHAOS_OK) {
		t = &pqlib_table;
		atomic_store_explicit(&pqlib_ready, t, memory_order_release);
	}
	pthread_mutex_unlock(&pqlib_lock);
	return t;
}
