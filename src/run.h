/* run.h: the state of one run, shared by the scheduler (run.c) and the
 * admission of input lines (admit.c). Private to src/. */
#ifndef FM_RUN_INTERNAL_H
#define FM_RUN_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "fm_claims.h"
#include "fm_engine.h"
#include "fm_heap.h"
#include "fm_hosts.h"
#include "fm_input.h"
#include "fm_meter.h"
#include "fm_opts.h"
#include "fm_rate.h"
#include "fm_result.h"
#include "fm_xfer.h"

/* A transfer slot: the easy handle's state, and the timer that watches
 * it for stalls. x comes first: libcurl hands back &x. */
struct slot {
	struct fm_xfer x;
	uv_timer_t stall;
	struct run *r;
};

enum stop_reason {
	STOP_NONE,
	STOP_FAIL_FAST,
	STOP_SIGNAL,
};

struct run {
	const struct fm_opts *o;
	uv_loop_t loop;
	struct fm_engine *engine;
	struct fm_input in;
	uv_idle_t reader;      /* active while a batch was cut short */
	uv_poll_t *input_poll; /* waits for a pipe or terminal to speak */
	bool input_end;
	struct fm_hosts queue;  /* jobs waiting for a slot, per host */
	unsigned window;       /* queued + waiting jobs at most */
	struct fm_bucket bucket; /* --limit-rate */
	uv_timer_t rate_timer;  /* refills the bucket, resumes transfers */
	unsigned rate_next;     /* slot resumed first at the next tick */
	struct fm_heap waiting; /* jobs waiting out a backoff, by due time */
	uv_timer_t retry_timer; /* fires at the earliest due time */
	struct slot *slots;
	struct fm_xfer *free_slots;
	unsigned running;
	struct fm_claims claims;
	int rootfd;
	struct fm_tally tally;
	uint64_t t0;
	uint64_t rng;          /* xorshift64* state for the jitter */
	bool any_bad;
	bool finished;
	enum stop_reason stop;
	int signum;            /* the signal that stopped us */
	unsigned long left;    /* entries read but never started */
	uv_signal_t sigint, sigterm;
	struct fm_xfer_conf conf;
	uint64_t stall_ns;     /* 0: no stall watch */
	struct fm_meter meter;  /* the live line, when shown */
	bool stdout_tty;       /* results and the live line share a screen */
	unsigned long known;   /* entries read so far */
	uv_idle_t pumper;      /* refills the slots freed in this loop pass */
	uv_check_t flusher;    /* flushes result lines once per loop pass */
	bool unflushed;
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
