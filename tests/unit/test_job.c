/* test_job.c: the moves a job may make between its states (fm_job.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fm_job.h"

#define N FM_JOB_NEW
#define Q FM_JOB_QUEUED
#define R FM_JOB_RUNNING
#define W FM_JOB_WAITING
#define D FM_JOB_DONE

/* Every pair of states, written out: 1 where the scheduler moves a job. */
static void moves_table(void **state)
{
	static const bool want[FM_JOB_STATES][FM_JOB_STATES] = {
		/*           N  Q  R  W  D */
		[N] = { 0, 1, 0, 0, 1 }, /* queued; planned or invalid */
		[Q] = { 0, 0, 1, 0, 1 }, /* to a slot; drained */
		[R] = { 0, 1, 0, 1, 1 }, /* no fd; retry; result */
		[W] = { 0, 1, 0, 0, 1 }, /* due; stopped */
		[D] = { 0, 0, 0, 0, 0 }, /* freed */
	};
	int bad = 0;

	(void)state;
	for (int f = 0; f < FM_JOB_STATES; f++)
		for (int t = 0; t < FM_JOB_STATES; t++)
			if (fm_job_moves(f, t) != want[f][t]) {
				printf("# %d -> %d: %d, want %d\n", f, t,
				       fm_job_moves(f, t), want[f][t]);
				bad++;
			}
	assert_int_equal(bad, 0);
}

/* The journeys run.c makes a job take are moves, one by one. */
static void journeys_are_moves(void **state)
{
	static const struct {
		size_t n;
		enum fm_job_state s[8];
	} paths[] = {
		{ 2, { N, D } },                      /* --dry-run */
		{ 3, { N, Q, D } },                   /* stopped while queued */
		{ 4, { N, Q, R, D } },                /* one attempt */
		{ 8, { N, Q, R, W, Q, R, W, D } },    /* retried, then stopped */
		{ 8, { N, Q, R, Q, R, W, Q, R } },    /* no fd, retry, running */
		{ 6, { N, Q, R, Q, R, D } },          /* a mirror at once */
	};

	(void)state;
	for (size_t p = 0; p < sizeof(paths) / sizeof(paths[0]); p++)
		for (size_t i = 1; i < paths[p].n; i++)
			assert_true(fm_job_moves(paths[p].s[i - 1],
						 paths[p].s[i]));
}

/* admit.c makes jobs with calloc(): a zeroed job is new. */
static void zeroed_job_is_new(void **state)
{
	struct fm_job job = {0};

	(void)state;
	assert_int_equal(job.state, FM_JOB_NEW);
}

/* A job's URLs: the entry's own, then its mirrors; the next attempt
 * goes to the first. */
static void urls_of_a_job(void **state)
{
	struct fm_job *job = calloc(1, sizeof(*job));

	(void)state;
	assert_non_null(job);
	job->entry.url = strdup("http://a/x");
	job->entry.mirrors = calloc(2, sizeof(char *));
	assert_non_null(job->entry.mirrors);
	job->entry.mirrors[0] = strdup("http://b/x");
	job->entry.mirrors[1] = strdup("http://c/x");
	job->entry.nmirrors = 2;
	assert_int_equal(fm_job_urls_init(job), 0);
	assert_int_equal(fm_job_urls(job), 3);
	assert_string_equal(fm_job_url(job, 0), "http://a/x");
	assert_string_equal(fm_job_url(job, 1), "http://b/x");
	assert_string_equal(fm_job_url(job, 2), "http://c/x");
	assert_ptr_equal(job->url, job->entry.url);
	assert_int_equal(job->url_at, 0);
	/* room to note each URL's fate */
	assert_non_null(job->dropped);
	assert_non_null(job->url_why);
	for (unsigned i = 0; i < 3; i++) {
		assert_false(job->dropped[i]);
		assert_null(job->url_why[i]);
	}
	job->url_why[1] = strdup("HTTP 404"); /* freed with the job */
	fm_job_free(job);
}

/* Without mirrors a job needs no room for them. */
static void urls_without_mirrors(void **state)
{
	struct fm_job *job = calloc(1, sizeof(*job));

	(void)state;
	assert_non_null(job);
	job->entry.url = strdup("http://a/x");
	assert_int_equal(fm_job_urls_init(job), 0);
	assert_int_equal(fm_job_urls(job), 1);
	assert_ptr_equal(job->url, job->entry.url);
	assert_null(job->dropped);
	assert_null(job->url_why);
	fm_job_free(job);
}

static void out_of_range_never_moves(void **state)
{
	(void)state;
	assert_false(fm_job_moves(FM_JOB_STATES, Q));
	assert_false(fm_job_moves(N, FM_JOB_STATES));
	assert_false(fm_job_moves((enum fm_job_state)-1, Q));
	assert_false(fm_job_moves(N, (enum fm_job_state)40));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(moves_table),
		cmocka_unit_test(journeys_are_moves),
		cmocka_unit_test(zeroed_job_is_new),
		cmocka_unit_test(out_of_range_never_moves),
		cmocka_unit_test(urls_of_a_job),
		cmocka_unit_test(urls_without_mirrors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
