/* test_sched.c: the per-host queue and the --limit-rate bucket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fm_queue.h"
#include "fm_job.h"
#include "fm_rate.h"

static struct fm_job jobs[64];

static void fifo_without_limit(void **state)
{
	struct fm_queue h;
	struct fm_host *one, *got;

	assert_int_equal(fm_queue_init(&h, 0), 0);
	for (int i = 0; i < 10; i++) {
		one = fm_queue_get(&h, "");
		assert_non_null(one);
		jobs[i].host = one;
		fm_queue_push(&h, one, &jobs[i], false);
	}
	assert_int_equal(h.queued, 10);
	assert_int_equal(h.count, 1);
	for (int i = 0; i < 10; i++)
		assert_ptr_equal(fm_queue_next(&h, &got), &jobs[i]);
	assert_null(fm_queue_next(&h, &got));
	assert_int_equal(got->running, 10);
	for (int i = 0; i < 10; i++) {
		fm_queue_done(&h, got);
		fm_queue_put(&h, got);
	}
	assert_int_equal(h.count, 0); /* forgotten once nothing points to it */
	fm_queue_free(&h);
}

static void busy_host_does_not_block_others(void **state)
{
	struct fm_queue h;
	struct fm_host *a, *b, *got;
	struct fm_job *j;

	assert_int_equal(fm_queue_init(&h, 2), 0);
	/* five for host a, then two for host b */
	for (int i = 0; i < 5; i++) {
		a = fm_queue_get(&h, "a.example");
		fm_queue_push(&h, a, &jobs[i], false);
	}
	for (int i = 5; i < 7; i++) {
		b = fm_queue_get(&h, "b.example");
		fm_queue_push(&h, b, &jobs[i], false);
	}
	/* a may run 2, then b gets its turn although a has 3 waiting */
	assert_ptr_equal(fm_queue_next(&h, &got), &jobs[0]);
	assert_ptr_equal(fm_queue_next(&h, &got), &jobs[5]);
	assert_ptr_equal(fm_queue_next(&h, &got), &jobs[1]);
	assert_ptr_equal(fm_queue_next(&h, &got), &jobs[6]);
	assert_int_equal(a->running, 2);
	assert_null(fm_queue_next(&h, &got)); /* a is full, b is empty */
	fm_queue_done(&h, a);
	j = fm_queue_next(&h, &got);
	assert_ptr_equal(j, &jobs[2]);
	assert_ptr_equal(got, a);
	assert_null(fm_queue_next(&h, &got));
	fm_queue_free(&h);
}

static void retry_goes_first(void **state)
{
	struct fm_queue h;
	struct fm_host *a, *got;

	assert_int_equal(fm_queue_init(&h, 0), 0);
	a = fm_queue_get(&h, "a");
	fm_queue_push(&h, a, &jobs[0], false);
	a = fm_queue_get(&h, "a");
	fm_queue_push(&h, a, &jobs[1], false);
	a = fm_queue_get(&h, "a");
	fm_queue_push(&h, a, &jobs[2], true);
	assert_ptr_equal(fm_queue_next(&h, &got), &jobs[2]);
	assert_ptr_equal(fm_queue_next(&h, &got), &jobs[0]);
	fm_queue_free(&h);
}

/* Retries queued one after another start in that order, before the
 * entries not yet tried, and a later retry joins them at the back. */
static void retries_keep_their_order(void **state)
{
	struct fm_queue h;
	struct fm_host *a, *got;

	(void)state;
	assert_int_equal(fm_queue_init(&h, 0), 0);
	for (int i = 0; i < 2; i++) {
		a = fm_queue_get(&h, "a");
		fm_queue_push(&h, a, &jobs[i], false);
	}
	for (int i = 2; i < 5; i++) {
		a = fm_queue_get(&h, "a");
		fm_queue_push(&h, a, &jobs[i], true);
	}
	assert_ptr_equal(fm_queue_next(&h, &got), &jobs[2]);
	assert_ptr_equal(fm_queue_next(&h, &got), &jobs[3]);
	a = fm_queue_get(&h, "a");
	fm_queue_push(&h, a, &jobs[5], true);
	assert_ptr_equal(fm_queue_next(&h, &got), &jobs[4]);
	assert_ptr_equal(fm_queue_next(&h, &got), &jobs[5]);
	/* The retries are all gone: a new one is first again. */
	a = fm_queue_get(&h, "a");
	fm_queue_push(&h, a, &jobs[6], true);
	assert_ptr_equal(fm_queue_next(&h, &got), &jobs[6]);
	assert_ptr_equal(fm_queue_next(&h, &got), &jobs[0]);
	a = fm_queue_get(&h, "a");
	fm_queue_push(&h, a, &jobs[7], true);
	assert_ptr_equal(fm_queue_next(&h, &got), &jobs[7]);
	assert_ptr_equal(fm_queue_next(&h, &got), &jobs[1]);
	assert_null(fm_queue_next(&h, &got));
	/* Into an empty queue, then a fresh entry behind it. */
	a = fm_queue_get(&h, "a");
	fm_queue_push(&h, a, &jobs[8], true);
	a = fm_queue_get(&h, "a");
	fm_queue_push(&h, a, &jobs[9], false);
	assert_ptr_equal(fm_queue_next(&h, &got), &jobs[8]);
	assert_ptr_equal(fm_queue_next(&h, &got), &jobs[9]);
	assert_null(fm_queue_next(&h, &got));
	fm_queue_free(&h);
}

static unsigned drained;

static void count_job(void *arg, struct fm_job *job)
{
	drained++;
	fm_queue_put(arg, job->host);
}

static void many_hosts_and_drain(void **state)
{
	struct fm_queue h;
	char name[32];

	assert_int_equal(fm_queue_init(&h, 1), 0);
	for (int i = 0; i < 64; i++) {
		snprintf(name, sizeof(name), "h%d", i % 40);
		jobs[i].host = fm_queue_get(&h, name);
		fm_queue_push(&h, jobs[i].host, &jobs[i], false);
	}
	assert_int_equal(h.count, 40);
	assert_int_equal(h.queued, 64);
	drained = 0;
	fm_queue_drain(&h, count_job, &h);
	assert_int_equal(drained, 64);
	assert_int_equal(h.queued, 0);
	assert_int_equal(h.count, 0);
	fm_queue_free(&h);
}

static void bucket_meters_the_rate(void **state)
{
	struct fm_bucket b;
	uint64_t t = 1000000000ULL, taken = 0;

	fm_bucket_init(&b, 100000.0, t); /* 100 kB/s */
	assert_false(fm_bucket_take(&b, 1)); /* starts empty */
	/* simulate 10 s of a 10 ms tick with greedy 4 KiB takers */
	for (int tick = 0; tick < 1000; tick++) {
		t += 10000000ULL;
		fm_bucket_refill(&b, t);
		while (fm_bucket_take(&b, 4096))
			taken += 4096;
	}
	/* within one chunk per tick of the ideal 1,000,000 bytes */
	assert_true(taken >= 1000000 - 4096);
	assert_true(taken <= 1000000 + 2 * 4096);
}

static void bucket_burst_is_capped(void **state)
{
	struct fm_bucket b;

	fm_bucket_init(&b, 1000.0, 0);
	fm_bucket_refill(&b, 3600ULL * 1000000000ULL); /* an hour idle */
	assert_true(b.tokens <= 16384.0);
	fm_bucket_refill(&b, 1); /* a clock going back changes nothing */
	assert_true(b.tokens <= 16384.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(fifo_without_limit),
		cmocka_unit_test(busy_host_does_not_block_others),
		cmocka_unit_test(retry_goes_first),
		cmocka_unit_test(retries_keep_their_order),
		cmocka_unit_test(many_hosts_and_drain),
		cmocka_unit_test(bucket_meters_the_rate),
		cmocka_unit_test(bucket_burst_is_capped),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
