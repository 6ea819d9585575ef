/* Integration: the ramp (issue 15, point 4; fm_ramp_cap() in policy.c).
 * A host gets FM_RAMP_START transfers at once, and more only as it shows
 * it needs them: a host that answers fast is not flooded with -j
 * connections (each one costs both ends memory and CPU and brings
 * nothing), and a host that keeps every transfer waiting still gets all
 * of -j, within milliseconds.
 *
 * What the server counted is printed on stderr ("# ..."), so that a
 * failure says by how much. */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

/* Writes list.txt: n entries /data/rNNNN?size=100 plus query, and
 * returns nothing; every entry's file is dl/rNNNN. */
static void write_list(const struct it_fixture *f, int n, const char *query)
{
	struct it_buf b = { 0 };
	char *lp = it_path("%s/list.txt", f->tmp);

	for (int i = 0; i < n; i++) {
		char pq[64];
		char *url;

		snprintf(pq, sizeof(pq), "/data/r%04d?size=100%s", i, query);
		url = it_url(&f->srv, pq);
		it_buf_printf(&b, "%s\n", url);
		free(url);
	}
	assert_int_equal(it_write_file(lp, b.data, b.len), 0);
	free(b.data);
	free(lp);
}

/* Runs fetchmany -j jobs on list.txt and fails unless all n entries are
 * ok and whole on disk. Returns how long the first result to come took
 * (its "seconds"). */
static double run_all_ok(const struct it_fixture *f, const char *jobs, int n)
{
	const char *args[] = { "-j", jobs, "list.txt", NULL };
	struct it_result r;
	cJSON *res = it_run_json(f, args, 0, n, &r);
	cJSON *first = cJSON_GetArrayItem(res, 0);
	double took = cJSON_GetNumberValue(
		cJSON_GetObjectItemCaseSensitive(first, "seconds"));
	int bad = 0;

	if (it_json_count_str(res, "status", "ok") != n) {
		it_dump(&r);
		fail_msg("not every one of %d entries is ok", n);
	}
	for (int i = 0; i < n; i++) {
		char *file = it_path("%s/dl/r%04d", f->tmp, i);
		char *path = it_path("/data/r%04d", i);

		if (!it_file_matches_body(file, path, 100))
			bad++;
		free(file);
		free(path);
	}
	if (bad) {
		it_dump(&r);
		fail_msg("%d of %d files not whole", bad, n);
	}
	cJSON_Delete(res);
	it_result_free(&r);
	return took;
}

/* What the server saw: the most requests at once (returned) and the
 * connections it accepted (*conns), printed after what. */
static long server_saw(const struct it_fixture *f, const char *what,
		       long *conns)
{
	long peak = it_server_stat(&f->srv, "max_concurrent");

	*conns = it_server_stat(&f->srv, "connections");
	fprintf(stderr, "# %s: %ld requests at once, %ld connections\n",
		what, peak, *conns);
	return peak;
}

/* a) A server that thinks gets every one of -j 160 transfers at once:
 * the ramp doubles a host's cap while none of its transfers ends, so the
 * host reaches -j within a few steps of 5 ms. Here the server answers
 * nothing until it holds 160 requests at once (barrier=, or 5 s), so
 * that its peak is a fact about the client however slow this machine
 * is; a ramp that only grew on answers, or not at all, would hold it at
 * 32 (and each wave would wait the 5 s out). */
static void test_slow_host_gets_every_slot(void **state)
{
	const struct it_fixture *f = *state;
	long peak, conns;

	write_list(f, 160, "&barrier=160");
	run_all_ok(f, "160", 160);
	peak = server_saw(f, "-j 160, no answer before 160 at once", &conns);
	assert_int_equal(peak, 160);
}

/* b) A host that answers at once is not flooded: 3,000 small files at
 * -j 1000 from the test server (which answers each within milliseconds)
 * take far fewer connections than -j. Before the ramp fetchmany opened
 * one connection per slot, 1,000. The bound leaves room for the ramp's
 * first steps (32, 64, ... while no transfer has ended yet). "At once"
 * is relative to the ramp's 5 ms, and the test server is a Python
 * program: on a machine so loaded that its first answer takes longer
 * than the ramp's first steps (5 + 10 + 20 + 40 + 80 ms, with nothing
 * ended, reach 1,000), or under a sanitizer, where every transfer takes
 * several times longer, the host rightly looks slow. So a run at -j 32
 * (the ramp's start: it changes nothing there) first times the server,
 * and the bound is checked only when its first answer came within 25 ms
 * (the run says which). meson runs this test alone, so that the suite's
 * own load does not make it slow. */
static void test_fast_host_not_flooded(void **state)
{
	const struct it_fixture *f = *state;
	const char *san = getenv("FM_SANITIZE");
	long before, conns;
	double first;

	write_list(f, 64, "");
	first = run_all_ok(f, "32", 64);
	server_saw(f, "-j 32, 64 files", &before);
	write_list(f, 3000, "");
	run_all_ok(f, "1000", 3000);
	server_saw(f, "-j 1000, 3000 files answered at once", &conns);
	conns -= before;
	fprintf(stderr, "# %ld connections for the 3000; the first answer at "
		"-j 32 took %.3f s\n", conns, first);
	if (san && *san && strcmp(san, "none") != 0) {
		fprintf(stderr, "# not bounded under a sanitizer (%s)\n", san);
		return;
	}
	if (first > 0.025) {
		fprintf(stderr, "# not bounded: the server was slow to answer "
			"(this machine is loaded), so the ramp rightly took it "
			"for a slow host\n");
		return;
	}
	if (conns > 400)
		fail_msg("%ld connections for -j 1000 to a host that answers "
			 "at once: want at most 400", conns);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_slow_host_gets_every_slot,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_fast_host_not_flooded,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
