/* run.c: the scheduler: queue → slots → results (admit.c reads the
 * input and hands jobs over through admit_ops, worker.c runs the
 * attempts).
 *
 * At most -j jobs hold a slot; a slot's clock starts when a worker begins
 * its attempt, so time spent queued never counts. A failed attempt either
 * waits out its backoff in one heap (one timer for all) or ends with its
 * result line, printed the moment it is final. Signals, --fail-fast and
 * the live line's numbers live here too. Everything here runs on the main
 * thread. */
#include <assert.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <uv.h>

#include "admit.h"
#include "fm_clocks.h"
#include "fm_error.h"
#include "fm_heap.h"
#include "fm_queue.h"
#include "fm_hash.h"
#include "fm_job.h"
#include "fm_meter.h"
#include "fm_name.h"
#include "fm_opts.h"
#include "fm_out.h"
#include "fm_policy.h"
#include "fm_result.h"
#include "fm_share.h"
#include "fm_split.h"
#include "fm_sums.h"
#include "fm_run.h"
#include "fm_xfer.h"
#include "worker.h"

/* The state of one run: the scheduler's alone. Admission (struct
 * fm_admit) and the workers (struct fm_worker_env) get what they need
 * through their own interfaces and never see this. */
enum stop_reason {
	STOP_NONE,
	STOP_FAIL_FAST,
	STOP_SIGNAL,
	STOP_OUTPUT,    /* standard output failed */
};

struct run {
	const struct fm_opts *o;
	uv_loop_t loop;
	struct fm_admit admit;  /* the input, its claims and counts */
	struct fm_sums sums;    /* --checksums, read before the input */
	struct fm_queue queue;  /* jobs waiting for a slot, per host */
	unsigned window;       /* queued + waiting jobs at most */
	struct fm_heap waiting; /* jobs waiting out a backoff, by due time */
	uv_timer_t retry_timer; /* fires at the earliest due time */
	unsigned running;       /* slots out at the workers */
	struct fm_worker *workers;
	unsigned nworkers;
	unsigned *load;         /* load[i]: slots out at worker i */
	unsigned *hosts;        /* hosts[i]: sites worker i has served */
	struct site *sites;     /* what the run learned of each site */
	size_t parked;          /* jobs parked at a site's gate */
	size_t paused;          /* of them, parked at a paused host */
	size_t yielding;        /* segments asked to give their slots up */
	struct fm_notes answered; /* sites whose probe has its answer */
	struct fm_notes cuts;   /* a running job's body was cut */
	struct fm_job *splits;  /* jobs whose body is cut, linked by
				   split_next, in the order they were cut */
	uv_timer_t seg_timer;   /* fires when a failed segment may go again */
	unsigned slack;         /* fm_route_slack() */
	uint64_t spare_fds;     /* for idle connections (fm_fd_spare()) */
	struct fm_share *share; /* TLS sessions and DNS, for every worker */
	struct fm_mailbox done; /* slots the workers post back */
	uv_timer_t fd_timer;   /* raises fd_cap after a descriptor shortage */
	uv_timer_t ramp_timer; /* looks again at sites held at their cap */
	uv_timer_t pause_timer; /* fires when the first paused host may go */
	unsigned fd_cap;       /* slots usable at once while fd_capped */
	bool fd_capped;        /* descriptors ran short: hold to fd_cap */
	unsigned fd_rounds;    /* fd_timer rounds since the run last ran
				  without a shortage */
	unsigned fd_idle;      /* fd_timer rounds since an attempt last
				  ended without a shortage */
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
	uv_prepare_t flusher;  /* hands result lines over before each wait */
	struct fm_out *out;    /* writes them; NULL under -q */
	int out_err;           /* its write error, once reported */
	uv_timer_t grace;      /* stopped, waiting for the output to drain */
	uint64_t grace_written; /* what it had written at the last tick */
	bool out_abandoned;    /* gave up waiting: results were lost */
};

/* What the run learned of each site (a host name, by its hash), for
 * fm_route(): which workers hold its connections, and whether they carry
 * one transfer at a time. Two names that share a cell share what is
 * learned, which may cost connections or handshakes, never a byte (and a
 * gate holds back only the host that probes: struct site's prober); the
 * table's size does not grow with the number of hosts. */
#define SITES 4096u

enum site_proto {
	SITE_UNKNOWN,   /* no response yet */
	SITE_SINGLE,    /* HTTP/1.x: one transfer per connection */
	SITE_MUX,       /* HTTP/2: every transfer on one connection */
};

/* An HTTPS site's first transfer goes alone (the probe); the others wait
 * (parked here, holding no slot) until its answer comes: its connection's
 * TLS session is stored by then, and every later connection resumes it
 * instead of paying a full handshake, and an HTTP/2 site is known to
 * multiplex before a second connection is opened. Whatever the probe
 * comes to, the gate opens for good: a site that does not answer is not
 * tried one entry at a time. */
enum site_gate {
	GATE_NEW,       /* no transfer yet */
	GATE_PROBING,   /* its first is out; the others are parked */
	GATE_OPEN,
};

struct site {
	uint64_t workers;       /* bit i: worker i served it (in hosts[i]) */
	unsigned running;       /* its transfers out at the workers */
	unsigned peak;          /* the most that ran at once, all at home:
				   the connections it holds there */
	unsigned *on;           /* once it ran away from home (NULL before):
				   on[i] its transfers running at worker i,
				   on[n + i] the most that ran there at once */
	uint8_t home;           /* where its transfers go (fm_route()) */
	uint8_t proto;          /* enum site_proto */
	uint8_t gate;           /* enum site_gate */
	uint32_t prober;        /* the site hash of the probing host: another
				   host sharing the cell is not held back */
	struct fm_job *parked_head, *parked_tail; /* linked by next */
	struct fm_ramp ramp;    /* how many transfers it may run at once */
	uint64_t paused_until;  /* a Retry-After paused the host whose hash
				   is paused: no new transfer to it before
				   (uv_hrtime()'s clock; 0: none) */
	uint32_t paused;
};

static void pump(struct run *r);
static void on_ramp_timer(uv_timer_t *t);
static void arm_pause_timer(struct run *r);
static void on_pause_timer(uv_timer_t *t);
static void unpark(struct run *r, struct site *site, unsigned n);

/* What only the main thread may do (worker.h: who owns what). */
#define ON_MAIN_THREAD(r) assert(fm_on_thread(&(r)->wenv.main_thread))

/* Moves job from state from to state to: the one place a job's state
 * changes, so that a job found where it should not be stops the program
 * at the move that put it there. */
static void job_move(struct run *r, struct fm_job *job,
		     enum fm_job_state from, enum fm_job_state to)
{
	ON_MAIN_THREAD(r);
	assert(job->state == from);
	assert(fm_job_moves(from, to));
	(void)r;
	job->state = to;
}

static double since(uint64_t t_ns)
{
	return (double)(uv_hrtime() - t_ns) / 1e9;
}

/* A uniform number in [0, 1] for the backoff jitter (xorshift64*). */
static double jitter(struct run *r)
{
	r->rng ^= r->rng >> 12;
	r->rng ^= r->rng << 25;
	r->rng ^= r->rng >> 27;
	return (double)((r->rng * 0x2545F4914F6CDD1DULL) >> 11) /
	       (double)(1ULL << 53);
}

/* Writes one result: a line for standard output's writer (unless -q),
 * handed over before the loop next waits (on_uv_prepare); failures on
 * stderr under -q. */
static void report(struct run *r, const struct fm_result *res)
{
	bool bad = res->status == FM_STATUS_FAILED ||
		   res->status == FM_STATUS_INVALID;
	char *line;

	r->tally.count[res->status]++;
	r->tally.bytes += res->bytes;
	r->any_bad |= bad;
	/* Results never tangle with the live line on one screen. */
	if (r->meter.drawn && (r->stdout_tty || (r->o->quiet && bad)))
		fm_meter_erase(&r->meter);
	if (r->o->quiet) {
		if (bad)
			fprintf(stderr, "fetchmany: %s: %s: %s\n",
				fm_status_name(res->status),
				res->url ? res->url : "-",
				res->error ? res->error : "-");
		return;
	}
	line = r->o->json ? fm_result_json(res) : fm_result_text(res);
	if (!line || fm_out_append(r->out, line, strlen(line))) {
		fputs("fetchmany: out of memory formatting a result\n", stderr);
		r->any_bad = true;
	}
	free(line);
}

/* Frees a job that was in state from, and its hold on its host's
 * record. */
static void drop_job(struct run *r, struct fm_job *job,
		     enum fm_job_state from)
{
	job_move(r, job, from, FM_JOB_DONE);
	if (job->host)
		fm_queue_put(&r->queue, job->host);
	fm_job_free(job);
}

/* Prints the result of a job that was in state from, and frees it. */
static void finish_job(struct run *r, struct fm_job *job,
		       enum fm_job_state from, const struct fm_outcome *o,
		       double seconds)
{
	bool settled = o->status == FM_STATUS_OK ||
		       o->status == FM_STATUS_UNCHANGED ||
		       o->status == FM_STATUS_SKIPPED;
	bool on_disk = settled && !r->o->check;
	bool answered = o->status == FM_STATUS_OK ||
			o->status == FM_STATUS_UNCHANGED;
	struct fm_result res = {
		.url = job->entry.url,
		.from = answered ? job->url : NULL,
		.mirrors = job->entry.mirrors,
		.nmirrors = job->entry.nmirrors,
		.out = job->entry.out,
		.path = on_disk ? job->path : NULL,
		.status = o->status,
		.http_status = o->http_status,
		.bytes = o->bytes,
		.bytes_unknown = o->size_unknown,
		.seconds = seconds,
		.attempts = job->attempts,
		.error = settled ? NULL : o->error,
		.line = job->line,
		.source = job->source,
	};

	/* Each the expected digest, else the one computed (--sha256). */
	for (int a = 0; a < FM_ALGOS; a++)
		res.digest[a] = job->entry.digest[a] ? job->entry.digest[a]
				: o->got.hex[a][0]   ? o->got.hex[a]
						     : NULL;
	report(r, &res);
	drop_job(r, job, from);
}

/* Asks worker i's connection cache to hold what it runs now and its
 * share of idle connections (fm_pool_conns()). */
static void size_pool(struct run *r, unsigned i)
{
	fm_worker_want_conns(&r->workers[i],
			     fm_pool_conns(r->load[i], r->o->jobs, r->hosts[i],
					   r->spare_fds, r->nworkers));
}

/* Gives slot s back; its host has room for one more. */
static void release_slot(struct run *r, struct slot *s)
{
	struct fm_worker *w = s->w;
	struct site *site = &r->sites[s->site % SITES];

	fm_queue_done(&r->queue, s->host);
	s->x.job = NULL;
	s->busy = false;
	fm_worker_slot_put(w, s);
	r->load[w - r->workers]--;
	size_pool(r, (unsigned)(w - r->workers));
	site->running--;
	if (site->on)
		site->on[w - r->workers]--;
	r->running--;
}

/* What an attempt that took seconds says of its site: how long its
 * transfers take (its ramp; the slot it freed goes to the site's first
 * parked job, if the ramp holds any), and what the response says of its
 * connections. A site once seen multiplexing stays so: one answer over
 * HTTP/1.1 (a redirect to another host, a transfer stopped early) does
 * not make its transfers spread over workers and open connections
 * there. */
static void learn_site(struct run *r, uint32_t hash,
		       const struct fm_outcome *o, double seconds)
{
	struct site *site = &r->sites[hash % SITES];
	uint64_t now = uv_hrtime();

	fm_ramp_ended(&site->ramp, (uint64_t)(seconds * 1e9), now);
	if (site->parked_head && site->gate != GATE_PROBING &&
	    site->running < site->ramp.cap && site->paused_until <= now)
		unpark(r, site, 1);
	if (o->multiplexed)
		site->proto = SITE_MUX;
	else if (o->http_status > 0 && site->proto == SITE_UNKNOWN)
		site->proto = SITE_SINGLE;
}

/* Whether the host whose hash is hash, at site, is paused at now (a
 * Retry-After): a cell-mate is not. */
static bool site_paused(const struct site *site, uint32_t hash, uint64_t now)
{
	return site->paused_until > now && site->paused == hash;
}

/* The pause timer fires when the first paused host may go on: the
 * earliest pause's end. */
static void arm_pause_timer(struct run *r)
{
	uint64_t due = UINT64_MAX, now = uv_hrtime();

	for (unsigned i = 0; i < SITES; i++)
		if (r->sites[i].paused_until && r->sites[i].paused_until < due)
			due = r->sites[i].paused_until;
	if (due == UINT64_MAX) {
		uv_timer_stop(&r->pause_timer);
		return;
	}
	uv_timer_start(&r->pause_timer, on_pause_timer,
		       due > now ? (due - now + 999999) / 1000000 : 0, 0);
}

/* Hosts whose pause is over take their parked jobs back (through the
 * queue, where their ramp and gate apply again). */
static void on_pause_timer(uv_timer_t *t)
{
	struct run *r = t->data;
	uint64_t now = uv_hrtime();

	for (unsigned i = 0; i < SITES; i++) {
		struct site *site = &r->sites[i];

		if (!site->paused_until || site->paused_until > now)
			continue;
		site->paused_until = 0;
		if (site->gate != GATE_PROBING)
			unpark(r, site, UINT_MAX);
	}
	arm_pause_timer(r);
	pump(r);
}

/* A 429 or 503 with Retry-After pauses the host that sent it (hash, its
 * slot's): no new transfer goes to it until the time it gave, capped at
 * --backoff-max (fm_host_pause()); its jobs park at its site meanwhile,
 * holding no slot, and other hosts go on. A longer pause already there
 * stands. (Two hosts sharing a cell: the later pause takes the cell.) */
static void pause_site(struct run *r, uint32_t hash,
		       const struct fm_outcome *o)
{
	double wait = fm_host_pause(o->http_status, o->retry_after,
				    r->o->backoff_max);
	struct site *site = &r->sites[hash % SITES];
	uint64_t until;

	if (wait <= 0)
		return;
	until = uv_hrtime() + (uint64_t)(wait * 1e9);
	if (site->paused == hash && site->paused_until >= until)
		return;
	site->paused = hash;
	site->paused_until = until;
	arm_pause_timer(r);
}

/* job leaves the site it was parked at. */
static void unparked(struct run *r, struct fm_job *job)
{
	r->parked--;
	if (job->paused) {
		job->paused = false;
		r->paused--;
	}
}

/* Parks job (just taken from the queue) at site: it waits there,
 * holding no slot, counted in r->parked. */
static void park(struct run *r, struct site *site, struct fm_job *job)
{
	fm_queue_done(&r->queue, job->host);
	job->next = NULL;
	if (site->parked_tail)
		site->parked_tail->next = job;
	else
		site->parked_head = job;
	site->parked_tail = job;
	r->parked++;
}

/* The most transfers site may run now, raised if it has earned it
 * (fm_ramp_cap()). */
static unsigned ramp_cap(struct run *r, struct site *site)
{
	return fm_ramp_cap(&site->ramp, r->o->jobs, uv_hrtime());
}

/* Holds job back when its site's gate is closed or the site runs all
 * the transfers its ramp allows (the job was just taken from the queue):
 * it waits at the site, counted in r->parked. Makes the first job to a
 * new HTTPS site its probe. Returns true when held. */
static bool hold_back(struct run *r, struct fm_job *job)
{
	struct site *site = &r->sites[job->site % SITES];

	if (site_paused(site, job->site, uv_hrtime())) {
		park(r, site, job);
		job->paused = true;
		r->paused++;
		return true;
	}
	if (job->tls && site->gate != GATE_OPEN) {
		if (site->gate == GATE_NEW) {
			site->gate = GATE_PROBING;
			site->prober = job->site;
			job->probe = true;
			return false;
		}
		if (site->prober == job->site) {
			park(r, site, job);
			return true;
		}
	}
	if (site->running < ramp_cap(r, site))
		return false;
	park(r, site, job);
	if (!uv_is_active((uv_handle_t *)&r->ramp_timer))
		uv_timer_start(&r->ramp_timer, on_ramp_timer,
			       FM_RAMP_NS / 1000000, 0);
	return true;
}

/* Up to n of the jobs parked at site go back to the head of the queue,
 * in the order they came. */
static void unpark(struct run *r, struct site *site, unsigned n)
{
	struct fm_job *job;

	while (n-- && (job = site->parked_head)) {
		site->parked_head = job->next;
		if (!site->parked_head)
			site->parked_tail = NULL;
		unparked(r, job);
		fm_queue_push(&r->queue, job->host, job, true);
	}
}

/* Sites held at their cap: those whose transfers have earned more take
 * more of their parked jobs. The timer runs while a site that may still
 * earn more is held (a settled one takes its next job as one of its
 * transfers ends). */
static void on_ramp_timer(uv_timer_t *t)
{
	struct run *r = t->data;
	bool held = false;

	for (unsigned i = 0; r->parked && i < SITES; i++) {
		struct site *site = &r->sites[i];
		unsigned cap;

		if (!site->parked_head || site->gate == GATE_PROBING ||
		    site->paused_until > uv_hrtime())
			continue;
		cap = ramp_cap(r, site);
		if (site->running < cap)
			unpark(r, site, cap - site->running);
		held |= site->parked_head && !site->ramp.settled;
	}
	if (held)
		uv_timer_start(t, on_ramp_timer, FM_RAMP_NS / 1000000, 0);
	pump(r);
}

/* The probe of the site whose hash is site_hash has its answer, or
 * ended: the jobs parked at its cell go back to the head of the queue, in
 * the order they came. */
static void open_gate(struct run *r, uint32_t site_hash)
{
	struct site *site = &r->sites[site_hash % SITES];
	struct fm_job *job, *next;

	if (site->gate != GATE_PROBING)
		return;
	site->gate = GATE_OPEN;
	for (job = site->parked_head; job; job = next) {
		next = job->next;
		unparked(r, job);
		fm_queue_push(&r->queue, job->host, job, true);
	}
	site->parked_head = site->parked_tail = NULL;
}

static void stop_job(struct run *r, struct fm_job *job,
		     enum fm_job_state from, const char *why);

/* Takes every parked job away: the run stops for why (stop_job()), or,
 * with why NULL, ends (each is dropped). */
static void drain_parked(struct run *r, const char *why)
{
	for (unsigned i = 0; r->parked && i < SITES; i++) {
		struct site *site = &r->sites[i];
		struct fm_job *job, *next;

		for (job = site->parked_head; job; job = next) {
			next = job->next;
			unparked(r, job);
			if (why)
				stop_job(r, job, FM_JOB_QUEUED, why);
			else
				drop_job(r, job, FM_JOB_QUEUED);
		}
		site->parked_head = site->parked_tail = NULL;
	}
}

static void on_fail_fast(struct run *r);
static void arm_retry_timer(struct run *r);

/* Past a descriptor shortage, fd_cap rises (each round a little more, so
 * that a burst of attempts cannot all fail again) until it stops
 * mattering. */
static void on_fd_timer(uv_timer_t *t)
{
	struct run *r = t->data;

	r->fd_rounds++;
	r->fd_idle++;
	r->fd_cap = fm_fd_cap_raise(r->fd_cap);
	if (r->fd_cap >= r->o->jobs)
		r->fd_capped = false;
	else
		uv_timer_start(t, on_fd_timer,
			       (uint64_t)(fm_fd_wait(r->fd_rounds) * 1000.0),
			       0);
	pump(r);
}

/* An attempt that lacked a descriptor (EMFILE, ENFILE) never got to be
 * one: what it was for waits, not counted, and no more transfers run at
 * once than run now until fd_timer says otherwise; one ending meanwhile
 * makes room for the next, with its descriptors. Only when nothing runs,
 * after FM_FD_ROUNDS rounds in which no attempt ended otherwise, does it
 * fail. Returns true when it waits (no_fd: the attempt lacked one). */
static bool hold_for_fds(struct run *r, bool no_fd)
{
	if (!no_fd) {
		r->fd_idle = 0;
		if (!r->fd_capped)
			r->fd_rounds = 0;
		return false;
	}
	if (r->stop != STOP_NONE || fm_fd_give_up(r->fd_idle, r->running))
		return false;
	if (!r->fd_capped || r->running < r->fd_cap)
		r->fd_cap = r->running;
	r->fd_capped = true;
	if (!uv_is_active((uv_handle_t *)&r->fd_timer))
		uv_timer_start(&r->fd_timer, on_fd_timer,
			       (uint64_t)(fm_fd_wait(r->fd_rounds) * 1000.0),
			       0);
	return true;
}

/* hold_for_fds() for a job's attempt: the job goes back to the head of
 * the queue. Returns true when it was delayed. */
static bool delay_for_fds(struct run *r, struct fm_job *job,
			  const struct fm_outcome *o)
{
	if (!hold_for_fds(r, o->no_fd))
		return false;
	job_move(r, job, FM_JOB_RUNNING, FM_JOB_QUEUED);
	fm_queue_push(&r->queue, job->host, job, true);
	return true;
}

/* Points job at the host of its URL (job->url, whose host name is
 * host): its site, whether its connections are TLS, and its queue record
 * (under --per-host, the host's own), letting go of the record it had.
 * Returns 0, or -ENOMEM (job keeps the record it had). */
static int place_job(struct run *r, struct fm_job *job, const char *host)
{
	struct fm_host *rec =
		fm_queue_get(&r->queue, r->o->per_host ? host : "");

	if (!rec)
		return -ENOMEM;
	if (job->host)
		fm_queue_put(&r->queue, job->host);
	job->host = rec;
	job->site = (uint32_t)fm_fnv1a64(host, strlen(host));
	job->tls = strncasecmp(job->url, "https:", 6) == 0;
	return 0;
}

/* Moves job's attempts to its URL i (fm_job_url()): its host, site and
 * TLS follow, so that --per-host counts the host contacted and its
 * transfers find that host's connections. Between attempts only: no slot
 * of it is out. Returns 0 or -ENOMEM. */
static int move_job(struct run *r, struct fm_job *job, unsigned i)
{
	char host[256] = "";

	if (i == job->url_at)
		return 0;
	job->url_at = i;
	job->url = fm_job_url(job, i);
	if (fm_url_host(job->url, host, sizeof(host)))
		host[0] = '\0';
	return place_job(r, job, host);
}

/* Sends job, whose attempt failed with o, to its next attempt (next,
 * fm_next_url()): at once, to the head of its next URL's host's queue,
 * or after the backoff, spending a retry. A Retry-After is the host's
 * that sent it: it holds back a retry to the same host, not one to
 * another. Returns false when out of memory: o is then final. */
static bool go_next(struct run *r, struct fm_job *job,
		    const struct fm_outcome *o, struct fm_next next)
{
	const struct fm_opts *opt = r->o;
	uint32_t was = job->site;
	double wait;
	uint64_t due;

	free(job->last_error);
	job->last_error = strdup(o->error);
	job->last_http = o->http_status;
	if (!job->last_error || move_job(r, job, next.url))
		return false;
	if (next.step == FM_NEXT_NOW) {
		job_move(r, job, FM_JOB_RUNNING, FM_JOB_QUEUED);
		fm_queue_push(&r->queue, job->host, job, true);
		return true;
	}
	wait = fm_retry_wait(job->retried + 1, opt->backoff, opt->backoff_max,
			     jitter(r), o->http_status,
			     job->site == was ? o->retry_after : -1.0);
	/* uv_now() is the time this loop pass began: work done since
	 * would otherwise be taken off the wait. */
	uv_update_time(&r->loop);
	due = uv_now(&r->loop) + (uint64_t)(wait * 1000.0);
	if (fm_heap_push(&r->waiting, due, job))
		return false;
	job->retried++;
	job_move(r, job, FM_JOB_RUNNING, FM_JOB_WAITING);
	arm_retry_timer(r);
	return true;
}

/* Takes the outcome of an attempt to its end: another attempt (after a
 * backoff, or at once at a mirror), or a result line. The one place where
 * attempts are counted: each that ends here, but one delayed for
 * descriptors or that sent no request (fm_judge()'s not_counted); a fresh
 * retry on a new connection is part of its attempt, and never comes
 * here. An entry with mirrors that fails on them all, or runs out of
 * retries, says what each URL tried came to (fm_job_urls_failed()); its
 * own failure (a local error) says only that. */
static void conclude(struct run *r, struct fm_job *job, struct fm_outcome *o,
		     double seconds)
{
	const struct fm_opts *opt = r->o;
	bool failed = o->status == FM_STATUS_FAILED && r->stop == STOP_NONE;
	struct fm_next next = {.step = FM_NEXT_NONE};

	if (delay_for_fds(r, job, o))
		return;
	if (o->again && r->stop == STOP_NONE) {
		/* the same attempt, asked another way (--check) */
		job_move(r, job, FM_JOB_RUNNING, FM_JOB_QUEUED);
		fm_queue_push(&r->queue, job->host, job, true);
		return;
	}
	if (!o->not_counted)
		job->attempts++;
	if (failed && fm_job_note_failure(job, o->error, o->drop_url) == 0)
		next = fm_next_url(job->dropped, fm_job_urls(job), job->url_at,
				   o->retry, o->drop_url, job->retried,
				   opt->retries);
	if (next.step != FM_NEXT_NONE && go_next(r, job, o, next))
		return;
	if (failed && job->entry.nmirrors && (o->retry || o->drop_url))
		/* Bounded as a list line's reason is: each URL's failure
		 * is cut to its share, a digest mismatch too. */
		fm_job_urls_failed(job, o->error, FM_WHY_MAX);
	finish_job(r, job, FM_JOB_RUNNING, o, seconds);
	if (o->status == FM_STATUS_FAILED && opt->fail_fast &&
	    r->stop == STOP_NONE)
		on_fail_fast(r);
}

/* The worker for a transfer to site: one holding an idle connection of
 * the site's, once the site runs on several (fm_route_idle()); else
 * fm_route()'s pick, which starts counting the site's transfers per worker
 * when it sends the site away from home for the first time. */
static unsigned pick_worker(struct run *r, struct site *site, bool single)
{
	unsigned n = r->nworkers, i, slack;

	if (site->on) {
		i = fm_route_idle(site->on, site->on + n, r->load, n);
		if (i < n)
			return i;
	}
	slack = site->ramp.cap && site->ramp.cap < r->o->jobs
		? fm_route_slack(site->ramp.cap, n) : r->slack;
	i = fm_route(site->home, r->load, n, single, site->running, slack);
	if (i != site->home && !site->on) {
		site->on = calloc(2 * (size_t)n, sizeof(*site->on));
		if (!site->on) /* counts are needed away from home */
			return site->home;
		site->on[site->home] = site->running;
		site->on[n + site->home] = site->peak;
	}
	return i;
}

/* A slot for a transfer of job to site hash, whose host record host
 * counts it (held already), at the worker fm_route() picks (the home
 * of its site, where its idle or multiplexed connection is), counted as
 * running there; *wi receives the worker's index. single: the transfer
 * takes a connection of its own. NULL when no slot could be made (out of
 * memory). */
static struct slot *take_slot(struct run *r, struct fm_job *job,
			      struct fm_host *host, uint32_t hash,
			      bool single, unsigned *wi)
{
	struct site *site = &r->sites[hash % SITES];
	struct slot *s;
	unsigned i;

	if (!site->workers)
		site->home = (uint8_t)fm_least_busy(r->load, r->nworkers);
	i = pick_worker(r, site, single);
	s = fm_worker_slot(&r->workers[i]);
	if (!s)
		return NULL;
	if (!(site->workers & (UINT64_C(1) << i))) {
		site->workers |= UINT64_C(1) << i;
		r->hosts[i]++;
	}
	r->running++;
	r->load[i]++;
	size_pool(r, i);
	site->running++;
	if (site->on) {
		unsigned *peak = &site->on[r->nworkers + i];

		if (++site->on[i] > *peak)
			*peak = site->on[i];
	} else if (site->running > site->peak) {
		site->peak = site->running;
	}
	s->x.job = job;
	s->x.seg = NULL;
	s->x.seg_probe = false;
	s->busy = true;
	s->host = host;
	s->site = hash;
	s->yieldable = false;
	s->yield_asked = false;
	atomic_store(&s->x.yield, false);
	job->out++;
	*wi = i;
	return s;
}

/* Hands job to a slot (take_slot()); the worker is woken once the whole
 * batch is queued (pump). Returns false when no slot could be made (out
 * of memory) while others run: the job is back at the head of the queue
 * (with none running, it fails). */
static bool start_job(struct run *r, struct fm_job *job)
{
	struct site *site = &r->sites[job->site % SITES];
	bool single = !job->tls || site->proto == SITE_SINGLE;
	struct slot *s;
	unsigned i;

	s = take_slot(r, job, job->host, job->site, single, &i);
	if (!s) {
		struct fm_outcome o = {.status = FM_STATUS_FAILED};

		fm_queue_done(&r->queue, job->host);
		if (job->probe) { /* the next job to the site probes it */
			job->probe = false;
			site->gate = GATE_NEW;
		}
		if (r->running) { /* a slot comes back: try again then */
			fm_queue_push(&r->queue, job->host, job, true);
			return false;
		}
		snprintf(o.error, sizeof(o.error), "out of memory");
		finish_job(r, job, FM_JOB_QUEUED, &o, 0);
		return true;
	}
	job_move(r, job, FM_JOB_QUEUED, FM_JOB_RUNNING);
	fm_worker_submit(&r->workers[i], s);
	return true;
}

/* ------------------------------------------------ bodies cut in segments */

/* The scheduler's side of split's sources: the first counts on job's
 * host record and site, each mirror on its own host's (under
 * --per-host; one left without, for want of memory, is never used). */
static void place_sources(struct run *r, struct fm_job *job,
			  struct fm_split *split)
{
	split->src[0].host = job->host;
	split->src[0].site = job->site;
	for (unsigned k = 1; k < split->nsrc; k++) {
		struct fm_src *src = &split->src[k];
		char host[256] = "";

		if (fm_url_host(src->url, host, sizeof(host)))
			host[0] = '\0';
		src->host = fm_queue_get(&r->queue,
					 r->o->per_host ? host : "");
		src->ref = src->host != NULL;
		src->site = (uint32_t)fm_fnv1a64(host, strlen(host));
	}
}

/* Adds job, whose body its first transfer just cut, to the jobs whose
 * segments take free slots (at the end: first cut, first served). */
static void list_split(struct run *r, struct fm_job *job)
{
	struct fm_job **at = &r->splits;
	struct fm_split *split = atomic_load(&job->split);

	if (job->split_listed || !split)
		return;
	place_sources(r, job, split);
	while (*at)
		at = &(*at)->split_next;
	job->split_next = NULL;
	*at = job;
	job->split_listed = true;
}

static void unlist_split(struct run *r, struct fm_job *job)
{
	struct fm_split *split = atomic_load(&job->split);

	for (struct fm_job **at = &r->splits; *at; at = &(*at)->split_next)
		if (*at == job) {
			*at = job->split_next;
			job->split_listed = false;
			break;
		}
	for (unsigned k = 0; split && k < split->nsrc; k++) {
		if (split->src[k].ref)
			fm_queue_put(&r->queue, split->src[k].host);
		split->src[k].host = NULL;
		split->src[k].ref = false;
	}
}

/* Bodies were cut by running transfers: their jobs are found among the
 * slots out (a note carries no pointer: the job may end before it is
 * read). */
static void on_cuts(uv_async_t *h)
{
	struct run *r = h->data;
	uint32_t ignored[FM_NOTES_MAX];

	ON_MAIN_THREAD(r);
	fm_notes_take(&r->cuts, ignored);
	for (unsigned i = 0; i < r->nworkers; i++) {
		struct fm_worker *w = &r->workers[i];

		for (unsigned k = 0; k < w->made; k++)
			if (w->made_slots[k]->busy)
				list_split(r, w->made_slots[k]->x.job);
	}
	pump(r);
}

static bool has_room(const struct run *r)
{
	return r->running < r->o->jobs && r->stop == STOP_NONE &&
	       (!r->fd_capped || r->running < r->fd_cap);
}

/* Starts a transfer of job's segment seg (the probe when probe). Returns
 * false when no slot could be made: seg is given back. */
static bool start_segment(struct run *r, struct fm_job *job,
			  struct fm_seg *seg, bool probe)
{
	struct fm_split *split = atomic_load(&job->split);
	const struct fm_src *src = &split->src[seg->src];
	struct slot *s;
	unsigned i;
	bool complete;

	s = take_slot(r, job, src->host, src->site, true, &i);
	if (!s) {
		fm_queue_done(&r->queue, src->host);
		if (probe)
			fm_split_unprobe(split, seg, false);
		else
			fm_split_end(split, seg, FM_SEG_ENDED, &complete);
		return false;
	}
	s->x.seg = seg;
	s->x.seg_probe = probe;
	s->yieldable = !probe;
	fm_worker_submit(&r->workers[i], s);
	return true;
}

/* Entries wait in the queue that no slot is free for, while segments
 * hold slots: segments give theirs up (fm_seg_yielding()), as many as
 * wait, each body keeping one transfer going, and what they did not
 * fetch waits, free, for a slot that falls idle. So a large body never
 * delays an entry that becomes ready after it was cut (a line read late
 * from a pipe, a retry whose backoff ended). */
static void preempt_segments(struct run *r)
{
	if (!r->splits || r->stop != STOP_NONE ||
	    r->yielding >= r->queue.queued || !fm_queue_ready(&r->queue))
		return;
	for (unsigned i = 0; i < r->nworkers; i++) {
		struct fm_worker *w = &r->workers[i];

		for (unsigned k = 0; k < w->made; k++) {
			struct slot *s = w->made_slots[k];
			struct fm_job *job = s->x.job;

			if (r->yielding >= r->queue.queued)
				return;
			if (!s->busy || !s->yieldable || s->yield_asked ||
			    job->out - job->yielding < 2)
				continue;
			s->yield_asked = true;
			job->yielding++;
			r->yielding++;
			atomic_store(&s->x.yield, true);
		}
	}
}

/* The sources of split whose hosts have room (--per-host): bit k for
 * source k. */
static uint32_t sources_with_room(const struct run *r,
				  const struct fm_split *split, uint64_t now)
{
	uint32_t m = 0;

	for (unsigned k = 0; k < split->nsrc; k++) {
		const struct fm_src *src = &split->src[k];

		if (src->host && fm_queue_room(&r->queue, src->host) &&
		    !site_paused(&r->sites[src->site % SITES], src->site,
				 now))
			m |= 1u << k;
	}
	return m;
}

/* Free slots that no queued entry can take go to the bodies cut in
 * segments, one segment per body in turn, each body at most --split at
 * once over its sources, each source's host at most --per-host. */
static void start_segments(struct run *r)
{
	uint64_t now = uv_hrtime();
	bool started = true;

	while (started && has_room(r)) {
		started = false;
		for (struct fm_job *job = r->splits; job && has_room(r);
		     job = job->split_next) {
			struct fm_split *split = atomic_load(&job->split);
			struct fm_seg *seg;
			uint32_t usable;
			bool probe;

			if (job->out >= r->o->split || job->final ||
			    !(usable = sources_with_room(r, split, now)))
				continue;
			seg = fm_split_take(split, now, usable, &probe);
			if (!seg)
				continue;
			/* room was there: the hold is taken */
			(void)fm_queue_hold(&r->queue,
					    split->src[seg->src].host);
			if (!start_segment(r, job, seg, probe))
				return;
			started = true;
		}
	}
}

static void arm_seg_timer(struct run *r);

static void on_seg_timer(uv_timer_t *t)
{
	struct run *r = t->data;

	pump(r);
	arm_seg_timer(r); /* for the ones due later */
}

/* The segment timer fires when the next failed segment may go again.
 * One already due waits for a slot only, and every slot's return pumps:
 * never armed at 0 ms for it, which from on_seg_timer() would spin, as
 * libuv runs a timer due at the loop's time again before it polls. */
static void arm_seg_timer(struct run *r)
{
	uint64_t due = UINT64_MAX, now = uv_hrtime();

	for (struct fm_job *job = r->splits; job; job = job->split_next) {
		uint64_t d = fm_split_next_due(atomic_load(&job->split), now);

		if (d < due)
			due = d;
	}
	if (due == UINT64_MAX) {
		uv_timer_stop(&r->seg_timer);
		return;
	}
	uv_timer_start(&r->seg_timer, on_seg_timer,
		       (due - now + 999999) / 1000000, 0);
}

/* The first outcome that decides a cut job's end stands. */
static void keep_final(struct fm_job *job, const struct fm_outcome *o)
{
	if (job->final)
		return;
	job->final = malloc(sizeof(*job->final));
	if (job->final)
		*job->final = *o;
}

/* A cut job whose slots are all back, with its outcome: reported, or,
 * when its body changed on the server or its URL failed for good, tried
 * again from zero (an attempt, as any other: conclude()). */
static void end_split(struct run *r, struct fm_job *job)
{
	struct fm_split *split = atomic_load(&job->split);
	struct fm_outcome o = *job->final;
	double seconds = since(job->split_t0);
	unsigned at = job->final_at;

	unlist_split(r, job);
	free(job->final);
	job->final = NULL;
	/* Under -c what a failure left stays, with the record of its
	 * ranges, to be resumed; a body that changed or failed its digest
	 * (or was named) goes. */
	atomic_store(&job->split, NULL);
	fm_split_free(split, r->o->resume && o.piece != FM_PIECE_RESTART &&
				     o.piece != FM_PIECE_WHOLE);
	free(split);
	if (o.piece == FM_PIECE_RESTART) {
		/* A server whose file changed, or whose nodes name one file
		 * with two ETags, gets the next attempts whole. */
		job->no_split = true;
	} else {
		/* A part that failed past --retries spent them: no retry of
		 * the whole; but a failure that is the URL's (a wrong
		 * digest, a 404 to a range) moves to the next of its
		 * mirrors, as for a body in one piece. A descriptor shortage
		 * was a part's, already waited for. */
		o.retry = false;
		o.no_fd = false;
		/* the failure is the mirror's whose segment failed last */
		if (o.status == FM_STATUS_FAILED && at != job->url_at &&
		    at < fm_job_urls(job))
			(void)move_job(r, job, at);
	}
	o.piece = FM_PIECE_NONE;
	conclude(r, job, &o, seconds);
}

/* The run stops, and cut job has no slot out and no outcome (its failed
 * segments wait to go again, or its last slots came back with nothing
 * final): it ends as interrupted, with its last error. */
static void stop_split(struct run *r, struct fm_job *job)
{
	struct fm_outcome o = {.status = FM_STATUS_FAILED,
			       .piece = FM_PIECE_FAILED,
			       .http_status = job->last_http};

	if (job->last_error)
		snprintf(o.error, sizeof(o.error),
			 "interrupted (last attempt: %s)", job->last_error);
	else
		snprintf(o.error, sizeof(o.error), "interrupted");
	keep_final(job, &o);
	end_split(r, job);
}

/* A slot of a cut job is back (its segment seg, left free by a failure,
 * or NULL; its outcome o): a segment done, a
 * failed one to fetch again after its backoff (or, past --retries, the
 * entry's failure), the body changed, or the body complete. The job ends
 * when its last slot is back and its outcome is known. */
static void split_back(struct run *r, struct fm_job *job, struct fm_seg *seg,
		       const struct fm_outcome *o)
{
	struct fm_split *split = atomic_load(&job->split);
	unsigned at = seg ? split->src[seg->src].url_i : job->url_at;

	list_split(r, job);
	/* A redirect's target that refuses a range (a signed URL expired):
	 * the entry's URL is asked again, at once. */
	if (o->piece == FM_PIECE_FAILED && o->drop_url && seg &&
	    o->http_status >= 400 && o->http_status < 500 &&
	    r->stop == STOP_NONE && !job->final &&
	    fm_split_src_expired(split, seg))
		return;
	/* A source that failed for good (a 404 to a range) is left out;
	 * while another is left, the segment goes there at once. */
	if (o->piece == FM_PIECE_FAILED && o->drop_url && seg &&
	    r->stop == STOP_NONE && !job->final &&
	    fm_split_src_drop(split, seg)) {
		(void)fm_job_note_failure_at(job, at, o->error, true);
		return;
	}
	/* A segment that lacked a descriptor goes again as soon as one is
	 * free (hold_for_fds()), its failure not counted. */
	if (!o->no_fd) {
		(void)hold_for_fds(r, false);
	} else if (o->piece == FM_PIECE_FAILED && seg && !job->final &&
		   hold_for_fds(r, true)) {
		/* not at once: has_room() could keep it waiting, and the
		 * segment timer would spin */
		fm_split_due(split, seg,
			     uv_hrtime() +
				     (uint64_t)(fm_fd_wait(r->fd_rounds) * 1e9));
		arm_seg_timer(r);
		return;
	}
	if (o->piece == FM_PIECE_FAILED && o->retry && !o->no_fd && seg &&
	    r->stop == STOP_NONE) {
		unsigned k = fm_split_failures(split, seg);

		if (k <= r->o->retries) {
			double wait = fm_retry_wait(k, r->o->backoff,
						    r->o->backoff_max,
						    jitter(r), o->http_status,
						    o->retry_after);

			fm_split_due(split, seg,
				     uv_hrtime() + (uint64_t)(wait * 1e9));
			free(job->last_error);
			job->last_error = strdup(o->error);
			job->last_http = o->http_status;
			arm_seg_timer(r);
			return;
		}
	}
	if (o->piece != FM_PIECE_DONE) {
		if (!job->final)
			job->final_at = at;
		keep_final(job, o);
		fm_split_stop(split);
	}
	if (job->out == 0 && !job->final && r->stop != STOP_NONE)
		stop_split(r, job); /* what came back said nothing final */
	else if (job->out == 0 && job->final)
		end_split(r, job);
}

/* The run stops: cut jobs with no slot out end (stop_split()). */
static void end_waiting_splits(struct run *r)
{
	struct fm_job *job = r->splits, *next;

	for (; job; job = next) {
		next = job->split_next;
		if (job->out == 0 && !job->final)
			stop_split(r, job);
	}
}

/* Slots posted back by the workers, each with its attempt's outcome. They
 * come in batches (all that a worker finished in one loop pass), and the
 * slots they free are refilled together: their requests leave at once,
 * and the server wakes once for the batch instead of once per request. */
static void on_slots_done(uv_async_t *h)
{
	struct run *r = h->data;
	struct slot *s = fm_mailbox_take(&r->done), *next;

	ON_MAIN_THREAD(r);
	for (; s; s = next) {
		struct fm_job *job = s->x.job;
		struct fm_outcome o = s->out; /* the slot is free from here */
		struct fm_seg *seg = s->x.seg;

		next = s->next;
		if (s->yield_asked) {
			r->yielding--;
			job->yielding--;
		}
		release_slot(r, s);
		job->out--;
		learn_site(r, s->site, &o, s->seconds);
		/* the host that said Retry-After: after a redirect,
		 * not the entry's */
		pause_site(r, o.answered_known ? o.answered_site : s->site,
			   &o);
		if (job->probe) {
			job->probe = false;
			open_gate(r, job->site);
		}
		if (atomic_load(&job->split))
			split_back(r, job, seg, &o);
		else
			conclude(r, job, &o, s->seconds);
	}
	pump(r);
}

/* Probes whose answer began: their sites' gates open. */
static void on_answered(uv_async_t *h)
{
	struct run *r = h->data;
	uint32_t site[FM_NOTES_MAX];
	unsigned n;

	ON_MAIN_THREAD(r);
	n = fm_notes_take(&r->answered, site);
	for (unsigned i = 0; i < n; i++)
		open_gate(r, site[i]);
	pump(r);
}

/* Moves every job whose backoff is over to the head of the queue:
 * retries go before entries not yet tried, in the order they fell due
 * (the heap pops equal due times first in, first out). */
static void on_retry_timer(uv_timer_t *t)
{
	struct run *r = t->data;
	const struct fm_heap_node *top;

	while ((top = fm_heap_peek(&r->waiting)) &&
	       top->key <= uv_now(&r->loop)) {
		struct fm_job *job = fm_heap_pop(&r->waiting);

		job_move(r, job, FM_JOB_WAITING, FM_JOB_QUEUED);
		fm_queue_push(&r->queue, job->host, job, true);
	}
	arm_retry_timer(r);
	pump(r);
}

/* One timer for all waiting jobs, armed for the earliest. */
static void arm_retry_timer(struct run *r)
{
	const struct fm_heap_node *top = fm_heap_peek(&r->waiting);
	uint64_t now = uv_now(&r->loop);

	if (!top) {
		uv_timer_stop(&r->retry_timer);
		return;
	}
	uv_timer_start(&r->retry_timer, on_retry_timer,
		       top->key > now ? top->key - now : 0, 0);
}

/* Standard output is behind: start nothing new until the writer
 * catches up (it wakes us, on_out_event), so that a reader that does not
 * read holds the run back instead of filling memory. */
static bool output_full(struct run *r)
{
	return r->out && fm_out_backlog(r->out, FM_OUT_HIGH) > FM_OUT_HIGH;
}

static void on_grace_timer(uv_timer_t *t);

/* Everything is done: have the results been written? After a signal,
 * an output that makes no progress for five seconds is given up (the
 * message says how much was lost), so that a reader that went to sleep
 * cannot keep an interrupted run alive. */
static bool output_drained(struct run *r)
{
	if (!r->out || r->out_abandoned ||
	    fm_out_backlog(r->out, 0) == 0)
		return true;
	if (r->stop == STOP_SIGNAL &&
	    !uv_is_active((uv_handle_t *)&r->grace)) {
		r->grace_written = fm_out_written(r->out);
		uv_timer_start(&r->grace, on_grace_timer, 5000, 5000);
	}
	return false;
}

static void on_grace_timer(uv_timer_t *t)
{
	struct run *r = t->data;
	uint64_t now = fm_out_written(r->out);

	if (now == r->grace_written) {
		fprintf(stderr, "fetchmany: standard output does not drain: "
			"%zu bytes of results not written\n",
			fm_out_backlog(r->out, SIZE_MAX));
		r->out_abandoned = true;
		r->any_bad = true;
		uv_timer_stop(t);
	}
	r->grace_written = now;
	pump(r);
}

static void start_some(struct run *r)
{
	struct fm_host *host;
	struct fm_job *job;

	while (has_room(r) && (job = fm_queue_next(&r->queue, &host))) {
		if (hold_back(r, job))
			continue;
		if (!start_job(r, job))
			return;
	}
	start_segments(r);
	if (!has_room(r))
		preempt_segments(r);
}

/* Moves the run forward after any event: read, start, and stop the loop
 * when everything is done. */
static void pump(struct run *r)
{
	ON_MAIN_THREAD(r);
	if (r->finished)
		return;
	if (r->stop == STOP_NONE && !output_full(r)) {
		fm_admit_read(&r->admit);
		start_some(r);
		for (unsigned i = 0; i < r->nworkers; i++)
			fm_worker_wake(&r->workers[i]);
	}
	if ((fm_admit_ended(&r->admit) || r->stop != STOP_NONE) &&
	    !r->queue.queued && !r->parked && !r->splits &&
	    !r->waiting.len && r->running == 0 && output_drained(r)) {
		r->finished = true;
		uv_stop(&r->loop);
	}
}

static void drain_job(void *arg, struct fm_job *job)
{
	drop_job(arg, job, FM_JOB_QUEUED);
}

/* The run stops (why) with job not running (in state from): an entry
 * never tried is dropped, without a line, counted as left; one tried
 * already (waiting out its backoff, or queued for its retry or its next
 * mirror) is reported as failed with its last attempt's error. */
static void stop_job(struct run *r, struct fm_job *job,
		     enum fm_job_state from, const char *why)
{
	struct fm_outcome o = {.status = FM_STATUS_FAILED,
			       .http_status = job->last_http};

	if (!job->attempts) {
		r->left++;
		drop_job(r, job, from);
		return;
	}
	snprintf(o.error, sizeof(o.error), "%s (last attempt: %s)", why,
		 job->last_error ? job->last_error : "-");
	finish_job(r, job, from, &o, 0);
}

struct stopping {
	struct run *r;
	const char *why;
};

static void stop_queued(void *arg, struct fm_job *job)
{
	const struct stopping *st = arg;

	stop_job(st->r, job, FM_JOB_QUEUED, st->why);
}

/* Ends the run early: nothing new starts; queued entries never tried are
 * dropped (no line, counted as left); running attempts are stopped and
 * reported with why (as their slots come back); entries tried already,
 * waiting for another attempt, are reported with their last error. */
static void stop_everything(struct run *r, enum stop_reason reason,
			    const char *why)
{
	struct stopping st = {r, why};
	struct fm_job *job;

	r->stop = reason;
	fm_admit_stop(&r->admit);
	fm_queue_drain(&r->queue, stop_queued, &st);
	drain_parked(r, why);
	for (unsigned i = 0; i < r->nworkers; i++)
		fm_worker_abort(&r->workers[i], why);
	uv_timer_stop(&r->retry_timer);
	uv_timer_stop(&r->ramp_timer);
	uv_timer_stop(&r->pause_timer);
	uv_timer_stop(&r->seg_timer);
	end_waiting_splits(r);
	while ((job = fm_heap_pop(&r->waiting)))
		stop_job(r, job, FM_JOB_WAITING, why);
	pump(r);
}

static void on_fail_fast(struct run *r)
{
	stop_everything(r, STOP_FAIL_FAST, "aborted by --fail-fast");
}

/* The writer made progress we asked for, or failed: a failure stops the
 * run as a signal does, with one message, and exit status 1. */
static void on_out_event(uv_async_t *h)
{
	struct run *r = h->data;
	int err = fm_out_error(r->out);

	if (err && !r->out_err) {
		r->out_err = err;
		r->any_bad = true;
		fprintf(stderr, "fetchmany: cannot write results to standard "
			"output: %s; stopping\n", fm_strerror(err));
		if (r->stop == STOP_NONE)
			stop_everything(r, STOP_OUTPUT, "interrupted");
	}
	pump(r);
}

/* SIGINT and SIGTERM have a plain handler of ours, not uv_signal: libuv
 * only notes a signal for its loop to read, so a second one that came
 * before the loop took the first, or while the main thread was busy,
 * would be swallowed. The first signal wakes the loop (uv_async_send is
 * async-signal-safe); any later one, or one after the loop is gone, ends
 * the process at once, whatever it was doing. */
static uv_async_t *volatile signal_async;
static volatile sig_atomic_t signals_seen, first_signal;

static void on_signal(int signum)
{
	uv_async_t *a = signal_async;

	if (signals_seen++ || !a)
		_exit(128 + signum);
	first_signal = signum;
	uv_async_send(a);
}

/* The first SIGINT or SIGTERM stops the run cleanly. */
static void on_signal_async(uv_async_t *h)
{
	struct run *r = h->data;

	if (!first_signal || r->stop == STOP_SIGNAL)
		return;
	r->signum = first_signal;
	stop_everything(r, STOP_SIGNAL, "interrupted");
}

/* How many worker threads: --threads, or one per CPU (at most 8); never
 * more than -j, and one under --limit-rate, whose bucket and pacing timer
 * are that worker's alone. */
static unsigned worker_count(const struct fm_opts *o)
{
	/* The CPUs this process may run on (its affinity mask). */
	unsigned n = o->threads ? o->threads : uv_available_parallelism();

	if (!o->threads && n > 8)
		n = 8;
	if (o->limit_rate || n < 1)
		n = 1;
	return n < o->jobs ? n : o->jobs;
}

unsigned fm_run_workers(const struct fm_opts *o)
{
	return worker_count(o);
}

/* Sets the workers up (each makes its slots as its hosts need them) and
 * starts their threads. */
static int start_workers(struct run *r)
{
	unsigned n = worker_count(r->o);
	int err;

	r->workers = calloc(n, sizeof(*r->workers));
	r->load = calloc(n, sizeof(*r->load));
	r->hosts = calloc(n, sizeof(*r->hosts));
	r->sites = calloc(SITES, sizeof(*r->sites));
	if (!r->workers || !r->load || !r->hosts || !r->sites)
		return -ENOMEM;
	r->slack = fm_route_slack(r->o->jobs, n);
	for (; r->nworkers < n; r->nworkers++) {
		err = fm_worker_init(&r->workers[r->nworkers], &r->wenv);
		if (err)
			return err;
	}
	for (unsigned i = 0; i < n; i++) {
		err = fm_worker_start(&r->workers[i]);
		if (err)
			return err;
	}
	return 0;
}

/* What the live line shows, gathered when it is drawn; nothing while
 * result lines for the same terminal are still on their way, since the
 * writer thread would print them after the line. */
static bool sample_progress(void *arg, struct fm_progress *p)
{
	struct run *r = arg;
	uint64_t now;

	if (r->stdout_tty && r->out && fm_out_backlog(r->out, SIZE_MAX))
		return false;
	for (int s = 0; s < FM_STATUS_COUNT; s++)
		p->done += r->tally.count[s];
	p->known = fm_admit_known(&r->admit);
	p->list_complete = fm_admit_ended(&r->admit);
	p->failed = r->tally.count[FM_STATUS_FAILED] +
		    r->tally.count[FM_STATUS_INVALID];
	p->running = r->running;
	p->bytes = r->tally.bytes;
	/* A cut body counts once, by what is on disk: its slots come and
	 * go while it runs. */
	for (struct fm_job *job = r->splits; job; job = job->split_next)
		p->bytes += fm_split_done(atomic_load(&job->split));
	for (unsigned i = 0; i < r->nworkers; i++) {
		const struct fm_worker *w = &r->workers[i];

		for (unsigned k = 0; k < w->made; k++) {
			const struct slot *s = w->made_slots[k];

			if (s->busy && !atomic_load(&s->x.job->split))
				p->bytes += atomic_load_explicit(
					&s->x.body_bytes, memory_order_relaxed);
		}
	}
	p->elapsed = since(r->t0);
	now = uv_hrtime();
	for (unsigned i = 0; i < SITES; i++) {
		uint64_t until = r->sites[i].paused_until;

		if (until > now) {
			double left = (double)(until - now) / 1e9;

			p->paused++;
			if (left > p->paused_for)
				p->paused_for = left;
		}
	}
	return true;
}

static void init_progress(struct run *r)
{
	const struct fm_opts *o = r->o;
	bool on = o->progress == FM_PROGRESS_ALWAYS ||
		  (o->progress == FM_PROGRESS_AUTO && isatty(STDERR_FILENO));

	r->stdout_tty = isatty(STDOUT_FILENO);
	if (on && !o->quiet && !o->dry_run)
		fm_meter_start(&r->meter, &r->loop, STDERR_FILENO,
				sample_progress, r);
}

static void on_uv_prepare(uv_prepare_t *h)
{
	struct run *r = h->data;

	if (r->out)
		fm_out_flush(r->out);
}

static void init_signals(struct run *r)
{
	struct sigaction sa = {.sa_handler = on_signal,
			       .sa_flags = SA_RESTART};

	uv_async_init(&r->loop, &r->sigasync, on_signal_async);
	r->sigasync.data = r;
	/* Watching for signals must not keep the loop alive. */
	uv_unref((uv_handle_t *)&r->sigasync);
	signal_async = &r->sigasync;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* From here a signal ends the process at once: the handle it would wake
 * is about to go. */
static void stop_signals(struct run *r)
{
	sigset_t both, old;

	sigemptyset(&both);
	sigaddset(&both, SIGINT);
	sigaddset(&both, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &both, &old);
	signal_async = NULL;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	uv_close((uv_handle_t *)&r->sigasync, NULL);
}

/* Admission hands an accepted job over: it waits in its host's queue
 * (its host record: the URL's host under --per-host, one shared record
 * otherwise), knowing its site (start_job()); its first URL is its
 * entry's. */
static void on_admit_job(void *ctx, struct fm_job *job)
{
	struct run *r = ctx;
	char host[256] = "";

	if (fm_url_host_parsed(job->entry.uh, host, sizeof(host)))
		host[0] = '\0';
	if (place_job(r, job, host)) {
		struct fm_outcome o = {.status = FM_STATUS_FAILED};

		snprintf(o.error, sizeof(o.error), "out of memory");
		finish_job(r, job, FM_JOB_NEW, &o, 0);
		return;
	}
	/* Parsed once for all of admission; a job in the window holds no
	 * more than its strings. */
	curl_url_cleanup(job->entry.uh);
	job->entry.uh = NULL;
	job_move(r, job, FM_JOB_NEW, FM_JOB_QUEUED);
	fm_queue_push(&r->queue, job->host, job, false);
}

static void on_admit_result(void *ctx, const struct fm_result *res)
{
	report(ctx, res);
}

/* The read-ahead window: jobs waiting out a backoff count against it
 * too, since they hold memory. Jobs parked at a paused host (a
 * Retry-After) have a window of their own, PAUSED_WINDOWS times larger:
 * while one host waits out its pause, the others' entries must still be
 * read (head-of-line blocking, otherwise), and memory stays bounded by
 * -j. */
#define PAUSED_WINDOWS 16u

static bool on_admit_has_room(void *ctx)
{
	struct run *r = ctx;

	return r->queue.queued + (r->parked - r->paused) + r->waiting.len <
		       r->window &&
	       r->paused < (size_t)PAUSED_WINDOWS * r->window;
}

static void on_admit_wake(void *ctx)
{
	pump(ctx);
}

static const struct fm_admit_ops admit_ops = {
	.job = on_admit_job,
	.result = on_admit_result,
	.has_room = on_admit_has_room,
	.wake = on_admit_wake,
};

static void teardown(struct run *r);

static int setup(struct run *r, const struct fm_opts *o)
{
	int err;

	*r = (struct run){.o = o, .rootfd = -1};
	r->wenv.main_thread = uv_thread_self();
	r->t0 = uv_hrtime();
	r->rng = r->t0 ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
	/* Twice -j: enough queued to refill every slot at once and to find
	 * work for an idle host under --per-host; 4x measured no faster at
	 * -j 1000 and held 0.4 MiB more. */
	r->window = o->jobs * 2 < 64 ? 64 : o->jobs * 2;
	r->conf = (struct fm_xfer_conf){
		.user_agent = "fetchmany/" FM_VERSION,
		.connect_timeout_ms = fm_timeout_ms(o->connect_timeout),
		.timeout_ms = fm_timeout_ms(o->timeout),
		.output_dir = o->output_dir_given ? o->output_dir : NULL,
		.resume = o->resume,
		.no_clobber = o->no_clobber,
		.timestamping = o->timestamping,
		.sha256_all = o->sha256,
		.content_disposition = o->content_disposition,
		.claims = &r->admit.claims,
		.max_redirs = o->max_redirs,
		.retry_on = &o->retry_on,
		.headers = o->headers,
		.nheaders = o->nheaders,
		.netrc = o->netrc || o->netrc_file,
		.netrc_file = o->netrc_file,
		.cacert = o->cacert,
		.insecure = o->insecure,
		.https_only = o->https_only,
		.proxy = o->proxy,
		.noproxy = o->noproxy,
		.cookies = o->cookie || o->cookie_jar,
		.fsync = o->fsync,
		.check = o->check,
		.xattr = o->xattr,
		.max_filesize = o->max_filesize,
		.compressed = o->compressed,
		.split = o->split,
		.min_split = o->min_split_size,
		.buffer_size = fm_recv_buffer(o->jobs),
	};
	if (o->user_agent)
		r->conf.user_agent = o->user_agent;
	/* A checksum file that cannot be used is a usage error: said
	 * before any list is read or any file made. */
	if (fm_sums_load(&r->sums, o->checksums, o->nchecksums, stderr))
		return -EINVAL;
	err = fm_admit_open(&r->admit, o->inputs, o->ninputs);
	if (err)
		return err;
	/* A dry run touches nothing, not even the output directory; --check
	 * only reads it (-N's files), and creates nothing. */
	if (o->check)
		r->rootfd = open(o->output_dir,
				 O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	else if (!o->dry_run)
		r->rootfd = fm_sink_open_root(o->output_dir);
	if (r->rootfd < 0 && !o->dry_run && !o->check) {
		fprintf(stderr, "fetchmany: cannot use output directory '%s': %s\n",
			o->output_dir, fm_strerror(r->rootfd));
		fm_admit_free(&r->admit);
		return r->rootfd;
	}
	/* Bodies go to NAME.part under -c, and without O_TMPFILE. */
	r->conf.parts = o->resume ||
			(r->rootfd >= 0 && !o->check &&
			 fm_sink_writes_parts(r->rootfd));
	r->share = fm_share_new(r->conf.cookies);
	r->conf.share = fm_share_handle(r->share);
	if (r->share && o->cookie && fm_share_load_cookies(r->share, o->cookie))
		fprintf(stderr, "fetchmany: --cookie %s: not read\n", o->cookie);
	if (!r->share || fm_queue_init(&r->queue, o->per_host) ||
	    uv_loop_init(&r->loop))
		goto nomem;
	/* Without it no slot would ever come back: fail now, not hang. */
	if (fm_mailbox_init(&r->done, &r->loop, on_slots_done)) {
		uv_loop_close(&r->loop);
		goto nomem;
	}
	r->done.async.data = r;
	if (fm_notes_init(&r->answered, &r->loop, on_answered)) {
		fm_mailbox_close(&r->done);
		uv_run(&r->loop, UV_RUN_DEFAULT);
		uv_loop_close(&r->loop);
		goto nomem;
	}
	r->answered.async.data = r;
	if (fm_notes_init(&r->cuts, &r->loop, on_cuts)) {
		fm_notes_close(&r->answered);
		fm_mailbox_close(&r->done);
		uv_run(&r->loop, UV_RUN_DEFAULT);
		uv_loop_close(&r->loop);
		goto nomem;
	}
	r->cuts.async.data = r;
	fm_admit_init(&r->admit, &r->loop,
		      &(struct fm_admit_conf){
			      .output_dir = r->conf.output_dir,
			      .mirror = o->mirror,
			      .https_only = o->https_only,
			      .dry_run = o->dry_run,
			      .parts = r->conf.parts,
			      .shard_k = o->shard_k,
			      .shard_n = o->shard_n,
			      .sums = o->nchecksums ? &r->sums : NULL,
			      .require_digest = o->require_digest,
		      },
		      &admit_ops, r);
	r->conf.claims_lock = &r->admit.claims_lock;
	uv_timer_init(&r->loop, &r->retry_timer);
	r->retry_timer.data = r;
	uv_timer_init(&r->loop, &r->fd_timer);
	r->fd_timer.data = r;
	uv_timer_init(&r->loop, &r->ramp_timer);
	r->ramp_timer.data = r;
	uv_timer_init(&r->loop, &r->pause_timer);
	r->pause_timer.data = r;
	uv_timer_init(&r->loop, &r->seg_timer);
	r->seg_timer.data = r;
	init_signals(r);
	init_progress(r);
	uv_prepare_init(&r->loop, &r->flusher);
	r->flusher.data = r;
	uv_prepare_start(&r->flusher, on_uv_prepare);
	uv_unref((uv_handle_t *)&r->flusher);
	uv_timer_init(&r->loop, &r->grace);
	r->grace.data = r;
	if (!o->quiet) {
		r->out = fm_out_start(&r->loop, STDOUT_FILENO, on_out_event, r,
				      &err);
		if (!r->out) {
			fprintf(stderr, "fetchmany: cannot start the results "
				"writer: %s\n", fm_strerror(err));
			teardown(r);
			return err;
		}
	}
	/* Under 1 ms is 1 ms: only 0 means "none" (fm_timeout_ms). */
	r->wenv = (struct fm_worker_env){
		.conf = &r->conf,
		.rootfd = r->rootfd,
		.stall_ns = (uint64_t)fm_timeout_ms(o->stall_timeout) *
			    1000000u,
		.stall_timeout = o->stall_timeout,
		.limit_rate = o->limit_rate,
		.jobs = o->jobs,
		.done = &r->done,
		.answered = &r->answered,
		.cuts = o->split > 1 && !o->dry_run ? &r->cuts : NULL,
		.main_thread = r->wenv.main_thread,
	};
	err = start_workers(r);
	if (err) {
		fprintf(stderr, "fetchmany: cannot start the worker threads: "
			"%s\n", uv_strerror(err));
		teardown(r);
		return err;
	}
	return 0;
nomem:
	fputs("fetchmany: out of memory\n", stderr);
	fm_share_free(r->share);
	fm_queue_free(&r->queue);
	if (r->rootfd >= 0)
		close(r->rootfd);
	fm_admit_free(&r->admit);
	return -ENOMEM;
}

/* The workers end first (their threads, then their loops, easy handles
 * and multi handles), then the main loop's own handles; the loop runs once
 * more to free them. */
static void teardown(struct run *r)
{
	bool clean = true;
	struct fm_job *job;

	for (unsigned i = 0; i < r->nworkers; i++)
		fm_worker_stop(&r->workers[i]);
	for (unsigned i = 0; i < r->nworkers; i++)
		clean &= fm_worker_close(&r->workers[i]) == 0;
	for (unsigned i = 0; i < r->nworkers; i++) {
		struct fm_worker *w = &r->workers[i];

		for (unsigned k = 0; k < w->made; k++) {
			struct slot *s = w->made_slots[k];

			if (s->busy) {
				/* a job whose body is cut is in several */
				if (--s->x.job->out == 0) {
					unlist_split(r, s->x.job);
					drop_job(r, s->x.job, FM_JOB_RUNNING);
				}
				s->x.job = NULL;
				s->busy = false;
			}
		}
		fm_worker_free(w);
	}
	if (r->o->cookie_jar) {
		int err = fm_share_save_cookies(r->share, r->o->cookie_jar);

		if (err) {
			fprintf(stderr, "fetchmany: --cookie-jar %s: %s\n",
				r->o->cookie_jar, fm_strerror(err));
			r->any_bad = true;
		}
	}
	/* Its last users, the easy handles, went with the workers. */
	clean &= fm_share_free(r->share) == 0;
	free(r->workers);
	free(r->load);
	free(r->hosts);
	fm_mailbox_close(&r->done);
	fm_notes_close(&r->answered);
	fm_notes_close(&r->cuts);
	while ((job = r->splits)) { /* waiting to fetch a segment again */
		r->splits = job->split_next;
		if (job->out == 0)
			drop_job(r, job, FM_JOB_RUNNING);
	}
	fm_queue_drain(&r->queue, drain_job, r);
	drain_parked(r, NULL);
	for (unsigned i = 0; r->sites && i < SITES; i++)
		free(r->sites[i].on);
	free(r->sites);
	while ((job = fm_heap_pop(&r->waiting)))
		drop_job(r, job, FM_JOB_WAITING);
	fm_heap_free(&r->waiting);
	fm_admit_close(&r->admit);
	uv_close((uv_handle_t *)&r->retry_timer, NULL);
	uv_close((uv_handle_t *)&r->fd_timer, NULL);
	uv_close((uv_handle_t *)&r->ramp_timer, NULL);
	uv_close((uv_handle_t *)&r->pause_timer, NULL);
	uv_close((uv_handle_t *)&r->seg_timer, NULL);
	uv_close((uv_handle_t *)&r->flusher, NULL);
	uv_close((uv_handle_t *)&r->grace, NULL);
	if (r->out)
		fm_out_stop(r->out, !r->out_abandoned);
	fm_meter_stop(&r->meter);
	stop_signals(r);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&r->loop) || !clean)
		fputs("fetchmany: internal error: handles left open\n", stderr);
	fm_queue_free(&r->queue);
	fm_admit_free(&r->admit);
	if (r->rootfd >= 0)
		close(r->rootfd);
}

int fm_run(const struct fm_opts *o, uint64_t spare_fds)
{
	struct run r;
	char summary[256];
	int status;

	if (setup(&r, o)) {
		fm_sums_free(&r.sums);
		return 2;
	}
	r.spare_fds = spare_fds;
	pump(&r);
	uv_run(&r.loop, UV_RUN_DEFAULT);
	teardown(&r);
	fm_sums_free(&r.sums);
	if (!o->quiet) {
		fm_summary_format(&r.tally, since(r.t0), r.left, summary,
				  sizeof(summary));
		fprintf(stderr, "fetchmany: %s%s\n", summary,
			r.stop == STOP_SIGNAL ? " (interrupted)" : "");
	}
	if (r.stop == STOP_SIGNAL)
		status = 128 + r.signum;
	else if (r.stop == STOP_OUTPUT)
		status = 1;
	else
		status = r.any_bad || fm_admit_bad(&r.admit) ? 1 : 0;
	return status;
}
