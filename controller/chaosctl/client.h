/* SPDX-License-Identifier: MIT */
/* chaosctl's side of the control API: one request, one validated response. */
#ifndef CHAOS_CONTROLLER_CHAOSCTL_CLIENT_H
#define CHAOS_CONTROLLER_CHAOSCTL_CLIENT_H

#include <stddef.h>

#include "common/err.h"
#include "common/transport.h"
#include "proto/chaos.pb-c.h"

#define CTL_DEFAULT_URL "ipc:///run/chaos/control.sock"

struct ctl_target {
	const char          *url;
	struct transport_tls tls;
	int                  timeout_ms;
};

/* Sends req and waits for the response, all of it (connecting, the
 * request, the answer) within t->timeout_ms. On CHAOS_OK *out is the caller's
 * (wire_free). Otherwise why holds one line that says what to check
 * (CHAOS_ECONN: the controller cannot be reached or did not answer;
 * CHAOS_EPROTO/CHAOS_EVERSION: its answer is not valid). A response whose
 * error field is set is returned as CHAOS_OK: the caller decides. */
chaos_err ctl_call(const struct ctl_target *t, Chaos__V1__ControlRequest *req,
                   Chaos__V1__ControlResponse **out, chaos_why *why);

#endif
