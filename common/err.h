/* SPDX-License-Identifier: MIT */
/*
 * One error vocabulary for the whole project. Library code returns these
 * (0 on success, a positive CHAOS_E* otherwise); netlink and libc code keeps
 * negative errno internally and converts once at its module boundary with
 * chaos_err_from_errno().
 */
#ifndef CHAOS_COMMON_ERR_H
#define CHAOS_COMMON_ERR_H

enum chaos_err {
	CHAOS_OK = 0,
	CHAOS_EINVAL,       /* bad argument or input */
	CHAOS_ENOMEM,       /* allocation failed */
	CHAOS_ETIMEDOUT,    /* deadline passed */
	CHAOS_ECONN,        /* peer unreachable, refused or connection lost */
	CHAOS_EPROTO,       /* malformed or invalid message */
	CHAOS_EVERSION,     /* protocol version not spoken */
	CHAOS_ETOOBIG,      /* message or value over its limit */
	CHAOS_EPERM,        /* permission denied (need root or CAP_NET_ADMIN) */
	CHAOS_ENOENT,       /* no such object */
	CHAOS_EEXIST,       /* already exists */
	CHAOS_EBUSY,        /* resource in use */
	CHAOS_EUNSUPPORTED, /* not supported by this build or kernel */
	CHAOS_ESYS,         /* other system error; see errno or the log */
	CHAOS_ECLOSED,      /* object closed or shutting down */
	CHAOS_ERR_COUNT
};

/* Static English text for an error; never NULL. */
const char *chaos_strerror(int err);

/* Maps a positive or negative errno value to the closest CHAOS_E*. */
int chaos_err_from_errno(int errnum);

/* Maps an NNG error number (nng_err) to the closest CHAOS_E*. */
int chaos_err_from_nng(int nng_errnum);

#endif
