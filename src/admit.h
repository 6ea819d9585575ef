/* admit.h: admission, from input lines to jobs. Private to src/.
 *
 * Admission owns the input (the lists and URL arguments), the handles
 * that bring the loop back to it (an idle handle while a batch was cut
 * short, a poll watcher while a pipe or terminal is silent), the claims
 * of output paths, and its counts. It knows nothing of the scheduler:
 * it reports through a table of operations, as engine.c reports through
 * its callback, and reads only when asked to (fm_admit_read()).
 *
 * Everything here runs on the main thread, except that workers take
 * claims for server-given names under claims_lock (they reach both
 * through fm_xfer_conf's claims and claims_lock). */
#ifndef FM_ADMIT_H
#define FM_ADMIT_H

#include <pthread.h>
#include <stdbool.h>

#include <uv.h>

#include "fm_claims.h"
#include "fm_input.h"

struct fm_job;
struct fm_result;
struct fm_sums;

/* What admission reports, each called on the main thread from within
 * fm_admit_read() (job, result, has_room) or from the loop (wake). */
struct fm_admit_ops {
	/* An entry was accepted, named and claimed: the callee owns job
	 * from now on. Its URL is still parsed (job->entry.uh), for the
	 * callee's use; the callee frees it. */
	void (*job)(void *ctx, struct fm_job *job);
	/* A line gave a result without a job: invalid (with why), or
	 * planned under --dry-run. res and its strings live for the call. */
	void (*result)(void *ctx, const struct fm_result *res);
	/* Whether one more job may be taken: false stops reading until the
	 * next fm_admit_read(). */
	bool (*has_room)(void *ctx);
	/* The input may have more (a silent source became readable, or a
	 * batch was cut short): call fm_admit_read() when convenient. */
	void (*wake)(void *ctx);
};

/* The settings admission needs, copied at fm_admit_init(). */
struct fm_admit_conf {
	const char *output_dir; /* joined to paths as reported; NULL: none */
	bool mirror;            /* --mirror: names keep the URL's host */
	bool https_only;        /* --https-only: an http:// URL is invalid */
	bool dry_run;           /* report planned results, make no jobs */
	bool parts;             /* claims take NAME.part too */
	unsigned shard_k, shard_n; /* --shard K/N: this machine's lines */
	const struct fm_sums *sums; /* --checksums (it must outlive
				   admission), or NULL */
	bool require_digest;    /* --require-digest */
};

struct fm_admit {
	struct fm_admit_conf conf;
	const struct fm_admit_ops *ops;
	void *ctx;
	uv_loop_t *loop;       /* NULL until fm_admit_init() */
	struct fm_input in;
	uv_idle_t reader;      /* active while a batch was cut short */
	uv_poll_t *input_poll; /* waits for a pipe or terminal to speak */
	bool input_end;        /* read to the end, or stopped */
	unsigned long known;   /* entries read so far (invalid included) */
	unsigned long bad_input; /* lists that failed to read or watch */
	struct fm_claims claims;
	pthread_mutex_t claims_lock; /* workers claim server-given names */
};

/* Opens the lists and URL arguments of args (see fm_input_open(), which
 * prints why one cannot be opened). Returns 0 or -errno; on failure
 * nothing is left to free. */
int fm_admit_open(struct fm_admit *a, char **args, int nargs);

/* Readies opened admission to read on loop, with conf's settings,
 * reporting through ops with ctx (both must outlive it). */
void fm_admit_init(struct fm_admit *a, uv_loop_t *loop,
		   const struct fm_admit_conf *conf,
		   const struct fm_admit_ops *ops, void *ctx);

/* Reads and admits input lines while ops->has_room() says so, without
 * ever blocking: a batch at most, then ops->wake() comes from the loop
 * when there is more to read. */
void fm_admit_read(struct fm_admit *a);

/* Stops reading input for good (fm_admit_ended() is true from now on):
 * closes the watcher of a waiting pipe. */
void fm_admit_stop(struct fm_admit *a);

/* Stops, and closes the loop's handles; the loop must run once more
 * before fm_admit_free(). */
void fm_admit_close(struct fm_admit *a);

/* Closes the input and frees the claims: after fm_admit_close() and a
 * loop run, or after fm_admit_open() alone. */
void fm_admit_free(struct fm_admit *a);

/* Whether no more lines will come (the input ended or was stopped). */
static inline bool fm_admit_ended(const struct fm_admit *a)
{
	return a->input_end;
}

/* Entries read so far, invalid ones included (for the live line). */
static inline unsigned long fm_admit_known(const struct fm_admit *a)
{
	return a->known;
}

/* Lists that could not be read to the end or watched (each said why on
 * stderr): the run must not exit 0. */
static inline unsigned long fm_admit_bad(const struct fm_admit *a)
{
	return a->bad_input;
}

#endif
