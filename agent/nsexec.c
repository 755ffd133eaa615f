// SPDX-License-Identifier: MIT
#include "agent/nsexec.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"

struct nsexec {
	pthread_mutex_t    mtx;
	pthread_cond_t     work; /* a job was queued, or stop */
	pthread_cond_t     done; /* the last job of a nsexec_run_all() finished */
	struct nsexec_job *head, *tail;
	bool               stop;
	int                home_fd;
	pthread_t          threads[NSEXEC_MAX_THREADS];
	size_t             n_threads;
};

/* The namespace this thread is in while it runs a job, and the job's path;
 * 0/0/NULL otherwise. */
static _Thread_local dev_t       nsexec_cur_dev;
static _Thread_local ino_t       nsexec_cur_ino;
static _Thread_local const char *nsexec_cur_path;

bool
nsexec_inside(const char *path)
{
	struct stat st;

	if (nsexec_cur_ino == 0 || path == NULL)
		return false;
	/* the job's own spelling (a target's /proc/self/fd/<n>, held open):
	 * no stat, a procfs lookup of some microseconds on each target's
	 * first fault */
	if (nsexec_cur_path != NULL && strcmp(path, nsexec_cur_path) == 0)
		return true;
	return stat(path, &st) == 0 && st.st_dev == nsexec_cur_dev &&
	    st.st_ino == nsexec_cur_ino;
}

/* Enters the job's namespace; *fd is a descriptor to close after, or -1. */
static chaos_err
nsexec_enter(struct nsexec_job *job, int *fd)
{
	int         ns = job->ns_fd;
	struct stat st;

	if (ns <= 0 && (ns = *fd = open(job->path, O_RDONLY | O_CLOEXEC)) < 0)
		return chaos_fail(&job->why, chaos_err_from_errno(errno),
		                  "network namespace %s: %s", job->path, strerror(errno));
	if (setns(ns, CLONE_NEWNET) < 0)
		return chaos_fail(&job->why, chaos_err_from_errno(errno),
		                  "setns %s: %s%s", job->path, strerror(errno),
		                  errno == EPERM ? " (needs CAP_SYS_ADMIN)" : "");
	if (fstat(ns, &st) == 0) {
		nsexec_cur_dev = st.st_dev;
		nsexec_cur_ino = st.st_ino;
		/* a held descriptor's path names the same namespace for as
		 * long as the job runs; a path opened here might not */
		nsexec_cur_path = job->ns_fd > 0 ? job->path : NULL;
	}
	return CHAOS_OK;
}

/* Runs one job where it belongs and comes home. A thread that cannot
 * come home would run the next job in the wrong place: it stops instead
 * (false), which only ever happens if the home namespace vanished. */
static bool
nsexec_one(struct nsexec *x, struct nsexec_job *job)
{
	int  fd   = -1;
	bool home = true, entered;

	memset(&job->why, 0, sizeof(job->why));
	job->result = nsexec_enter(job, &fd);
	/* home again even if the fstat that names the namespace failed */
	if ((entered = job->result == CHAOS_OK))
		job->result = job->fn(job->arg, &job->why);
	if (entered && setns(x->home_fd, CLONE_NEWNET) < 0) {
		log_error("nsexec: cannot go back to the agent's network namespace: %s; "
		          "this thread stops",
		          strerror(errno));
		home = false;
	}
	nsexec_cur_dev  = 0;
	nsexec_cur_ino  = 0;
	nsexec_cur_path = NULL;
	if (fd >= 0)
		close(fd);
	return home;
}

static void *
nsexec_main(void *arg)
{
	struct nsexec     *x = arg;
	struct nsexec_job *job;
	bool               ok = true;

	pthread_setname_np(pthread_self(), "chaos-nsexec"); /* for top -H and perf */
	pthread_mutex_lock(&x->mtx);
	while (ok) {
		while (!x->stop && x->head == NULL)
			pthread_cond_wait(&x->work, &x->mtx);
		if ((job = x->head) == NULL)
			break; /* stopping, queue empty */
		if ((x->head = job->next) == NULL)
			x->tail = NULL;
		pthread_mutex_unlock(&x->mtx);
		ok = nsexec_one(x, job);
		pthread_mutex_lock(&x->mtx);
		/* one wake-up per call, not per job: the caller waits for all */
		if (--*job->left == 0)
			pthread_cond_broadcast(&x->done);
	}
	pthread_mutex_unlock(&x->mtx);
	return NULL;
}

chaos_err
nsexec_new(size_t n_threads, struct nsexec **out, chaos_why *why)
{
	struct nsexec *x;
	int            rc;

	if (n_threads == 0 || n_threads > NSEXEC_MAX_THREADS)
		return chaos_fail(why, CHAOS_EINVAL, "nsexec: 1..%d threads",
		                  NSEXEC_MAX_THREADS);
	if ((x = calloc(1, sizeof(*x))) == NULL)
		return CHAOS_ENOMEM;
	pthread_mutex_init(&x->mtx, NULL);
	pthread_cond_init(&x->work, NULL);
	pthread_cond_init(&x->done, NULL);
	if ((x->home_fd = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC)) < 0) {
		rc = errno;
		free(x);
		return chaos_fail(why, chaos_err_from_errno(rc),
		                  "nsexec: own network namespace: %s", strerror(rc));
	}
	for (; x->n_threads < n_threads; x->n_threads++) {
		if ((rc = pthread_create(&x->threads[x->n_threads], NULL, nsexec_main,
		                         x)) != 0) {
			nsexec_free(x);
			return chaos_fail(why, CHAOS_ESYS, "nsexec: thread: %s",
			                  strerror(rc));
		}
	}
	*out = x;
	return CHAOS_OK;
}

void
nsexec_free(struct nsexec *x)
{
	if (x == NULL)
		return;
	pthread_mutex_lock(&x->mtx);
	x->stop = true;
	pthread_cond_broadcast(&x->work);
	pthread_mutex_unlock(&x->mtx);
	for (size_t i = 0; i < x->n_threads; i++)
		pthread_join(x->threads[i], NULL);
	close(x->home_fd);
	pthread_cond_destroy(&x->work);
	pthread_cond_destroy(&x->done);
	pthread_mutex_destroy(&x->mtx);
	free(x);
}

void
nsexec_run_all(struct nsexec *x, struct nsexec_job *jobs, size_t n)
{
	size_t left = n; /* guarded by x->mtx */

	pthread_mutex_lock(&x->mtx);
	for (size_t i = 0; i < n; i++) {
		jobs[i].left = &left;
		jobs[i].next = NULL;
		if (x->tail != NULL)
			x->tail->next = &jobs[i];
		else
			x->head = &jobs[i];
		x->tail = &jobs[i];
	}
	pthread_cond_broadcast(&x->work);
	while (left > 0)
		pthread_cond_wait(&x->done, &x->mtx);
	pthread_mutex_unlock(&x->mtx);
}

chaos_err
nsexec_run(struct nsexec *x, struct nsexec_job *job)
{
	nsexec_run_all(x, job, 1);
	return job->result;
}
