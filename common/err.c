// SPDX-License-Identifier: MIT
#include "common/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <nng/nng.h>

#include "common/utf8.h"

static const char *const err_text[CHAOS_ERR_COUNT] = {
    [CHAOS_OK]           = "success",
    [CHAOS_EINVAL]       = "invalid argument",
    [CHAOS_ENOMEM]       = "out of memory",
    [CHAOS_ETIMEDOUT]    = "timed out",
    [CHAOS_ECONN]        = "connection failed or lost",
    [CHAOS_EPROTO]       = "malformed or invalid message",
    [CHAOS_EVERSION]     = "protocol version mismatch",
    [CHAOS_ETOOBIG]      = "over the size limit",
    [CHAOS_EPERM]        = "permission denied",
    [CHAOS_ENOENT]       = "not found",
    [CHAOS_EEXIST]       = "already exists",
    [CHAOS_EBUSY]        = "busy",
    [CHAOS_EUNSUPPORTED] = "not supported",
    [CHAOS_ESYS]         = "system error",
    [CHAOS_ECLOSED]      = "closed",
};

const char *
chaos_strerror(int err)
{
	if (err < 0 || err >= CHAOS_ERR_COUNT)
		return "unknown error";
	return err_text[err];
}

chaos_err
chaos_err_from_errno(int errnum)
{
	if (errnum < 0)
		errnum = -errnum;
	switch (errnum) {
	case 0:
		return CHAOS_OK;
	case EINVAL:
	case ERANGE:
		return CHAOS_EINVAL;
	case ENOMEM:
	case ENOBUFS:
		return CHAOS_ENOMEM;
	case ETIMEDOUT:
	case EAGAIN:
		return CHAOS_ETIMEDOUT;
	case ECONNREFUSED:
	case ECONNRESET:
	case EHOSTUNREACH:
	case ENETUNREACH:
	case EPIPE:
		return CHAOS_ECONN;
	case EPERM:
	case EACCES:
		return CHAOS_EPERM;
	case ENOENT:
	case ESRCH:
		return CHAOS_ENOENT;
	case EEXIST:
		return CHAOS_EEXIST;
	case EBUSY:
		return CHAOS_EBUSY;
	case EOPNOTSUPP:
	case EPROTONOSUPPORT:
	case EAFNOSUPPORT:
		return CHAOS_EUNSUPPORTED;
	case EMSGSIZE:
	case E2BIG:
		return CHAOS_ETOOBIG;
	default:
		return CHAOS_ESYS;
	}
}

chaos_err
chaos_err_from_nng(int rv)
{
	switch (rv) {
	case 0:
		return CHAOS_OK;
	case NNG_EINVAL:
	case NNG_EADDRINVAL:
		return CHAOS_EINVAL;
	case NNG_ENOMEM:
		return CHAOS_ENOMEM;
	case NNG_ETIMEDOUT:
	case NNG_EAGAIN:
		return CHAOS_ETIMEDOUT;
	case NNG_ECONNREFUSED:
	case NNG_ECONNRESET:
	case NNG_ECONNSHUT:
	case NNG_ECONNABORTED:
	case NNG_EUNREACHABLE:
		return CHAOS_ECONN;
	case NNG_EPERM:
	case NNG_EPEERAUTH:
	case NNG_ECRYPTO:
		return CHAOS_EPERM;
	case NNG_ENOENT:
		return CHAOS_ENOENT;
	case NNG_EADDRINUSE:
		return CHAOS_EBUSY;
	case NNG_ENOTSUP:
		return CHAOS_EUNSUPPORTED;
	case NNG_EMSGSIZE:
		return CHAOS_ETOOBIG;
	case NNG_ECLOSED:
	case NNG_ECANCELED:
		return CHAOS_ECLOSED;
	case NNG_EPROTO:
		return CHAOS_EPROTO;
	default:
		return CHAOS_ESYS;
	}
}

chaos_err
chaos_fail(chaos_why *why, chaos_err code, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL) {
		va_start(ap, fmt);
		vsnprintf(why->text, sizeof(why->text), fmt, ap);
		va_end(ap);
		utf8_trim_partial(why->text); /* a reason jansson refuses is lost */
	}
	return code;
}

chaos_err
chaos_fail_prefix(chaos_why *why, chaos_err code, const char *fmt, ...)
{
	char    old[CHAOS_WHY_LEN];
	size_t  n;
	va_list ap;

	if (why == NULL)
		return code;
	memcpy(old, why->text, sizeof(old));
	old[sizeof(old) - 1] = '\0';
	va_start(ap, fmt);
	vsnprintf(why->text, sizeof(why->text), fmt, ap);
	va_end(ap);
	n = strlen(why->text);
	/* the callee's reason after ours, cut to fit */
	if (n + 2 < sizeof(why->text))
		snprintf(why->text + n, sizeof(why->text) - n, ": %.*s",
		         (int)(sizeof(why->text) - n - 3),
		         old[0] ? old : chaos_strerror(code));
	utf8_trim_partial(why->text);
	return code;
}

enum chaos_exit
chaos_exit_from_err(chaos_err err)
{
	switch (err) {
	case CHAOS_OK:
		return CHAOS_EXIT_OK;
	case CHAOS_EINVAL:
		return CHAOS_EXIT_USAGE;
	case CHAOS_ECONN:
	case CHAOS_ENOENT:
	case CHAOS_EPERM:
	case CHAOS_EUNSUPPORTED:
	case CHAOS_ETIMEDOUT:
	case CHAOS_EVERSION:
		return CHAOS_EXIT_ENV;
	default:
		return CHAOS_EXIT_FAILED;
	}
}
