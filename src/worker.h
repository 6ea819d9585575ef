/* worker.h: threads that run transfers. Private to src/.
 *
 * The scheduler (run.c) decides what runs, when and how often; a worker
 * only carries attempts out. Each worker is a thread with its own libuv
 * loop, libcurl multi handle (and so its own connection cache) and the
 * slots the scheduler made for it, so that receiving bodies and writing
 * files spread over the machine's cores, while the scheduler's state
 * stays on the main thread, untouched by any other. Slots are made on
 * demand, up to -j per worker, and kept until the end: as a host's work
 * moves between workers, up to -j × workers of them (each with its easy
 * handle and receive buffer) may pile up.
 *
 * A slot goes back and forth through mailboxes: the scheduler puts a job
 * in a free slot and posts it to a worker; the worker runs one attempt and
 * posts the slot back with the attempt's outcome. Posting is batched: a
 * worker hands back the slots finished in one loop pass together, and the
 * scheduler wakes each worker once per batch of jobs.
 *
 * What a worker owns and may touch (held by assert()s):
 * - its environment (struct fm_worker_env): filled by the scheduler before
 *   any worker starts, read-only for everyone afterwards;
 * - its loop, multi handle, timers, sink pool and --limit-rate bucket:
 *   touched only on the thread running its loop (w->loop_thread: its own
 *   thread while started, the main thread before and after);
 * - a slot and its job while it holds the slot: from the inbox until it
 *   posts the slot to env->done. Whoever holds a slot owns it and its job;
 *   of a slot a worker holds, the scheduler reads only its own fields
 *   (w, busy) and x.body_bytes (atomic);
 * - the mailboxes: inbox.lock guards the inbox list, abort, abort_why and
 *   quit; the done mailbox's lock guards its list; the answered notes
 *   (env->answered) their lock;
 * - want_conns, an atomic the scheduler sets and the worker applies;
 * - the TLS sessions and DNS answers of every transfer (conf->share, a
 *   CURLSH that libcurl locks through share.c's mutexes).
 * The fm_worker_* calls below are the scheduler's, on the main thread
 * (env->main_thread); claims of server-given names are taken under
 * conf->claims_lock. */
#ifndef FM_WORKER_H
#define FM_WORKER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "fm_clocks.h"
#include "fm_engine.h"
#include "fm_xfer.h"

/* A slot: a worker's place for one transfer at a time (x, whose easy
 * handle it keeps for good), and the timers that watch it. x comes first:
 * libcurl's private pointer is &x. */
struct slot {
	struct fm_xfer x;
	uv_timer_t stall;       /* in its worker's loop */
	struct fm_stall watch;  /* what the stall timer decides on */
	uv_timer_t deadline;    /* -t, ours as well as libcurl's */
	struct fm_worker *w;    /* the worker it belongs to, for good */
	struct slot *next;      /* in a free list or a mailbox */
	bool busy;              /* the scheduler gave it a job (main only) */
	bool yieldable;         /* a segment's, not a probe's (main only) */
	bool yield_asked;       /* x.yield was set (main only) */
	struct fm_host *host;   /* the queue record it counts on, and */
	uint32_t site;          /* the site it runs for (main only): its
				   job's, or a segment's mirror's */
	bool adopted;           /* its timers are in w's loop (its worker
				   only; see fm_worker_slot()) */
	bool running;           /* in the multi handle (its worker only) */
	struct fm_outcome out;  /* the attempt's outcome, when posted back */
	double seconds;         /* the attempt's duration, when posted back */
};

/* Slots posted to another thread, and the handle that wakes it. */
struct fm_mailbox {
	uv_mutex_t lock;
	struct slot *head, *tail;
	uv_async_t async;       /* in the receiver's loop */
};

/* Sites whose first transfer has its answer coming (fm_job's probe): the
 * connection's TLS session is stored by then, so the site's other
 * transfers may connect and resume it. Posted by the workers, taken by
 * the scheduler; a note that finds the list full is dropped (the
 * scheduler learns the same when the transfer ends). */
#define FM_NOTES_MAX 256

struct fm_notes {
	uv_mutex_t lock;
	uint32_t site[FM_NOTES_MAX];
	unsigned n;
	uv_async_t async;       /* in the receiver's loop */
};

/* What every worker works with, from the scheduler: filled once on the
 * main thread before any worker starts, read-only afterwards. */
struct fm_worker_env {
	const struct fm_xfer_conf *conf; /* settings of every transfer */
	int rootfd;             /* the output directory (-1 under --dry-run) */
	uint64_t stall_ns;      /* --stall-timeout in ns; 0: no stall watch */
	double stall_timeout;   /* --stall-timeout as given, for messages */
	uint64_t limit_rate;    /* --limit-rate, bytes/s; 0: none */
	unsigned jobs;          /* -j: the most slots one worker may need */
	struct fm_mailbox *done; /* where finished slots go (the scheduler's) */
	struct fm_notes *answered; /* where probes' answers are noted */
	struct fm_notes *cuts;  /* where bodies cut in segments are noted */
	uv_thread_t main_thread; /* the scheduler's */
};

struct fm_worker {
	const struct fm_worker_env *env;
	/* Its slots are made on demand by the scheduler (fm_worker_slot()),
	 * so that one busy host's transfers can all run here: the worker
	 * adopts each at its first job (its timers join the loop). */
	struct slot **slots;    /* adopted ones (loop thread; env->jobs of
				   room, allocated before any is made) */
	unsigned nslots;        /* adopted (loop thread) */
	struct slot **made_slots; /* main only: every slot made for it
				     (env->jobs of room) */
	unsigned made;          /* main only: how many */
	struct slot *free;      /* main only: made and free */
	atomic_uint want_conns; /* the connection cache's size, as the
				   scheduler last asked (set on main before
				   a wake, read on the loop thread) */
	unsigned conns;         /* the size in force (loop thread) */
	uv_loop_t loop;
	uv_thread_t thread;
	uv_thread_t loop_thread; /* the thread that may touch the loop and
				    what is in it (see above) */
	bool started;
	struct fm_engine *engine;
	struct fm_mailbox inbox; /* jobs to start, from the scheduler */
	bool abort;             /* under inbox.lock: stop every attempt */
	bool quit;              /* under inbox.lock: leave the loop */
	char abort_why[FM_WHY_MAX];
	struct slot *done_head, *done_tail; /* finished, not yet posted */
	uv_idle_t handover;     /* posts them at the next loop pass */
	uv_timer_t rate_timer;  /* --limit-rate (one worker only) */
	struct fm_bucket bucket; /* --limit-rate: its transfers take from it */
	unsigned rate_next;     /* slot resumed first at the next tick */
	bool wake;              /* main only: jobs posted since the last wake */
	struct fm_sink_pool pool; /* gathers the pieces of each read */
};

/* Prepares notes whose receiver runs cb in loop. Returns 0 or -errno. */
int fm_notes_init(struct fm_notes *nb, uv_loop_t *loop, uv_async_cb cb);

/* Notes site and wakes the receiver (dropped when the list is full). */
void fm_notes_post(struct fm_notes *nb, uint32_t site);

/* Moves every note to out (room for FM_NOTES_MAX), oldest first. Returns
 * how many. */
unsigned fm_notes_take(struct fm_notes *nb, uint32_t *out);

/* Closes the notes (their loop must then run the close callback). */
void fm_notes_close(struct fm_notes *nb);

/* Prepares a mailbox whose receiver runs cb in loop. Returns 0 or
 * -errno. */
int fm_mailbox_init(struct fm_mailbox *mb, uv_loop_t *loop, uv_async_cb cb);

/* Appends the list head..tail (linked by next) and wakes the receiver. */
void fm_mailbox_post(struct fm_mailbox *mb, struct slot *head,
		     struct slot *tail);

/* Takes everything posted so far, oldest first; NULL when empty. */
struct slot *fm_mailbox_take(struct fm_mailbox *mb);

/* Closes the mailbox (its loop must then run the close callback). */
void fm_mailbox_close(struct fm_mailbox *mb);

/* Sets up worker w (its loop and engine), on the main thread; env must
 * outlive it. Returns 0 or -ENOMEM. */
int fm_worker_init(struct fm_worker *w, const struct fm_worker_env *env);

/* A free slot of w for a job (main thread): one made before, or a new one
 * (at most env->jobs in all). Returns NULL when out of memory. The
 * scheduler gives it back with fm_worker_slot_put(). */
struct slot *fm_worker_slot(struct fm_worker *w);

/* Slot s, back from its worker, is free again (main thread). */
void fm_worker_slot_put(struct fm_worker *w, struct slot *s);

/* Asks w to hold up to n connections (in use and idle) in its cache from
 * its next wake (main thread). */
void fm_worker_want_conns(struct fm_worker *w, unsigned n);

/* Starts w's thread. Returns 0 or -errno. */
int fm_worker_start(struct fm_worker *w);

/* Queues slot s, whose x.job is set, to run one attempt (main thread). The
 * worker is woken by fm_worker_wake(). */
void fm_worker_submit(struct fm_worker *w, struct slot *s);

/* Wakes w if jobs were submitted since the last wake (main thread). */
void fm_worker_wake(struct fm_worker *w);

/* Asks w to stop every attempt it runs or was given, reporting why; the
 * slots come back as usual (main thread). */
void fm_worker_abort(struct fm_worker *w, const char *why);

/* Makes w's thread leave its loop and waits for it (main thread). */
void fm_worker_stop(struct fm_worker *w);

/* Whether the calling thread is t (for assert()s: pthread_self() and a
 * comparison, no system call). */
static inline bool fm_on_thread(const uv_thread_t *t)
{
	uv_thread_t self = uv_thread_self();

	return uv_thread_equal(&self, t) != 0;
}

/* Frees what w's loop holds, once stopped: attempts still running are
 * abandoned (their jobs stay in their slots, w->made_slots, for the
 * caller to drop before fm_worker_free()). Returns 0, or -EBUSY when
 * libuv handles were left open. */
int fm_worker_close(struct fm_worker *w);

/* Frees w's slots, after fm_worker_close() (main thread). */
void fm_worker_free(struct fm_worker *w);

#endif
