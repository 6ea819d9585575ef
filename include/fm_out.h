/* fm_out.h: result lines to standard output without ever blocking the loop.
 *
 * Standard output may be a pipe whose reader is slow, stopped or gone, a
 * terminal held by ^S, a full disk. A write there could block the main
 * thread for ever, and with it signals, timers and every transfer; making
 * the descriptor non-blocking is not ours to do, since its flags are
 * shared with whoever gave it to us. So one thread of its own writes, with
 * plain blocking write(2)s, what the main thread appends: the main thread
 * only copies bytes under a lock, and asks how far behind the writer is
 * (back-pressure: no new transfer starts while the backlog is over
 * FM_OUT_HIGH). The writer reports progress, when asked, and its first
 * error through an async handle in the main loop; after an error, what
 * is appended is dropped. */
#ifndef FM_OUT_H
#define FM_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

/* Backlog (bytes appended, not yet written) over which the run holds
 * back: about 300 JSON result lines, on top of what the pipe holds. */
#define FM_OUT_HIGH (64u << 10)

struct fm_out_buf {
	char *p;
	size_t len, cap;
};

struct fm_out {
	int fd;
	uv_thread_t thread;
	uv_async_t async;      /* in the main loop: progress or an error */
	uv_mutex_t lock;       /* guards everything below */
	uv_cond_t cond;        /* the writer waits here for work */
	struct fm_out_buf pending; /* appended, not yet taken by the writer */
	size_t writing;        /* bytes the writer took and has not written */
	uint64_t written;      /* bytes written so far */
	int err;               /* the first write error (-errno), or 0 */
	bool notify;           /* the main thread waits for progress */
	bool quit;             /* the writer leaves once pending is written */
	bool abandoned;        /* left blocked: touch nothing but this */
};

/* Starts a writer for fd; cb runs in loop (with the async handle, whose
 * data is arg) when the writer made progress that fm_out_backlog() asked
 * for, or failed. Returns the writer, or NULL with *err set to -errno. */
struct fm_out *fm_out_start(uv_loop_t *loop, int fd, uv_async_cb cb,
			    void *arg, int *err);

/* Appends n bytes for the writer (dropped after an error). Returns 0 or
 * -ENOMEM (nothing appended). */
int fm_out_append(struct fm_out *o, const char *s, size_t n);

/* Wakes the writer if bytes are pending: once per loop pass, so that the
 * lines of one pass go out in one write. */
void fm_out_flush(struct fm_out *o);

/* Bytes appended but not yet written (0 after an error: nothing more
 * will be). When they are more than over, the callback is asked for at
 * the writer's next progress, in the same step, so that no progress can
 * slip between the look and the request. */
size_t fm_out_backlog(struct fm_out *o, size_t over);

/* The writer's error (-errno), or 0. */
int fm_out_error(struct fm_out *o);

/* Bytes written so far. */
uint64_t fm_out_written(struct fm_out *o);

/* Stops the writer and frees o: with wait, once everything appended is
 * written (or failed); without, at once, leaving a writer blocked in
 * write(2) to the process's exit (o is then never freed: the writer may
 * still wake and must find it). Closes the async handle (run the loop
 * once more). */
void fm_out_stop(struct fm_out *o, bool wait);

#endif
