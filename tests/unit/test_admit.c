/* test_admit.c: admission driven by a fake scheduler (its ops table),
 * over real list files and pipes, on a real libuv loop. Linked without
 * the scheduler (run.c) or the workers: admission needs neither. */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "admit.h"
#include "fm_job.h"
#include "fm_policy.h"
#include "fm_result.h"
#include "ut.h"

#define MAX_RECS 1024

/* What the fake saw, in order: a job (status FM_STATUS_COUNT) or a
 * result. */
struct rec {
	enum fm_status status;
	char *url;
	char *path;      /* the job's or the result's */
	char *relpath;   /* jobs only */
	char *why;       /* results only */
	unsigned long line;
	char *source;
	uint32_t source_index;
	bool parsed;     /* a job came with its URL still parsed */
};

struct fake {
	uv_loop_t loop;
	struct fm_admit a;
	struct rec rec[MAX_RECS];
	int nrec;
	struct fm_job *held[MAX_RECS]; /* jobs not yet let go */
	int nheld;
	int room;        /* jobs it may hold at once */
	int wakes;
	bool read_on_wake; /* a wake reads, as the scheduler's pump does */
};

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

static struct rec *add_rec(struct fake *f)
{
	assert_true(f->nrec < MAX_RECS);
	return &f->rec[f->nrec++];
}

static void fake_job(void *ctx, struct fm_job *job)
{
	struct fake *f = ctx;
	struct rec *r = add_rec(f);

	*r = (struct rec){
		.status = FM_STATUS_COUNT,
		.url = dup_or_null(job->entry.url),
		.path = dup_or_null(job->path),
		.relpath = dup_or_null(job->relpath),
		.line = job->line,
		.source = dup_or_null(job->source),
		.source_index = job->source_index,
		.parsed = job->entry.uh != NULL,
	};
	assert_true(f->nheld < MAX_RECS);
	f->held[f->nheld++] = job;
}

static void fake_result(void *ctx, const struct fm_result *res)
{
	struct fake *f = ctx;
	struct rec *r = add_rec(f);

	*r = (struct rec){
		.status = res->status,
		.url = dup_or_null(res->url),
		.path = dup_or_null(res->path),
		.why = dup_or_null(res->error),
		.line = res->line,
		.source = dup_or_null(res->source),
	};
}

static bool fake_has_room(void *ctx)
{
	struct fake *f = ctx;

	return f->nheld < f->room;
}

static void fake_wake(void *ctx)
{
	struct fake *f = ctx;

	f->wakes++;
	if (f->read_on_wake)
		fm_admit_read(&f->a);
}

static const struct fm_admit_ops fake_ops = {
	.job = fake_job,
	.result = fake_result,
	.has_room = fake_has_room,
	.wake = fake_wake,
};

/* Lets go of every job held: the window empties. */
static void release_jobs(struct fake *f)
{
	for (int i = 0; i < f->nheld; i++)
		fm_job_free(f->held[i]);
	f->nheld = 0;
}

static void start(struct fake *f, char **args, int nargs,
		  const struct fm_admit_conf *conf)
{
	memset(f, 0, sizeof(*f));
	f->room = MAX_RECS;
	assert_int_equal(uv_loop_init(&f->loop), 0);
	assert_int_equal(fm_admit_open(&f->a, args, nargs), 0);
	fm_admit_init(&f->a, &f->loop, conf, &fake_ops, f);
}

/* Every handle closed, the loop closes, nothing leaks. */
static void finish(struct fake *f)
{
	fm_admit_close(&f->a);
	assert_int_equal(uv_run(&f->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&f->loop), 0);
	fm_admit_free(&f->a);
	release_jobs(f);
	for (int i = 0; i < f->nrec; i++) {
		free(f->rec[i].url);
		free(f->rec[i].path);
		free(f->rec[i].relpath);
		free(f->rec[i].why);
		free(f->rec[i].source);
	}
}

static char *write_list(const char *text)
{
	return ut_write_temp(text, strlen(text));
}

static void drop_list(char *path)
{
	unlink(path);
	free(path);
}

static void expect_job(const struct rec *r, const char *url,
		       const char *path, unsigned long line)
{
	assert_int_equal(r->status, FM_STATUS_COUNT);
	assert_string_equal(r->url, url);
	assert_string_equal(r->path, path);
	assert_int_equal(r->line, line);
	assert_true(r->parsed);
}

static void expect_result(const struct rec *r, enum fm_status status,
			  const char *why, unsigned long line)
{
	assert_int_equal(r->status, status);
	if (why)
		assert_string_equal(r->why, why);
	else
		assert_null(r->why);
	assert_int_equal(r->line, line);
}

static void jobs_come_in_order_with_their_paths(void **state)
{
	char *list = write_list("http://h/a\n"
				"# a comment\n"
				"http://h/b out=x/y\n"
				"http://h/dir/c\n");
	char *args[] = {list};
	struct fm_admit_conf conf = {.output_dir = "d"};
	struct fake f;

	start(&f, args, 1, &conf);
	fm_admit_read(&f.a);
	assert_int_equal(f.nrec, 3);
	expect_job(&f.rec[0], "http://h/a", "d/a", 1);
	expect_job(&f.rec[1], "http://h/b", "d/x/y", 3);
	expect_job(&f.rec[2], "http://h/dir/c", "d/c", 4);
	assert_string_equal(f.rec[1].relpath, "x/y");
	assert_string_equal(f.rec[2].source, list);
	assert_int_equal(f.rec[2].source_index, 0);
	assert_int_equal(fm_admit_known(&f.a), 3);
	assert_true(fm_admit_ended(&f.a));
	assert_int_equal(fm_admit_bad(&f.a), 0);
	finish(&f);
	drop_list(list);
}

static void invalid_line_is_reported_and_the_rest_go_on(void **state)
{
	char *list = write_list("http://h/a\n"
				"ftp://h/b\n"
				"http://h/c bogus\n"
				"http://h/d\n");
	char *args[] = {list};
	struct fm_admit_conf conf = {0};
	struct fake f;

	start(&f, args, 1, &conf);
	fm_admit_read(&f.a);
	assert_int_equal(f.nrec, 4);
	expect_job(&f.rec[0], "http://h/a", "a", 1);
	expect_result(&f.rec[1], FM_STATUS_INVALID,
		      "unsupported scheme 'ftp'", 2);
	assert_string_equal(f.rec[1].source, list);
	expect_result(&f.rec[2], FM_STATUS_INVALID,
		      "field 'bogus' is not key=value", 3);
	expect_job(&f.rec[3], "http://h/d", "d", 4);
	assert_int_equal(fm_admit_known(&f.a), 4);
	assert_int_equal(f.nheld, 2);
	finish(&f);
	drop_list(list);
}

static void duplicate_path_names_the_earlier_entry(void **state)
{
	char *one = write_list("http://h/a\n"
			       "http://h/b\n"
			       "http://other/a\n");
	char *two = write_list("http://h/b\n"
			       "http://h/u\n");
	char *args[] = {"http://h/u", one, two};
	struct fm_admit_conf conf = {0};
	char why[512];
	struct fake f;

	start(&f, args, 3, &conf);
	fm_admit_read(&f.a);
	assert_int_equal(f.nrec, 6);
	expect_job(&f.rec[0], "http://h/u", "u", 0);
	expect_job(&f.rec[1], "http://h/a", "a", 1);
	expect_job(&f.rec[2], "http://h/b", "b", 2);
	expect_result(&f.rec[3], FM_STATUS_INVALID,
		      "output path already used by line 1", 3);
	assert_string_equal(f.rec[3].url, "http://other/a");
	snprintf(why, sizeof(why), "output path already used by line 2 of %s",
		 one);
	expect_result(&f.rec[4], FM_STATUS_INVALID, why, 1);
	expect_result(&f.rec[5], FM_STATUS_INVALID,
		      "output path already used by argument 'http://h/u'", 2);
	assert_int_equal(f.nheld, 3);
	finish(&f);
	drop_list(one);
	drop_list(two);
}

static void parts_conflict_under_c(void **state)
{
	static const char text[] = "http://h/a\n"
				   "http://h/a.part\n"
				   "http://h/b.part\n"
				   "http://h/b\n";
	char *list = write_list(text);
	char *args[] = {list};
	struct fm_admit_conf conf = {.parts = true};
	struct fake f;

	start(&f, args, 1, &conf);
	fm_admit_read(&f.a);
	assert_int_equal(f.nrec, 4);
	expect_job(&f.rec[0], "http://h/a", "a", 1);
	expect_result(&f.rec[1], FM_STATUS_INVALID,
		      "output path is the .part file of line 1", 2);
	expect_job(&f.rec[2], "http://h/b.part", "b.part", 3);
	expect_result(&f.rec[3], FM_STATUS_INVALID,
		      "output path's .part file already used by line 3", 4);
	finish(&f);

	/* Without NAME.part files, the same names do not collide. */
	conf.parts = false;
	start(&f, args, 1, &conf);
	fm_admit_read(&f.a);
	assert_int_equal(f.nrec, 4);
	assert_int_equal(f.nheld, 4);
	finish(&f);
	drop_list(list);
}

static void dry_run_plans_and_makes_no_job(void **state)
{
	char *list = write_list("http://h/a out=x\n"
				"http://h/a\n"
				"http://h/a\n"
				"nope\n");
	char *args[] = {list};
	struct fm_admit_conf conf = {.output_dir = "o", .dry_run = true};
	struct fake f;

	start(&f, args, 1, &conf);
	fm_admit_read(&f.a);
	assert_int_equal(f.nrec, 4);
	expect_result(&f.rec[0], FM_STATUS_PLANNED, NULL, 1);
	assert_string_equal(f.rec[0].path, "o/x");
	assert_string_equal(f.rec[0].url, "http://h/a");
	expect_result(&f.rec[1], FM_STATUS_PLANNED, NULL, 2);
	assert_string_equal(f.rec[1].path, "o/a");
	/* Planned entries still claim their paths. */
	expect_result(&f.rec[2], FM_STATUS_INVALID,
		      "output path already used by line 2", 3);
	assert_int_equal(f.rec[3].status, FM_STATUS_INVALID);
	assert_int_equal(f.nheld, 0);
	assert_int_equal(fm_admit_known(&f.a), 4);
	finish(&f);
	drop_list(list);
}

static void no_room_stops_reading_and_a_later_read_goes_on(void **state)
{
	char *list = write_list("http://h/1\nhttp://h/2\nhttp://h/3\n"
				"http://h/4\nhttp://h/5\n");
	char *args[] = {list};
	struct fm_admit_conf conf = {0};
	struct fake f;

	start(&f, args, 1, &conf);
	f.room = 2;
	fm_admit_read(&f.a);
	assert_int_equal(f.nrec, 2);
	assert_int_equal(fm_admit_known(&f.a), 2);
	assert_false(fm_admit_ended(&f.a));
	/* Nothing brings the loop back while the window is full. */
	assert_int_equal(uv_run(&f.loop, UV_RUN_NOWAIT), 0);
	assert_int_equal(f.wakes, 0);
	fm_admit_read(&f.a);
	assert_int_equal(f.nrec, 2);

	release_jobs(&f);
	fm_admit_read(&f.a);
	assert_int_equal(f.nrec, 4);
	expect_job(&f.rec[2], "http://h/3", "3", 3);
	expect_job(&f.rec[3], "http://h/4", "4", 4);
	release_jobs(&f);
	fm_admit_read(&f.a);
	assert_int_equal(f.nrec, 5);
	expect_job(&f.rec[4], "http://h/5", "5", 5);
	assert_true(fm_admit_ended(&f.a));
	finish(&f);
	drop_list(list);
}

/* A batch is bounded: the rest comes on the loop's next pass (wake). */
static void long_list_reads_on_in_batches(void **state)
{
	enum { N = 1000 };
	size_t cap = N * 32;
	char *text = malloc(cap), *list;
	size_t len = 0;
	struct fm_admit_conf conf = {0};
	struct fake f;
	int passes = 0;

	assert_non_null(text);
	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, cap - len,
					"http://h/%d\n", i);
	list = write_list(text);
	free(text);

	char *args[] = {list};

	start(&f, args, 1, &conf);
	f.read_on_wake = true;
	fm_admit_read(&f.a);
	assert_true(f.nrec > 0 && f.nrec < N);
	assert_false(fm_admit_ended(&f.a));
	while (!fm_admit_ended(&f.a) && passes++ < 100)
		uv_run(&f.loop, UV_RUN_NOWAIT);
	assert_true(fm_admit_ended(&f.a));
	assert_true(f.wakes > 0);
	assert_int_equal(f.nrec, N);
	for (int i = 0; i < N; i++)
		assert_int_equal(f.rec[i].line, (unsigned long)i + 1);
	finish(&f);
	drop_list(list);
}

static void on_guard(uv_timer_t *t)
{
	*(bool *)t->data = true;
}

/* Runs the loop until f has been woken more than `wakes` times, or 5 s
 * have passed; returns whether it was woken. */
static bool wait_for_wake(struct fake *f, int wakes)
{
	uv_timer_t guard;
	bool expired = false;

	uv_timer_init(&f->loop, &guard);
	guard.data = &expired;
	uv_timer_start(&guard, on_guard, 5000, 0);
	while (f->wakes <= wakes && !expired)
		uv_run(&f->loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&guard, NULL);
	uv_run(&f->loop, UV_RUN_NOWAIT);
	return f->wakes > wakes;
}

/* Starts admission of f on a new pipe (as a list named by its
 * /proc/self/fd path); returns the pipe's write end. */
static int start_on_pipe(struct fake *f, const struct fm_admit_conf *conf)
{
	char name[64];
	int p[2];

	assert_int_equal(pipe(p), 0);
	snprintf(name, sizeof(name), "/proc/self/fd/%d", p[0]);

	char *args[] = {name};

	start(f, args, 1, conf);
	close(p[0]); /* admission opened its own */
	return p[1];
}

static void silent_pipe_waits_until_it_speaks(void **state)
{
	struct fm_admit_conf conf = {0};
	struct fake f;
	int p[2];

	p[1] = start_on_pipe(&f, &conf);
	f.read_on_wake = true;
	fm_admit_read(&f.a);
	assert_int_equal(f.nrec, 0);
	assert_false(fm_admit_ended(&f.a));
	/* Half a line is not a line. */
	assert_int_equal(write(p[1], "http://h/", 9), 9);
	assert_true(wait_for_wake(&f, 0));
	assert_int_equal(f.nrec, 0);
	assert_false(fm_admit_ended(&f.a));

	int wakes = f.wakes;

	assert_int_equal(write(p[1], "a\nhttp://h/b\n", 13), 13);
	assert_true(wait_for_wake(&f, wakes));
	assert_int_equal(f.nrec, 2);
	expect_job(&f.rec[0], "http://h/a", "a", 1);
	expect_job(&f.rec[1], "http://h/b", "b", 2);
	assert_false(fm_admit_ended(&f.a));

	wakes = f.wakes;
	close(p[1]);
	assert_true(wait_for_wake(&f, wakes));
	assert_true(fm_admit_ended(&f.a));
	assert_int_equal(f.nrec, 2);
	assert_int_equal(fm_admit_bad(&f.a), 0);
	finish(&f);
}

/* Stopping while a pipe is silent: reading ends, the watcher closes. */
static void stop_closes_the_pipe_watcher(void **state)
{
	struct fm_admit_conf conf = {0};
	struct fake f;
	int p[2];

	p[1] = start_on_pipe(&f, &conf);
	fm_admit_read(&f.a);
	assert_false(fm_admit_ended(&f.a));
	fm_admit_stop(&f.a);
	assert_true(fm_admit_ended(&f.a));
	assert_int_equal(write(p[1], "http://h/a\n", 11), 11);
	assert_int_equal(uv_run(&f.loop, UV_RUN_NOWAIT), 0);
	fm_admit_read(&f.a);
	assert_int_equal(f.wakes, 0);
	assert_int_equal(f.nrec, 0);
	close(p[1]);
	finish(&f);
}

/* Shard k of n takes exactly the lines fm_shard_owns() gives it: the
 * shards split the list between them, each line to one. */
static void shards_skip_each_others_lines(void **state)
{
	enum { N = 40, SHARDS = 3 };
	char text[N * 32], *list;
	size_t len = 0;
	int seen[N] = {0};

	for (int i = 0; i < N; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					i == 7 ? "http://h/%d bad\n"
					       : "http://h/%d\n", i);
	list = write_list(text);

	char *args[] = {list};

	for (unsigned k = 1; k <= SHARDS; k++) {
		struct fm_admit_conf conf = {.shard_k = k, .shard_n = SHARDS};
		struct fake f;

		start(&f, args, 1, &conf);
		fm_admit_read(&f.a);
		assert_true(f.nrec > 0 && f.nrec < N);
		assert_int_equal(fm_admit_known(&f.a), f.nrec);
		for (int i = 0; i < f.nrec; i++) {
			unsigned long line = f.rec[i].line;

			assert_true(line >= 1 && line <= N);
			assert_true(fm_shard_owns(f.rec[i].url, k, SHARDS));
			assert_int_equal(f.rec[i].status,
					 line == 8 ? FM_STATUS_INVALID
						   : FM_STATUS_COUNT);
			seen[line - 1]++;
		}
		finish(&f);
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(seen[i], 1);
	drop_list(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(jobs_come_in_order_with_their_paths),
		cmocka_unit_test(invalid_line_is_reported_and_the_rest_go_on),
		cmocka_unit_test(duplicate_path_names_the_earlier_entry),
		cmocka_unit_test(parts_conflict_under_c),
		cmocka_unit_test(dry_run_plans_and_makes_no_job),
		cmocka_unit_test(no_room_stops_reading_and_a_later_read_goes_on),
		cmocka_unit_test(long_list_reads_on_in_batches),
		cmocka_unit_test(silent_pipe_waits_until_it_speaks),
		cmocka_unit_test(stop_closes_the_pipe_watcher),
		cmocka_unit_test(shards_skip_each_others_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
