/* test_fdlimit.c: the descriptor-limit decisions of policy.c: how many
 * jobs a limit holds, what counts as a shortage, how long it delays an
 * entry and when it gives up. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "fm_policy.h"

static void jobs_fit_a_roomy_limit(void **state)
{
	(void)state;
	assert_int_equal(fm_fd_jobs(16, 1024, 3, 2, 1), 16);
	assert_int_equal(fm_fd_jobs(10000, 1048576, 3, 8, 1), 10000);
	/* Exactly enough: 3 held + 8 main + 16 margin + 1 list + 12 for
	 * two workers = 40, and 3 a job. */
	assert_int_equal(fm_fd_jobs(200, 40 + 3 * 200, 3, 2, 1), 200);
	assert_int_equal(fm_fd_jobs(200, 40 + 3 * 200 - 1, 3, 2, 1), 199);
}

static void jobs_lowered_to_what_fits(void **state)
{
	(void)state;
	/* (64 - 40) / 3 = 8 */
	assert_int_equal(fm_fd_jobs(200, 64, 3, 2, 1), 8);
	/* (256 - 40) / 3 = 72 */
	assert_int_equal(fm_fd_jobs(200, 256, 3, 2, 1), 72);
	/* Descriptors inherited at start count. */
	assert_int_equal(fm_fd_jobs(200, 256, 33, 2, 1), 62);
	/* More workers, more lists: fewer jobs. */
	assert_int_equal(fm_fd_jobs(200, 256, 3, 8, 4), 59);
}

static void jobs_never_below_one(void **state)
{
	(void)state;
	assert_int_equal(fm_fd_jobs(200, 40, 3, 2, 1), 1);
	assert_int_equal(fm_fd_jobs(200, 5, 3, 2, 1), 1);
	assert_int_equal(fm_fd_jobs(200, 0, 3, 2, 1), 1);
	assert_int_equal(fm_fd_jobs(1, 0, 3, 2, 1), 1);
}

/* The floor under which the run is refused: 3 held + 8 main + 1 list +
 * 6 for one worker + 3 for one job + 4 for its resolver = 25; held
 * descriptors and lists raise it. -j 1 is what fm_fd_jobs() gives from
 * the floor up. */
static void fewest_descriptors(void **state)
{
	(void)state;
	assert_int_equal(fm_fd_min(3, 1), 25);
	assert_int_equal(fm_fd_min(33, 1), 55);
	assert_int_equal(fm_fd_min(3, 4), 28);
	assert_int_equal(fm_fd_jobs(200, fm_fd_min(3, 1), 3, 1, 1), 1);
}

struct shortage_case {
	CURLcode rc;
	int sock_err, local_err;
	const char *msg;
	bool want;
	const char *what;
};

static const struct shortage_case shortage_cases[] = {
	{CURLE_COULDNT_CONNECT, -EMFILE, 0, NULL, true, "socket: EMFILE"},
	{CURLE_COULDNT_CONNECT, -ENFILE, 0, NULL, true, "socket: ENFILE"},
	{CURLE_COULDNT_CONNECT, 0, 0, NULL, false, "refused"},
	{CURLE_COULDNT_CONNECT, -EAFNOSUPPORT, 0, NULL, false,
	 "no IPv6 socket"},
	{CURLE_COULDNT_RESOLVE_HOST, 0, 0,
	 "getaddrinfo() thread failed to start", true, "resolver pair"},
	{CURLE_COULDNT_RESOLVE_HOST, 0, 0, "Could not resolve host: x",
	 false, "no such host"},
	{CURLE_COULDNT_RESOLVE_HOST, 0, 0, NULL, false, "no message"},
	{CURLE_WRITE_ERROR, 0, -EMFILE, NULL, true, "body file: EMFILE"},
	{CURLE_OK, 0, -ENFILE, NULL, true, "directory: ENFILE"},
	{CURLE_WRITE_ERROR, 0, -ENOSPC, NULL, false, "disk full"},
	/* A local error is what the attempt came to, whatever else. */
	{CURLE_COULDNT_CONNECT, -EMFILE, -EACCES, NULL, false,
	 "local error wins"},
	{CURLE_OK, 0, 0, NULL, false, "success"},
	{CURLE_OPERATION_TIMEDOUT, -EMFILE, 0, NULL, false,
	 "timeout after a failed second socket"},
	{CURLE_PEER_FAILED_VERIFICATION, 0, 0, NULL, false, "TLS"},
};

static void shortage_table(void **state)
{
	(void)state;
	for (size_t i = 0;
	     i < sizeof(shortage_cases) / sizeof(shortage_cases[0]); i++) {
		const struct shortage_case *c = &shortage_cases[i];

		if (fm_fd_shortage(c->rc, c->sock_err, c->local_err, c->msg) !=
		    c->want)
			fail_msg("%s: want %s", c->what,
				 c->want ? "a shortage" : "no shortage");
	}
}

static void wait_grows_then_caps(void **state)
{
	(void)state;
	assert_float_equal(fm_fd_wait(0), 0.05, 1e-9);
	assert_float_equal(fm_fd_wait(1), 0.1, 1e-9);
	assert_float_equal(fm_fd_wait(4), 0.8, 1e-9);
	assert_float_equal(fm_fd_wait(5), 1.0, 1e-9);
	assert_float_equal(fm_fd_wait(1000), 1.0, 1e-9);
	assert_float_equal(fm_fd_wait(UINT32_MAX), 1.0, 1e-9);
}

/* FM_FD_ROUNDS waits add up to a few seconds: a run whose descriptors
 * never come back ends soon, one where they do was given time. */
static void give_up_bounded(void **state)
{
	double total = 0;

	(void)state;
	for (unsigned k = 0; k < FM_FD_ROUNDS; k++) {
		assert_false(fm_fd_give_up(k, 0));
		total += fm_fd_wait(k);
	}
	assert_true(fm_fd_give_up(FM_FD_ROUNDS, 0));
	assert_true(fm_fd_give_up(FM_FD_ROUNDS + 100, 0));
	assert_true(total >= 3.0 && total <= 10.0);
	/* While transfers run, one will end and give descriptors back. */
	assert_false(fm_fd_give_up(FM_FD_ROUNDS, 1));
	assert_false(fm_fd_give_up(UINT32_MAX, 200));
}

static void cap_grows_from_zero(void **state)
{
	unsigned cap = 0, steps = 0;

	(void)state;
	assert_int_equal(fm_fd_cap_raise(0), 1);
	assert_int_equal(fm_fd_cap_raise(1), 2);
	assert_int_equal(fm_fd_cap_raise(10), 16);
	assert_int_equal(fm_fd_cap_raise(UINT32_MAX), UINT32_MAX);
	assert_int_equal(fm_fd_cap_raise(UINT32_MAX - 3), UINT32_MAX);
	/* From nothing to -j 10000 in a couple of dozen rounds. */
	while (cap < 10000) {
		cap = fm_fd_cap_raise(cap);
		steps++;
	}
	assert_true(steps <= 24);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jobs_fit_a_roomy_limit),
		cmocka_unit_test(jobs_lowered_to_what_fits),
		cmocka_unit_test(jobs_never_below_one),
		cmocka_unit_test(fewest_descriptors),
		cmocka_unit_test(shortage_table),
		cmocka_unit_test(wait_grows_then_caps),
		cmocka_unit_test(give_up_bounded),
		cmocka_unit_test(cap_grows_from_zero),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
