/* out.c: the results writer thread (see fm_out.h).
 *
 * The main thread appends to `pending` under the lock; the writer swaps
 * it for its own buffer, writes that with the lock released, and counts
 * it written. The two buffers trade places at every swap, so that in a
 * steady run neither allocates. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fm_error.h"
#include "fm_out.h"

/* Blocking writes, even into a descriptor whose owner made it
 * non-blocking (its flags are shared with us): then EAGAIN means "wait
 * until it drains", never an error. */
static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = {.fd = fd, .events = POLLOUT};

			if (poll(&pfd, 1, -1) < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		if (w < 0)
			return -errno;
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Tells the main thread, under the lock, unless nobody is there. */
static void tell(struct fm_out *o)
{
	if (!o->abandoned)
		uv_async_send(&o->async);
}

static void run_writer(void *arg)
{
	struct fm_out *o = arg;
	struct fm_out_buf mine = {0}, t;
	int err;

	uv_mutex_lock(&o->lock);
	for (;;) {
		while (!o->pending.len && !o->quit)
			uv_cond_wait(&o->cond, &o->lock);
		if (!o->pending.len || o->abandoned)
			break;
		t = o->pending;
		o->pending = mine;
		mine = t;
		o->writing = mine.len;
		uv_mutex_unlock(&o->lock);

		err = o->err ? 0 : write_all(o->fd, mine.p, mine.len);

		uv_mutex_lock(&o->lock);
		if (o->abandoned)
			break;
		o->written += mine.len;
		o->writing = 0;
		mine.len = 0;
		if (err && !o->err) {
			o->err = err;
			o->pending.len = 0;
			tell(o);
		} else if (o->notify) {
			o->notify = false;
			tell(o);
		}
	}
	uv_mutex_unlock(&o->lock);
	/* Abandoned: o outlives us, but our buffer is ours. */
	free(mine.p);
}

static void on_uv_close_free(uv_handle_t *h)
{
	struct fm_out *o = (struct fm_out *)((char *)h -
					     offsetof(struct fm_out, async));

	uv_cond_destroy(&o->cond);
	uv_mutex_destroy(&o->lock);
	free(o->pending.p);
	free(o);
}

struct fm_out *fm_out_start(uv_loop_t *loop, int fd, uv_async_cb cb,
			    void *arg, int *err)
{
	struct fm_out *o = calloc(1, sizeof(*o));
	sigset_t all, old;

	*err = -ENOMEM;
	if (!o)
		return NULL;
	o->fd = fd;
	if ((*err = fm_uv_err(uv_mutex_init(&o->lock))))
		goto out_free;
	if ((*err = fm_uv_err(uv_cond_init(&o->cond))))
		goto out_mutex;
	if ((*err = fm_uv_err(uv_async_init(loop, &o->async, cb))))
		goto out_cond;
	o->async.data = arg;
	/* Signals are the main thread's (run.c). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	*err = fm_uv_err(uv_thread_create(&o->thread, run_writer, o));
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (*err) {
		/* The close callback frees o. */
		uv_close((uv_handle_t *)&o->async, on_uv_close_free);
		return NULL;
	}
	return o;
out_cond:
	uv_cond_destroy(&o->cond);
out_mutex:
	uv_mutex_destroy(&o->lock);
out_free:
	free(o);
	return NULL;
}

int fm_out_append(struct fm_out *o, const char *s, size_t n)
{
	struct fm_out_buf *b = &o->pending;
	int rc = 0;

	uv_mutex_lock(&o->lock);
	if (o->err)
		goto out;
	if (b->len + n > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			rc = -ENOMEM;
			goto out;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
out:
	uv_mutex_unlock(&o->lock);
	return rc;
}

void fm_out_flush(struct fm_out *o)
{
	uv_mutex_lock(&o->lock);
	if (o->pending.len)
		uv_cond_signal(&o->cond);
	uv_mutex_unlock(&o->lock);
}

size_t fm_out_backlog(struct fm_out *o, size_t over)
{
	size_t n;

	uv_mutex_lock(&o->lock);
	n = o->err ? 0 : o->pending.len + o->writing;
	if (n > over)
		o->notify = true;
	uv_mutex_unlock(&o->lock);
	return n;
}

int fm_out_error(struct fm_out *o)
{
	int err;

	uv_mutex_lock(&o->lock);
	err = o->err;
	uv_mutex_unlock(&o->lock);
	return err;
}

uint64_t fm_out_written(struct fm_out *o)
{
	uint64_t n;

	uv_mutex_lock(&o->lock);
	n = o->written;
	uv_mutex_unlock(&o->lock);
	return n;
}

void fm_out_stop(struct fm_out *o, bool wait)
{
	uv_mutex_lock(&o->lock);
	o->quit = true;
	o->abandoned = !wait;
	uv_cond_signal(&o->cond);
	uv_mutex_unlock(&o->lock);
	if (!wait) {
		/* Nobody will join it: its resources go when it ends. */
		pthread_detach(o->thread);
		uv_close((uv_handle_t *)&o->async, NULL);
		return;
	}
	uv_thread_join(&o->thread);
	uv_close((uv_handle_t *)&o->async, on_uv_close_free);
}
