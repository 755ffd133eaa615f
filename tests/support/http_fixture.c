// SPDX-License-Identifier: MIT
#include "http_fixture.h"

#include <stdio.h>

int
http_fixture_open(struct http_fixture *f, const char *name, http_srv_route_fn route)
{
	chaos_why why = {{0}};

	if (http_srv_start(&f->srv, route, NULL) != 0) {
		fprintf(stderr, "%s: cannot start the HTTP server\n", name);
		return -1;
	}
	if (event_sink_open(&f->sink, name, &why) != CHAOS_OK) {
		fprintf(stderr, "%s: %s\n", name, why.text);
		http_srv_stop(&f->srv);
		return -1;
	}
	snprintf(f->base, sizeof(f->base), "http://127.0.0.1:%u", f->srv.port);
	return 0;
}

void
http_fixture_close(struct http_fixture *f)
{
	event_sink_close(&f->sink);
	http_srv_stop(&f->srv);
}
