/* test_pool.c: connection reuse across the run (policy.c): where a
 * host's next transfer goes (fm_route(), fm_least_busy(),
 * fm_route_idle()), how far a home may run ahead
 * of the least busy worker (fm_route_slack()), how big a worker's
 * connection cache is (fm_pool_conns()), the descriptors left for idle
 * connections (fm_fd_spare()) and how many transfers one host runs at
 * once (fm_ramp_cap()). */
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


#define MS 1000000ull

/* A new host gets FM_RAMP_START (or -j when smaller), and nothing more
 * before it has held that for FM_RAMP_NS. */
static void ramp_starts_small(void **state)
{
	struct fm_ramp ramp = {0};
	struct fm_ramp small = {0};

	(void)state;
	assert_int_equal(fm_ramp_cap(&ramp, 1000, 100 * MS), FM_RAMP_START);
	assert_int_equal(fm_ramp_cap(&ramp, 1000, 104 * MS), FM_RAMP_START);
	assert_int_equal(fm_ramp_cap(&small, 8, 100 * MS), 8);
	assert_int_equal(fm_ramp_cap(&small, 8, 900 * MS), 8);
}

/* A host none of whose transfers ends (a server that thinks) doubles
 * its cap at each step, a step as long as FM_RAMP_NS for each
 * FM_RAMP_START of the cap, up to -j and not past it. */
static void ramp_doubles_while_nothing_ends(void **state)
{
	struct fm_ramp ramp = {0};
	uint64_t t = 0;

	(void)state;
	fm_ramp_cap(&ramp, 200, t);
	t += FM_RAMP_NS;
	assert_int_equal(fm_ramp_cap(&ramp, 200, t), 64);
	t += FM_RAMP_NS; /* 64 needs two steps' time */
	assert_int_equal(fm_ramp_cap(&ramp, 200, t), 64);
	t += FM_RAMP_NS;
	assert_int_equal(fm_ramp_cap(&ramp, 200, t), 128);
	t += 4 * FM_RAMP_NS;
	assert_int_equal(fm_ramp_cap(&ramp, 200, t), 200);
	t += 100 * FM_RAMP_NS;
	assert_int_equal(fm_ramp_cap(&ramp, 200, t), 200);
}

/* n attempts of d ns each, all begun at or after the cap last changed,
 * ending by t. */
static void ends(struct fm_ramp *ramp, unsigned n, uint64_t d, uint64_t t)
{
	for (unsigned i = 0; i < n; i++)
		fm_ramp_ended(ramp, d, t);
}

/* A host whose transfers end within FM_RAMP_NS keeps its cap however
 * long it is held there. */
static void ramp_holds_a_fast_host(void **state)
{
	struct fm_ramp ramp = {0};

	(void)state;
	fm_ramp_cap(&ramp, 1000, 0);
	ends(&ramp, 500, 2 * MS, 900 * MS);
	assert_int_equal(fm_ramp_cap(&ramp, 1000, 1000 * MS), FM_RAMP_START);
}

/* Slow transfers: the cap doubles while a doubling brings FM_RAMP_GAIN
 * times the files a second; the first that does not is undone, for
 * good. */
static void ramp_settles_when_doubling_brings_nothing(void **state)
{
	struct fm_ramp ramp = {0};
	uint64_t t = 0;

	(void)state;
	fm_ramp_cap(&ramp, 1000, t);
	/* 32 at once, 10 ms each: 3,200 files a second */
	t += 20 * MS;
	ends(&ramp, 64, 10 * MS, t);
	assert_int_equal(fm_ramp_cap(&ramp, 1000, t), 64);
	/* 64 at once, still 10 ms each: twice the files a second */
	t += 20 * MS;
	ends(&ramp, 128, 10 * MS, t);
	assert_int_equal(fm_ramp_cap(&ramp, 1000, t), 128);
	/* 128 at once, 14 ms each (less than FM_RAMP_SLOWER times as
	 * long), 10 % more files a second than at 64 */
	t += 20 * MS;
	ends(&ramp, 141, 14 * MS, t);
	assert_int_equal(fm_ramp_cap(&ramp, 1000, t), 64);
	t += 1000 * MS;
	assert_int_equal(fm_ramp_cap(&ramp, 1000, t), 64);
}

/* A doubling that makes each transfer FM_RAMP_SLOWER times slower or
 * more settles too, whatever the count of files a second says (it is
 * skewed while a run warms up). */
static void ramp_settles_when_doubling_only_queues(void **state)
{
	struct fm_ramp ramp = {0};
	uint64_t t = 0;

	(void)state;
	fm_ramp_cap(&ramp, 1000, t);
	t += 20 * MS;
	ends(&ramp, 20, 10 * MS, t);
	assert_int_equal(fm_ramp_cap(&ramp, 1000, t), 64);
	/* 64 at once: 3 times the files a second, each twice as long */
	t += 20 * MS;
	ends(&ramp, 60, 20 * MS, t);
	assert_int_equal(fm_ramp_cap(&ramp, 1000, t), 32);
}

/* What began before the cap last changed does not count: the first
 * transfers of a run (slow, as every connection is new) say nothing of
 * the cap after them. */
static void ramp_counts_only_the_cap_in_force(void **state)
{
	struct fm_ramp ramp = {0};
	uint64_t t = 0;

	(void)state;
	fm_ramp_cap(&ramp, 1000, t);
	t += FM_RAMP_NS; /* none ended: 64 */
	assert_int_equal(fm_ramp_cap(&ramp, 1000, t), 64);
	/* ended after the change, begun before it */
	t += 2 * FM_RAMP_NS;
	ends(&ramp, 100, 3 * FM_RAMP_NS, t);
	/* as if none ended: the cap doubles */
	assert_int_equal(fm_ramp_cap(&ramp, 1000, t), 128);
	/* begun after the change, fast: the cap holds */
	t += 4 * FM_RAMP_NS;
	ends(&ramp, 100, MS, t);
	assert_int_equal(fm_ramp_cap(&ramp, 1000, t), 128);
}

/* A server that serves a fixed number of files a second: its queue
 * deepens with every doubling, and what begins after one has not ended
 * when the step is over; only older transfers end. The step's length is
 * then a lower bound of how long one takes: twice as long after a
 * doubling, which settles the host. */
static void ramp_settles_on_a_deep_queue(void **state)
{
	struct fm_ramp ramp = {0};
	uint64_t t = 0;

	(void)state;
	fm_ramp_cap(&ramp, 1000, t);
	t += FM_RAMP_NS; /* none ended: 64 */
	assert_int_equal(fm_ramp_cap(&ramp, 1000, t), 64);
	t += 10 * MS;
	ends(&ramp, 20, 12 * MS, t);
	assert_int_equal(fm_ramp_cap(&ramp, 1000, t), 128);
	t += 20 * MS;
	ends(&ramp, 40, 25 * MS, t);
	assert_int_equal(fm_ramp_cap(&ramp, 1000, t), 64);
}

/* Too few ends to measure a rate: the cap doubles, as when none ended. */
static void ramp_few_ends_count_as_none(void **state)
{
	struct fm_ramp ramp = {0};

	(void)state;
	fm_ramp_cap(&ramp, 1000, 0);
	ends(&ramp, FM_RAMP_FEW - 1, 9 * MS, 10 * MS);
	assert_int_equal(fm_ramp_cap(&ramp, 1000, 10 * MS), 64);
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
		cmocka_unit_test(ramp_starts_small),
		cmocka_unit_test(ramp_doubles_while_nothing_ends),
		cmocka_unit_test(ramp_holds_a_fast_host),
		cmocka_unit_test(ramp_settles_when_doubling_brings_nothing),
		cmocka_unit_test(ramp_settles_when_doubling_only_queues),
		cmocka_unit_test(ramp_counts_only_the_cap_in_force),
		cmocka_unit_test(ramp_settles_on_a_deep_queue),
		cmocka_unit_test(ramp_few_ends_count_as_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
