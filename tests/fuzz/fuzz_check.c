// SPDX-License-Identifier: MIT
#include "tests/fuzz/fuzz_check.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

void
fuzz_require(bool ok)
{
	if (!ok)
		abort();
}

bool
fuzz_terminated(const char *s, size_t size)
{
	return memchr(s, '\0', size) != NULL;
}

char *
fuzz_body(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (s != NULL) {
		memcpy(s, data, size);
		s[size] = '\0';
	}
	return s;
}

size_t
fuzz_json_items(const char *body, size_t len)
{
	json_t *root = json_loadb(body, len, 0, NULL);
	size_t  n    = json_array_size(json_object_get(root, "items"));

	json_decref(root);
	return n;
}
