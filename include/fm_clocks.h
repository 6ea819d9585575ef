/* fm_clocks.h: the clocks of an attempt, as pure arithmetic.
 *
 * Timeouts given in seconds become libcurl's milliseconds without ever
 * turning a limit into "none". The stall watch decides, each time its
 * timer fires, whether the silence of a transfer is a stall: time the
 * process did not run (SIGSTOP, a laptop's sleep, a debugger) never
 * counts, and no verdict is given before the loop has had a chance to
 * read what waits in the sockets. */
#ifndef FM_CLOCKS_H
#define FM_CLOCKS_H

#include <stdbool.h>
#include <stdint.h>

/* A timer firing this late (ns) means the process did not run meanwhile:
 * a loop that is merely busy is late by milliseconds. */
#define FM_STALL_JUMP_NS (500u * 1000000u)

/* How long a verdict is put off: long enough for one loop pass. */
#define FM_STALL_DEFER_NS (1u * 1000000u)

/* Seconds (>= 0) as libcurl's milliseconds: 0 stays 0 ("none"), anything
 * else is at least 1 ms (libcurl reads 0 as "none", so -t 0.0004 must not
 * round down to it), rounded to the nearest millisecond above that and
 * capped at a week. */
long fm_timeout_ms(double seconds);

/* The stall watch of one attempt; all times in ns of one monotonic
 * clock. */
struct fm_stall {
	uint64_t period; /* --stall-timeout */
	uint64_t since;  /* start of the silence being measured */
	uint64_t due;    /* when the timer was last meant to fire */
	bool deferred;   /* the verdict was put off once already */
};

/* Starts watching at now (the request is being sent). */
void fm_stall_start(struct fm_stall *s, uint64_t period, uint64_t now);

/* The stall timer fired at now; life is the latest time a byte is known
 * to have arrived (or now, when the silence does not count: connection
 * set-up, a pause of our own). Returns how long to wait before the next
 * check (ns), or 0: the transfer is stalled.
 *
 * A silence shorter than the period is no stall. A timer that fires
 * FM_STALL_JUMP_NS late or more says the process was not running: the
 * silence starts again at now. Otherwise the first verdict of "stalled"
 * is put off by FM_STALL_DEFER_NS, so that bytes that waited in a socket
 * while the loop was not polling (it checks timers before sockets when
 * it resumes) are read first; only a second one stands. */
uint64_t fm_stall_check(struct fm_stall *s, uint64_t now, uint64_t life);

#endif
