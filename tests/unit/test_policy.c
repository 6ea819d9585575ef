/* test_policy.c: classification and judgement of outcomes, and the
 * backoff schedule. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fm_list.h" /* FM_WHY_MAX */
#include "fm_policy.h"

struct classify_case {
	CURLcode rc;
	long http;
	int local_err;
	enum fm_verdict want;
	const char *what;
};

static const struct classify_case classify_cases[] = {
	{CURLE_OK, 200, 0, FM_VERDICT_OK, "200"},
	{CURLE_OK, 204, 0, FM_VERDICT_OK, "204 empty"},
	{CURLE_OK, 206, 0, FM_VERDICT_OK, "206 partial content"},
	{CURLE_OK, 408, 0, FM_VERDICT_RETRY, "408 request timeout"},
	{CURLE_OK, 429, 0, FM_VERDICT_RETRY, "429 too many requests"},
	{CURLE_OK, 500, 0, FM_VERDICT_RETRY, "500"},
	{CURLE_OK, 502, 0, FM_VERDICT_RETRY, "502"},
	{CURLE_OK, 503, 0, FM_VERDICT_RETRY, "503"},
	{CURLE_OK, 504, 0, FM_VERDICT_RETRY, "504"},
	{CURLE_OK, 400, 0, FM_VERDICT_FAIL, "400"},
	{CURLE_OK, 401, 0, FM_VERDICT_FAIL, "401"},
	{CURLE_OK, 403, 0, FM_VERDICT_FAIL, "403"},
	{CURLE_OK, 404, 0, FM_VERDICT_FAIL, "404"},
	{CURLE_OK, 410, 0, FM_VERDICT_FAIL, "410"},
	{CURLE_OK, 501, 0, FM_VERDICT_FAIL, "501 not implemented"},
	{CURLE_OK, 505, 0, FM_VERDICT_FAIL, "505"},
	{CURLE_OK, 304, 0, FM_VERDICT_FAIL, "304 without a condition"},
	{CURLE_OK, 0, 0, FM_VERDICT_FAIL, "no status"},
	{CURLE_COULDNT_CONNECT, 0, 0, FM_VERDICT_RETRY, "refused"},
	{CURLE_COULDNT_RESOLVE_HOST, 0, 0, FM_VERDICT_RETRY, "DNS"},
	{CURLE_OPERATION_TIMEDOUT, 0, 0, FM_VERDICT_RETRY, "timeout"},
	{CURLE_OPERATION_TIMEDOUT, 200, 0, FM_VERDICT_RETRY, "stall in body"},
	{CURLE_RECV_ERROR, 0, 0, FM_VERDICT_RETRY, "reset"},
	{CURLE_SEND_ERROR, 0, 0, FM_VERDICT_RETRY, "reset on send"},
	{CURLE_GOT_NOTHING, 0, 0, FM_VERDICT_RETRY, "empty reply"},
	{CURLE_PARTIAL_FILE, 200, 0, FM_VERDICT_RETRY, "short body"},
	{CURLE_HTTP2_STREAM, 0, 0, FM_VERDICT_RETRY, "h2 stream reset"},
	{CURLE_PEER_FAILED_VERIFICATION, 0, 0, FM_VERDICT_FAIL, "TLS verify"},
	{CURLE_SSL_CACERT_BADFILE, 0, 0, FM_VERDICT_FAIL, "bad CA file"},
	{CURLE_UNSUPPORTED_PROTOCOL, 0, 0, FM_VERDICT_FAIL, "scheme"},
	{CURLE_TOO_MANY_REDIRECTS, 302, 0, FM_VERDICT_FAIL, "redirects"},
	{CURLE_FILESIZE_EXCEEDED, 200, 0, FM_VERDICT_FAIL, "max-filesize"},
	{CURLE_ABORTED_BY_CALLBACK, 200, 0, FM_VERDICT_FAIL, "aborted"},
	{CURLE_WRITE_ERROR, 200, -ENOSPC, FM_VERDICT_FAIL, "disk full"},
	{CURLE_WRITE_ERROR, 200, -EACCES, FM_VERDICT_FAIL, "permission"},
	{CURLE_OK, 503, -EROFS, FM_VERDICT_FAIL, "local error wins"},
	{CURLE_COULDNT_CONNECT, 0, -EIO, FM_VERDICT_FAIL, "local over net"},
};

static void classify_table(void **state)
{
	for (size_t i = 0;
	     i < sizeof(classify_cases) / sizeof(classify_cases[0]); i++) {
		const struct classify_case *c = &classify_cases[i];
		enum fm_verdict got = fm_classify(c->rc, c->http, c->local_err);

		if (got != c->want)
			fail_msg("case '%s': got %d, want %d", c->what, got,
				 c->want);
	}
}

struct fresh_case {
	CURLcode rc;
	long http;
	int local_err;
	bool reused;
	bool fresh;
	bool want;
	const char *what;
};

static const struct fresh_case fresh_cases[] = {
	{CURLE_UNSUPPORTED_PROTOCOL, 0, 0, true, false, true, "HTTP/0.9 junk"},
	{CURLE_WEIRD_SERVER_REPLY, 0, 0, true, false, true, "weird reply"},
	{CURLE_GOT_NOTHING, 0, 0, true, false, true, "empty reply"},
	{CURLE_RECV_ERROR, 0, 0, true, false, true, "reset on recv"},
	{CURLE_SEND_ERROR, 0, 0, true, false, true, "connection died"},
	{CURLE_HTTP2_STREAM, 0, 0, true, false, true, "h2 stream gone"},
	{CURLE_RECV_ERROR, 0, 0, false, false, false, "new connection"},
	{CURLE_GOT_NOTHING, 0, 0, false, false, false, "new, empty"},
	{CURLE_UNSUPPORTED_PROTOCOL, 0, 0, false, false, false, "new, junk"},
	{CURLE_RECV_ERROR, 0, 0, true, true, false, "already fresh"},
	{CURLE_UNSUPPORTED_PROTOCOL, 0, 0, true, true, false, "fresh, junk"},
	{CURLE_RECV_ERROR, 200, 0, true, false, false, "reset in body"},
	{CURLE_PARTIAL_FILE, 200, 0, true, false, false, "short body"},
	{CURLE_UNSUPPORTED_PROTOCOL, 302, 0, true, false, false,
	 "redirect to ftp"},
	{CURLE_OK, 503, 0, true, false, false, "503"},
	{CURLE_OK, 200, 0, true, false, false, "ok"},
	{CURLE_OK, 0, 0, true, false, false, "no error"},
	{CURLE_WRITE_ERROR, 0, -ENOSPC, true, false, false, "disk full"},
	{CURLE_RECV_ERROR, 0, -EIO, true, false, false, "local error"},
	{CURLE_COULDNT_CONNECT, 0, 0, true, false, false, "refused"},
	{CURLE_OPERATION_TIMEDOUT, 0, 0, true, false, false, "timeout"},
	{CURLE_PEER_FAILED_VERIFICATION, 0, 0, true, false, false, "TLS"},
};

static void retry_fresh_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fresh_cases) / sizeof(fresh_cases[0]);
	     i++) {
		const struct fresh_case *c = &fresh_cases[i];
		bool got = fm_retry_fresh(c->rc, c->http, c->local_err,
					  c->reused, c->fresh);

		if (got != c->want)
			fail_msg("%s: want %d, got %d", c->what, c->want, got);
	}
}

/* fm_judge(): one row per stop reason at least, with local errors and -c.
 * keep: the judgement's keep_part; extra: no_fd, retry_fresh, not_counted
 * and drop_url as J_NOFD, J_FRESH, J_UNCOUNTED, J_DROP. */
#define J_NOFD 1
#define J_FRESH 2
#define J_UNCOUNTED 4
#define J_DROP 8

struct judge_case {
	enum fm_stop stop;
	CURLcode rc;
	long http;
	int local_err;
	bool resume;
	enum fm_verdict want;
	bool keep;
	int extra;
	const char *what;
};

#define V(x) FM_VERDICT_##x
#define S(x) FM_STOP_##x

static const struct judge_case judge_cases[] = {
	/* No stop of ours: libcurl and HTTP decide. */
	{S(NONE), CURLE_OK, 200, 0, false, V(OK), false, 0, "200"},
	{S(NONE), CURLE_OK, 200, 0, true, V(OK), false, 0, "200 under -c"},
	{S(NONE), CURLE_OK, 503, 0, true, V(RETRY), true, 0, "503 -c"},
	{S(NONE), CURLE_OK, 404, 0, true, V(FAIL), true, J_DROP, "404 -c"},
	{S(NONE), CURLE_OK, 404, 0, false, V(FAIL), false, J_DROP, "404"},
	{S(NONE), CURLE_OK, 403, 0, false, V(FAIL), false, J_DROP, "403"},
	{S(NONE), CURLE_PEER_FAILED_VERIFICATION, 0, 0, false, V(FAIL), false,
	 J_DROP, "TLS verification"},
	{S(NONE), CURLE_UNSUPPORTED_PROTOCOL, 302, 0, false, V(FAIL), false,
	 J_DROP, "redirect to ftp://"},
	{S(NONE), CURLE_TOO_MANY_REDIRECTS, 302, 0, false, V(FAIL), false,
	 J_DROP, "too many redirects"},
	{S(NONE), CURLE_FILESIZE_EXCEEDED, 200, 0, false, V(FAIL), false,
	 J_DROP, "--max-filesize by Content-Length"},
	{S(NONE), CURLE_PARTIAL_FILE, 200, 0, true, V(RETRY), true, 0,
	 "short body -c: the .part is resumed"},
	{S(NONE), CURLE_PARTIAL_FILE, 200, 0, false, V(RETRY), false, 0,
	 "short body"},
	{S(NONE), CURLE_RECV_ERROR, 0, 0, true, V(RETRY), true, J_FRESH,
	 "reset on a reused connection"},
	{S(NONE), CURLE_COULDNT_CONNECT, 0, 0, false, V(FAIL), false, J_NOFD,
	 "socket(): EMFILE"},
	{S(NONE), CURLE_WRITE_ERROR, 200, -ENOSPC, true, V(FAIL), false, 0,
	 "disk full -c: the .part goes"},
	{S(NONE), CURLE_WRITE_ERROR, 200, -EMFILE, false, V(FAIL), false,
	 J_NOFD, "open(): EMFILE"},
	/* Our own stops that decide themselves. */
	{S(CONTENT_MISMATCH), CURLE_OK, 200, 0, true, V(FAIL), false, J_DROP,
	 "sha256 mismatch -c"},
	{S(CONTENT_MISMATCH), CURLE_OK, 200, 0, false, V(FAIL), false, J_DROP,
	 "sha256 mismatch"},
	{S(CONTENT_MISMATCH), CURLE_OK, 200, -EIO, true, V(FAIL), false, 0,
	 "sha256 mismatch, local error"},
	{S(RESUME_MISMATCH), CURLE_WRITE_ERROR, 206, 0, true, V(RETRY), false,
	 0, "206 at another range"},
	{S(RESUME_MISMATCH), CURLE_OK, 416, 0, true, V(RETRY), false, 0,
	 "416, .part does not match"},
	{S(RESUME_MISMATCH), CURLE_WRITE_ERROR, 206, -EIO, true, V(FAIL),
	 false, 0, "206 at another range, local error"},
	{S(NAME_TAKEN), CURLE_WRITE_ERROR, 200, 0, true, V(FAIL), false, 0,
	 "server-given name taken -c"},
	{S(NAME_TAKEN), CURLE_WRITE_ERROR, 200, 0, false, V(FAIL), false, 0,
	 "server-given name taken"},
	{S(TOO_BIG), CURLE_WRITE_ERROR, 200, 0, true, V(FAIL), false, J_DROP,
	 "--max-filesize -c"},
	{S(TOO_BIG), CURLE_WRITE_ERROR, 200, -ENOSPC, false, V(FAIL), false, 0,
	 "--max-filesize, local error"},
	{S(SERVER_NAME_EXISTS), CURLE_WRITE_ERROR, 200, 0, true, V(SKIP),
	 false, 0, "-n: server-given name exists"},
	{S(SERVER_NAME_EXISTS), CURLE_WRITE_ERROR, 200, -ENOMEM, false,
	 V(SKIP), false, 0, "-n: server name exists, local error"},
	{S(EXISTS), CURLE_OK, 0, 0, false, V(SKIP), false, J_UNCOUNTED,
	 "-n: NAME exists, no request"},
	{S(EXISTS), CURLE_OK, 0, 0, true, V(SKIP), false, J_UNCOUNTED,
	 "-n -c: NAME exists"},
	/* Our own stops given as a libcurl code. */
	{S(DEADLINE), CURLE_OPERATION_TIMEDOUT, 200, 0, true, V(RETRY), true,
	 0, "-t over -c: the .part stays"},
	{S(DEADLINE), CURLE_OPERATION_TIMEDOUT, 0, 0, false, V(RETRY), false,
	 0, "-t over"},
	{S(DEADLINE), CURLE_OPERATION_TIMEDOUT, 200, -EIO, true, V(FAIL),
	 false, 0, "-t over, local error"},
	{S(STALLED), CURLE_OPERATION_TIMEDOUT, 200, 0, true, V(RETRY), true, 0,
	 "stalled -c: the .part stays"},
	{S(STALLED), CURLE_OPERATION_TIMEDOUT, 0, 0, false, V(RETRY), false,
	 0, "stalled"},
	{S(ABORTED), CURLE_ABORTED_BY_CALLBACK, 200, 0, true, V(FAIL), true, 0,
	 "aborted -c: the .part stays"},
	{S(ABORTED), CURLE_ABORTED_BY_CALLBACK, 0, 0, false, V(FAIL), false, 0,
	 "aborted"},
	{S(ABORTED), CURLE_ABORTED_BY_CALLBACK, 200, -EIO, true, V(FAIL), false,
	 0, "aborted, local error"},
};

static void judge_table(void **state)
{
	bool seen[FM_STOP_COUNT] = {false};

	(void)state;
	for (size_t i = 0; i < sizeof(judge_cases) / sizeof(judge_cases[0]);
	     i++) {
		const struct judge_case *c = &judge_cases[i];
		struct fm_attempt_facts f = {
			.rc = c->rc,
			.http_status = c->http,
			.local_err = c->local_err,
			.sock_err = c->extra & J_NOFD ? -EMFILE : 0,
			.stop = c->stop,
			.resume = c->resume,
			.reused = true,
		};
		struct fm_judgement j = fm_judge(&f);
		int extra = (j.no_fd ? J_NOFD : 0) |
			    (j.retry_fresh ? J_FRESH : 0) |
			    (j.not_counted ? J_UNCOUNTED : 0) |
			    (j.drop_url ? J_DROP : 0);

		seen[c->stop] = true;
		if (j.verdict != c->want || j.keep_part != c->keep ||
		    extra != c->extra)
			fail_msg("%s: want %d keep %d extra %d, got %d keep %d "
				 "extra %d",
				 c->what, c->want, c->keep, c->extra, j.verdict,
				 j.keep_part, extra);
	}
	for (int s = 0; s < FM_STOP_COUNT; s++)
		if (!seen[s])
			fail_msg("stop reason %d has no row", s);
}

/* What the judgement adds to fm_classify(): -N, a failed commit, a fresh
 * retry that is already fresh. */
static void judge_special_facts(void **state)
{
	struct fm_attempt_facts f = {.rc = CURLE_OK, .http_status = 304,
				     .not_modified = true};
	struct fm_judgement j;

	(void)state;
	assert_int_equal(fm_judge(&f).verdict, FM_VERDICT_UNCHANGED);
	f.rc = CURLE_OPERATION_TIMEDOUT; /* 304 only counts when complete */
	assert_int_equal(fm_judge(&f).verdict, FM_VERDICT_RETRY);
	f = (struct fm_attempt_facts){.rc = CURLE_OK, .http_status = 200,
				      .commit_failed = true, .resume = true};
	j = fm_judge(&f);
	assert_int_equal(j.verdict, FM_VERDICT_FAIL);
	assert_true(j.keep_part);
	assert_false(j.drop_url); /* the URL delivered: the disk failed */
	f = (struct fm_attempt_facts){.rc = CURLE_RECV_ERROR, .reused = true,
				      .fresh = true};
	j = fm_judge(&f);
	assert_int_equal(j.verdict, FM_VERDICT_RETRY);
	assert_false(j.retry_fresh);
	f = (struct fm_attempt_facts){
		.rc = CURLE_COULDNT_RESOLVE_HOST,
		.curl_msg = "getaddrinfo() thread failed to start"};
	j = fm_judge(&f);
	assert_int_equal(j.verdict, FM_VERDICT_FAIL);
	assert_true(j.no_fd);
}

/* --retry-on lists (fm_retry_on_parse()): each good list and the statuses
 * it must hold and must not; each bad one and what its reason names. */
struct retry_on_case {
	const char *list;
	int rc;
	const char *in;      /* statuses the set holds, space-separated */
	const char *out;     /* statuses it does not */
	const char *why;     /* substring of the reason when rc is -1 */
};

static const struct retry_on_case retry_on_cases[] = {
	{"404", 0, "404", "403 405 400 500 599", NULL},
	{"403,404", 0, "403 404", "402 405 500", NULL},
	{"52x", 0, "520 521 525 529", "519 530 503 500", NULL},
	{"5xx", 0, "500 501 505 599", "499 404", NULL},
	{"4xx", 0, "400 404 451 499", "500 399 599", NULL},
	{"40X", 0, "400 403 409", "410 500", NULL},
	{"403, 52x ,410", 0, "403 520 529 410", "404 530", NULL},
	{"599,400", 0, "599 400", "401 598", NULL},
	{"", -1, "", "", "empty"},
	{"403,", -1, "", "", "empty item"},
	{",403", -1, "", "", "empty item"},
	{"403,,404", -1, "", "", "empty item"},
	{"abc", -1, "", "", "'abc'"},
	{"99", -1, "", "", "'99'"},
	{"6xx", -1, "", "", "'6xx'"},
	{"5xxx", -1, "", "", "'5xxx'"},
	{"5x2", -1, "", "", "'5x2'"},
	{"xxx", -1, "", "", "'xxx'"},
	{"200", -1, "", "", "400 to 599"},
	{"302", -1, "", "", "'302'"},
	{"3xx", -1, "", "", "'3xx'"},
	{"600", -1, "", "", "'600'"},
	{"4040", -1, "", "", "'4040'"},
	{"-404", -1, "", "", "'-404'"},
	{"404,x", -1, "", "", "'x'"},
	{"+404", -1, "", "", "'+404'"},
};

/* Checks that each status of the space-separated list is (in) or is not
 * in set. */
static void check_statuses(const char *what, const struct fm_retry_on *set,
			   const char *list, bool in)
{
	for (const char *p = list; *p;) {
		char *end;
		long st = strtol(p, &end, 10);

		if (end == p)
			break;
		if (fm_retry_on_has(set, st) != in)
			fail_msg("'%s': %ld should %sbe in the set", what, st,
				 in ? "" : "not ");
		p = end;
	}
}

static void retry_on_parse_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(retry_on_cases) / sizeof(retry_on_cases[0]);
	     i++) {
		const struct retry_on_case *c = &retry_on_cases[i];
		struct fm_retry_on set = {0};
		char why[FM_WHY_MAX] = "";
		int rc = fm_retry_on_parse(&set, c->list, why, sizeof(why));

		if (rc != c->rc)
			fail_msg("'%s': rc %d, want %d (%s)", c->list, rc,
				 c->rc, why);
		if (c->why && !strstr(why, c->why))
			fail_msg("'%s': reason \"%s\" should name \"%s\"",
				 c->list, why, c->why);
		if (!c->why && why[0])
			fail_msg("'%s': a reason on success: %s", c->list, why);
		check_statuses(c->list, &set, c->in, true);
		check_statuses(c->list, &set, c->out, false);
	}
}

/* Lists add up (--retry-on given twice), an empty set holds nothing, no
 * set (NULL) holds nothing, and nothing out of 400..599 is ever held. */
static void retry_on_union_and_bounds(void **state)
{
	struct fm_retry_on set = {0};
	char why[FM_WHY_MAX];

	(void)state;
	for (long st = 0; st < 1000; st++)
		assert_false(fm_retry_on_has(&set, st));
	assert_false(fm_retry_on_has(NULL, 404));
	assert_int_equal(fm_retry_on_parse(&set, "403", why, sizeof(why)), 0);
	assert_int_equal(fm_retry_on_parse(&set, "52x", why, sizeof(why)), 0);
	assert_true(fm_retry_on_has(&set, 403));
	assert_true(fm_retry_on_has(&set, 522));
	assert_false(fm_retry_on_has(&set, 404));
	assert_int_equal(fm_retry_on_parse(&set, "4xx,5xx", why, sizeof(why)),
			 0);
	for (long st = -1; st < 1100; st++)
		assert_int_equal(fm_retry_on_has(&set, st),
				 st >= 400 && st <= 599);
	/* a bad list leaves what was there */
	assert_int_equal(fm_retry_on_parse(&set, "6xx", why, sizeof(why)), -1);
	assert_true(fm_retry_on_has(&set, 403));
}

/* fm_judge() with a --retry-on set: a status in it is retried (and so
 * not the URL's final failure); a status not in it, a success, a
 * connection failure, a local error and our own stops are judged as
 * without it. */
static void judge_retry_on(void **state)
{
	struct fm_retry_on set = {0};
	char why[FM_WHY_MAX];
	struct fm_attempt_facts f = {.rc = CURLE_OK, .http_status = 404};
	struct fm_judgement j;

	(void)state;
	assert_int_equal(fm_retry_on_parse(&set, "404,52x", why, sizeof(why)),
			 0);
	j = fm_judge(&f);
	assert_int_equal(j.verdict, FM_VERDICT_FAIL);
	assert_true(j.drop_url);
	f.retry_on = &set;
	j = fm_judge(&f);
	assert_int_equal(j.verdict, FM_VERDICT_RETRY);
	assert_false(j.drop_url);
	f.http_status = 522;
	assert_int_equal(fm_judge(&f).verdict, FM_VERDICT_RETRY);
	f.http_status = 403;
	j = fm_judge(&f);
	assert_int_equal(j.verdict, FM_VERDICT_FAIL);
	assert_true(j.drop_url);
	f.http_status = 200;
	assert_int_equal(fm_judge(&f).verdict, FM_VERDICT_OK);
	f.http_status = 503; /* a default stays one */
	assert_int_equal(fm_judge(&f).verdict, FM_VERDICT_RETRY);
	f = (struct fm_attempt_facts){.rc = CURLE_PEER_FAILED_VERIFICATION,
				      .retry_on = &set};
	assert_int_equal(fm_judge(&f).verdict, FM_VERDICT_FAIL);
	f = (struct fm_attempt_facts){.rc = CURLE_OK, .http_status = 404,
				      .local_err = -ENOSPC, .retry_on = &set};
	assert_int_equal(fm_judge(&f).verdict, FM_VERDICT_FAIL);
	f = (struct fm_attempt_facts){.rc = CURLE_OK, .http_status = 404,
				      .stop = FM_STOP_CONTENT_MISMATCH,
				      .retry_on = &set};
	assert_int_equal(fm_judge(&f).verdict, FM_VERDICT_FAIL);
	f = (struct fm_attempt_facts){.rc = CURLE_OK, .http_status = 404,
				      .stop = FM_STOP_TOO_BIG,
				      .retry_on = &set};
	assert_int_equal(fm_judge(&f).verdict, FM_VERDICT_FAIL);
	/* -c: a retried status keeps the .part, as a 503 does */
	f = (struct fm_attempt_facts){.rc = CURLE_OK, .http_status = 404,
				      .resume = true, .retry_on = &set};
	assert_true(fm_judge(&f).keep_part);
}

/* fm_next_url(): where the attempt after a failed one goes. dropped: bit
 * i set for URL i dropped before; fail: how the attempt failed. */
enum { TRANSIENT, URL_GONE, ENTRY_GONE };

struct next_case {
	unsigned n, dropped, cur;
	int fail;
	unsigned retried, retries;
	enum fm_next_step want;
	unsigned want_url;
	const char *what;
};

#define N(x) FM_NEXT_##x

static const struct next_case next_cases[] = {
	/* One URL: as without mirrors. */
	{1, 0, 0, TRANSIENT, 0, 3, N(RETRY), 0, "one URL, 503"},
	{1, 0, 0, TRANSIENT, 2, 3, N(RETRY), 0, "one URL, last retry"},
	{1, 0, 0, TRANSIENT, 3, 3, N(NONE), 0, "one URL, retries spent"},
	{1, 0, 0, TRANSIENT, 0, 0, N(NONE), 0, "one URL, -r 0"},
	{1, 0, 0, URL_GONE, 0, 3, N(NONE), 0, "one URL, 404"},
	{1, 0, 0, ENTRY_GONE, 0, 3, N(NONE), 0, "one URL, disk full"},
	/* A URL that failed for good: the next live one at once. */
	{3, 0, 0, URL_GONE, 0, 3, N(NOW), 1, "404 on the first"},
	{3, 1, 1, URL_GONE, 0, 3, N(NOW), 2, "404 on the second"},
	{3, 3, 2, URL_GONE, 0, 3, N(NONE), 0, "404 on the last live"},
	{3, 0, 2, URL_GONE, 0, 3, N(NOW), 0, "404 on the last, round again"},
	{3, 1, 2, URL_GONE, 0, 3, N(NOW), 1, "round again past a dropped"},
	{3, 2, 0, URL_GONE, 0, 3, N(NOW), 2, "past a dropped one"},
	{3, 0, 0, URL_GONE, 3, 3, N(NOW), 1, "no retry needed for it"},
	{3, 0, 0, URL_GONE, 0, 0, N(NOW), 1, "-r 0: still the next URL"},
	/* A transient failure: the next live URL after the backoff. */
	{3, 0, 0, TRANSIENT, 0, 3, N(RETRY), 1, "503 on the first"},
	{3, 0, 2, TRANSIENT, 1, 3, N(RETRY), 0, "503 on the last"},
	{3, 2, 0, TRANSIENT, 0, 3, N(RETRY), 2, "503, the second dropped"},
	{3, 5, 1, TRANSIENT, 0, 3, N(RETRY), 1, "503 on the only live one"},
	{3, 0, 0, TRANSIENT, 3, 3, N(NONE), 0, "503, retries spent"},
	{3, 0, 0, TRANSIENT, 0, 0, N(NONE), 0, "503 under -r 0"},
	/* The entry's own failure: no URL would do better. */
	{3, 0, 0, ENTRY_GONE, 0, 3, N(NONE), 0, "disk full"},
	{3, 0, 1, ENTRY_GONE, 0, 3, N(NONE), 0, "interrupted"},
	/* Wider than one word of bits. */
	{70, 0, 69, URL_GONE, 0, 3, N(NOW), 0, "70 URLs, round again"},
};

static void next_url_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(next_cases) / sizeof(next_cases[0]);
	     i++) {
		const struct next_case *c = &next_cases[i];
		bool dropped[70] = {false};
		struct fm_next got;

		for (unsigned k = 0; k < c->n && k < 32; k++)
			dropped[k] = c->dropped >> k & 1u;
		got = fm_next_url(dropped, c->n, c->cur, c->fail == TRANSIENT,
				  c->fail == URL_GONE, c->retried, c->retries);
		if (got.step != c->want ||
		    (got.step != FM_NEXT_NONE && got.url != c->want_url))
			fail_msg("%s: want step %d url %u, got %d url %u",
				 c->what, c->want, c->want_url, got.step,
				 got.url);
	}
}

/* Without mirrors nothing is dropped and no array is needed. */
static void next_url_no_array(void **state)
{
	struct fm_next got;

	(void)state;
	got = fm_next_url(NULL, 1, 0, true, false, 0, 1);
	assert_int_equal(got.step, FM_NEXT_RETRY);
	assert_int_equal(got.url, 0);
	got = fm_next_url(NULL, 1, 0, false, true, 0, 1);
	assert_int_equal(got.step, FM_NEXT_NONE);
}

/* Three mirrors answering 503, -r 5: the attempts go round them in order,
 * six in all, then the entry fails. */
static void next_url_goes_round(void **state)
{
	static const unsigned want[] = {1, 2, 0, 1, 2};
	bool dropped[3] = {false};
	unsigned cur = 0, retried = 0;

	(void)state;
	for (unsigned k = 0; k < 5; k++) {
		struct fm_next got = fm_next_url(dropped, 3, cur, true, false,
						 retried, 5);

		assert_int_equal(got.step, FM_NEXT_RETRY);
		assert_int_equal(got.url, want[k]);
		cur = got.url;
		retried++;
	}
	assert_int_equal(fm_next_url(dropped, 3, cur, true, false, retried, 5)
				 .step,
			 FM_NEXT_NONE);
}

static void backoff_bounds_k1_to_10(void **state)
{
	const double base = 1.0, max = 30.0;

	for (unsigned k = 1; k <= 10; k++) {
		double full = base;

		for (unsigned i = 1; i < k; i++)
			full *= 2;
		if (full > max)
			full = max;
		/* u = 0 gives the floor, u = 1 the ceiling, u = .5 between */
		assert_float_equal(fm_backoff(k, base, max, 0.0), full / 2,
				   1e-9);
		assert_float_equal(fm_backoff(k, base, max, 1.0), full, 1e-9);
		double mid = fm_backoff(k, base, max, 0.5);

		assert_true(mid > full / 2 && mid < full);
	}
}

static void backoff_grows_then_caps(void **state)
{
	double prev = 0;

	for (unsigned k = 1; k <= 6; k++) {
		double d = fm_backoff(k, 0.2, 100.0, 1.0);

		assert_true(d > prev);
		prev = d;
	}
	assert_float_equal(fm_backoff(7, 1.0, 30.0, 1.0), 30.0, 1e-9);
	assert_float_equal(fm_backoff(1000, 1.0, 30.0, 1.0), 30.0, 1e-9);
	assert_float_equal(fm_backoff(UINT32_MAX, 1.0, 30.0, 0.0), 15.0, 1e-9);
}

static void backoff_clamps_random(void **state)
{
	assert_float_equal(fm_backoff(1, 2.0, 30.0, -3.0), 1.0, 1e-9);
	assert_float_equal(fm_backoff(1, 2.0, 30.0, 7.0), 2.0, 1e-9);
}

static void retry_after_raises_on_429_503(void **state)
{
	/* backoff 0.1 s at most, server asks 2 s: exactly 2 s */
	assert_float_equal(fm_retry_wait(1, 0.1, 30, 0.0, 429, 2.0), 2.0,
			   1e-9);
	assert_float_equal(fm_retry_wait(1, 0.1, 30, 1.0, 503, 2.0), 2.0,
			   1e-9);
	/* capped at max */
	assert_float_equal(fm_retry_wait(1, 0.1, 5, 0.0, 503, 3600.0), 5.0,
			   1e-9);
	/* Too large to represent: more than any cap. */
	assert_float_equal(fm_retry_wait(1, 0.05, 1, 0.0, 503, HUGE_VAL), 1.0,
			   1e-9);
	/* never lowers the backoff */
	assert_float_equal(fm_retry_wait(3, 4.0, 30, 1.0, 503, 1.0), 16.0,
			   1e-9);
}

/* A 429 or 503 that says when pauses its host that long, capped at
 * --backoff-max; anything else does not. */
static void host_pause(void **state)
{
	(void)state;
	assert_float_equal(fm_host_pause(429, 2.0, 30), 2.0, 1e-9);
	assert_float_equal(fm_host_pause(503, 2.5, 30), 2.5, 1e-9);
	assert_float_equal(fm_host_pause(503, 3600.0, 30), 30.0, 1e-9);
	assert_float_equal(fm_host_pause(429, HUGE_VAL, 5), 5.0, 1e-9);
	assert_float_equal(fm_host_pause(429, -1.0, 30), 0.0, 1e-9);
	assert_float_equal(fm_host_pause(429, 0.0, 30), 0.0, 1e-9);
	assert_float_equal(fm_host_pause(500, 9.0, 30), 0.0, 1e-9);
	assert_float_equal(fm_host_pause(200, 9.0, 30), 0.0, 1e-9);
	assert_float_equal(fm_host_pause(429, NAN, 30), 0.0, 1e-9);
}

static void retry_after_ignored_elsewhere(void **state)
{
	assert_float_equal(fm_retry_wait(1, 0.1, 30, 1.0, 500, 9.0), 0.1,
			   1e-9);
	assert_float_equal(fm_retry_wait(1, 0.1, 30, 1.0, 0, 9.0), 0.1, 1e-9);
	/* absent */
	assert_float_equal(fm_retry_wait(1, 0.1, 30, 1.0, 429, -1.0), 0.1,
			   1e-9);
}

static void shard_fnv1a_vectors(void **state)
{
	/* FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c; of "foobar"
	 * 0x85944171f73967e8 (published test vectors). */
	assert_true(fm_shard_owns("a", (unsigned)(0xaf63dc4c8601ec8cULL % 7) + 1,
				  7));
	assert_false(fm_shard_owns("a", (unsigned)(0xaf63dc4c8601ec8cULL % 7) + 2,
				   7));
	assert_true(fm_shard_owns("foobar",
				  (unsigned)(0x85944171f73967e8ULL % 1000) + 1,
				  1000));
	/* no URL: shard 1 only */
	assert_true(fm_shard_owns(NULL, 1, 5));
	assert_false(fm_shard_owns(NULL, 2, 5));
	/* no sharding */
	assert_true(fm_shard_owns("x", 0, 0));
}

static void shards_partition_a_list(void **state)
{
	char url[64];

	for (int i = 0; i < 1000; i++) {
		int owners = 0;

		snprintf(url, sizeof(url), "https://h/%d", i);
		for (unsigned k = 1; k <= 3; k++)
			owners += fm_shard_owns(url, k, 3);
		assert_int_equal(owners, 1);
	}
}

/* 2 MiB shared out between 8 KiB and 512 KiB a transfer. */
static void recv_buffer_table(void **state)
{
	static const struct {
		unsigned jobs;
		long size;
	} t[] = {
		{0, 512L << 10},   {1, 512L << 10}, {4, 512L << 10},
		{5, 419430},       {16, 128L << 10}, {50, 41943},
		{200, 10485},      {256, 8192},     {257, 8192},
		{1000, 8192},      {100000, 8192},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		long got = fm_recv_buffer(t[i].jobs);

		if (got != t[i].size)
			fail_msg("-j %u: %ld, want %ld", t[i].jobs, got,
				 t[i].size);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(classify_table),
		cmocka_unit_test(retry_fresh_table),
		cmocka_unit_test(judge_table),
		cmocka_unit_test(judge_special_facts),
		cmocka_unit_test(retry_on_parse_table),
		cmocka_unit_test(retry_on_union_and_bounds),
		cmocka_unit_test(judge_retry_on),
		cmocka_unit_test(next_url_table),
		cmocka_unit_test(next_url_no_array),
		cmocka_unit_test(next_url_goes_round),
		cmocka_unit_test(backoff_bounds_k1_to_10),
		cmocka_unit_test(backoff_grows_then_caps),
		cmocka_unit_test(backoff_clamps_random),
		cmocka_unit_test(retry_after_raises_on_429_503),
		cmocka_unit_test(retry_after_ignored_elsewhere),
		cmocka_unit_test(host_pause),
		cmocka_unit_test(shard_fnv1a_vectors),
		cmocka_unit_test(shards_partition_a_list),
		cmocka_unit_test(recv_buffer_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
