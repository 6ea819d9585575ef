/* run.h: the state of one run, shared by the scheduler (run.c) and the
 * admission of input lines (admit.c). Private to src/. */
#ifndef FM_RUN_INTERNAL_H
#define FM_RUN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include <pthread.h>

#include "fm_claims.h"
#include "fm_heap.h"
#include "fm_hosts.h"
#include "fm_input.h"
#include "fm_meter.h"
#include "fm_opts.h"
#include "fm_out.h"
#include "fm_result.h"
#include "fm_xfer.h"
#include "worker.h"

enum stop_reason {
	STOP_NONE,
	STOP_FAIL_FAST,
	STOP_SIGNAL,
	STOP_OUTPUT,    /* standard output failed */
};

struct run {
	const struct fm_opts *o;
	uv_loop_t loop;
	struct fm_input in;
	uv_idle_t reader;      /* active while a batch was cut short */
	uv_poll_t *input_poll; /* waits for a pipe or terminal to speak */
	bool input_end;
	struct fm_hosts queue;  /* jobs waiting for a slot, per host */
	unsigned window;       /* queued + waiting jobs at most */
	struct fm_heap waiting; /* jobs waiting out a backoff, by due time */
	uv_timer_t retry_timer; /* fires at the earliest due time */
	struct slot *slots;     /* -j of them, dealt out to the workers */
	struct slot *free_slots; /* taken in turn from every worker */
	unsigned running;       /* slots out at the workers */
	struct fm_worker *workers;
	unsigned nworkers;
	struct fm_mailbox done; /* slots the workers post back */
	uv_timer_t fd_timer;   /* raises fd_cap after a descriptor shortage */
	unsigned fd_cap;       /* slots usable at once while fd_capped */
	bool fd_capped;        /* descriptors ran short: hold to fd_cap */
	unsigned fd_rounds;    /* fd_timer rounds since the run last ran
				  without a shortage */
	unsigned fd_idle;      /* fd_timer rounds since an attempt last
				  ended without a shortage */
	struct fm_claims claims;
	pthread_mutex_t claims_lock; /* workers claim server-given names */
	int rootfd;
	struct fm_tally tally;
	uint64_t t0;
	uint64_t rng;          /* xorshift64* state for the jitter */
	bool any_bad;
	bool finished;
	enum stop_reason stop;
	int signum;            /* the signal that stopped us */
	unsigned long left;    /* entries read but never started */
	uv_async_t sigasync;    /* woken by the first SIGINT or SIGTERM */
	struct fm_xfer_conf conf;
	struct fm_worker_env wenv; /* what the workers work with */
	struct fm_meter meter;  /* the live line, when shown */
	bool stdout_tty;       /* results and the live line share a screen */
	unsigned long known;   /* entries read so far */
	uv_prepare_t flusher;  /* hands result lines over before each wait */
	struct fm_out *out;    /* writes them; NULL under -q */
	int out_err;           /* its write error, once reported */
	uv_timer_t grace;      /* stopped, waiting for the output to drain */
	uint64_t grace_written; /* what it had written at the last tick */
	bool out_abandoned;    /* gave up waiting: results were lost */
};

/* Counts and prints one result (run.c). */
void fm_run_report(struct run *r, const struct fm_result *res);

/* Prints a job's result and frees it (run.c). */
void fm_run_finish_job(struct run *r, struct fm_job *job,
		       const struct fm_outcome *o, double seconds);

/* Frees a job and its hold on its host's record (run.c). */
void fm_run_drop_job(struct run *r, struct fm_job *job);

/* Moves the run forward after any event (run.c). */
void fm_run_pump(struct run *r);

/* Reads and admits input lines while the window has room, without ever
 * blocking (admit.c). */
void fm_admit_read(struct run *r);

/* Stops reading input for good: closes the watcher of a waiting pipe
 * (admit.c). */
void fm_admit_stop(struct run *r);

#endif
