/* run.c: the scheduler: queue → slots → results (admit.c fills the
 * queue from the input, worker.c runs the attempts).
 *
 * At most -j jobs hold a slot; a slot's clock starts when a worker begins
 * its attempt, so time spent queued never counts. A failed attempt either
 * waits out its backoff in one heap (one timer for all) or ends with its
 * result line, printed the moment it is final. Signals, --fail-fast and
 * the live line's numbers live here too. Everything here runs on the main
 * thread. */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

#include "fm_clocks.h"
#include "fm_error.h"
#include "fm_name.h"
#include "fm_policy.h"
#include "fm_run.h"
#include "run.h"

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

/* Writes one result: a line on stdout (unless -q), flushed before the
 * loop next waits (on_uv_check); failures also on stderr under -q. */
void fm_run_report(struct run *r, const struct fm_result *res)
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
	if (!line) {
		fputs("fetchmany: out of memory formatting a result\n", stderr);
		r->any_bad = true;
		return;
	}
	/* Buffered, and flushed by on_uv_check at the end of this loop
	 * pass: before the loop can block, so a reader of the pipe sees
	 * every result as soon as it is final, in one write per pass. */
	fputs(line, stdout);
	r->unflushed = true;
	free(line);
}

/* Frees a job and its hold on its host's record. */
void fm_run_drop_job(struct run *r, struct fm_job *job)
{
	if (job->host)
		fm_hosts_put(&r->queue, job->host);
	fm_job_free(job);
}

void fm_run_finish_job(struct run *r, struct fm_job *job,
		       const struct fm_outcome *o, double seconds)
{
	bool on_disk = o->status == FM_STATUS_OK ||
		       o->status == FM_STATUS_UNCHANGED ||
		       o->status == FM_STATUS_SKIPPED;
	struct fm_result res = {
		.url = job->entry.url,
		.out = job->entry.out,
		.path = on_disk ? job->path : NULL,
		.status = o->status,
		.http_status = o->http_status,
		.bytes = o->bytes,
		.seconds = seconds,
		.attempts = job->attempts,
		.error = on_disk ? NULL : o->error,
		.sha256 = job->entry.sha256 ? job->entry.sha256
		  : o->sha256[0]	    ? o->sha256
					    : NULL,
		.line = job->line,
		.source = job->source,
	};

	fm_run_report(r, &res);
	fm_run_drop_job(r, job);
}

/* Gives slot s back; its job's host has room for one more. */
static void release_slot(struct run *r, struct slot *s, struct fm_job *job)
{
	fm_hosts_done(&r->queue, job->host);
	s->x.job = NULL;
	s->busy = false;
	s->next = r->free_slots;
	r->free_slots = s;
	r->running--;
}

static void on_fail_fast(struct run *r);
static void arm_retry_timer(struct run *r);

/* Takes the outcome of an attempt to its end: a retry after a backoff, or
 * a result line. */
static void conclude(struct run *r, struct fm_job *job, struct fm_outcome *o,
		     double seconds)
{
	const struct fm_opts *opt = r->o;

	if (o->retry && job->attempts <= opt->retries &&
	    r->stop == STOP_NONE) {
		double wait = fm_retry_wait(job->attempts, opt->backoff,
					    opt->backoff_max, jitter(r),
					    o->http_status, o->retry_after);
		uint64_t due;

		/* uv_now() is the time this loop pass began: work done since
		 * would otherwise be taken off the wait. */
		uv_update_time(&r->loop);
		due = uv_now(&r->loop) + (uint64_t)(wait * 1000.0);

		free(job->last_error);
		job->last_error = strdup(o->error);
		job->last_http = o->http_status;
		if (job->last_error && fm_heap_push(&r->waiting, due, job) == 0) {
			arm_retry_timer(r);
			return;
		}
	}
	fm_run_finish_job(r, job, o, seconds);
	if (o->status == FM_STATUS_FAILED && opt->fail_fast &&
	    r->stop == STOP_NONE)
		on_fail_fast(r);
}

/* Hands job to a free slot's worker; the worker is woken once the whole
 * batch is queued (fm_run_pump). */
static void start_job(struct run *r, struct fm_job *job)
{
	struct slot *s = r->free_slots;

	r->free_slots = s->next;
	r->running++;
	job->attempts++;
	s->x.job = job;
	s->busy = true;
	fm_worker_submit(s->w, s);
}

/* Slots posted back by the workers, each with its attempt's outcome. They
 * come in batches (all that a worker finished in one loop pass), and the
 * slots they free are refilled together: their requests leave at once,
 * and the server wakes once for the batch instead of once per request. */
static void on_slots_done(uv_async_t *h)
{
	struct run *r = h->data;
	struct slot *s = fm_mailbox_take(&r->done), *next;

	for (; s; s = next) {
		struct fm_job *job = s->x.job;
		struct fm_outcome o = s->out; /* the slot is free from here */

		next = s->next;
		release_slot(r, s, job);
		conclude(r, job, &o, s->seconds);
	}
	fm_run_pump(r);
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

		fm_hosts_push(&r->queue, job->host, job, true);
	}
	arm_retry_timer(r);
	fm_run_pump(r);
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

static void start_some(struct run *r)
{
	struct fm_host *host;
	struct fm_job *job;

	while (r->free_slots && r->stop == STOP_NONE &&
	       (job = fm_hosts_next(&r->queue, &host)))
		start_job(r, job);
}

/* Moves the run forward after any event: read, start, and stop the loop
 * when everything is done. */
void fm_run_pump(struct run *r)
{
	if (r->finished)
		return;
	if (r->stop == STOP_NONE) {
		fm_admit_read(r);
		start_some(r);
		for (unsigned i = 0; i < r->nworkers; i++)
			fm_worker_wake(&r->workers[i]);
	}
	if ((r->input_end || r->stop != STOP_NONE) && !r->queue.queued &&
	    !r->waiting.len && r->running == 0) {
		r->finished = true;
		uv_stop(&r->loop);
	}
}

static void drain_job(void *arg, struct fm_job *job)
{
	fm_run_drop_job(arg, job);
}

/* Ends the run early: nothing new starts; queued entries are dropped (no
 * line, counted as left); running attempts are stopped and reported with
 * why (as their slots come back); entries waiting to retry are reported
 * with their last error. */
static void stop_everything(struct run *r, enum stop_reason reason,
			    const char *why)
{
	struct fm_job *job;

	r->stop = reason;
	r->input_end = true;
	fm_admit_stop(r);
	r->left += r->queue.queued;
	fm_hosts_drain(&r->queue, drain_job, r);
	for (unsigned i = 0; i < r->nworkers; i++)
		fm_worker_abort(&r->workers[i], why);
	uv_timer_stop(&r->retry_timer);
	while ((job = fm_heap_pop(&r->waiting))) {
		struct fm_outcome o = {.status = FM_STATUS_FAILED,
				       .http_status = job->last_http};

		snprintf(o.error, sizeof(o.error), "%s (last attempt: %s)",
			 why, job->last_error ? job->last_error : "-");
		fm_run_finish_job(r, job, &o, 0);
	}
	fm_run_pump(r);
}

static void on_fail_fast(struct run *r)
{
	stop_everything(r, STOP_FAIL_FAST, "aborted by --fail-fast");
}

static void on_second_signal(int signum)
{
	_exit(128 + signum);
}

/* The first SIGINT or SIGTERM stops the run cleanly. From then on a
 * plain handler owns both signals, so that a second one ends the process
 * at once, even while the run is being torn down and libuv no longer
 * listens. */
static void on_uv_signal(uv_signal_t *h, int signum)
{
	struct run *r = h->data;
	struct sigaction sa = {.sa_handler = on_second_signal};

	uv_signal_stop(&r->sigint);
	uv_signal_stop(&r->sigterm);
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	r->signum = signum;
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

/* Deals the slots out (slot i to worker i mod n) and starts the threads;
 * the free list takes slots of every worker in turn, so that a batch of
 * jobs spreads over all of them. */
static int start_workers(struct run *r)
{
	unsigned n = worker_count(r->o);
	int err;

	r->workers = calloc(n, sizeof(*r->workers));
	if (!r->workers)
		return -ENOMEM;
	for (; r->nworkers < n; r->nworkers++) {
		err = fm_worker_init(&r->workers[r->nworkers], r, r->nworkers,
				     n);
		if (err)
			return err;
	}
	for (unsigned i = r->o->jobs; i-- > 0;) {
		r->slots[i].next = r->free_slots;
		r->free_slots = &r->slots[i];
	}
	for (unsigned i = 0; i < n; i++) {
		err = fm_worker_start(&r->workers[i]);
		if (err)
			return err;
	}
	return 0;
}

/* What the live line shows, gathered when it is drawn. */
static void sample_progress(void *arg, struct fm_progress *p)
{
	struct run *r = arg;

	for (int s = 0; s < FM_STATUS_COUNT; s++)
		p->done += r->tally.count[s];
	p->known = r->known;
	p->list_complete = r->input_end;
	p->failed = r->tally.count[FM_STATUS_FAILED] +
		    r->tally.count[FM_STATUS_INVALID];
	p->running = r->running;
	p->bytes = r->tally.bytes;
	for (unsigned i = 0; i < r->o->jobs; i++)
		if (r->slots[i].busy)
			p->bytes += atomic_load_explicit(
				&r->slots[i].x.body_bytes,
				memory_order_relaxed);
	p->elapsed = since(r->t0);
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

static void on_uv_check(uv_check_t *h)
{
	struct run *r = h->data;

	if (r->unflushed) {
		fflush(stdout);
		r->unflushed = false;
	}
}

static void init_signals(struct run *r)
{
	uv_signal_init(&r->loop, &r->sigint);
	uv_signal_init(&r->loop, &r->sigterm);
	r->sigint.data = r->sigterm.data = r;
	uv_signal_start(&r->sigint, on_uv_signal, SIGINT);
	uv_signal_start(&r->sigterm, on_uv_signal, SIGTERM);
	/* Watching for signals must not keep the loop alive. */
	uv_unref((uv_handle_t *)&r->sigint);
	uv_unref((uv_handle_t *)&r->sigterm);
}

/* A larger receive buffer means fewer callbacks and read(2) and write(2)
 * calls per byte, but libcurl keeps one per transfer: 2 MiB in all,
 * between 2 KiB and libcurl's 512 KiB maximum each (-j 4: 512 KiB; -j 16:
 * 128 KiB; -j 50: 40 KiB; -j 1000: 2 KiB). Measured with bench/run's
 * corpus: 20 KiB and 40 KiB at -j 50, 64 KiB and 256 KiB at -j 16 take
 * the same CPU; at -j 1000, 1 KiB costs 15 % more CPU than 2 KiB, which
 * costs 8 % more than 4 KiB and saves 2 MiB. */
static long buffer_size(unsigned jobs)
{
	long size = (2L << 20) / (long)jobs;

	if (size < 2048)
		return 2048;
	return size > (512L << 10) ? 512L << 10 : size;
}

static void teardown(struct run *r);

static int setup(struct run *r, const struct fm_opts *o)
{
	int err;

	*r = (struct run){.o = o, .rootfd = -1};
	r->t0 = uv_hrtime();
	r->rng = r->t0 ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
	/* Twice -j: enough queued to refill every slot at once and to find
	 * work for an idle host under --per-host; 4x measured no faster at
	 * -j 1000 and held 0.4 MiB more. */
	r->window = o->jobs * 2 < 64 ? 64 : o->jobs * 2;
	/* Under 1 ms is 1 ms: only 0 means "none" (fm_timeout_ms). */
	r->stall_ns = (uint64_t)fm_timeout_ms(o->stall_timeout) * 1000000u;
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
		.claims = &r->claims,
		.max_redirs = o->max_redirs,
		.headers = o->headers,
		.nheaders = o->nheaders,
		.netrc = o->netrc || o->netrc_file,
		.netrc_file = o->netrc_file,
		.cacert = o->cacert,
		.insecure = o->insecure,
		.max_filesize = o->max_filesize,
		.compressed = o->compressed,
		.bucket = o->limit_rate ? &r->bucket : NULL,
		.buffer_size = buffer_size(o->jobs),
	};
	if (o->user_agent)
		r->conf.user_agent = o->user_agent;
	err = fm_input_open(&r->in, o->inputs, o->ninputs);
	if (err)
		return err;
	/* A dry run touches nothing, not even the output directory. */
	r->rootfd = o->dry_run ? -1 : fm_sink_open_root(o->output_dir);
	if (r->rootfd < 0 && !o->dry_run) {
		fprintf(stderr, "fetchmany: cannot use output directory '%s': %s\n",
			o->output_dir, fm_strerror(r->rootfd));
		fm_input_close(&r->in);
		return r->rootfd;
	}
	r->slots = calloc(o->jobs, sizeof(*r->slots));
	if (!r->slots || fm_hosts_init(&r->queue, o->per_host) ||
	    uv_loop_init(&r->loop))
		goto nomem;
	/* Without it no slot would ever come back: fail now, not hang. */
	if (fm_mailbox_init(&r->done, &r->loop, on_slots_done)) {
		uv_loop_close(&r->loop);
		goto nomem;
	}
	r->done.async.data = r;
	pthread_mutex_init(&r->claims_lock, NULL);
	r->conf.claims_lock = &r->claims_lock;
	uv_idle_init(&r->loop, &r->reader);
	r->reader.data = r;
	uv_timer_init(&r->loop, &r->retry_timer);
	r->retry_timer.data = r;
	if (o->limit_rate)
		fm_bucket_init(&r->bucket, (double)o->limit_rate, uv_hrtime());
	init_signals(r);
	init_progress(r);
	uv_check_init(&r->loop, &r->flusher);
	r->flusher.data = r;
	uv_check_start(&r->flusher, on_uv_check);
	uv_unref((uv_handle_t *)&r->flusher);
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
	free(r->slots);
	fm_hosts_free(&r->queue);
	if (r->rootfd >= 0)
		close(r->rootfd);
	fm_input_close(&r->in);
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
		clean &= fm_worker_close(&r->workers[i]);
	free(r->workers);
	for (unsigned i = 0; i < r->o->jobs; i++) {
		struct slot *s = &r->slots[i];

		if (s->busy) {
			fm_run_drop_job(r, s->x.job);
			s->x.job = NULL;
			s->busy = false;
		}
	}
	fm_mailbox_close(&r->done);
	fm_hosts_drain(&r->queue, drain_job, r);
	while ((job = fm_heap_pop(&r->waiting)))
		fm_run_drop_job(r, job);
	fm_heap_free(&r->waiting);
	fm_admit_stop(r);
	uv_close((uv_handle_t *)&r->reader, NULL);
	uv_close((uv_handle_t *)&r->retry_timer, NULL);
	uv_close((uv_handle_t *)&r->flusher, NULL);
	fflush(stdout);
	fm_meter_stop(&r->meter);
	uv_close((uv_handle_t *)&r->sigint, NULL);
	uv_close((uv_handle_t *)&r->sigterm, NULL);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&r->loop) || !clean)
		fputs("fetchmany: internal error: handles left open\n", stderr);
	pthread_mutex_destroy(&r->claims_lock);
	free(r->slots);
	fm_hosts_free(&r->queue);
	fm_claims_free(&r->claims);
	fm_input_close(&r->in);
	if (r->rootfd >= 0)
		close(r->rootfd);
}

int fm_run(const struct fm_opts *o)
{
	struct run r;
	char summary[256];
	int status;

	if (setup(&r, o))
		return 2;
	fm_run_pump(&r);
	uv_run(&r.loop, UV_RUN_DEFAULT);
	teardown(&r);
	if (!o->quiet) {
		fm_summary_format(&r.tally, since(r.t0), r.left, summary,
				  sizeof(summary));
		fprintf(stderr, "fetchmany: %s%s\n", summary,
			r.stop == STOP_SIGNAL ? " (interrupted)" : "");
	}
	if (r.stop == STOP_SIGNAL)
		status = 128 + r.signum;
	else
		status = r.any_bad ? 1 : 0;
	return status;
}
