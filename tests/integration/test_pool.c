/* Integration: one connection pool for the whole run (spec 8, issue 15).
 * The server counts what the pool did: tests/httpd.py --also-listen 30
 * listens on 127.0.1.1 ... 127.0.1.30 as well, so one server offers 30
 * host names (the addresses), and /_stats counts the TCP connections
 * accepted on each address ("connections_by_addr"), those accepted after
 * one to the same address had closed ("reconnects_by_addr"), each host's
 * peak of concurrent requests ("max_concurrent_by_host"), and the TLS
 * handshakes that resumed a session ("tls_resumed").
 *
 * What must hold: no host's connection is closed while the run goes on
 * (no reconnection: the idle cache is sized from the run, not a worker's
 * slots), a host gets no more connections than it had requests running
 * at once (give or take the one the server cannot see: test a), so none
 * because another thread ran its next file, --per-host N caps connections
 * as well as transfers, and on one HTTPS host (TLS 1.2: see test c) only
 * the first connection of each thread does a full TLS handshake; the
 * others resume a session.
 *
 * Each run prints its numbers on stderr ("# ..."), so that a failure says
 * by how much. */
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "harness.h"

#define HOSTS 30
#define FILES 300
#define SIZE 500

/* The list's fixed shuffle (a 32-bit LCG; any seed would do, a fixed one
 * makes a failure repeatable). */
#define SEED 15u

/* ------------------------------------------------------------- the list */

/* Entry i of the many-host list: host 127.0.1.(i % HOSTS + 1), path
 * /data/hHH-fIII.bin. */
static int entry_host(int i)
{
	return i % HOSTS + 1;
}

static char *entry_path(int i)
{
	return it_path("/data/h%02d-f%03d.bin", entry_host(i), i);
}

/* Entry i's URL: its path, "?size=SIZE" and query (a string of "&k=v"). */
static char *entry_url(const struct it_fixture *f, int i, const char *query)
{
	char *p = entry_path(i);
	char *url = it_path("http://127.0.1.%d:%d%s?size=%d%s", entry_host(i),
			    f->srv.port, p, SIZE, query);

	free(p);
	return url;
}

/* Writes list.txt: the FILES entries over HOSTS hosts in a fixed shuffled
 * order (Fisher-Yates driven by an LCG), each URL with query. */
/* order[0..n) = 0..n-1 in the fixed shuffled order (Fisher-Yates driven
 * by an LCG seeded with SEED). */
static void shuffle(int *order, int n)
{
	uint32_t x = SEED;

	for (int i = 0; i < n; i++)
		order[i] = i;
	for (int i = n - 1; i > 0; i--) {
		int j, t;

		x = x * 1664525u + 1013904223u;
		j = (int)((x >> 8) % (uint32_t)(i + 1));
		t = order[i];
		order[i] = order[j];
		order[j] = t;
	}
}

static void write_hosts_list(const struct it_fixture *f, const char *query)
{
	int order[FILES];
	struct it_buf b = { 0 };
	char *lp = it_path("%s/list.txt", f->tmp);

	shuffle(order, FILES);
	for (int k = 0; k < FILES; k++) {
		char *url = entry_url(f, order[k], query);

		it_buf_printf(&b, "%s\n", url);
		free(url);
	}
	assert_int_equal(it_write_file(lp, b.data, b.len), 0);
	free(b.data);
	free(lp);
}

/* Fails unless each of the FILES entries has a result that is ok, with a
 * 200 and SIZE bytes, and its file is whole under dl/ (named for the
 * path's last segment). */
static void assert_hosts_all_ok(const struct it_fixture *f, const cJSON *res,
				const struct it_result *r, const char *query)
{
	int bad = 0;

	for (int i = 0; i < FILES; i++) {
		char *p = entry_path(i);
		char *url = entry_url(f, i, query);
		char *file = it_path("%s/dl/%s", f->tmp, strrchr(p, '/') + 1);
		const cJSON *e = it_json_find_url(res, url);
		const char *st = e ? it_json_str(e, "status") : NULL;

		if (!e || !st || strcmp(st, "ok") != 0 ||
		    it_json_num(e, "http_status", NULL) != 200 ||
		    it_json_num(e, "bytes", NULL) != SIZE ||
		    !it_file_matches_body(file, p, SIZE)) {
			if (bad++ < 5)
				fprintf(stderr, "# %s: %s (%s)\n", url,
					st ? st : "no result line",
					e && it_json_str(e, "error")
						? it_json_str(e, "error")
						: "-");
		}
		free(p);
		free(url);
		free(file);
	}
	if (bad) {
		it_dump(r);
		fail_msg("%d of %d entries not ok or not whole", bad, FILES);
	}
}

/* ---------------------------------------------------------- the numbers */

/* What the server saw of one host. */
struct host_count {
	long conns;   /* TCP connections accepted on its address */
	long reconns; /* of those, accepted after one of them had closed */
	long peak;    /* its peak of requests running at once */
};

/* The number key of the object obj (0 when absent: a host nobody
 * reconnected to has no entry in reconnects_by_addr); fails the test on
 * anything else, or when required and absent. */
static long count_of(const cJSON *obj, const char *key, int required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

	if (!v && !required)
		return 0;
	if (!cJSON_IsNumber(v))
		fail_msg("/_stats: no number for %s", key);
	return (long)v->valuedouble;
}

/* Reads, per host 127.0.1.K, what /_stats says of it into h[K - 1], and
 * the sums into *sum. */
static void read_host_counts(const struct it_fixture *f,
			     struct host_count h[HOSTS],
			     struct host_count *sum)
{
	cJSON *st = it_server_stats(&f->srv);
	const cJSON *by_addr, *re_addr, *by_host;

	assert_non_null(st);
	by_addr = cJSON_GetObjectItemCaseSensitive(st, "connections_by_addr");
	re_addr = cJSON_GetObjectItemCaseSensitive(st, "reconnects_by_addr");
	by_host = cJSON_GetObjectItemCaseSensitive(st,
						   "max_concurrent_by_host");
	assert_true(cJSON_IsObject(by_addr));
	assert_true(cJSON_IsObject(re_addr));
	assert_true(cJSON_IsObject(by_host));
	*sum = (struct host_count){ 0, 0, 0 };
	for (int k = 1; k <= HOSTS; k++) {
		struct host_count *c = &h[k - 1];
		char name[32];

		snprintf(name, sizeof(name), "127.0.1.%d", k);
		c->conns = count_of(by_addr, name, 1);
		c->reconns = count_of(re_addr, name, 0);
		c->peak = count_of(by_host, name, 1);
		sum->conns += c->conns;
		sum->reconns += c->reconns;
		sum->peak += c->peak;
	}
	cJSON_Delete(st);
}

/* Prints every host's numbers on stderr, one line. */
static void print_host_counts(const char *what,
			      const struct host_count h[HOSTS],
			      const struct host_count *sum)
{
	fprintf(stderr, "# %s: %ld connections over %d hosts, %ld of them "
		"reconnections, sum of the hosts' peaks %ld; "
		"host:connections/reconnections/peak", what, sum->conns,
		HOSTS, sum->reconns, sum->peak);
	for (int k = 0; k < HOSTS; k++)
		fprintf(stderr, " .%d:%ld/%ld/%ld", k + 1, h[k].conns,
			h[k].reconns, h[k].peak);
	fprintf(stderr, "\n");
}

/* Runs fetchmany on the many-host list (each URL with query) with args
 * (after "--json -o dl", before list.txt; NULL-terminated), checks every
 * entry, and returns what the server counted. */
static void run_hosts(const struct it_fixture *f, const char *query,
		      const char *const args[], struct host_count h[HOSTS],
		      struct host_count *sum)
{
	const char *argv[16];
	size_t n = 0;
	struct it_result r;
	cJSON *res;

	write_hosts_list(f, query);
	for (size_t i = 0; args[i]; i++)
		argv[n++] = args[i];
	argv[n++] = "list.txt";
	argv[n] = NULL;
	res = it_run_json(f, argv, 0, FILES, &r);
	assert_hosts_all_ok(f, res, &r, query);
	assert_int_equal(it_server_stat(&f->srv, "requests"), FILES);
	read_host_counts(f, h, sum);
	cJSON_Delete(res);
	it_result_free(&r);
}

/* Fails, naming how many hosts, when any host was reconnected to: the
 * pool closed a host's connection while the host still had files to
 * come (an eviction), then opened another. */
static void assert_no_reconnects(const struct host_count h[HOSTS])
{
	int n = 0;

	for (int k = 0; k < HOSTS; k++)
		if (h[k].reconns > 0)
			n++;
	if (n)
		fail_msg("%d of %d hosts had a connection closed and a new one "
			 "opened during the run (numbers above)", n, HOSTS);
}

/* ---------------------------------------------------------------- tests */

static int hosts_setup(void **state)
{
	const char *extra[] = { "--also-listen", "30", NULL };

	*state = it_fixture_new(extra);
	return *state ? 0 : -1;
}

/* a) 300 files over 30 hosts at -j 30, shuffled. A pool that keeps a
 * host's idle connection while the host has files to come, and finds it
 * whatever thread runs the next file, opens a new one only when all of
 * the host's connections are busy, and closes none before the end:
 *   - no host is reconnected to;
 *   - a host gets no more connections than it had transfers at once.
 * The server sees a request running for less time than the client sees
 * its transfer (not while it connects, nor while the last bytes are on
 * their way), so the server's per-host peak can be short of the client's
 * by the overlaps that fell in those gaps: with 500-byte files and no
 * delay, a never-evicting single cache (today's code on one thread with
 * the cache cap raised by a preload shim) got 82 to 93 connections for
 * peaks summing to 33 to 40. Each request is therefore held 0.2 s at the
 * server, which makes the gaps small beside it, and each host is allowed
 * one connection over its peak for the overlap a gap may still hide
 * (with that shim and 0.2 s, three runs: 93 to 95 connections for peaks
 * summing to 91, at most 4 hosts one over, none two, no reconnection;
 * the same 4 hosts each time, as the shuffle is fixed). Under a
 * sanitizer on a loaded machine the client's side of those gaps grows
 * (ThreadSanitizer, CI: one host at 5 connections for a peak of 3), so
 * requests are held 0.5 s there. (Today's code:
 * each worker thread keeps its own cache, capped at its slot count, so a
 * host gets connections on every thread and its idle one is evicted
 * before its next file: 7 to 10 connections a host for peaks of 1 or 2.)
 *
 * (d) The total is printed beside the sum of the peaks. */
static void test_hosts_conns_within_peak(void **state)
{
	const struct it_fixture *f = *state;
	const char *args[] = { "-j", "30", NULL };
	const char *san = getenv("FM_SANITIZE");
	const char *delay = san && *san && strcmp(san, "none") != 0
				    ? "&delay=0.5"
				    : "&delay=0.2";
	struct host_count h[HOSTS], sum;
	int over = 0;

	run_hosts(f, delay, args, h, &sum);
	print_host_counts(delay + 1, h, &sum);
	for (int k = 0; k < HOSTS; k++)
		if (h[k].conns > h[k].peak + 1)
			over++;
	if (over)
		fail_msg("%d of %d hosts got more than one connection over "
			 "their peak of requests at once (numbers above)",
			 over, HOSTS);
	assert_no_reconnects(h);
}

/* b) The same with --per-host N, and no delay: every host at most N
 * connections (and its transfers capped at N, as before), none closed
 * and reopened. A host's next file starts only once one of its N has
 * finished, and so has given its connection back: a pool that keeps it
 * never needs more, whatever the timing. */
static void check_per_host(const struct it_fixture *f, const char *cap)
{
	const char *args[] = { "-j", "30", "--per-host", cap, NULL };
	struct host_count h[HOSTS], sum;
	long want = atol(cap);
	int over = 0;
	char what[32];

	run_hosts(f, "", args, h, &sum);
	snprintf(what, sizeof(what), "-j 30 --per-host %s", cap);
	print_host_counts(what, h, &sum);
	for (int k = 0; k < HOSTS; k++) {
		if (h[k].peak > want)
			fail_msg("host 127.0.1.%d: %ld requests at once, "
				 "--per-host %s", k + 1, h[k].peak, cap);
		if (h[k].conns > want)
			over++;
	}
	if (over)
		fail_msg("%d of %d hosts got more connections than "
			 "--per-host %s (numbers above)", over, HOSTS, cap);
	assert_no_reconnects(h);
}

static void test_hosts_per_host2(void **state)
{
	check_per_host(*state, "2");
}

/* (d) --per-host 1: a host's files run one after the other, so each host
 * needs exactly one connection for the whole run. */
static void test_hosts_per_host1(void **state)
{
	check_per_host(*state, "1");
}

/* e) Idle connections within the descriptor limit: 1,500 files over 250
 * hosts, shuffled, under prlimit --nofile=200 with --threads 8 -j 1000
 * (lowered to what the limit holds): every file arrives at the first
 * attempt. Each worker's cache may keep idle connections only within its
 * share of the descriptors left over when the transfers hold theirs; when
 * each of the 8 caches could keep -j of them, the idle connections of 250
 * hosts took the descriptors the transfers were counted on: files could
 * not be opened ("Too many open files") and the run crawled. */
#define FD_HOSTS 250
#define FD_FILES 1500

static int many_hosts_setup(void **state)
{
	const char *extra[] = { "--also-listen", "250", NULL };

	*state = it_fixture_new(extra);
	return *state ? 0 : -1;
}

static void test_hosts_idle_within_fd_limit(void **state)
{
	const struct it_fixture *f = *state;
	const char *argv[] = { "prlimit", "--nofile=200:200", it_bin(),
			       "--json", "-o", "dl", "-r", "0", "--threads",
			       "8", "-j", "1000", "list.txt", NULL };
	struct it_buf b = { 0 };
	char *lp = it_path("%s/list.txt", f->tmp);
	int order[FD_FILES], bad = 0;
	struct it_result r;
	const cJSON *e;
	cJSON *res;

	if (access("/usr/bin/prlimit", X_OK) != 0 &&
	    access("/bin/prlimit", X_OK) != 0) {
		printf("# SKIP: no prlimit(1)\n");
		free(lp);
		return;
	}
	shuffle(order, FD_FILES);
	for (int i = 0; i < FD_FILES; i++)
		it_buf_printf(&b, "http://127.0.1.%d:%d/data/fd%04d?size=%d\n",
			      order[i] % FD_HOSTS + 1, f->srv.port, order[i],
			      SIZE);
	assert_int_equal(it_write_file(lp, b.data, b.len), 0);
	IT_ASSERT_RAN(it_run(argv, NULL, f->tmp, &r), r);
	res = it_check_json(f, &r, 0, FD_FILES);
	cJSON_ArrayForEach(e, res) {
		const char *st = it_json_str(e, "status");

		if (!st || strcmp(st, "ok") != 0 ||
		    it_json_num(e, "attempts", NULL) != 1) {
			if (bad++ < 5)
				fprintf(stderr, "# %s: %s (%s)\n",
					it_json_str(e, "url"), st ? st : "-",
					it_json_str(e, "error") ?
					it_json_str(e, "error") : "");
		}
	}
	if (bad)
		fail_msg("%d of %d entries not ok at the first attempt", bad,
			 FD_FILES);
	cJSON_Delete(res);
	it_result_free(&r);
	free(b.data);
	free(lp);
}

/* ------------------------------------------------------------- HTTPS */

/* Made once for the TLS test: cert.pem/key.pem (as test_tls.c). */
static char *g_certdir;
static char *g_skip_reason;

static int prepare_certs(void)
{
	g_certdir = it_cert_dir(&g_skip_reason);
	if (!g_certdir)
		return -1;
	if (g_skip_reason)
		return 0;
	it_make_cert(g_certdir, "cert.pem", "key.pem", &g_skip_reason);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	it_cert_dir_free(g_certdir, g_skip_reason);
	return 0;
}

/* Without a certificate, no server: the TLS tests skip. tls12: the
 * server speaks TLS 1.2 at most (httpd.py --tls12). */
static int tls_fixture(void **state, bool tls12)
{
	char *cert, *key;

	*state = NULL;
	if (g_skip_reason)
		return 0;
	cert = it_path("%s/cert.pem", g_certdir);
	key = it_path("%s/key.pem", g_certdir);
	{
		const char *extra[] = { "--tls-cert", cert, "--tls-key", key,
					tls12 ? "--tls12" : NULL, NULL };

		*state = it_fixture_new(extra);
	}
	free(cert);
	free(key);
	return *state ? 0 : -1;
}

static int tls12_setup(void **state)
{
	return tls_fixture(state, true);
}

static int tls13_setup(void **state)
{
	return tls_fixture(state, false);
}

#define TLS_FILES 200
#define TLS_JOBS 16
#define TLS_THREADS 2

/* c) One HTTPS host, 200 files at -j 16 --threads 2, over TLS 1.2: at
 * most one full handshake per thread (the first connection of each; TLS
 * sessions shared, so every later connection resumes one, whichever
 * thread makes it). That also asks that a host's first connection be set
 * up, and its session stored, before the rest of its transfers connect:
 * 16 connects started at once all do full handshakes, session cache or
 * not (fetchmany's probe: the first transfer to an HTTPS host goes alone
 * until its answer begins).
 *
 * Over TLS 1.3 (the second test) only the second bound below is held:
 * libcurl 7.88 hands one SSL_SESSION to every connection, and OpenSSL 3
 * makes a session it resumed unusable when that connection receives its
 * next ticket (SSL_CTX_remove_session: "not resumable"), so a connection
 * that picks the session up in that moment from another thread, or before
 * libcurl stores the new one, starts with a full handshake: against this
 * server 1 to 12 of 16 were full (nginx in bench/run: TLS 1.2, 1 of 50).
 *
 * And all handshakes together at most 16 + 2: a connection is busy only
 * while one of the 16 slots runs a transfer on it, so a pool that keeps
 * its idle connections never needs more than 16 at once, and none of
 * them twice; the + 2 (one per thread) leaves room for a connection a
 * thread's cache gives up when the host's work moves between threads.
 * Today's code meets this second bound (16: one host never fills a
 * thread's cache), and it guards that: a pool that dropped idle
 * connections would reconnect, and handshake, again.
 *
 * Today every easy handle keeps its own TLS session cache: 16 full
 * handshakes, 0 or 1 resumed. (curl 7.88's command line against this
 * server at --parallel-max 16, for comparison: 16 handshakes, 7 full.) */
static void check_one_host(void **state, bool tls12)
{
	const struct it_fixture *f = *state;
	struct it_buf b = { 0 };
	char *lp, *cacert;
	char jobs[16], threads[16];
	const char *args[] = { "-j", jobs, "--threads", threads, "--cacert",
			       NULL, "list.txt", NULL };
	struct it_result r;
	cJSON *res;
	long hs, resumed, conns, full;
	int bad = 0;

	if (g_skip_reason || !f) {
		printf("# SKIP: %s\n", g_skip_reason ? g_skip_reason
						     : "no TLS server");
		fflush(stdout);
		skip();
	}
	snprintf(jobs, sizeof(jobs), "%d", TLS_JOBS);
	snprintf(threads, sizeof(threads), "%d", TLS_THREADS);
	cacert = it_path("%s/cert.pem", g_certdir);
	args[5] = cacert;
	lp = it_path("%s/list.txt", f->tmp);
	for (int i = 0; i < TLS_FILES; i++)
		it_buf_printf(&b, "https://127.0.0.1:%d/data/s%03d.bin"
			      "?size=%d\n", f->srv.port, i, SIZE);
	assert_int_equal(it_write_file(lp, b.data, b.len), 0);

	res = it_run_json(f, args, 0, TLS_FILES, &r);
	for (int i = 0; i < TLS_FILES; i++) {
		char *url = it_path("https://127.0.0.1:%d/data/s%03d.bin"
				    "?size=%d", f->srv.port, i, SIZE);
		char *path = it_path("/data/s%03d.bin", i);
		char *file = it_path("%s/dl/s%03d.bin", f->tmp, i);
		const cJSON *e = it_json_find_url(res, url);
		const char *st = e ? it_json_str(e, "status") : NULL;

		if (!st || strcmp(st, "ok") != 0 ||
		    !it_file_matches_body(file, path, SIZE)) {
			if (bad++ < 5)
				fprintf(stderr, "# %s: %s\n", url,
					st ? st : "no result line");
		}
		free(url);
		free(path);
		free(file);
	}
	if (bad) {
		it_dump(&r);
		fail_msg("%d of %d entries not ok or not whole", bad,
			 TLS_FILES);
	}
	assert_int_equal(it_server_stat(&f->srv, "requests"), TLS_FILES);
	assert_int_equal(it_server_stat(&f->srv, "tls_failures"), 0);

	hs = it_server_stat(&f->srv, "tls_handshakes");
	resumed = it_server_stat(&f->srv, "tls_resumed");
	conns = it_server_stat(&f->srv, "connections");
	full = hs - resumed;
	fprintf(stderr, "# https (TLS %s) -j %d --threads %d, %d files: %ld "
		"TLS handshakes, %ld resumed, %ld full; %ld TCP connections "
		"(the harness's plain /_stats ones included)\n",
		tls12 ? "1.2" : "1.3", TLS_JOBS, TLS_THREADS, TLS_FILES, hs,
		resumed, full, conns);
	cJSON_Delete(res);
	it_result_free(&r);
	free(b.data);
	free(lp);
	free(cacert);

	assert_true(hs >= 1);
	if (tls12 && full > TLS_THREADS)
		fail_msg("%ld full TLS handshakes, want at most %d (one per "
			 "thread)", full, TLS_THREADS);
	if (hs > TLS_JOBS + TLS_THREADS)
		fail_msg("%ld TLS handshakes (connections), want at most %d",
			 hs, TLS_JOBS + TLS_THREADS);
}

static void test_https_one_host_resumes(void **state)
{
	check_one_host(state, true);
}

static void test_https13_one_host_conns(void **state)
{
	check_one_host(state, false);
}

int main(void)
{
#define H(fn) cmocka_unit_test_setup_teardown(fn, hosts_setup, \
					      it_fixture_teardown)
	const struct CMUnitTest tests[] = {
		H(test_hosts_conns_within_peak),
		H(test_hosts_per_host2),
		H(test_hosts_per_host1),
		cmocka_unit_test_setup_teardown(
			test_hosts_idle_within_fd_limit, many_hosts_setup,
			it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_https_one_host_resumes,
						tls12_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_https13_one_host_conns,
						tls13_setup,
						it_fixture_teardown),
	};
#undef H
	size_t n = sizeof(tests) / sizeof(tests[0]);

	if (prepare_certs() != 0) {
		fprintf(stderr, "test_pool: cannot make a temporary "
			"directory\n");
		return 1;
	}
	/* cmocka 1.1.5 reports skip() in TAP as "not ok # SKIP", which
	 * meson counts as a failure: without a certificate, the HTTPS tests
	 * (the last two) are left out of the group and the reason printed. */
	if (g_skip_reason) {
		printf("# SKIP %s: %s\n", "test_https_one_host_resumes and "
		       "test_https13_one_host_conns", g_skip_reason);
		fflush(stdout);
		n -= 2;
	}
	return _cmocka_run_group_tests("test_pool", tests, n, NULL,
				       group_teardown);
}
