/* worker.c: a thread that runs the attempts the scheduler gives it (see
 * worker.h): begins them, watches them for stalls, paces them under
 * --limit-rate, ends them and posts each slot back with its outcome. */
#define _DEFAULT_SOURCE /* struct tcp_info */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <uv.h>

#include "fm_error.h"
#include "worker.h"

/* Appends the list first..last (linked by next) to the list *head..*tail. */
static void append(struct slot **head, struct slot **tail, struct slot *first,
		   struct slot *last)
{
	last->next = NULL;
	if (*tail)
		(*tail)->next = first;
	else
		*head = first;
	*tail = last;
}

int fm_mailbox_init(struct fm_mailbox *mb, uv_loop_t *loop, uv_async_cb cb)
{
	int rc;

	mb->head = mb->tail = NULL;
	rc = fm_uv_err(uv_mutex_init(&mb->lock));
	if (rc)
		return rc;
	rc = fm_uv_err(uv_async_init(loop, &mb->async, cb));
	if (rc)
		uv_mutex_destroy(&mb->lock);
	return rc;
}

void fm_mailbox_post(struct fm_mailbox *mb, struct slot *head,
		     struct slot *tail)
{
	uv_mutex_lock(&mb->lock);
	append(&mb->head, &mb->tail, head, tail);
	uv_mutex_unlock(&mb->lock);
	/* Coalesced by libuv: one wake-up for whatever is pending. */
	uv_async_send(&mb->async);
}

struct slot *fm_mailbox_take(struct fm_mailbox *mb)
{
	struct slot *list;

	uv_mutex_lock(&mb->lock);
	list = mb->head;
	mb->head = mb->tail = NULL;
	uv_mutex_unlock(&mb->lock);
	return list;
}

void fm_mailbox_close(struct fm_mailbox *mb)
{
	uv_close((uv_handle_t *)&mb->async, NULL);
	uv_mutex_destroy(&mb->lock);
}

int fm_notes_init(struct fm_notes *nb, uv_loop_t *loop, uv_async_cb cb)
{
	int rc;

	nb->n = 0;
	rc = fm_uv_err(uv_mutex_init(&nb->lock));
	if (rc)
		return rc;
	rc = fm_uv_err(uv_async_init(loop, &nb->async, cb));
	if (rc)
		uv_mutex_destroy(&nb->lock);
	return rc;
}

void fm_notes_post(struct fm_notes *nb, uint32_t site)
{
	uv_mutex_lock(&nb->lock);
	if (nb->n < FM_NOTES_MAX)
		nb->site[nb->n++] = site;
	uv_mutex_unlock(&nb->lock);
	uv_async_send(&nb->async);
}

unsigned fm_notes_take(struct fm_notes *nb, uint32_t *out)
{
	unsigned n;

	uv_mutex_lock(&nb->lock);
	n = nb->n;
	memcpy(out, nb->site, n * sizeof(*out));
	nb->n = 0;
	uv_mutex_unlock(&nb->lock);
	return n;
}

void fm_notes_close(struct fm_notes *nb)
{
	uv_close((uv_handle_t *)&nb->async, NULL);
	uv_mutex_destroy(&nb->lock);
}

/* The thread that may touch w's loop and what is in it (worker.h). */
#define ON_LOOP_THREAD(w) assert(fm_on_thread(&(w)->loop_thread))
/* The scheduler's calls. */
#define ON_MAIN_THREAD(w) assert(fm_on_thread(&(w)->env->main_thread))

/* Posts the slots finished in the last loop pass back in one batch, so
 * that the scheduler wakes once for all of them. */
static void on_handover(uv_idle_t *h)
{
	struct fm_worker *w = h->data;
	struct slot *head = w->done_head, *tail = w->done_tail;

	ON_LOOP_THREAD(w);
	uv_idle_stop(h);
	w->done_head = w->done_tail = NULL;
	if (head)
		fm_mailbox_post(w->env->done, head, tail);
}

/* The attempt in s is over (s->out and s->seconds say how): queue the
 * slot for the scheduler. An idle handle: the loop does not block before
 * the batch is posted. */
static void hand_back(struct fm_worker *w, struct slot *s)
{
	ON_LOOP_THREAD(w);
	uv_timer_stop(&s->stall);
	uv_timer_stop(&s->deadline);
	s->running = false;
	s->x.fresh = false;
	append(&w->done_head, &w->done_tail, s, s);
	uv_idle_start(&w->handover, on_handover);
}

/* Ends an attempt that never reached the network. */
static void fail_early(struct fm_worker *w, struct slot *s, const char *why)
{
	bool seg = s->x.seg != NULL || s->x.segmented;

	if (s->x.seg) /* its segment goes back, to be fetched again */
		fm_xfer_abandon(&s->x);
	s->out = (struct fm_outcome){
		.status = FM_STATUS_FAILED,
		.piece = seg ? FM_PIECE_FAILED : FM_PIECE_NONE,
	};
	snprintf(s->out.error, sizeof(s->out.error), "%s", why);
	s->seconds = 0;
	hand_back(w, s);
}

/* Seconds since x's attempt began. */
static double elapsed(const struct fm_xfer *x)
{
	return (double)(fm_now_ns() - x->t_start) / 1e9;
}

static void on_stall_timer(uv_timer_t *t);
static void on_deadline_timer(uv_timer_t *t);

/* Arms s's stall timer d ns from now (whole milliseconds, rounded up). */
static void arm_stall(struct slot *s, uint64_t d)
{
	uv_timer_start(&s->stall, on_stall_timer, (d + 999999) / 1000000, 0);
}

/* x's body was cut (fm_xfer's on_split, in its worker's loop): the
 * scheduler looks for it among the running jobs. */
static void on_cut(struct fm_xfer *x)
{
	struct slot *s = (struct slot *)x; /* x is the first member */

	fm_notes_post(s->w->env->cuts, 0);
}

/* A probe's answer is coming (fm_xfer's on_answer, in w's loop). */
static void on_probe_answer(struct fm_xfer *x)
{
	struct slot *s = (struct slot *)x; /* x is the first member */

	ON_LOOP_THREAD(s->w);
	fm_notes_post(s->w->env->answered, x->job->site);
}

static void begin(struct fm_worker *w, struct slot *s)
{
	const struct fm_worker_env *env = w->env;
	struct fm_xfer *x = &s->x;
	struct fm_job *job = x->job;

	ON_LOOP_THREAD(w);
	if (!s->adopted) {
		/* Never past env->jobs: the scheduler makes no more. */
		uv_timer_init(&w->loop, &s->stall);
		s->stall.data = s;
		uv_timer_init(&w->loop, &s->deadline);
		s->deadline.data = s;
		s->adopted = true;
		w->slots[w->nslots++] = s;
	}
	if (!x->easy && fm_xfer_init(x, env->conf)) {
		fail_early(w, s, "libcurl: cannot create a transfer");
		return;
	}
	x->sink.pool = &w->pool;
	x->bucket = env->limit_rate ? &w->bucket : NULL;
	/* a segment's job may be another slot's probe: not ours to read */
	x->on_answer = !x->seg && job->probe && env->answered
			       ? on_probe_answer
			       : NULL;
	x->on_split = env->cuts ? on_cut : NULL;
	switch (fm_xfer_begin(x, job, env->rootfd, &s->out)) {
	case FM_BEGIN_RUN:
		break;
	case FM_BEGIN_SKIPPED: /* under -n */
	case FM_BEGIN_FAILED:  /* the destination is unusable */
		s->seconds = 0;
		hand_back(w, s);
		return;
	}
	if (fm_engine_add(w->engine, x->easy)) {
		fm_xfer_abandon(x);
		fail_early(w, s, "libcurl refused the transfer");
		return;
	}
	s->running = true;
	if (env->conf->timeout_ms)
		uv_timer_start(&s->deadline, on_deadline_timer,
			       (uint64_t)env->conf->timeout_ms + 1, 0);
	if (env->stall_ns) {
		fm_stall_start(&s->watch, env->stall_ns, fm_now_ns());
		arm_stall(s, env->stall_ns);
	}
}

/* libcurl watches socket fd for easy, or no longer: the transfer's
 * socket, for the stall watch to ask the kernel about. */
static void on_engine_socket(void *arg, CURL *easy, curl_socket_t fd, int on)
{
	struct fm_xfer *x = NULL;

	ON_LOOP_THREAD((struct fm_worker *)arg);
	if (!easy || curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x) ||
	    !x)
		return;
	if (on)
		x->sock = fd;
	else if (x->sock == fd)
		x->sock = -1;
}

static void on_transfer_done(void *arg, CURL *easy, CURLcode rc)
{
	struct fm_worker *w = arg;
	struct fm_xfer *x = NULL;
	struct slot *s;

	ON_LOOP_THREAD(w);
	curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&x);
	s = (struct slot *)x; /* x is the first member */
	fm_xfer_end(x, rc, &s->out);
	if (s->out.retry_fresh) {
		/* The reused connection failed, not the entry: the same
		 * attempt goes again at once, on a new connection. */
		uint64_t t_start = x->t_start;

		x->fresh = true;
		begin(w, s);
		if (s->running)
			x->t_start = t_start;
		return;
	}
	s->seconds = elapsed(x);
	hand_back(w, s);
}

/* Stops a running attempt ourselves, for stop, with libcurl's code rc
 * and why. */
static void stop_attempt(struct fm_worker *w, struct slot *s,
			 enum fm_stop stop, CURLcode rc, const char *why)
{
	struct fm_xfer *x = &s->x;

	fm_engine_remove(w->engine, x->easy);
	fm_xfer_stop(x, stop, rc, why, &s->out);
	s->seconds = elapsed(x);
	hand_back(w, s);
}

/* -t is over. libcurl has the same deadline, but 7.88 can lose it: a
 * socket event less than a millisecond before it drops it as past
 * (add_next_timeout's whole-millisecond difference) while its timeout
 * check still finds time left, so a 1 ms -t fired at libcurl's next
 * deadline, 200 ms later, and a longer one only at the next byte. */
static void on_deadline_timer(uv_timer_t *t)
{
	struct slot *s = t->data;
	char why[FM_WHY_MAX];

	ON_LOOP_THREAD(s->w);
	snprintf(why, sizeof(why),
		 "Operation timed out after %ld milliseconds with %" PRIu64
		 " bytes received",
		 (long)(elapsed(&s->x) * 1000.0), s->x.sink.bytes);
	stop_attempt(s->w, s, FM_STOP_DEADLINE, CURLE_OPERATION_TIMEDOUT,
		     why);
}

/* The local port of socket fd, or of its peer; -1 when unknown. */
static int port_of(int fd, bool peer)
{
	struct sockaddr_storage a;
	socklen_t len = sizeof(a);
	int rc = peer ? getpeername(fd, (struct sockaddr *)&a, &len)
		      : getsockname(fd, (struct sockaddr *)&a, &len);

	if (rc)
		return -1;
	if (a.ss_family == AF_INET)
		return ntohs(((struct sockaddr_in *)&a)->sin_port);
	if (a.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&a)->sin6_port);
	return -1;
}

/* Whether s's transfer has its connection to itself, and x->sock is that
 * connection's socket (the ports say so; a descriptor number may have
 * been reused since libcurl named it). Transfers multiplexed on one
 * HTTP/2 connection share its bytes: the kernel's word is no one's. */
static bool owns_socket(const struct fm_worker *w, const struct slot *s)
{
	const struct fm_xfer *x = &s->x;

	if (x->sock < 0 || !x->local_port ||
	    port_of(x->sock, false) != x->local_port ||
	    port_of(x->sock, true) != x->peer_port)
		return false;
	for (unsigned k = 0; k < w->nslots; k++) {
		const struct slot *o = w->slots[k];

		if (o != s && o->running && o->x.requested &&
		    o->x.local_port == x->local_port &&
		    o->x.peer_port == x->peer_port &&
		    strcmp(o->x.peer_ip, x->peer_ip) == 0)
			return false;
	}
	return true;
}

/* The latest time a byte is known to have arrived for s's transfer (ns):
 * one libcurl handed over, or one the kernel received on the transfer's
 * own connection — libcurl says nothing of a header line until it is
 * complete, nor of a TLS record until it is whole, yet every byte is a
 * sign of life. Set-up (before the request leaves) belongs to
 * --connect-timeout and a pause to --limit-rate: for them it is now. */
static uint64_t last_life(const struct fm_worker *w, const struct slot *s,
			  uint64_t now)
{
	const struct fm_xfer *x = &s->x;
	uint64_t life = x->last_rx, ago;
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	if (!x->requested || x->paused)
		return now;
	if (!owns_socket(w, s) ||
	    getsockopt(x->sock, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return life;
	ago = (uint64_t)ti.tcpi_last_data_recv * 1000000u;
	if (ago < now && now - ago > life)
		life = now - ago;
	return life;
}

/* The stall clock runs from the last byte received: the timer is armed
 * for the full period once and, when it fires early because bytes came
 * meanwhile, re-armed for what is left, so a busy transfer costs no timer
 * work per byte. fm_stall_check() decides; see there why time the
 * process did not run never counts. */
static void on_stall_timer(uv_timer_t *t)
{
	struct slot *s = t->data;
	struct fm_worker *w = s->w;
	uint64_t now = fm_now_ns();
	uint64_t d;
	char why[FM_WHY_MAX];

	ON_LOOP_THREAD(w);
	d = fm_stall_check(&s->watch, now, last_life(w, s, now));
	if (d) {
		arm_stall(s, d);
		return;
	}
	snprintf(why, sizeof(why), "stalled: no data received for %g s",
		 w->env->stall_timeout);
	stop_attempt(w, s, FM_STOP_STALLED, CURLE_OPERATION_TIMEDOUT, why);
}

/* Jobs posted by the scheduler: start them all, then let their requests
 * leave together. An abort stops what runs, and what was just posted
 * ends without touching the network. */
static void on_inbox(uv_async_t *h)
{
	struct fm_worker *w = h->data;
	char why[FM_WHY_MAX];
	struct slot *s, *next;
	bool abort, quit;
	unsigned conns;

	ON_LOOP_THREAD(w);
	uv_mutex_lock(&w->inbox.lock);
	s = w->inbox.head;
	w->inbox.head = w->inbox.tail = NULL;
	abort = w->abort;
	quit = w->quit;
	w->abort = false;
	memcpy(why, w->abort_why, sizeof(why));
	uv_mutex_unlock(&w->inbox.lock);

	conns = atomic_load_explicit(&w->want_conns, memory_order_relaxed);
	if (conns != w->conns) {
		w->conns = conns;
		fm_engine_max_connects(w->engine, conns);
	}

	if (abort) {
		for (unsigned k = 0; k < w->nslots; k++) {
			struct slot *run = w->slots[k];

			if (run->running)
				stop_attempt(w, run, FM_STOP_ABORTED,
					     CURLE_ABORTED_BY_CALLBACK, why);
		}
	}
	for (; s; s = next) {
		next = s->next;
		if (abort)
			fail_early(w, s, why);
		else
			begin(w, s);
	}
	fm_engine_flush(w->engine);
	if (quit)
		uv_stop(&w->loop);
}

/* --limit-rate: every 10 ms the bucket is refilled and, when it holds
 * tokens again, the transfers it paused are resumed. The bucket is this
 * worker's alone (run.c runs one worker under --limit-rate). */
static void on_rate_timer(uv_timer_t *t)
{
	struct fm_worker *w = t->data;
	unsigned n = w->nslots;
	double budget;
	CURLcode rc;

	ON_LOOP_THREAD(w);
	fm_bucket_refill(&w->bucket, uv_hrtime());
	budget = w->bucket.tokens;
	/* libcurl hands the resumed transfers their data in its own order,
	 * so resuming every paused one would favour the oldest. Resume only
	 * as many as the tokens can feed a chunk each, taking turns. */
	for (unsigned k = 0; k < n && budget > 0; k++) {
		unsigned i = (w->rate_next + k) % n;
		struct fm_xfer *x = &w->slots[i]->x;

		if (!w->slots[i]->running || !x->paused)
			continue;
		x->paused = false;
		x->last_rx = fm_now_ns();
		budget -= (double)w->env->conf->buffer_size;
		w->rate_next = (i + 1) % n;
		/* May call the write callback, which may pause it again,
		 * or refuse the data (a segment at its end, a body halted,
		 * --max-filesize, a write error): libcurl 7.88 then returns
		 * the error here and leaves the handle waiting for a later
		 * timer of its own (--connect-timeout's), so it ends now, as
		 * libcurl would have ended it. */
		rc = curl_easy_pause(x->easy, CURLPAUSE_CONT);
		if (rc != CURLE_OK) {
			fm_engine_remove(w->engine, x->easy);
			on_transfer_done(w, x->easy, rc);
		}
	}
}

int fm_worker_init(struct fm_worker *w, const struct fm_worker_env *env)
{
	/* Big enough for all the pieces of one read. */
	size_t pool = ((size_t)env->conf->buffer_size + FM_SINK_PIECE - 1) /
		      FM_SINK_PIECE * FM_SINK_PIECE;

	*w = (struct fm_worker){.env = env, .loop_thread = env->main_thread,
				.conns = env->jobs};
	ON_MAIN_THREAD(w);
	atomic_init(&w->want_conns, env->jobs);
	w->slots = calloc(env->jobs, sizeof(*w->slots));
	w->made_slots = calloc(env->jobs, sizeof(*w->made_slots));
	if (!w->slots || !w->made_slots || fm_sink_pool_init(&w->pool, pool))
		goto nomem;
	if (uv_loop_init(&w->loop)) {
		fm_sink_pool_free(&w->pool);
		goto nomem;
	}
	w->engine = fm_engine_new(&w->loop, on_transfer_done, w,
				  (long)env->jobs);
	if (!w->engine || fm_mailbox_init(&w->inbox, &w->loop, on_inbox)) {
		if (w->engine)
			fm_engine_close(w->engine);
		uv_run(&w->loop, UV_RUN_DEFAULT);
		uv_loop_close(&w->loop);
		fm_sink_pool_free(&w->pool);
		goto nomem;
	}
	w->inbox.async.data = w;
	fm_engine_on_socket(w->engine, on_engine_socket);
	uv_idle_init(&w->loop, &w->handover);
	w->handover.data = w;
	uv_timer_init(&w->loop, &w->rate_timer);
	w->rate_timer.data = w;
	if (env->limit_rate) {
		fm_bucket_init(&w->bucket, (double)env->limit_rate,
			       uv_hrtime());
		uv_timer_start(&w->rate_timer, on_rate_timer, 10, 10);
		uv_unref((uv_handle_t *)&w->rate_timer);
	}
	return 0;
nomem:
	free(w->slots);
	free(w->made_slots);
	w->slots = w->made_slots = NULL;
	return -ENOMEM;
}

struct slot *fm_worker_slot(struct fm_worker *w)
{
	struct slot *s = w->free;

	ON_MAIN_THREAD(w);
	if (s) {
		w->free = s->next;
		return s;
	}
	if (w->made == w->env->jobs || !(s = calloc(1, sizeof(*s))))
		return NULL;
	s->x.sink = (struct fm_sink)FM_SINK_INIT;
	s->w = w;
	w->made_slots[w->made++] = s;
	return s;
}

void fm_worker_slot_put(struct fm_worker *w, struct slot *s)
{
	ON_MAIN_THREAD(w);
	s->next = w->free;
	w->free = s;
}

void fm_worker_want_conns(struct fm_worker *w, unsigned n)
{
	ON_MAIN_THREAD(w);
	if (atomic_load_explicit(&w->want_conns, memory_order_relaxed) == n)
		return;
	atomic_store_explicit(&w->want_conns, n, memory_order_relaxed);
	w->wake = true;
}

static void run_loop(void *arg)
{
	struct fm_worker *w = arg;

	/* The main thread leaves w's loop alone until it has joined us. */
	w->loop_thread = uv_thread_self();
	uv_run(&w->loop, UV_RUN_DEFAULT);
}

int fm_worker_start(struct fm_worker *w)
{
	sigset_t all, old;
	int rc;

	ON_MAIN_THREAD(w);
	/* Signals are the main thread's to take (run.c's sigaction handler). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = fm_uv_err(uv_thread_create(&w->thread, run_loop, w));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	w->started = rc == 0;
	return rc;
}

void fm_worker_submit(struct fm_worker *w, struct slot *s)
{
	ON_MAIN_THREAD(w);
	uv_mutex_lock(&w->inbox.lock);
	append(&w->inbox.head, &w->inbox.tail, s, s);
	uv_mutex_unlock(&w->inbox.lock);
	w->wake = true;
}

void fm_worker_wake(struct fm_worker *w)
{
	ON_MAIN_THREAD(w);
	if (!w->wake)
		return;
	w->wake = false;
	uv_async_send(&w->inbox.async);
}

void fm_worker_abort(struct fm_worker *w, const char *why)
{
	ON_MAIN_THREAD(w);
	uv_mutex_lock(&w->inbox.lock);
	w->abort = true;
	snprintf(w->abort_why, sizeof(w->abort_why), "%s", why);
	uv_mutex_unlock(&w->inbox.lock);
	uv_async_send(&w->inbox.async);
}

void fm_worker_stop(struct fm_worker *w)
{
	ON_MAIN_THREAD(w);
	if (!w->started)
		return;
	uv_mutex_lock(&w->inbox.lock);
	w->quit = true;
	uv_mutex_unlock(&w->inbox.lock);
	uv_async_send(&w->inbox.async);
	uv_thread_join(&w->thread);
	w->started = false;
	w->loop_thread = w->env->main_thread;
}

/* Shutdown order matters: easy handles leave the multi handle, the multi
 * handle is cleaned up (it may still call the socket callback), then every
 * libuv handle is closed and the loop run once more to free them. Runs on
 * the main thread once the worker's own has ended. */
int fm_worker_close(struct fm_worker *w)
{
	ON_MAIN_THREAD(w);
	ON_LOOP_THREAD(w);
	for (unsigned k = 0; k < w->nslots; k++) {
		struct slot *s = w->slots[k];

		if (s->running) {
			fm_engine_remove(w->engine, s->x.easy);
			fm_xfer_abandon(&s->x);
		}
	}
	fm_engine_close(w->engine);
	for (unsigned k = 0; k < w->nslots; k++) {
		struct slot *s = w->slots[k];

		fm_xfer_cleanup(&s->x);
		uv_close((uv_handle_t *)&s->stall, NULL);
		uv_close((uv_handle_t *)&s->deadline, NULL);
	}
	fm_mailbox_close(&w->inbox);
	uv_close((uv_handle_t *)&w->handover, NULL);
	uv_close((uv_handle_t *)&w->rate_timer, NULL);
	uv_run(&w->loop, UV_RUN_DEFAULT);
	fm_sink_pool_free(&w->pool);
	return fm_uv_err(uv_loop_close(&w->loop));
}

void fm_worker_free(struct fm_worker *w)
{
	for (unsigned k = 0; k < w->made; k++)
		free(w->made_slots[k]);
	free(w->made_slots);
	free(w->slots);
	w->made_slots = w->slots = NULL;
	w->made = w->nslots = 0;
	w->free = NULL;
}
