/* test_clocks.c: seconds to libcurl's milliseconds, and the stall
 * verdict (fm_clocks.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "fm_clocks.h"

#define MS 1000000ull
#define S (1000 * MS)

static void timeout_ms_table(void **state)
{
	static const struct {
		double s;
		long want;
	} rows[] = {
		{ 0, 0 },            /* the only "none" */
		{ 0.0004, 1 },       /* was 0: no limit at all */
		{ 1e-9, 1 },
		{ 4.9e-324, 1 },     /* the smallest double above 0 */
		{ 0.001, 1 },
		{ 0.0014, 1 },
		{ 0.0016, 2 },
		{ 0.5, 500 },
		{ 1, 1000 },
		{ 1.0004, 1000 },
		{ 10, 10000 },
		{ 604800, 604800000 },   /* a week: opts' largest */
		{ 1e300, 604800000 },    /* never overflows */
		{ -1, 0 },               /* opts refuses it; still no limit */
	};

	(void)state;
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (fm_timeout_ms(rows[i].s) != rows[i].want)
			fail_msg("%g s: got %ld ms, want %ld", rows[i].s,
				 fm_timeout_ms(rows[i].s), rows[i].want);
}

/* Bytes keep coming: the timer only ever re-arms for what is left. */
static void stall_life_rearms(void **state)
{
	struct fm_stall s;

	(void)state;
	fm_stall_start(&s, 1 * S, 100 * S);
	assert_true(s.due == 101 * S);
	/* A byte at 100.6 s: check again at 101.6 s. */
	assert_true(fm_stall_check(&s, 101 * S, 100 * S + 600 * MS) ==
		    600 * MS);
	assert_true(fm_stall_check(&s, 101 * S + 600 * MS,
				   101 * S + 500 * MS) == 900 * MS);
}

/* A silence of the whole period: put off one loop pass, then stalled. */
static void stall_after_one_deferral(void **state)
{
	struct fm_stall s;
	uint64_t t;

	(void)state;
	fm_stall_start(&s, 1 * S, 0);
	t = 1 * S + 2 * MS; /* a timer is a little late */
	assert_true(fm_stall_check(&s, t, 0) == FM_STALL_DEFER_NS);
	assert_true(fm_stall_check(&s, t + FM_STALL_DEFER_NS, 0) == 0);
}

/* The deferred pass read a byte: the watch goes on, and a later silence
 * is deferred afresh. */
static void stall_deferral_then_life(void **state)
{
	struct fm_stall s;
	uint64_t t = 1 * S;

	(void)state;
	fm_stall_start(&s, 1 * S, 0);
	assert_true(fm_stall_check(&s, t, 0) == FM_STALL_DEFER_NS);
	t += FM_STALL_DEFER_NS;
	assert_true(fm_stall_check(&s, t, t) == 1 * S);
	t += 1 * S;
	assert_true(fm_stall_check(&s, t, 0) == FM_STALL_DEFER_NS);
	assert_true(fm_stall_check(&s, t + FM_STALL_DEFER_NS, 0) == 0);
}

/* The timer fires 2.5 s late (SIGSTOP, a sleep): that time does not
 * count; the silence starts again when the process runs again. */
static void stall_clock_jump_restarts(void **state)
{
	struct fm_stall s;
	uint64_t t = 3 * S + 500 * MS;

	(void)state;
	fm_stall_start(&s, 1 * S, 0);
	assert_true(fm_stall_check(&s, t, 0) == 1 * S);
	/* Nothing for a whole period after that: deferred, then stalled. */
	t += 1 * S;
	assert_true(fm_stall_check(&s, t, 0) == FM_STALL_DEFER_NS);
	assert_true(fm_stall_check(&s, t + FM_STALL_DEFER_NS, 0) == 0);
}

/* Just under the jump threshold is a busy loop, not a suspension. */
static void stall_late_but_running(void **state)
{
	struct fm_stall s;
	uint64_t t = 1 * S + FM_STALL_JUMP_NS - 1;

	(void)state;
	fm_stall_start(&s, 1 * S, 0);
	assert_true(fm_stall_check(&s, t, 0) == FM_STALL_DEFER_NS);
}

/* life == now (set-up, a pause of ours) holds the verdict off. */
static void stall_life_now_holds(void **state)
{
	struct fm_stall s;

	(void)state;
	fm_stall_start(&s, 500 * MS, 0);
	for (uint64_t t = 500 * MS; t < 10 * S; t += 500 * MS)
		assert_true(fm_stall_check(&s, t, t) == 500 * MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(timeout_ms_table),
		cmocka_unit_test(stall_life_rearms),
		cmocka_unit_test(stall_after_one_deferral),
		cmocka_unit_test(stall_deferral_then_life),
		cmocka_unit_test(stall_clock_jump_restarts),
		cmocka_unit_test(stall_late_but_running),
		cmocka_unit_test(stall_life_now_holds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
