/* SPDX-License-Identifier: MIT */
/*
 * Every limit that more than one part checks, in one place: the wire checks
 * (common/wire.c), the agent's own checks, the controller's parameter
 * validation and chaosctl's flag tables all read these, so a range is
 * written once. Limits private to one module stay in that module.
 */
#ifndef CHAOS_COMMON_LIMITS_H
#define CHAOS_COMMON_LIMITS_H

/* Leases: an agent reverts a fault by itself when the controller has not
 * renewed it for this long. Short enough that a dead controller strands
 * nothing for long, long enough to ride out a slow poll. */
#define LIMIT_LEASE_MIN_MS 500u
#define LIMIT_LEASE_MAX_MS 60000u
#define LIMIT_LEASE_DEFAULT_MS 3000u

/* How long a fault, a failure or a load may last. */
#define LIMIT_DURATION_MAX_S 86400.0 /* 24 h */
#define LIMIT_DURATION_MIN_S 0.1

/* Added latency of the delaying proxy (one round trip). */
#define LIMIT_DELAY_MAX_MS 600000u

/* Probes. */
#define LIMIT_PROBE_INTERVAL_MIN_MS 10u
#define LIMIT_PROBE_INTERVAL_MAX_MS 60000u
#define LIMIT_TIMEOUT_MIN_MS 10u
#define LIMIT_TIMEOUT_MAX_MS 60000u

/* Open-loop load. */
#define LIMIT_LOAD_MAX_RATE 1000000u /* requests per second */
#define LIMIT_LOAD_MAX_CONCURRENCY 10000u
#define LIMIT_LOAD_MAX_DURATION_MS 86400000u /* 24 h */

/* TCP and UDP ports. */
#define LIMIT_PORT_MIN 1u
#define LIMIT_PORT_MAX 65535u

/* Identity proofs (mutual TLS): the controller's nonce, and the agent's
 * certificates (its own and intermediates, DER) and signature. An RSA-4096
 * signature is 512 bytes, a P-256 certificate well under 1 KiB. */
#define LIMIT_NONCE_MIN 16u
#define LIMIT_NONCE_MAX 64u
#define LIMIT_PROOF_CERTS 4u
#define LIMIT_PROOF_CERT_LEN 8192u
#define LIMIT_PROOF_SIG_LEN 1024u

/* Packet loss in percent. */
#define LIMIT_LOSS_MAX_PERCENT 100u

/* Connectivity checks: targets per check. */
#define LIMIT_CONNCHECK_MAX_TARGETS 256u

/* Ports named by one fault. */
#define LIMIT_FAULT_MAX_PORTS 64u

/* Strings that travel: ids (a DNS label is 63, a namespace/pod pair fits in
 * 253), free text, lists. */
#define LIMIT_ID_LEN 253u
#define LIMIT_TEXT_LEN 4096u
#define LIMIT_REPEATED 4096u
/* Agents one controller serves (--max-agents), and so lists in one control
 * answer (ControlResponse.agents, which LIMIT_REPEATED would cut at 4096). */
#define LIMIT_AGENTS 65536u
#define LIMIT_PEERS 4096u
#define LIMIT_URL_LEN 2048u

/* Node agents: network namespaces one agent reports (a kubelet runs 110
 * pods by default), IPv4 addresses per namespace, length of a netns name. */
#define LIMIT_NODE_TARGETS 256u
#define LIMIT_TARGET_IPS 8u
#define LIMIT_NETNS_NAME_LEN 63u

/* Stability window and recovery wait of a scenario, seconds. */
#define LIMIT_WINDOW_MAX_S 3600.0
#define LIMIT_RECOVERY_TIMEOUT_MIN_S 1.0

/* HTTP status codes a probe may expect. */
/* An HTTP probe's watched field may stand still this long when the probe
 * names no window (ProbeSpec.advance_window_ms). */
#define LIMIT_ADVANCE_WINDOW_DEFAULT_MS 5000u

#define LIMIT_HTTP_STATUS_MIN 100u
#define LIMIT_HTTP_STATUS_MAX 599u

#endif
