// SPDX-License-Identifier: MIT
#include "tests/support/stderr_cap.h"

#include <unistd.h>

int
stderr_cap_begin(struct stderr_cap *c)
{
	if ((c->file = tmpfile()) == NULL)
		return -1;
	fflush(stderr);
	if ((c->saved = dup(2)) < 0 || dup2(fileno(c->file), 2) < 0) {
		if (c->saved >= 0)
			close(c->saved);
		fclose(c->file);
		return -1;
	}
	return 0;
}

void
stderr_cap_end(struct stderr_cap *c, char *out, size_t len)
{
	size_t n;

	fflush(stderr);
	dup2(c->saved, 2);
	close(c->saved);
	rewind(c->file);
	n      = fread(out, 1, len - 1, c->file);
	out[n] = '\0';
	fclose(c->file);
}
