/* engine.c: the glue between libcurl's multi socket API and libuv.
 *
 * The only place where libcurl's multi handle meets libuv's loop (other
 * files include both headers for version strings or their own handles,
 * never to drive one with the other). libcurl tells us which sockets to
 * watch (on_curl_socket) and when to call it back (on_curl_timer); libuv tells libcurl when a socket is ready (on_uv_poll)
 * or the timer fired (on_uv_timer, or on_uv_kick for "at once"). After
 * every curl_multi_socket_action() the finished transfers are drained
 * unconditionally: gating the drain on the running count loses the last
 * completion on the timer path. */
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "fm_engine.h"
#include "fm_error.h"

struct fm_engine {
	uv_loop_t *loop;
	CURLM *multi;
	uv_timer_t timer;
	uv_idle_t kick;     /* libcurl's "call me back at once" */
	int closing;        /* handles still to be closed before the free */
	struct sock_watch **spare; /* spare[fd]: a stopped watcher for fd */
	size_t nspare;
	fm_engine_done_cb done;
	fm_engine_socket_cb on_socket; /* or NULL */
	void *arg;
};

/* One per socket libcurl asked us to watch; freed in its close callback. */
struct sock_watch {
	uv_poll_t poll;
	curl_socket_t fd;
	struct fm_engine *engine;
};

static void drain(struct fm_engine *e)
{
	CURLMsg *msg;
	int left;

	while ((msg = curl_multi_info_read(e->multi, &left))) {
		CURL *easy;
		CURLcode rc;

		if (msg->msg != CURLMSG_DONE)
			continue;
		/* msg is invalid once the handle is removed: copy first. */
		easy = msg->easy_handle;
		rc = msg->data.result;
		curl_multi_remove_handle(e->multi, easy);
		e->done(e->arg, easy, rc);
	}
}

static void on_uv_poll(uv_poll_t *h, int status, int events)
{
	struct sock_watch *w = h->data;
	struct fm_engine *e = w->engine;
	int flags = 0;
	int running;

	/* On a socket error libuv stops the watcher and reports no events.
	 * CURL_CSELECT_ERR would make libcurl fail the transfer with a bare
	 * "select/poll returned error"; letting it read and write instead
	 * surfaces the real cause ("Connection reset by peer"). The watcher
	 * stays stopped: re-arming it on a socket libcurl does not read
	 * (a paused transfer) would spin; libcurl re-arms it through the
	 * socket callback if it goes on using the socket, and the stall
	 * timer catches a transfer that would wait for nothing. */
	if (status < 0)
		flags = CURL_CSELECT_IN | CURL_CSELECT_OUT;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	/* w may be closed by the socket callback during this call. */
	curl_multi_socket_action(e->multi, w->fd, flags, &running);
	drain(e);
}

/* libcurl's timeout is due: let it act on it. */
static void timeout_action(struct fm_engine *e)
{
	int running;

	curl_multi_socket_action(e->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	drain(e);
}

static void on_uv_timer(uv_timer_t *t)
{
	timeout_action(t->data);
}

/* A 0 ms timeout from libcurl (a handle was just added, or work is
 * pending) runs at the next loop pass instead of 1 ms later: every
 * transfer that finished in this pass has then been replaced, and their
 * requests leave together, before the loop polls again. */
static void on_uv_kick(uv_idle_t *h)
{
	uv_idle_stop(h);
	timeout_action(h->data);
}

static void on_uv_close_free(uv_handle_t *h)
{
	free(h->data);
}

/* The engine goes with the last of its own handles. */
static void on_uv_close_engine(uv_handle_t *h)
{
	struct fm_engine *e = h->data;

	if (--e->closing == 0)
		free(e);
}

/* libcurl removes a kept-alive connection's socket when its transfer
 * ends and adds it again for the next one on that connection: a third of
 * the transfers of a run of small files. uv_poll_init_socket() costs four
 * system calls (a trial epoll registration, an ioctl), so a removed
 * watcher is stopped (one EPOLL_CTL_DEL) and kept for its descriptor
 * number; a stopped watcher holds no registration, so it serves equally
 * a new socket that reuses the number. */
static void keep_spare(struct fm_engine *e, struct sock_watch *w)
{
	size_t fd = (size_t)w->fd;

	uv_poll_stop(&w->poll);
	if (fd >= e->nspare) {
		size_t n = e->nspare ? e->nspare : 64;
		struct sock_watch **p;

		while (n <= fd)
			n *= 2;
		p = realloc(e->spare, n * sizeof(*p));
		if (!p) {
			uv_close((uv_handle_t *)&w->poll, on_uv_close_free);
			return;
		}
		memset(p + e->nspare, 0, (n - e->nspare) * sizeof(*p));
		e->spare = p;
		e->nspare = n;
	}
	if (e->spare[fd])
		uv_close((uv_handle_t *)&e->spare[fd]->poll, on_uv_close_free);
	e->spare[fd] = w;
}

/* A watcher for socket s: a spare one, or a new one. */
static struct sock_watch *watch(struct fm_engine *e, curl_socket_t s)
{
	struct sock_watch *w;

	if (s >= 0 && (size_t)s < e->nspare && e->spare[s]) {
		w = e->spare[s];
		e->spare[s] = NULL;
		return w;
	}
	w = malloc(sizeof(*w));
	if (!w)
		return NULL;
	if (uv_poll_init_socket(e->loop, &w->poll, s)) {
		free(w);
		return NULL;
	}
	w->fd = s;
	w->engine = e;
	w->poll.data = w;
	return w;
}

static int on_curl_socket(CURL *easy, curl_socket_t s, int action,
			  void *userp, void *socketp)
{
	struct fm_engine *e = userp;
	struct sock_watch *w = socketp;
	int events = 0;

	if (e->on_socket)
		e->on_socket(e->arg, easy, s, action != CURL_POLL_REMOVE);
	if (action == CURL_POLL_REMOVE) {
		if (w) {
			curl_multi_assign(e->multi, s, NULL);
			keep_spare(e, w);
		}
		return 0;
	}
	if (!w) {
		w = watch(e, s);
		if (!w)
			return -1;
		curl_multi_assign(e->multi, s, w);
	}
	if (action == CURL_POLL_IN || action == CURL_POLL_INOUT)
		events |= UV_READABLE;
	if (action == CURL_POLL_OUT || action == CURL_POLL_INOUT)
		events |= UV_WRITABLE;
	/* Calling uv_poll_start again re-arms the same watcher. */
	uv_poll_start(&w->poll, events, on_uv_poll);
	return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
	struct fm_engine *e = userp;

	/* Each call replaces the previous timeout. */
	uv_timer_stop(&e->timer);
	uv_idle_stop(&e->kick);
	if (timeout_ms < 0)
		return 0;
	/* Not a 0 ms timer: libuv 1.44 may run one again in the same pass
	 * (a spin), and a 1 ms one would leave the connections idle for a
	 * millisecond after each batch of completions. An idle handle runs
	 * once per pass and keeps the loop from blocking meanwhile. */
	if (timeout_ms == 0)
		uv_idle_start(&e->kick, on_uv_kick);
	else {
		/* From the real now, and a millisecond late: libuv counts
		 * from the (truncated) time its loop pass began, and libcurl
		 * 7.88 drops as past a deadline less than a whole millisecond
		 * ahead (add_next_timeout), while its timeout check still
		 * finds time left. A timer firing that little early lost a
		 * 1 ms -t, which then waited for libcurl's next deadline,
		 * 200 ms later. */
		uv_update_time(e->loop);
		uv_timer_start(&e->timer, on_uv_timer,
			       (uint64_t)timeout_ms + 1, 0);
	}
	return 0;
}

struct fm_engine *fm_engine_new(struct uv_loop_s *loop, fm_engine_done_cb done,
				void *arg, long maxconnects)
{
	struct fm_engine *e = calloc(1, sizeof(*e));

	if (!e)
		return NULL;
	e->loop = loop;
	e->done = done;
	e->arg = arg;
	e->multi = curl_multi_init();
	if (!e->multi) {
		free(e);
		return NULL;
	}
	uv_timer_init(loop, &e->timer);
	e->timer.data = e;
	uv_idle_init(loop, &e->kick);
	e->kick.data = e;
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETFUNCTION, on_curl_socket);
	curl_multi_setopt(e->multi, CURLMOPT_SOCKETDATA, e);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer);
	curl_multi_setopt(e->multi, CURLMOPT_TIMERDATA, e);
	if (maxconnects > 0)
		curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, maxconnects);
	return e;
}

void fm_engine_max_connects(struct fm_engine *e, long n)
{
	curl_multi_setopt(e->multi, CURLMOPT_MAXCONNECTS, n);
}

void fm_engine_on_socket(struct fm_engine *e, fm_engine_socket_cb cb)
{
	e->on_socket = cb;
}

int fm_engine_add(struct fm_engine *e, CURL *easy)
{
	return curl_multi_add_handle(e->multi, easy) == CURLM_OK ? 0
								  : FM_E_CURL;
}

void fm_engine_remove(struct fm_engine *e, CURL *easy)
{
	curl_multi_remove_handle(e->multi, easy);
}

void fm_engine_flush(struct fm_engine *e)
{
	if (uv_is_active((uv_handle_t *)&e->kick))
		on_uv_kick(&e->kick);
}

CURLM *fm_engine_multi(struct fm_engine *e)
{
	return e->multi;
}

void fm_engine_close(struct fm_engine *e)
{
	/* curl_multi_cleanup() may still call on_curl_socket: keep the
	 * timer and the engine alive until it returns. */
	curl_multi_cleanup(e->multi);
	e->multi = NULL;
	for (size_t i = 0; i < e->nspare; i++)
		if (e->spare[i])
			uv_close((uv_handle_t *)&e->spare[i]->poll,
				 on_uv_close_free);
	free(e->spare);
	e->spare = NULL;
	e->nspare = 0;
	uv_timer_stop(&e->timer);
	e->closing = 2;
	uv_close((uv_handle_t *)&e->kick, on_uv_close_engine);
	uv_close((uv_handle_t *)&e->timer, on_uv_close_engine);
}
