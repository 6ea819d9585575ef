/* clocks.c: timeouts in milliseconds and the stall verdict (fm_clocks.h).
 * Pure: the caller reads the clock and the sockets. */
#include "fm_clocks.h"

#define WEEK_MS (7L * 24 * 3600 * 1000)

long fm_timeout_ms(double seconds)
{
	double ms = seconds * 1000.0;

	if (!(seconds > 0))
		return 0;
	if (ms >= (double)WEEK_MS)
		return WEEK_MS;
	if (ms < 1.0)
		return 1;
	return (long)(ms + 0.5);
}

void fm_stall_start(struct fm_stall *s, uint64_t period, uint64_t now)
{
	*s = (struct fm_stall){.period = period, .since = now,
			       .due = now + period};
}

/* Arms the next check d ns after now. */
static uint64_t again(struct fm_stall *s, uint64_t now, uint64_t d)
{
	s->due = now + d;
	return d;
}

uint64_t fm_stall_check(struct fm_stall *s, uint64_t now, uint64_t life)
{
	uint64_t late = now > s->due ? now - s->due : 0;

	if (life > s->since)
		s->since = life;
	if (s->since > now)
		s->since = now;
	if (now - s->since < s->period) {
		s->deferred = false;
		return again(s, now, s->since + s->period - now);
	}
	if (late >= FM_STALL_JUMP_NS) {
		/* The process was not running: that time is nobody's
		 * silence. */
		s->since = now;
		s->deferred = false;
		return again(s, now, s->period);
	}
	if (!s->deferred) {
		s->deferred = true;
		return again(s, now, FM_STALL_DEFER_NS);
	}
	return 0;
}
