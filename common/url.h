/* SPDX-License-Identifier: MIT */
/* Derived endpoint addresses. */
#ifndef CHAOS_COMMON_URL_H
#define CHAOS_COMMON_URL_H

#include <stddef.h>

/* The events channel lives next to the session channel: the same host with
 * port + 1 for tcp:// and tls+tcp://, or the path with ".events" appended for
 * ipc://. Returns CHAOS_EINVAL for an unusable URL or a too-small buffer. */
int url_events_from_session(const char *session_url, char *out, size_t len);

/* Copies the host part of a tcp:// or tls+tcp:// URL ("[::1]" keeps no
 * brackets) into out; CHAOS_EINVAL otherwise. */
int url_host(const char *url, char *out, size_t len);

#endif
