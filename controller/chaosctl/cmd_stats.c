// SPDX-License-Identifier: MIT
/* chaosctl stats [--json]: per-endpoint counters of the controller. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

#include "common/err.h"
#include "common/wire.h"
#include "controller/chaosctl/chaosctl.h"

static void
stats_print(const Chaos__V1__ControlResponse *r, bool json)
{
	json_t *o = json_object();
	char   *s;

	if (!json)
		printf("%-8s %10s %10s %12s  %s\n", "ENDPOINT", "RECEIVED", "DROPPED",
		       "PIPES_CLOSED", "LAST DROP REASON");
	for (size_t i = 0; i < r->n_endpoints; i++) {
		const Chaos__V1__EndpointStats *e = r->endpoints[i];
		if (json) {
			json_object_set_new(
			    o, e->name,
			    json_pack("{s:I,s:I,s:I,s:s?}", "received",
			              (json_int_t)e->received, "dropped",
			              (json_int_t)e->dropped, "pipes_closed",
			              (json_int_t)e->pipes_closed, "last_reason",
			              e->last_reason && *e->last_reason ? e->last_reason
			                                                : NULL));
		} else {
			printf("%-8s %10llu %10llu %12llu  %s\n", e->name,
			       (unsigned long long)e->received,
			       (unsigned long long)e->dropped,
			       (unsigned long long)e->pipes_closed,
			       e->last_reason ? e->last_reason : "");
		}
	}
	if (json && (s = json_dumps(o, JSON_INDENT(2))) != NULL) {
		puts(s);
		free(s);
	}
	json_decref(o);
}

int
cmd_stats(const struct ctl_target *t, int argc, char **argv)
{
	Chaos__V1__ControlRequest req   = CHAOS__V1__CONTROL_REQUEST__INIT;
	Chaos__V1__StatsRequest   stats = CHAOS__V1__STATS_REQUEST__INIT;

	req.body_case = CHAOS__V1__CONTROL_REQUEST__BODY_STATS;
	req.stats     = &stats;
	return chaosctl_show(t, argc, argv, &req, stats_print);
}
