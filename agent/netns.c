// SPDX-License-Identifier: MIT
#include "agent/netns.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"

struct netns_job {
	int fd;
	chaos_err (*fn)(void *arg);
	void     *arg;
	int       setns_errno;
	chaos_err result;
};

static void *
netns_thread(void *p)
{
	struct netns_job *job = p;

	if (setns(job->fd, CLONE_NEWNET) < 0) {
		job->setns_errno = errno;
		return NULL;
	}
	job->result = job->fn(job->arg);
	return NULL; /* the thread, and only it, ends in the namespace */
}

chaos_err
netns_run(const char *netns_path, chaos_err (*fn)(void *arg), void *arg)
{
	struct netns_job job = {.fd = -1, .fn = fn, .arg = arg};
	pthread_t        tid;
	chaos_err        rv;
	int              rc;

	if (fn == NULL)
		return CHAOS_EINVAL;
	if (netns_path == NULL)
		return fn(arg);
	job.fd = open(netns_path, O_RDONLY | O_CLOEXEC);
	if (job.fd < 0) {
		rv = chaos_err_from_errno(errno);
		log_warn("netns: open %s: %s", netns_path, strerror(errno));
		return rv;
	}
	rc = pthread_create(&tid, NULL, netns_thread, &job);
	if (rc != 0) {
		log_warn("netns: thread for %s: %s", netns_path, strerror(rc));
		rv = CHAOS_ESYS;
		goto out;
	}
	pthread_join(tid, NULL);
	rv = job.result;
	if (job.setns_errno != 0) {
		log_warn("netns: setns %s: %s", netns_path, strerror(job.setns_errno));
		rv = chaos_err_from_errno(job.setns_errno);
	}
out:
	close(job.fd);
	return rv;
}
