/* test_pool.c: connection reuse across the run (policy.c): where a
 * host's next transfer goes (fm_route(), fm_least_busy(),
 * fm_route_idle()), how far a home may run ahead
 * of the least busy worker (fm_route_slack()), how big a worker's
 * connection cache is (fm_pool_conns()) and the descriptors left for idle
 * connections (fm_fd_spare()). */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "fm_policy.h"

/* A host whose connections multiplex, or that runs less than slack
 * transfers, stays home however busy home is. */
static void route_stays_home(void **state)
{
	const unsigned running[] = {90, 0, 0};

	(void)state;
	assert_int_equal(fm_route(0, running, 3, false, 90, 2), 0);
	assert_int_equal(fm_route(2, running, 3, false, 90, 2), 2);
	assert_int_equal(fm_route(0, running, 3, true, 1, 2), 0);
	assert_int_equal(fm_route(0, running, 3, true, 11, 12), 0);
}

/* A dominant single-transfer host goes to the least busy worker only
 * once home is slack ahead of it; the first least busy wins a tie. */
static void route_spreads_past_slack(void **state)
{
	const unsigned even[] = {5, 5, 5};
	const unsigned behind[] = {7, 5, 6};
	const unsigned ahead[] = {7, 4, 4};

	(void)state;
	assert_int_equal(fm_route(0, even, 3, true, 5, 2), 0);
	assert_int_equal(fm_route(1, even, 3, true, 5, 2), 1);
	/* 7 - 5 = 2: slack reached. */
	assert_int_equal(fm_route(0, behind, 3, true, 7, 2), 1);
	assert_int_equal(fm_route(0, behind, 3, true, 7, 3), 0);
	assert_int_equal(fm_route(2, behind, 3, true, 7, 2), 2);
	assert_int_equal(fm_route(0, ahead, 3, true, 3, 3), 1);
	assert_int_equal(fm_route(0, ahead, 3, true, 2, 3), 0);
	/* One worker: home. */
	assert_int_equal(fm_route(0, ahead, 1, true, 7, 1), 0);
}

static void least_busy_first_on_tie(void **state)
{
	const unsigned even[] = {5, 5, 5};
	const unsigned behind[] = {7, 5, 6, 5};

	(void)state;
	assert_int_equal(fm_least_busy(even, 3), 0);
	assert_int_equal(fm_least_busy(behind, 4), 1);
	assert_int_equal(fm_least_busy(behind, 1), 0);
}

/* Of the workers where the host has more connections than transfers, the
 * least busy; none: n. */
static void route_to_an_idle_connection(void **state)
{
	const unsigned running[] = {9, 3, 5, 1};
	const unsigned conns[] = {10, 3, 6, 1};
	const unsigned load[] = {20, 2, 10, 0};
	const unsigned busy[] = {10, 3, 6, 1};

	(void)state;
	/* 0 and 2 have one idle each; 2 is less busy. */
	assert_int_equal(fm_route_idle(running, conns, load, 4), 2);
	assert_int_equal(fm_route_idle(running, conns, load, 1), 0);
	assert_int_equal(fm_route_idle(busy, conns, load, 4), 4);
	assert_int_equal(fm_route_idle(running, running, load, 4), 4);
}

static void slack_a_quarter_share(void **state)
{
	(void)state;
	assert_int_equal(fm_route_slack(100, 2), 12);
	assert_int_equal(fm_route_slack(1000, 8), 31);
	assert_int_equal(fm_route_slack(16, 2), 2);
	assert_int_equal(fm_route_slack(1, 1), 2);
	assert_int_equal(fm_route_slack(10, 0), 2);
}

/* The running transfers, and idle: one connection for each host served
 * and 2 x -j more, within the spare descriptors' share; never 0. */
static void pool_running_plus_idle(void **state)
{
	(void)state;
	assert_int_equal(fm_pool_conns(100, 100, 0, UINT64_MAX, 2), 300);
	assert_int_equal(fm_pool_conns(7, 100, 37, UINT64_MAX, 2), 244);
	assert_int_equal(fm_pool_conns(100, 100, 1000, 600, 2), 400);
	assert_int_equal(fm_pool_conns(3, 100, 1000, 600, 8), 78);
	assert_int_equal(fm_pool_conns(100, 100, 1000, 0, 2), 100);
	assert_int_equal(fm_pool_conns(50, 50, 10, 5, 1), 55);
	assert_int_equal(fm_pool_conns(0, 50, 10, 1000, 1), 110);
	assert_int_equal(fm_pool_conns(0, 50, 10, 0, 1), 1);
	assert_int_equal(fm_pool_conns(UINT_MAX - 1, 5, 5, UINT64_MAX, 1),
			 UINT_MAX);
}

/* What fm_fd_jobs() leaves: 3 held + 8 main + 16 margin + 1 list + 12
 * for two workers = 40, and 3 a job. */
static void spare_after_the_jobs(void **state)
{
	(void)state;
	assert_int_equal(fm_fd_spare(200, 40 + 3 * 200 + 77, 3, 2, 1), 77);
	assert_int_equal(fm_fd_spare(200, 40 + 3 * 200, 3, 2, 1), 0);
	assert_int_equal(fm_fd_spare(200, 100, 3, 2, 1), 0);
	assert_int_equal(fm_fd_spare(fm_fd_jobs(200, 256, 3, 2, 1), 256, 3,
				     2, 1),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(route_stays_home),
		cmocka_unit_test(route_spreads_past_slack),
		cmocka_unit_test(least_busy_first_on_tie),
		cmocka_unit_test(route_to_an_idle_connection),
		cmocka_unit_test(slack_a_quarter_share),
		cmocka_unit_test(pool_running_plus_idle),
		cmocka_unit_test(spare_after_the_jobs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
