/* Integration: local errors (spec 4 and 5, man -r and -c): a destination
 * that cannot be written fails only its entry, with the OS's message, is
 * not retried (one request at the server), leaves no .part, and the other
 * entries of the same run succeed. Covered: a directory where the file
 * should go (EISDIR), a read-only file system (EROFS, a read-only tmpfs),
 * a full file system (ENOSPC, a 64 KiB tmpfs) and a directory the user
 * may not write to (EACCES, fetchmany run as uid/gid 65534).
 *
 * The mounts need root (CAP_SYS_ADMIN); without it those tests are
 * skipped with the reason. When it can, the test process moves into a
 * private mount namespace first, so that its mounts vanish with it even
 * if it crashes; teardown unmounts them (MNT_DETACH) in any case. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

#define NOBODY 65534
#define MAX_MOUNTS 4

/* 1 when this process has its own mount namespace. */
static int private_ns;

/* The base fixture plus the mounts to undo. */
struct le_fixture {
	struct it_fixture *f;
	char *mounts[MAX_MOUNTS];
	int nmounts;
};

static int le_setup(void **state)
{
	struct le_fixture *lf = calloc(1, sizeof(*lf));
	void *inner = NULL;

	if (!lf)
		return -1;
	if (it_fixture_setup(&inner) != 0) {
		free(lf);
		return -1;
	}
	lf->f = inner;
	*state = lf;
	return 0;
}

static int le_teardown(void **state)
{
	struct le_fixture *lf = *state;
	void *inner;

	if (!lf)
		return 0;
	for (int i = lf->nmounts; i-- > 0;) {
		if (umount2(lf->mounts[i], MNT_DETACH) != 0)
			fprintf(stderr, "# umount %s: %s\n", lf->mounts[i],
				strerror(errno));
		free(lf->mounts[i]);
	}
	inner = lf->f;
	free(lf);
	*state = NULL;
	return it_fixture_teardown(&inner);
}

/* Skips the current test with reason (already printed on stderr).
 * cmocka 1.1.5 reports a skipped test in TAP as "not ok N # SKIP", which
 * meson counts as a failure; under TAP output the test therefore returns
 * and passes, with a "# SKIP reason" comment in the TAP stream. The
 * caller returns after this. */
static void le_skip(const char *reason)
{
	const char *o = getenv("CMOCKA_MESSAGE_OUTPUT");

	fprintf(stderr, "# SKIP %s\n", reason);
	if (!o || strcasecmp(o, "TAP") != 0)
		skip();
	printf("# SKIP %s\n", reason);
	fflush(stdout);
}

/* Mounts a tmpfs at dir (created) with opts; the mount is recorded for
 * teardown. Returns 0, or 1 when the test was skipped (no root, or the
 * mount failed: the reason is printed). */
static int mount_tmpfs(struct le_fixture *lf, const char *dir,
		       const char *opts, unsigned long flags)
{
	char reason[512];

	if (geteuid() != 0) {
		snprintf(reason, sizeof(reason), "needs root to mount a tmpfs "
			 "(euid %d)", (int)geteuid());
		le_skip(reason);
		return 1;
	}
	assert_true(lf->nmounts < MAX_MOUNTS);
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		fail_msg("mkdir %s: %s", dir, strerror(errno));
	if (mount("tmpfs", dir, "tmpfs", flags, opts) != 0) {
		snprintf(reason, sizeof(reason), "cannot mount a tmpfs (%s) "
			 "at %s: %s", opts, dir, strerror(errno));
		le_skip(reason);
		return 1;
	}
	lf->mounts[lf->nmounts++] = it_path("%s", dir);
	return 0;
}

/* The failed entry for u: one attempt, one request, http 200 (the
 * transfer itself went well), no path, an error holding the OS's message
 * and the path. */
static void expect_local_failure(const struct it_fixture *f,
				 const struct it_result *r, const cJSON *res,
				 const char *u, const char *pq,
				 const char *path, int err)
{
	const cJSON *e = it_json_find_url(res, u);
	const char *msg;

	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "failed");
	IT_ASSERT_JNULL(e, "path");
	IT_ASSERT_JNUM(e, "bytes", 0);
	IT_ASSERT_JNUM(e, "http_status", 200);
	msg = it_json_str(e, "error");
	assert_non_null(msg);
	if (!strstr(msg, strerror(err)) || !strstr(msg, path)) {
		it_dump_with_log(r, &f->srv);
		fail_msg("error \"%s\" should hold \"%s\" and %s", msg,
			 strerror(err), path);
	}
	IT_ASSERT_JNUM(e, "attempts", 1);
	if (it_requests_for(f, pq) != 1) {
		it_dump_with_log(r, &f->srv);
		fail_msg("%s: %d requests, want 1 (not retried)", pq,
			 it_requests_for(f, pq));
	}
}

static void expect_ok(const cJSON *res, const char *u, const char *path,
		      const char *file, const char *upath, size_t size)
{
	const cJSON *e = it_json_find_url(res, u);

	assert_non_null(e);
	IT_ASSERT_JSTR(e, "status", "ok");
	IT_ASSERT_JSTR(e, "path", path);
	IT_ASSERT_JNUM(e, "bytes", size);
	assert_true(it_file_matches_body(file, upath, size));
}

/* (a) dl/x.bin is a directory (holding a file): the entry fails with
 * EISDIR, the directory and its file are left alone; another entry is
 * ok. */
static void test_directory_in_the_way(void **state)
{
	struct le_fixture *lf = *state;
	struct it_fixture *f = lf->f;
	const char *pq = "/data/x.bin?size=2000";
	const char *pq_ok = "/data/fine.bin?size=1024";
	char *u = it_url(&f->srv, pq), *u_ok = it_url(&f->srv, pq_ok);
	char *dl = it_path("%s/dl", f->tmp);
	char *xdir = it_path("%s/dl/x.bin", f->tmp);
	char *keep = it_path("%s/dl/x.bin/keep.txt", f->tmp);
	char *fine = it_path("%s/dl/fine.bin", f->tmp);
	const char *args[] = { "--backoff", "0.1", "-o", "dl", u, u_ok, NULL };
	struct it_result r;
	struct stat st;
	cJSON *res;
	char *content;
	size_t len = 0;

	assert_int_equal(mkdir(dl, 0755), 0);
	assert_int_equal(mkdir(xdir, 0755), 0);
	assert_int_equal(it_write_file(keep, "keep", 4), 0);

	res = it_run_json_plain(f, args, 1, 2, &r);
	expect_local_failure(f, &r, res, u, pq, "dl/x.bin", EISDIR);
	expect_ok(res, u_ok, "dl/fine.bin", fine, "/data/fine.bin", 1024);

	assert_int_equal(lstat(xdir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	content = it_read_file(keep, &len);
	assert_non_null(content);
	assert_int_equal(len, 4);
	assert_memory_equal(content, "keep", 4);
	free(content);
	it_expect_no_part(dl);
	assert_int_equal(it_count_files(dl), 2);

	cJSON_Delete(res);
	it_result_free(&r);
	free(u);
	free(u_ok);
	free(dl);
	free(xdir);
	free(keep);
	free(fine);
}

/* (b) out=ro/f.bin where dl/ro is a read-only tmpfs: EROFS. */
static void test_read_only_fs(void **state)
{
	struct le_fixture *lf = *state;
	struct it_fixture *f = lf->f;
	const char *pq = "/data/f.bin?size=3000";
	const char *pq_ok = "/data/ok.bin?size=1024";
	char *u = it_url(&f->srv, pq), *u_ok = it_url(&f->srv, pq_ok);
	char *dl = it_path("%s/dl", f->tmp);
	char *ro = it_path("%s/dl/ro", f->tmp);
	char *okf = it_path("%s/dl/ok.bin", f->tmp);
	char *lp = it_path("%s/list.txt", f->tmp);
	char *list = it_path("%s out=ro/f.bin\n%s\n", u, u_ok);
	const char *args[] = { "--backoff", "0.1", "-o", "dl", "list.txt",
			       NULL };
	struct it_result r;
	cJSON *res;

	assert_int_equal(mkdir(dl, 0755), 0);
	if (mount_tmpfs(lf, ro, "size=1m", MS_RDONLY) != 0)
		goto out;
	assert_int_equal(it_write_file(lp, list, strlen(list)), 0);

	res = it_run_json_plain(f, args, 1, 2, &r);
	expect_local_failure(f, &r, res, u, pq, "dl/ro/f.bin", EROFS);
	expect_ok(res, u_ok, "dl/ok.bin", okf, "/data/ok.bin", 1024);
	assert_int_equal(it_count_files(ro), 0);
	it_expect_no_part(dl);

	cJSON_Delete(res);
	it_result_free(&r);
out:
	free(u);
	free(u_ok);
	free(dl);
	free(ro);
	free(okf);
	free(lp);
	free(list);
}

static unsigned long long free_bytes(const char *dir)
{
	struct statvfs sv;

	assert_int_equal(statvfs(dir, &sv), 0);
	return (unsigned long long)sv.f_bavail * sv.f_frsize;
}

/* (c) out=small/big.bin, 1 MiB into a 64 KiB tmpfs: ENOSPC, the partial
 * .part removed (the space is free again), a 1 KiB entry into dl is ok.
 * The same under -c, which keeps a .part only after network failures. */
static void test_no_space(void **state)
{
	struct le_fixture *lf = *state;
	struct it_fixture *f = lf->f;
	const char *pq = "/data/big.bin?size=1048576";
	const char *pq_ok = "/data/one.bin?size=1024";
	char *u = it_url(&f->srv, pq), *u_ok = it_url(&f->srv, pq_ok);
	char *dl = it_path("%s/dl", f->tmp);
	char *small = it_path("%s/dl/small", f->tmp);
	char *onef = it_path("%s/dl/one.bin", f->tmp);
	char *lp = it_path("%s/list.txt", f->tmp);
	char *list = it_path("%s out=small/big.bin\n%s\n", u, u_ok);
	const char *args[] = { "--backoff", "0.1", "-o", "dl", "list.txt",
			       NULL };
	const char *args_c[] = { "-c", "--backoff", "0.1", "-o", "dl",
				 "list.txt", NULL };
	unsigned long long avail;
	struct it_result r, r2;
	cJSON *res;

	assert_int_equal(mkdir(dl, 0755), 0);
	if (mount_tmpfs(lf, small, "size=64k", 0) != 0)
		goto out;
	avail = free_bytes(small);
	assert_true(avail < 1048576);
	assert_int_equal(it_write_file(lp, list, strlen(list)), 0);

	res = it_run_json_plain(f, args, 1, 2, &r);
	expect_local_failure(f, &r, res, u, pq, "dl/small/big.bin", ENOSPC);
	expect_ok(res, u_ok, "dl/one.bin", onef, "/data/one.bin", 1024);
	assert_int_equal(it_count_files(small), 0);
	assert_true(free_bytes(small) == avail);
	it_expect_no_part(dl);
	cJSON_Delete(res);

	/* Under -c: still failed at once, still no .part. */
	assert_int_equal(unlink(onef), 0);
	res = it_run_json_plain(f, args_c, 1, 2, &r2);
	{
		const cJSON *e = it_json_find_url(res, u);
		const char *msg = it_json_str(e, "error");

		assert_non_null(e);
		IT_ASSERT_JSTR(e, "status", "failed");
		IT_ASSERT_JNUM(e, "attempts", 1);
		assert_non_null(msg);
		assert_non_null(strstr(msg, strerror(ENOSPC)));
	}
	assert_int_equal(it_requests_for(f, pq), 2);
	assert_int_equal(it_count_files(small), 0);
	assert_true(free_bytes(small) == avail);
	expect_ok(res, u_ok, "dl/one.bin", onef, "/data/one.bin", 1024);

	cJSON_Delete(res);
	it_result_free(&r);
	it_result_free(&r2);
out:
	free(u);
	free(u_ok);
	free(dl);
	free(small);
	free(onef);
	free(lp);
	free(list);
}

/* Runs argv in cwd as uid/gid 65534 with no supplementary groups, stdout
 * and stderr captured through files in cap_dir (readable by root only).
 * Bounded: killed after IT_RUN_TIMEOUT. Returns 0, 1 when the child could
 * not drop its privileges (reason in r->err), -1 on a harness error. */
static int run_as_nobody(const char *const argv[], const char *cwd,
			 const char *cap_dir, struct it_result *r)
{
	char *outp = it_path("%s/run.out", cap_dir);
	char *errp = it_path("%s/run.err", cap_dir);
	int ofd, efd, st = 0, killed = 0;
	double deadline;
	pid_t pid, w;

	memset(r, 0, sizeof(*r));
	ofd = open(outp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	efd = open(errp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (ofd < 0 || efd < 0)
		return -1;
	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int nul = open("/dev/null", O_RDONLY);

		if (nul < 0 || dup2(nul, 0) < 0 || dup2(ofd, 1) < 0 ||
		    dup2(efd, 2) < 0)
			_exit(127);
		signal(SIGPIPE, SIG_DFL);
		if (setgroups(0, NULL) != 0 || setgid(NOBODY) != 0 ||
		    setuid(NOBODY) != 0) {
			fprintf(stderr, "cannot drop privileges: %s\n",
				strerror(errno));
			_exit(125);
		}
		if (setuid(0) == 0) {
			fprintf(stderr, "cannot drop privileges: setuid(0) "
				"still works\n");
			_exit(125);
		}
		if (chdir(cwd) != 0) {
			fprintf(stderr, "chdir %s: %s\n", cwd,
				strerror(errno));
			_exit(127);
		}
		unsetenv("http_proxy");
		unsetenv("https_proxy");
		unsetenv("HTTP_PROXY");
		unsetenv("HTTPS_PROXY");
		unsetenv("all_proxy");
		unsetenv("ALL_PROXY");
		unsetenv("no_proxy");
		unsetenv("NO_PROXY");
		execv(argv[0], (char *const *)argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(ofd);
	close(efd);
	deadline = it_now() + IT_RUN_TIMEOUT;
	for (;;) {
		w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR)
			break;
		if (it_now() >= deadline) {
			kill(pid, SIGKILL);
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			killed = 1;
			break;
		}
		it_sleep(0.01);
	}
	r->timed_out = killed;
	it_result_set_status(r, st);
	r->out = it_read_file(outp, &r->out_len);
	r->err = it_read_file(errp, &r->err_len);
	if (!r->out)
		r->out = it_path("%s", "");
	if (!r->err)
		r->err = it_path("%s", "");
	free(outp);
	free(errp);
	if (killed)
		return -1;
	return r->exited && r->exit_code == 125 ? 1 : 0;
}

/* (d) fetchmany as uid 65534; dl belongs to 65534, dl/locked to root with
 * mode 0755: out=locked/f.bin fails with EACCES, dl/ok.bin is written
 * (and owned by 65534, which proves the privileges really were
 * dropped). */
static void test_permission_denied(void **state)
{
	struct le_fixture *lf = *state;
	struct it_fixture *f = lf->f;
	const char *pq = "/data/f.bin?size=3000";
	const char *pq_ok = "/data/ok.bin?size=1024";
	char *u = it_url(&f->srv, pq), *u_ok = it_url(&f->srv, pq_ok);
	char *dl = it_path("%s/dl", f->tmp);
	char *locked = it_path("%s/dl/locked", f->tmp);
	char *okf = it_path("%s/dl/ok.bin", f->tmp);
	char *lp = it_path("%s/list.txt", f->tmp);
	char *cap = it_path("%s/cap", f->tmp);
	char *list = it_path("%s out=locked/f.bin\n%s\n", u, u_ok);
	const char *argv[] = { it_bin(), "--json", "--backoff", "0.1", "-o",
			       "dl", "list.txt", NULL };
	struct it_result r;
	struct stat st;
	cJSON *res;
	int rc;

	if (geteuid() != 0) {
		char reason[128];

		snprintf(reason, sizeof(reason), "needs root to run fetchmany "
			 "as uid %d (euid %d)", NOBODY, (int)geteuid());
		le_skip(reason);
		goto out;
	}
	/* mkdtemp made f->tmp 0700: let 65534 in, not write. */
	assert_int_equal(chmod(f->tmp, 0755), 0);
	assert_int_equal(mkdir(dl, 0755), 0);
	assert_int_equal(chown(dl, NOBODY, NOBODY), 0);
	assert_int_equal(mkdir(locked, 0755), 0);
	assert_int_equal(chown(locked, 0, 0), 0);
	assert_int_equal(mkdir(cap, 0700), 0);
	assert_int_equal(it_write_file(lp, list, strlen(list)), 0);
	assert_int_equal(chmod(lp, 0644), 0);

	rc = run_as_nobody(argv, f->tmp, cap, &r);
	if (rc == 1) {
		size_t n = strcspn(r.err, "\n");

		r.err[n] = '\0';
		le_skip(r.err);
		it_result_free(&r);
		goto out;
	}
	IT_ASSERT_RAN(rc, r);
	res = it_check_json(f, &r, 1, 2);
	expect_local_failure(f, &r, res, u, pq, "dl/locked/f.bin", EACCES);
	expect_ok(res, u_ok, "dl/ok.bin", okf, "/data/ok.bin", 1024);
	assert_int_equal(stat(okf, &st), 0);
	if (st.st_uid != NOBODY)
		fail_msg("dl/ok.bin is owned by uid %d: fetchmany did not run "
			 "as %d", (int)st.st_uid, NOBODY);
	assert_int_equal(it_count_files(locked), 0);
	it_expect_no_part(dl);

	cJSON_Delete(res);
	it_result_free(&r);
out:
	free(u);
	free(u_ok);
	free(dl);
	free(locked);
	free(okf);
	free(lp);
	free(cap);
	free(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_directory_in_the_way,
						le_setup, le_teardown),
		cmocka_unit_test_setup_teardown(test_read_only_fs, le_setup,
						le_teardown),
		cmocka_unit_test_setup_teardown(test_no_space, le_setup,
						le_teardown),
		cmocka_unit_test_setup_teardown(test_permission_denied,
						le_setup, le_teardown),
	};

	/* A private mount namespace: our tmpfs mounts are invisible to the
	 * rest of the system and disappear with this process, whatever
	 * happens to it. Without it (not root, no CAP_SYS_ADMIN) the mount
	 * tests skip, or mount in the shared namespace and unmount in
	 * teardown. */
	if (geteuid() == 0 && unshare(CLONE_NEWNS) == 0 &&
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) == 0)
		private_ns = 1;
	fprintf(stderr, "# mounts: %s namespace\n",
		private_ns ? "private" : "shared");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
