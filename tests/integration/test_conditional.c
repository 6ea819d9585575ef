/* Integration: -N / --timestamping and -n / --no-clobber (spec 4, man -N
 * and -n): a second -N run over the same list asks with If-Modified-Since
 * (from the file's mtime) and If-None-Match (the ETag kept in user.etag),
 * gets 304s and leaves every file as it was; a changed ETag gets the new
 * body; -n skips existing files without a request; every written file
 * takes its mtime from Last-Modified. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define NCOND 20
#define NSKIP 6

/* Requests in the server's /_log so far. */
static long log_size(const struct it_fixture *f)
{
	cJSON *log = it_server_log(&f->srv);
	long n;

	assert_non_null(log);
	n = cJSON_GetArraySize(log);
	cJSON_Delete(log);
	return n;
}

/* The HTTP-date for t (IMF-fixdate, as libcurl writes it). */
static void http_date(time_t t, char *buf, size_t cap)
{
	static const char *const wd[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
					   "Fri", "Sat" };
	static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May",
					   "Jun", "Jul", "Aug", "Sep", "Oct",
					   "Nov", "Dec" };
	struct tm tm;

	assert_non_null(gmtime_r(&t, &tm));
	snprintf(buf, cap, "%s, %02d %s %04d %02d:%02d:%02d GMT",
		 wd[tm.tm_wday], tm.tm_mday, mon[tm.tm_mon], tm.tm_year + 1900,
		 tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* 1 when the file system under dir keeps user extended attributes. */
static int have_xattrs(const char *dir)
{
	char *p = it_path("%s/.xattr-probe", dir);
	int ok;

	assert_int_equal(it_write_file(p, "", 0), 0);
	ok = setxattr(p, "user.probe", "1", 1, 0) == 0;
	if (!ok)
		fprintf(stderr, "# %s: no user xattrs (%s): If-None-Match "
			"and user.etag are not checked\n", dir,
			strerror(errno));
	unlink(p);
	free(p);
	return ok;
}

struct cond_file {
	char pq[256];     /* path and query */
	char upath[64];   /* /data/cN.bin */
	char rel[64];     /* dl/cN.bin */
	char etag[32];    /* "eN", quoted */
	char lm[64];      /* HTTP-date */
	time_t lm_t;
	size_t size;
	char *url;
	char *file;
	struct stat st;
};

/* Fails with the run's output when a /_log entry in log[from..] for pq
 * is not a conditional request with the file's validators. */
static void check_conditional_requests(const struct it_fixture *f,
				       const struct it_result *r,
				       const cJSON *log, int from,
				       const struct cond_file *c, int n,
				       int xattrs)
{
	for (int i = from; i < cJSON_GetArraySize(log); i++) {
		const cJSON *e = cJSON_GetArrayItem(log, i);
		const char *p = it_json_str(e, "path");
		const char *ims = it_log_header(e, "if-modified-since");
		const char *inm = it_log_header(e, "if-none-match");
		const struct cond_file *cf = NULL;

		for (int k = 0; k < n; k++)
			if (p && strcmp(p, c[k].pq) == 0)
				cf = &c[k];
		if (!cf) {
			it_dump_with_log(r, &f->srv);
			fail_msg("unexpected request %s", p ? p : "?");
		}
		if (!ims || strcmp(ims, cf->lm) != 0) {
			it_dump_with_log(r, &f->srv);
			fail_msg("%s: If-Modified-Since: want \"%s\", got %s",
				 cf->pq, cf->lm, ims ? ims : "(absent)");
		}
		if (xattrs && (!inm || strcmp(inm, cf->etag) != 0)) {
			it_dump_with_log(r, &f->srv);
			fail_msg("%s: If-None-Match: want %s, got %s", cf->pq,
				 cf->etag, inm ? inm : "(absent)");
		}
		if (!xattrs && inm) {
			it_dump_with_log(r, &f->srv);
			fail_msg("%s: If-None-Match %s without user.etag",
				 cf->pq, inm);
		}
		if (it_json_num(e, "status", NULL) != 304) {
			it_dump_with_log(r, &f->srv);
			fail_msg("%s: server answered %g, want 304", cf->pq,
				 it_json_num(e, "status", NULL));
		}
	}
}

static void setup_cond_files(const struct it_fixture *f, struct cond_file *c,
			     int n, const char *tag)
{
	/* 2020-01-01T00:00:00Z, then a day and a bit apart. */
	const time_t base = 1577836800;

	for (int i = 0; i < n; i++) {
		char *lm_q;

		c[i].lm_t = base + (time_t)i * 86461;
		http_date(c[i].lm_t, c[i].lm, sizeof(c[i].lm));
		c[i].size = 100 + (size_t)i * 997;
		snprintf(c[i].upath, sizeof(c[i].upath), "/data/%s%d.bin", tag,
			 i);
		snprintf(c[i].rel, sizeof(c[i].rel), "dl/%s%d.bin", tag, i);
		snprintf(c[i].etag, sizeof(c[i].etag), "\"e%d\"", i);
		lm_q = it_qenc(c[i].lm);
		snprintf(c[i].pq, sizeof(c[i].pq), "%s?size=%zu&etag=e%d&lm=%s",
			 c[i].upath, c[i].size, i, lm_q);
		free(lm_q);
		c[i].url = it_url(&f->srv, c[i].pq);
		c[i].file = it_path("%s/%s", f->tmp, c[i].rel);
	}
}

static void free_cond_files(struct cond_file *c, int n)
{
	for (int i = 0; i < n; i++) {
		free(c[i].url);
		free(c[i].file);
	}
}

static int same_stat(const struct stat *a, const struct stat *b)
{
	return a->st_ino == b->st_ino && a->st_dev == b->st_dev &&
	       a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
	       a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
	       a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
	       a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* (a) -N twice over 20 URLs with ETag and Last-Modified: 20 ok, then 20
 * unchanged (304) with both validators sent, the files untouched. */
static void test_timestamping_twice(void **state)
{
	struct it_fixture *f = *state;
	struct cond_file c[NCOND];
	struct it_buf list = { 0 };
	char *lp = it_path("%s/list.txt", f->tmp);
	const char *args[] = { "-N", "-o", "dl", "list.txt", NULL };
	struct it_result r1, r2;
	cJSON *res, *log, *tree;
	int xattrs = have_xattrs(f->tmp);
	int n1, n2;

	setup_cond_files(f, c, NCOND, "c");
	for (int i = 0; i < NCOND; i++)
		it_buf_printf(&list, "%s\n", c[i].url);
	assert_int_equal(it_write_file(lp, list.data, list.len), 0);

	/* Run 1: nothing on disk, so no condition is sent. */
	res = it_run_json_plain(f, args, 0, NCOND, &r1);
	log = it_server_log(&f->srv);
	assert_non_null(log);
	n1 = cJSON_GetArraySize(log);
	fprintf(stderr, "# -N run 1: %d requests at the server\n", n1);
	assert_int_equal(n1, NCOND);
	for (int i = 0; i < NCOND; i++) {
		const cJSON *e = it_json_find_url(res, c[i].url);
		const cJSON *req = cJSON_GetArrayItem(log, i);

		assert_non_null(e);
		IT_ASSERT_JSTR(e, "status", "ok");
		IT_ASSERT_JNUM(e, "http_status", 200);
		IT_ASSERT_JSTR(e, "path", c[i].rel);
		IT_ASSERT_JNUM(e, "bytes", c[i].size);
		assert_null(it_log_header(req, "if-modified-since"));
		assert_null(it_log_header(req, "if-none-match"));
		assert_true(it_file_matches_body(c[i].file, c[i].upath,
						 c[i].size));
		assert_int_equal(stat(c[i].file, &c[i].st), 0);
		/* mtime from Last-Modified. */
		if (c[i].st.st_mtime != c[i].lm_t)
			fail_msg("%s: mtime %lld, want %lld (%s)", c[i].rel,
				 (long long)c[i].st.st_mtime,
				 (long long)c[i].lm_t, c[i].lm);
		if (xattrs) {
			char *et = it_file_etag(c[i].file);

			if (!et || strcmp(et, c[i].etag) != 0)
				fail_msg("%s: user.etag %s, want %s",
					 c[i].rel, et ? et : "(absent)",
					 c[i].etag);
			free(et);
		}
	}
	cJSON_Delete(log);
	cJSON_Delete(res);

	/* Run 2: every request conditional, every answer 304, every entry
	 * unchanged, no file touched. */
	res = it_run_json_plain(f, args, 0, NCOND, &r2);
	log = it_server_log(&f->srv);
	assert_non_null(log);
	n2 = cJSON_GetArraySize(log) - n1;
	fprintf(stderr, "# -N run 2: %d requests at the server\n", n2);
	assert_int_equal(n2, NCOND);
	check_conditional_requests(f, &r2, log, n1, c, NCOND, xattrs);
	for (int i = 0; i < NCOND; i++) {
		const cJSON *e = it_json_find_url(res, c[i].url);
		struct stat st;

		assert_non_null(e);
		IT_ASSERT_JSTR(e, "status", "unchanged");
		IT_ASSERT_JNUM(e, "http_status", 304);
		IT_ASSERT_JSTR(e, "path", c[i].rel);
		IT_ASSERT_JNUM(e, "bytes", 0);
		IT_ASSERT_JNULL(e, "error");
		assert_int_equal(it_log_count(log, c[i].pq), 2);
		assert_int_equal(stat(c[i].file, &st), 0);
		if (!same_stat(&st, &c[i].st))
			fail_msg("%s was touched: inode %llu -> %llu, mtime "
				 "%lld.%09ld -> %lld.%09ld, ctime %lld -> "
				 "%lld", c[i].rel,
				 (unsigned long long)c[i].st.st_ino,
				 (unsigned long long)st.st_ino,
				 (long long)c[i].st.st_mtim.tv_sec,
				 c[i].st.st_mtim.tv_nsec,
				 (long long)st.st_mtim.tv_sec,
				 st.st_mtim.tv_nsec,
				 (long long)c[i].st.st_ctime,
				 (long long)st.st_ctime);
		assert_int_equal(st.st_mtime, c[i].lm_t);
		assert_true(it_file_matches_body(c[i].file, c[i].upath,
						 c[i].size));
	}
	{
		char *dl = it_path("%s/dl", f->tmp);

		tree = it_tree_list(dl);
		free(dl);
	}
	assert_non_null(tree);
	assert_int_equal(cJSON_GetArraySize(tree), NCOND);
	assert_int_equal(it_tree_count_suffix(tree, ".part"), 0);
	cJSON_Delete(tree);
	cJSON_Delete(log);
	cJSON_Delete(res);

	it_result_free(&r1);
	it_result_free(&r2);
	free_cond_files(c, NCOND);
	free(list.data);
	free(lp);
}

/* -N when the server's file changed (another ETag, a later
 * Last-Modified; same name, as the query is not part of it): the
 * condition fails, the new body is written with the new mtime and ETag. */
static void test_timestamping_newer_body(void **state)
{
	struct it_fixture *f = *state;
	const time_t t_old = 1577836800, t_new = 1609459200;
	char lm_old[64], lm_new[64];
	char *q_old, *q_new, *pq_old, *pq_new, *u_old, *u_new;
	char *file = it_path("%s/dl/chg.bin", f->tmp);
	struct it_result r1, r2;
	cJSON *res, *e, *log, *req;
	struct stat st;
	int xattrs = have_xattrs(f->tmp);

	http_date(t_old, lm_old, sizeof(lm_old));
	http_date(t_new, lm_new, sizeof(lm_new));
	q_old = it_qenc(lm_old);
	q_new = it_qenc(lm_new);
	pq_old = it_path("/data/chg.bin?size=3000&etag=old&lm=%s", q_old);
	pq_new = it_path("/data/chg.bin?size=5000&etag=new&lm=%s", q_new);
	u_old = it_url(&f->srv, pq_old);
	u_new = it_url(&f->srv, pq_new);

	{
		const char *args[] = { "-N", "-o", "dl", u_old, NULL };

		res = it_run_json_plain(f, args, 0, 1, &r1);
		IT_ASSERT_JSTR(cJSON_GetArrayItem(res, 0), "status", "ok");
		cJSON_Delete(res);
	}
	{
		const char *args[] = { "-N", "-o", "dl", u_new, NULL };

		res = it_run_json_plain(f, args, 0, 1, &r2);
	}
	e = cJSON_GetArrayItem(res, 0);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JNUM(e, "http_status", 200);
	IT_ASSERT_JNUM(e, "bytes", 5000);
	log = it_server_log(&f->srv);
	assert_non_null(log);
	assert_int_equal(it_log_count(log, pq_new), 1);
	req = cJSON_GetArrayItem(log, 1);
	assert_non_null(it_log_header(req, "if-modified-since"));
	assert_string_equal(it_log_header(req, "if-modified-since"), lm_old);
	if (xattrs) {
		char *et;

		assert_non_null(it_log_header(req, "if-none-match"));
		assert_string_equal(it_log_header(req, "if-none-match"),
				    "\"old\"");
		et = it_file_etag(file);
		assert_non_null(et);
		assert_string_equal(et, "\"new\"");
		free(et);
	}
	assert_true(it_file_matches_body(file, "/data/chg.bin", 5000));
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_mtime, t_new);

	cJSON_Delete(log);
	cJSON_Delete(res);
	it_result_free(&r1);
	it_result_free(&r2);
	free(q_old);
	free(q_new);
	free(pq_old);
	free(pq_new);
	free(u_old);
	free(u_new);
	free(file);
}

/* (b) -n twice: the second run makes no request at all and reports every
 * entry skipped with its path; a file changed locally stays as it is. */
static void test_no_clobber_twice(void **state)
{
	struct it_fixture *f = *state;
	struct it_buf list = { 0 };
	char *lp = it_path("%s/list.txt", f->tmp);
	char *urls[NSKIP], *files[NSKIP], *rels[NSKIP], *upaths[NSKIP];
	size_t sizes[NSKIP];
	const char *args[] = { "-n", "-o", "dl", "list.txt", NULL };
	struct it_result r1, r2;
	cJSON *res;
	char *content;
	size_t len = 0;
	long before, after;

	for (int i = 0; i < NSKIP; i++) {
		char *pq;

		sizes[i] = (size_t)i * 1500;
		upaths[i] = it_path("/data/n%d.bin", i);
		pq = it_path("%s?size=%zu", upaths[i], sizes[i]);
		urls[i] = it_url(&f->srv, pq);
		rels[i] = it_path("dl/n%d.bin", i);
		files[i] = it_path("%s/%s", f->tmp, rels[i]);
		it_buf_printf(&list, "%s\n", urls[i]);
		free(pq);
	}
	assert_int_equal(it_write_file(lp, list.data, list.len), 0);

	res = it_run_json_plain(f, args, 0, NSKIP, &r1);
	for (int i = 0; i < NSKIP; i++) {
		const cJSON *e = it_json_find_url(res, urls[i]);

		assert_non_null(e);
		IT_ASSERT_JSTR(e, "status", "ok");
		assert_true(it_file_matches_body(files[i], upaths[i],
						 sizes[i]));
	}
	cJSON_Delete(res);
	before = log_size(f);
	fprintf(stderr, "# -n run 1: %ld requests at the server\n", before);
	assert_int_equal(before, NSKIP);

	/* A local change that a download would undo. */
	assert_int_equal(it_write_file(files[1], "mine", 4), 0);

	res = it_run_json_plain(f, args, 0, NSKIP, &r2);
	after = log_size(f);
	fprintf(stderr, "# -n run 2: %ld requests at the server\n",
		after - before);
	if (after != before) {
		it_dump_with_log(&r2, &f->srv);
		fail_msg("-n run 2 made %ld requests, want 0", after - before);
	}
	for (int i = 0; i < NSKIP; i++) {
		const cJSON *e = it_json_find_url(res, urls[i]);

		assert_non_null(e);
		IT_ASSERT_JSTR(e, "status", "skipped");
		IT_ASSERT_JSTR(e, "path", rels[i]);
		IT_ASSERT_JNULL(e, "http_status");
		IT_ASSERT_JNUM(e, "bytes", 0);
		IT_ASSERT_JNULL(e, "error");
		/* skipped without a request: no attempt was made */
		IT_ASSERT_JNUM(e, "attempts", 0);
		if (i != 1)
			assert_true(it_file_matches_body(files[i], upaths[i],
							 sizes[i]));
	}
	content = it_read_file(files[1], &len);
	assert_non_null(content);
	assert_int_equal(len, 4);
	assert_memory_equal(content, "mine", 4);
	free(content);
	cJSON_Delete(res);

	it_result_free(&r1);
	it_result_free(&r2);
	for (int i = 0; i < NSKIP; i++) {
		free(urls[i]);
		free(files[i]);
		free(rels[i]);
		free(upaths[i]);
	}
	free(list.data);
	free(lp);
}

/* (c) Without -N, a written file still takes its mtime from
 * Last-Modified (and its ETag in user.etag); without Last-Modified its
 * mtime is the time of the download. */
static void test_mtime_from_last_modified(void **state)
{
	struct it_fixture *f = *state;
	const time_t t = 1234567890; /* Fri, 13 Feb 2009 23:31:30 GMT */
	char lm[64];
	char *q, *pq, *u1, *u2;
	char *f1 = it_path("%s/dl/lm.bin", f->tmp);
	char *f2 = it_path("%s/dl/nolm.bin", f->tmp);
	struct it_result r;
	cJSON *res, *e;
	struct stat st;
	time_t t0, t1;
	int xattrs = have_xattrs(f->tmp);

	http_date(t, lm, sizeof(lm));
	assert_string_equal(lm, "Fri, 13 Feb 2009 23:31:30 GMT");
	q = it_qenc(lm);
	pq = it_path("/data/lm.bin?size=777&etag=lmtag&lm=%s", q);
	u1 = it_url(&f->srv, pq);
	u2 = it_url(&f->srv, "/data/nolm.bin?size=555");
	{
		const char *args[] = { "-o", "dl", u1, u2, NULL };

		t0 = time(NULL);
		res = it_run_json_plain(f, args, 0, 2, &r);
		t1 = time(NULL);
	}
	e = it_json_find_url(res, u1);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	assert_true(it_file_matches_body(f1, "/data/lm.bin", 777));
	assert_int_equal(stat(f1, &st), 0);
	if (st.st_mtime != t)
		fail_msg("mtime %lld, want %lld (%s)", (long long)st.st_mtime,
			 (long long)t, lm);
	if (xattrs) {
		char *et = it_file_etag(f1);

		assert_non_null(et);
		assert_string_equal(et, "\"lmtag\"");
		free(et);
	}
	e = it_json_find_url(res, u2);
	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	assert_int_equal(stat(f2, &st), 0);
	if (st.st_mtime < t0 - 2 || st.st_mtime > t1 + 2)
		fail_msg("without Last-Modified, mtime %lld is not the time "
			 "of the download [%lld, %lld]",
			 (long long)st.st_mtime, (long long)t0, (long long)t1);

	/* The obsolete forms RFC 9110 still asks recipients to read. */
	{
		static const char *const forms[] = {
			"Friday, 13-Feb-09 23:31:30 GMT",
			"Fri Feb 13 23:31:30 2009",
		};

		for (int i = 0; i < 2; i++) {
			char *qo = it_qenc(forms[i]);
			char *po = it_path("/data/old%d.bin?size=10&lm=%s", i, qo);
			char *uo = it_url(&f->srv, po);
			char *fo = it_path("%s/dl/old%d.bin", f->tmp, i);
			const char *args[] = { "-o", "dl", uo, NULL };
			struct it_result ro;
			cJSON *rs = it_run_json_plain(f, args, 0, 1, &ro);

			assert_int_equal(stat(fo, &st), 0);
			if (st.st_mtime != t)
				fail_msg("mtime %lld, want %lld (%s)",
					 (long long)st.st_mtime, (long long)t,
					 forms[i]);
			cJSON_Delete(rs);
			it_result_free(&ro);
			free(qo);
			free(po);
			free(uo);
			free(fo);
		}
	}

	cJSON_Delete(res);
	it_result_free(&r);
	free(q);
	free(pq);
	free(u1);
	free(u2);
	free(f1);
	free(f2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_timestamping_twice,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_timestamping_newer_body,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_no_clobber_twice,
						it_fixture_setup,
						it_fixture_teardown),
		cmocka_unit_test_setup_teardown(test_mtime_from_last_modified,
						it_fixture_setup,
						it_fixture_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
