/* fm_meter.h: drawing the live progress line on a terminal.
 *
 * A timer redraws the line at most 10 times a second from numbers the
 * scheduler hands over when asked (the sample callback); nothing is drawn
 * from transfer callbacks. The line is erased before anything else is
 * written to the terminal, and for good at the end. */
#ifndef FM_METER_H
#define FM_METER_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "fm_progress.h"

/* Fills p; returns false when the line must not be drawn now (results
 * on their way to the same terminal). */
typedef bool (*fm_meter_sample_cb)(void *arg, struct fm_progress *p);

struct fm_meter {
	bool on;            /* a line is being kept up */
	bool drawn;         /* a line is on the terminal now */
	int fd;             /* standard error */
	unsigned width;     /* terminal columns */
	uv_timer_t timer;
	uv_signal_t winch;
	fm_meter_sample_cb sample;
	void *arg;
	uint64_t last_bytes, last_ns;
	double rate;        /* smoothed bytes per second */
};

/* Starts redrawing on fd every 100 ms. Returns 0 or -errno. The
 * handles do not keep the loop alive. */
int fm_meter_start(struct fm_meter *s, uv_loop_t *loop, int fd,
		    fm_meter_sample_cb sample, void *arg);

/* Erases the line if one is drawn (it comes back at the next tick). */
void fm_meter_erase(struct fm_meter *s);

/* Erases the line and closes the handles (run the loop once more). */
void fm_meter_stop(struct fm_meter *s);

#endif
