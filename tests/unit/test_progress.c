/* test_progress.c: the live line's text, and how it shrinks to fit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "fm_progress.h"

static const struct fm_progress busy = {
	.done = 120,
	.known = 5000,
	.list_complete = true,
	.failed = 3,
	.running = 50,
	.bytes = 12u << 20,
	.rate = 4.5 * 1048576,
	.elapsed = 12.0,
};

static void full_line(void **state)
{
	char b[256];

	fm_progress_format(&busy, 200, b, sizeof(b));
	/* 120 done in 12 s: 4880 left at 0.1 s each */
	assert_string_equal(b, "120/5000  12.0 MiB  4.5 MiB/s  3 failed  "
			       "50 running  ETA 8m08s");
}

static void list_still_growing(void **state)
{
	struct fm_progress p = busy;
	char b[256];

	p.list_complete = false;
	p.failed = 0;
	fm_progress_format(&p, 200, b, sizeof(b));
	/* known is a lower bound: no ETA yet, and no "0 failed" */
	assert_string_equal(b, "120/5000+  12.0 MiB  4.5 MiB/s  50 running");
}

/* Hosts paused by a Retry-After show, with the longest wait left. */
static void paused_hosts(void **state)
{
	struct fm_progress p = busy;
	char b[256];

	p.paused = 2;
	p.paused_for = 29.6;
	fm_progress_format(&p, 200, b, sizeof(b));
	assert_string_equal(b, "120/5000  12.0 MiB  4.5 MiB/s  3 failed  "
			       "50 running  2 hosts paused 30s  ETA 8m08s");
	p.paused = 1;
	p.paused_for = 2;
	p.list_complete = false;
	fm_progress_format(&p, 200, b, sizeof(b));
	assert_string_equal(b, "120/5000+  12.0 MiB  4.5 MiB/s  3 failed  "
			       "50 running  1 host paused 2s");
}

static void narrow_terminals(void **state)
{
	char b[256];

	for (unsigned w = 1; w <= 80; w++) {
		fm_progress_format(&busy, w, b, sizeof(b));
		assert_true(strlen(b) <= w);
	}
	fm_progress_format(&busy, 20, b, sizeof(b));
	assert_string_equal(b, "120/5000  12.0 MiB");
}

static void durations(void **state)
{
	char b[32];

	assert_string_equal(fm_duration(0, b, sizeof(b)), "0s");
	assert_string_equal(fm_duration(59.4, b, sizeof(b)), "59s");
	assert_string_equal(fm_duration(725, b, sizeof(b)), "12m05s");
	assert_string_equal(fm_duration(3 * 3600 + 125, b, sizeof(b)),
			    "3h02m");
	assert_string_equal(fm_duration(-5, b, sizeof(b)), "0s");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(full_line),
		cmocka_unit_test(list_still_growing),
		cmocka_unit_test(narrow_terminals),
		cmocka_unit_test(paused_hosts),
		cmocka_unit_test(durations),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
