/* run.c: the scheduler: queue → slots → results (admit.c fills the
 * queue from the input).
 *
 * At most -j jobs hold a slot; a slot's clock starts when it is taken, so
 * time spent queued never counts. A failed attempt either waits out its
 * backoff in one heap (one timer for all) or ends with its result line,
 * printed the moment it is final. Signals, --fail-fast, the stall and
 * rate timers and the live line's numbers live here too. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <uv.h>

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

static struct slot *slot_of(struct fm_xfer *x)
{
	return (struct slot *)x; /* x is the first member */
}

/* Gives the slot of job back; its host has room for one more. */
static void release_slot(struct run *r, struct fm_xfer *x,
			 struct fm_job *job)
{
	fm_hosts_done(&r->queue, job->host);
	uv_timer_stop(&slot_of(x)->stall);
	x->job = NULL;
	x->next_free = r->free_slots;
	r->free_slots = x;
	r->running--;
}

/* Reports a job that never got to run, or ran with no network verdict. */
static void finish_early(struct run *r, struct fm_job *job, const char *why)
{
	struct fm_outcome o = {.status = FM_STATUS_FAILED};

	snprintf(o.error, sizeof(o.error), "%s", why);
	if (!job->attempts)
		job->attempts = 1;
	fm_run_finish_job(r, job, &o, 0);
}

static void on_fail_fast(struct run *r);
static void on_stall_timer(uv_timer_t *t);
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

static void start_job(struct run *r, struct fm_job *job)
{
	struct fm_xfer *x = r->free_slots;
	struct fm_outcome o;

	r->free_slots = x->next_free;
	r->running++;
	job->attempts++;
	if (!x->easy && fm_xfer_init(x, &r->conf)) {
		release_slot(r, x, job);
		finish_early(r, job, "libcurl: cannot create a transfer");
		return;
	}
	if (fm_xfer_begin(x, job, r->rootfd, &o)) {
		/* Skipped under -n (no request: no attempt), or the
		 * destination is unusable. */
		if (o.status == FM_STATUS_SKIPPED)
			job->attempts--;
		release_slot(r, x, job);
		conclude(r, job, &o, 0);
		return;
	}
	if (fm_engine_add(r->engine, x->easy)) {
		fm_xfer_abandon(x);
		release_slot(r, x, job);
		finish_early(r, job, "libcurl refused the transfer");
		return;
	}
	if (r->stall_ns)
		uv_timer_start(&slot_of(x)->stall, on_stall_timer,
			       r->stall_ns / 1000000 + 1, 0);
}

/* Slots freed by finished transfers are refilled once per loop pass,
 * after every socket that was ready has been served: the new requests
 * then leave together (fm_engine_flush), and the server wakes once for
 * the batch instead of once per request. */
static void on_uv_pump(uv_idle_t *h)
{
	struct run *r = h->data;

	uv_idle_stop(h);
	fm_run_pump(r);
	fm_engine_flush(r->engine);
}

static void on_transfer_done(void *arg, CURL *easy, CURLcode rc)
{
	struct run *r = arg;
	struct fm_xfer *x = NULL;
	struct fm_outcome o;
	struct fm_job *job;
	double seconds;

	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	job = x->job;
	fm_xfer_end(x, rc, &o);
	seconds = since(x->t_start);
	release_slot(r, x, job);
	conclude(r, job, &o, seconds);
	/* An idle handle: the loop does not block before it runs. */
	uv_idle_start(&r->pumper, on_uv_pump);
}

/* Stops a running attempt ourselves, with libcurl's code rc and why. */
static void stop_attempt(struct run *r, struct fm_xfer *x, CURLcode rc,
			 const char *why)
{
	struct fm_job *job = x->job;
	struct fm_outcome o;
	double seconds;

	fm_engine_remove(r->engine, x->easy);
	fm_xfer_stop(x, rc, why, &o);
	seconds = since(x->t_start);
	release_slot(r, x, job);
	conclude(r, job, &o, seconds);
}

/* The stall clock runs from the last byte received: the timer is armed
 * for the full period once and, when it fires early because bytes came
 * meanwhile, re-armed for what is left, so a busy transfer costs no timer
 * work per byte. */
static void on_stall_timer(uv_timer_t *t)
{
	struct slot *s = t->data;
	struct run *r = s->r;
	uint64_t idle = uv_hrtime() - s->x.last_rx;
	char why[FM_WHY_MAX];

	/* A transfer held back by --limit-rate is not stalled. */
	if (s->x.paused)
		idle = 0;
	if (idle < r->stall_ns) {
		uv_timer_start(t, on_stall_timer,
			       (r->stall_ns - idle) / 1000000 + 1, 0);
		return;
	}
	snprintf(why, sizeof(why), "stalled: no data received for %g s",
		 r->o->stall_timeout);
	stop_attempt(r, &s->x, CURLE_OPERATION_TIMEDOUT, why);
	fm_run_pump(r);
}

/* Moves every job whose backoff is over to the head of the queue:
 * retries go before entries not yet tried. */
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
 * why; entries waiting to retry are reported with their last error. */
static void stop_everything(struct run *r, enum stop_reason reason,
			    const char *why)
{
	struct fm_job *job;

	r->stop = reason;
	r->input_end = true;
	fm_admit_stop(r);
	r->left += r->queue.queued;
	fm_hosts_drain(&r->queue, drain_job, r);
	for (unsigned i = 0; i < r->o->jobs; i++)
		if (r->slots[i].x.job)
			stop_attempt(r, &r->slots[i].x,
				     CURLE_ABORTED_BY_CALLBACK, why);
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

/* --limit-rate: every 10 ms the bucket is refilled and, when it holds
 * tokens again, the transfers it paused are resumed. */
static void on_rate_timer(uv_timer_t *t)
{
	struct run *r = t->data;
	double budget;

	fm_bucket_refill(&r->bucket, uv_hrtime());
	budget = r->bucket.tokens;
	/* libcurl hands the resumed transfers their data in its own order,
	 * so resuming every paused one would favour the oldest. Resume only
	 * as many as the tokens can feed a chunk each, taking turns. */
	for (unsigned k = 0; k < r->o->jobs && budget > 0; k++) {
		unsigned i = (r->rate_next + k) % r->o->jobs;
		struct fm_xfer *x = &r->slots[i].x;

		if (!x->job || !x->paused)
			continue;
		x->paused = false;
		x->last_rx = uv_hrtime();
		budget -= (double)r->conf.buffer_size;
		r->rate_next = (i + 1) % r->o->jobs;
		/* May call the write callback, which may pause it again. */
		curl_easy_pause(x->easy, CURLPAUSE_CONT);
	}
}

static void init_slots(struct run *r)
{
	for (unsigned i = r->o->jobs; i-- > 0;) {
		struct slot *sl = &r->slots[i];

		sl->x.sink = (struct fm_sink)FM_SINK_INIT;
		sl->r = r;
		uv_timer_init(&r->loop, &sl->stall);
		sl->stall.data = sl;
		sl->x.next_free = r->free_slots;
		r->free_slots = &sl->x;
	}
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
		if (r->slots[i].x.job)
			p->bytes += r->slots[i].x.sink.bytes;
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

/* A larger receive buffer means fewer callbacks and write(2) calls per
 * byte, but libcurl keeps one per transfer: 8 MiB in all, between 4 KiB
 * and libcurl's 512 KiB maximum each. */
static long buffer_size(unsigned jobs)
{
	long size = (8L << 20) / (long)jobs;

	if (size < 4096)
		return 4096;
	return size > (512L << 10) ? 512L << 10 : size;
}

static int setup(struct run *r, const struct fm_opts *o)
{
	int err;

	*r = (struct run){.o = o, .rootfd = -1};
	r->t0 = uv_hrtime();
	r->rng = r->t0 ^ ((uint64_t)getpid() << 32) ^ 0x9E3779B97F4A7C15ULL;
	r->window = o->jobs * 4 < 64 ? 64 : o->jobs * 4;
	r->stall_ns = (uint64_t)(o->stall_timeout * 1e9);
	r->conf = (struct fm_xfer_conf){
		.user_agent = "fetchmany/" FM_VERSION,
		.connect_timeout_ms = (long)(o->connect_timeout * 1000.0),
		.timeout_ms = (long)(o->timeout * 1000.0),
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
	r->engine = fm_engine_new(&r->loop, on_transfer_done, r, (long)o->jobs);
	if (!r->engine) {
		uv_loop_close(&r->loop);
		goto nomem;
	}
	init_slots(r);
	uv_idle_init(&r->loop, &r->reader);
	r->reader.data = r;
	uv_timer_init(&r->loop, &r->retry_timer);
	r->retry_timer.data = r;
	uv_timer_init(&r->loop, &r->rate_timer);
	r->rate_timer.data = r;
	if (o->limit_rate) {
		fm_bucket_init(&r->bucket, (double)o->limit_rate, uv_hrtime());
		uv_timer_start(&r->rate_timer, on_rate_timer, 10, 10);
		uv_unref((uv_handle_t *)&r->rate_timer);
	}
	init_signals(r);
	init_progress(r);
	uv_idle_init(&r->loop, &r->pumper);
	r->pumper.data = r;
	uv_check_init(&r->loop, &r->flusher);
	r->flusher.data = r;
	uv_check_start(&r->flusher, on_uv_check);
	uv_unref((uv_handle_t *)&r->flusher);
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

/* Shutdown order matters: easy handles leave the multi handle, the multi
 * handle is cleaned up (it may still call the socket callback), then every
 * libuv handle is closed and the loop run once more to free them. */
static void teardown(struct run *r)
{
	struct fm_job *job;

	for (unsigned i = 0; i < r->o->jobs; i++) {
		struct fm_xfer *x = &r->slots[i].x;

		if (x->job) {
			fm_engine_remove(r->engine, x->easy);
			fm_xfer_abandon(x);
			fm_run_drop_job(r, x->job);
			x->job = NULL;
		}
	}
	fm_engine_close(r->engine);
	for (unsigned i = 0; i < r->o->jobs; i++) {
		fm_xfer_cleanup(&r->slots[i].x);
		uv_close((uv_handle_t *)&r->slots[i].stall, NULL);
	}
	fm_hosts_drain(&r->queue, drain_job, r);
	while ((job = fm_heap_pop(&r->waiting)))
		fm_run_drop_job(r, job);
	fm_heap_free(&r->waiting);
	fm_admit_stop(r);
	uv_close((uv_handle_t *)&r->reader, NULL);
	uv_close((uv_handle_t *)&r->retry_timer, NULL);
	uv_close((uv_handle_t *)&r->rate_timer, NULL);
	uv_close((uv_handle_t *)&r->pumper, NULL);
	uv_close((uv_handle_t *)&r->flusher, NULL);
	fflush(stdout);
	fm_meter_stop(&r->meter);
	uv_close((uv_handle_t *)&r->sigint, NULL);
	uv_close((uv_handle_t *)&r->sigterm, NULL);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&r->loop))
		fputs("fetchmany: internal error: handles left open\n", stderr);
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
