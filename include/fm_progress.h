/* fm_progress.h: the live progress line, as text.
 *
 * Pure formatting of numbers the scheduler keeps anyway; drawing (when,
 * where, erasing) is the scheduler's business. */
#ifndef FM_PROGRESS_H
#define FM_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct fm_progress {
	unsigned long done;    /* entries with a final result */
	unsigned long known;   /* entries read so far */
	bool list_complete;    /* every list read to its end: known is final */
	unsigned long failed;  /* failed or invalid so far */
	unsigned running;      /* transfers in flight */
	uint64_t bytes;        /* body bytes received, finished or not */
	double rate;           /* bytes per second, recent */
	double elapsed;        /* seconds since the start */
	unsigned paused;       /* hosts paused by a Retry-After */
	double paused_for;     /* seconds until the last of them goes on */
};

/* Renders p into buf as one line of at most width columns (no newline),
 * dropping the least useful fields first when the terminal is narrow:
 * "done/known" (known followed by "+" while the list is still being
 * read), bytes, rate, failures, running transfers, hosts paused by a
 * Retry-After (and for how long), and an ETA once the list is complete.
 * Returns buf. */
char *fm_progress_format(const struct fm_progress *p, unsigned width,
			 char *buf, size_t cap);

/* Formats seconds as "45s", "12m05s" or "3h02m". Returns buf. */
char *fm_duration(double seconds, char *buf, size_t cap);

#endif
