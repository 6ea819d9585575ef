/* Integration: interruption (spec 7). SIGINT / SIGTERM abort running
 * transfers (one "interrupted" line each, .part removed), report entries
 * waiting for a retry once, give queued entries no line, exit 130 / 143;
 * a second signal exits at once; no entry is ever reported twice. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "harness.h"

#define NURL 6

struct sig_run {
	char *url[NURL];
	char *pq[NURL];
	int n;
	struct it_result r;
	double stop_s;   /* first signal to exit, client clock */
	cJSON *res;      /* parsed result lines */
	cJSON *log;      /* the server's /_log after the run */
};

static void sig_run_free(struct sig_run *s)
{
	for (int i = 0; i < s->n; i++) {
		free(s->url[i]);
		free(s->pq[i]);
	}
	cJSON_Delete(s->res);
	cJSON_Delete(s->log);
	it_result_free(&s->r);
}

/* Kills the child and fails the test (a precondition was not met). */
static void give_up(struct it_proc *p, const struct it_server *srv,
		    const char *what)
{
	struct it_result r;

	kill(p->pid, SIGKILL);
	it_proc_finish(p, 5.0, &r);
	it_dump_with_log(&r, srv);
	it_result_free(&r);
	fail_msg("%s", what);
}

/* Starts fetchmany --json -o dl [opts] URLs in f->tmp, waits (bounded)
 * until the server has seen want_reqs requests and fetchmany is writing
 * want_parts bodies in dl, sends the signals sigs[0..nsig-1] back to back, and
 * collects the run. */
static void interrupt_run(const struct it_fixture *f, const char *const opts[],
			  struct sig_run *s, long want_reqs, int want_parts,
			  const int sigs[], int nsig)
{
	const char *argv[40];
	char *dl = it_path("%s/dl", f->tmp);
	struct it_proc p;
	size_t n = 0;
	double t0;
	int bad;

	argv[n++] = it_bin();
	argv[n++] = "--json";
	argv[n++] = "-o";
	argv[n++] = "dl";
	for (size_t i = 0; opts[i] && n < 30; i++)
		argv[n++] = opts[i];
	for (int i = 0; i < s->n; i++)
		argv[n++] = s->url[i];
	argv[n] = NULL;

	assert_int_equal(it_proc_start(&p, argv, f->tmp, NULL), 0);
	if (it_wait_requests(&f->srv, &p, want_reqs, 15.0) < 0)
		give_up(&p, &f->srv, "the server did not see the expected "
			"requests in time");
	if (it_wait_bodies(dl, &p, want_parts, 15.0) != 0)
		give_up(&p, &f->srv, "the bodies were not being written in "
			"time");
	/* Nothing more may have started than expected. */
	if (it_server_stat(&f->srv, "requests") != want_reqs)
		give_up(&p, &f->srv, "more requests than slots before the "
			"signal");

	t0 = it_now();
	for (int i = 0; i < nsig; i++)
		assert_int_equal(kill(p.pid, sigs[i]), 0);
	if (it_proc_finish(&p, 20.0, &s->r) != 0) {
		it_dump_with_log(&s->r, &f->srv);
		fail_msg("fetchmany did not exit within 20 s of the signal");
	}
	s->stop_s = it_now() - t0;
	fprintf(stderr, "# %d signal(s): exited %.3f s after the first\n",
		nsig, s->stop_s);
	s->res = it_jsonl_parse(s->r.out, &bad);
	assert_int_equal(bad, 0);
	s->log = it_server_log(&f->srv);
	assert_non_null(s->log);
	free(dl);
}

static void assert_exit(const struct it_fixture *f, const struct sig_run *s,
			int code)
{
	if (!s->r.exited || s->r.exit_code != code) {
		it_dump_with_log(&s->r, &f->srv);
		fail_msg("exit status: want %d, got %s %d", code,
			 s->r.exited ? "exit" : "signal",
			 s->r.exited ? s->r.exit_code : s->r.signaled);
	}
}

/* No URL on two lines; a URL has a line exactly when it was requested. */
static void assert_lines_match_requests(const struct it_fixture *f,
					const struct sig_run *s)
{
	for (int i = 0; i < s->n; i++) {
		int lines = it_count_url(s->res, s->url[i]);
		int reqs = it_log_count(s->log, s->pq[i]);

		if (lines > 1) {
			it_dump_with_log(&s->r, &f->srv);
			fail_msg("%s reported %d times", s->url[i], lines);
		}
		if ((lines == 1) != (reqs > 0)) {
			it_dump_with_log(&s->r, &f->srv);
			fail_msg("%s: %d line(s) but %d request(s)", s->url[i],
				 lines, reqs);
		}
	}
}

static void make_urls(const struct it_fixture *f, struct sig_run *s,
		      const char *const pqs[])
{
	memset(s, 0, sizeof(*s));
	for (int i = 0; pqs[i] && i < NURL; i++) {
		s->pq[i] = it_path("%s", pqs[i]);
		s->url[i] = it_url(&f->srv, pqs[i]);
		s->n++;
	}
}

static const char *const slow6[] = {
	"/data/s1.bin?size=100000&stall=10",
	"/data/s2.bin?size=100000&stall=10",
	"/data/s3.bin?size=100000&stall=10",
	"/data/s4.bin?size=100000&stall=10",
	"/data/s5.bin?size=100000&stall=10",
	"/data/s6.bin?size=100000&stall=10",
	NULL,
};

/* Six slow URLs at -j 3; the signal comes while three run (their .part
 * files written) and three wait in the queue. */
static void three_running_interrupted(void **state, int sig, int code)
{
	struct it_fixture *f = *state;
	const char *opts[] = { "-j", "3", NULL };
	const int sigs[] = { sig };
	char *dl = it_path("%s/dl", f->tmp);
	struct sig_run s;
	cJSON *e;

	make_urls(f, &s, slow6);
	interrupt_run(f, opts, &s, 3, 3, sigs, 1);
	assert_exit(f, &s, code);
	if (cJSON_GetArraySize(s.res) != 3) {
		it_dump_with_log(&s.r, &f->srv);
		fail_msg("want 3 result lines, got %d",
			 cJSON_GetArraySize(s.res));
	}
	cJSON_ArrayForEach(e, s.res) {
		IT_ASSERT_JSTR(e, "status", "failed");
		IT_ASSERT_JSTR(e, "error", "interrupted");
		IT_ASSERT_JNUM(e, "attempts", 1);
		IT_ASSERT_JNULL(e, "path");
	}
	/* The three that ran were requested once each; the queued three
	 * never. */
	assert_int_equal(cJSON_GetArraySize(s.log), 3);
	assert_lines_match_requests(f, &s);
	for (int i = 0; i < s.n; i++)
		assert_true(it_log_count(s.log, s.pq[i]) <= 1);
	/* Neither .part nor final files are left. */
	assert_int_equal(it_count_files(dl), 0);
	/* Summary: three never started, interrupted. */
	if (!strstr(s.r.err, "3 left") || !strstr(s.r.err, "interrupted")) {
		it_dump(&s.r);
		fail_msg("the summary should say \"3 left\" and "
			 "\"interrupted\"");
	}
	/* Aborting is prompt. */
	assert_true(s.stop_s < 5.0);

	sig_run_free(&s);
	free(dl);
}

static void test_sigint(void **state)
{
	three_running_interrupted(state, SIGINT, 130);
}

static void test_sigterm(void **state)
{
	three_running_interrupted(state, SIGTERM, 143);
}

/* Under -c an interrupted transfer keeps its .part, holding exactly what
 * had arrived, so that the next -c run resumes it (spec section 7). */
static void test_continue_keeps_parts(void **state)
{
	struct it_fixture *f = *state;
	const char *opts[] = { "-c", "-j", "3", NULL };
	const int sigs[] = { SIGINT };
	char *dl = it_path("%s/dl", f->tmp);
	struct sig_run s;
	int parts = 0;

	make_urls(f, &s, slow6);
	interrupt_run(f, opts, &s, 3, 3, sigs, 1);
	assert_exit(f, &s, 130);
	assert_int_equal(cJSON_GetArraySize(s.res), 3);
	for (int i = 0; i < s.n; i++) {
		/* "/data/s1.bin?..." -> dl/s1.bin.part */
		const char *name = strrchr(s.pq[i], '/') + 1;
		size_t nlen = strcspn(name, "?");
		char *part = it_path("%s/%.*s.part", dl, (int)nlen, name);
		char *path = it_path("%.*s", (int)(name - s.pq[i] + nlen),
				     s.pq[i]);
		size_t len = 0;
		char *got = it_read_file(part, &len);

		if (it_log_count(s.log, s.pq[i]) == 0) {
			/* never started: no .part */
			assert_null(got);
		} else {
			char *want = it_expected_body(path, 100000);

			assert_non_null(got);
			/* stall=10 sends the first half, then waits */
			assert_int_equal(len, 50000);
			assert_memory_equal(got, want, len);
			free(want);
			parts++;
		}
		free(got);
		free(part);
		free(path);
	}
	assert_int_equal(parts, 3);
	sig_run_free(&s);
	free(dl);
}

/* -j 2: the first entry fails (503) and waits out a long backoff, holding
 * no slot, while two slow ones run and a fourth is queued. On SIGINT the
 * waiting one is reported once, "interrupted" with its last error. */
static void test_waiting_retry_interrupted(void **state)
{
	struct it_fixture *f = *state;
	const char *const pqs[] = {
		"/data/wait.bin?size=100&fail=5",
		"/data/r1.bin?size=100000&stall=10",
		"/data/r2.bin?size=100000&stall=10",
		"/data/r3.bin?size=100000&stall=10",
		NULL,
	};
	const char *opts[] = { "-j", "2", "--backoff", "10", NULL };
	const int sigs[] = { SIGINT };
	char *dl = it_path("%s/dl", f->tmp);
	struct sig_run s;
	cJSON *e;
	const char *err;

	make_urls(f, &s, pqs);
	interrupt_run(f, opts, &s, 3, 2, sigs, 1);
	assert_exit(f, &s, 130);
	if (cJSON_GetArraySize(s.res) != 3) {
		it_dump_with_log(&s.r, &f->srv);
		fail_msg("want 3 result lines, got %d",
			 cJSON_GetArraySize(s.res));
	}
	assert_lines_match_requests(f, &s);

	/* The waiting entry: one request, one line, its last error kept. */
	assert_int_equal(it_log_count(s.log, s.pq[0]), 1);
	e = it_json_find_url(s.res, s.url[0]);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNUM(e, "attempts", 1);
	err = it_json_str(e, "error");
	assert_non_null(err);
	if (!it_starts_with(err, "interrupted") || !strstr(err, "503")) {
		it_dump(&s.r);
		fail_msg("waiting entry: want \"interrupted (last attempt: "
			 "... 503 ...)\", got \"%s\"", err);
	}
	/* The two running ones. */
	for (int i = 1; i <= 2; i++) {
		e = it_json_find_url(s.res, s.url[i]);
		assert_non_null(e);
		IT_ASSERT_JSTR(e, "status", "failed");
		IT_ASSERT_JSTR(e, "error", "interrupted");
	}
	/* The queued one: never requested, no line. */
	assert_int_equal(it_log_count(s.log, s.pq[3]), 0);
	assert_null(it_json_find_url(s.res, s.url[3]));
	assert_int_equal(it_count_files(dl), 0);
	if (!strstr(s.r.err, "1 left") || !strstr(s.r.err, "interrupted")) {
		it_dump(&s.r);
		fail_msg("the summary should say \"1 left\" and "
			 "\"interrupted\"");
	}

	sig_run_free(&s);
	free(dl);
}

/* Two SIGINTs back to back: the process is gone promptly, exit 130, and
 * still no entry is reported twice. */
static void test_second_signal(void **state)
{
	struct it_fixture *f = *state;
	const char *opts[] = { "-j", "3", NULL };
	const int sigs[] = { SIGINT, SIGINT };
	struct sig_run s;
	cJSON *e;

	make_urls(f, &s, slow6);
	interrupt_run(f, opts, &s, 3, 3, sigs, 2);
	assert_exit(f, &s, 130);
	if (s.stop_s >= 2.0) {
		it_dump(&s.r);
		fail_msg("exited %.3f s after two SIGINTs, want < 2",
			 s.stop_s);
	}
	assert_true(cJSON_GetArraySize(s.res) <= 3);
	cJSON_ArrayForEach(e, s.res) {
		const char *err = it_json_str(e, "error");

		IT_ASSERT_JSTR(e, "status", "failed");
		assert_true(it_starts_with(err, "interrupted"));
	}
	assert_int_equal(cJSON_GetArraySize(s.log), 3);
	for (int i = 0; i < s.n; i++)
		assert_true(it_count_url(s.res, s.url[i]) <= 1);

	sig_run_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sigint,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_sigterm,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_waiting_retry_interrupted,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_continue_keeps_parts,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_second_signal,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
