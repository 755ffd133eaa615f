// SPDX-License-Identifier: MIT
#include "common/err.h"

#include <errno.h>
#include <nng/nng.h>

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

int
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

int
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
