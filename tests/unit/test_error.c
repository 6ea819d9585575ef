/* test_error.c: the error convention (fm_error.h): one message for every
 * code we return, reasons written by fm_why(), libuv's codes taken as
 * -errno at entry, and fm_xfer_begin()'s outcomes as an enum. */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uv.h>

#include "fm_error.h"
#include "fm_xfer.h"

static void strerror_of_each_kept_code(void **state)
{
	(void)state;
	assert_string_equal(fm_strerror(0), "success");
	assert_string_equal(fm_strerror(FM_E_CURL), "libcurl error");
}

static void strerror_of_negative_errno(void **state)
{
	(void)state;
	assert_string_equal(fm_strerror(-ENOENT), strerror(ENOENT));
	assert_string_equal(fm_strerror(-ENOMEM), strerror(ENOMEM));
	assert_string_not_equal(fm_strerror(-EMFILE), "unknown error");
}

/* No code of ours but FM_E_CURL lies at or below FM_E_BASE, and a
 * positive number is no error code at all. */
static void strerror_of_anything_else(void **state)
{
	(void)state;
	assert_string_equal(fm_strerror(FM_E_BASE), "unknown error");
	assert_string_equal(fm_strerror(FM_E_BASE - 2), "unknown error");
	assert_string_equal(fm_strerror(FM_E_BASE - 4), "unknown error");
	assert_string_equal(fm_strerror(1), "unknown error");
	assert_string_equal(fm_strerror(ENOENT), "unknown error");
}

static void why_writes_the_reason_and_fails(void **state)
{
	char why[16];

	(void)state;
	assert_int_equal(fm_why(why, sizeof(why), "bad %s %d", "key", 7), -1);
	assert_string_equal(why, "bad key 7");
	/* cut to whylen, terminated */
	assert_int_equal(fm_why(why, sizeof(why), "%s", "0123456789abcdefXYZ"),
			 -1);
	assert_string_equal(why, "0123456789abcde");
	assert_int_equal(fm_why(NULL, 0, "nowhere"), -1);
	strcpy(why, "kept");
	assert_int_equal(fm_why(why, 0, "nothing"), -1);
	assert_string_equal(why, "kept");
}

static void uv_codes_are_negative_errno(void **state)
{
	(void)state;
	assert_int_equal(fm_uv_err(0), 0);
	assert_int_equal(fm_uv_err(UV_ENOMEM), -ENOMEM);
	assert_int_equal(fm_uv_err(UV_EAGAIN), -EAGAIN);
	assert_int_equal(fm_uv_err(UV_EBUSY), -EBUSY);
	assert_string_equal(fm_strerror(fm_uv_err(UV_EMFILE)),
			    strerror(EMFILE));
}

/* Whether fm_uv_err(rc) ends the process with SIGABRT (its assert). */
static bool uv_err_aborts(int rc)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		struct rlimit none = {0, 0};

		setrlimit(RLIMIT_CORE, &none);
		fm_uv_err(rc);
		_exit(0);
	}
	assert_true(pid > 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
}

/* libuv's codes without an errno never pass for one. */
static void uv_codes_without_errno_are_refused(void **state)
{
	(void)state;
#ifdef NDEBUG
	skip();
#endif
	assert_false(uv_err_aborts(UV_ENOENT));
	assert_true(uv_err_aborts(UV_EOF));
	assert_true(uv_err_aborts(UV_EAI_ADDRFAMILY));
	assert_true(uv_err_aborts(UV_EAI_NONAME));
	assert_true(uv_err_aborts(1));
}

/* fm_xfer_begin() on a real directory, without any network. */
struct begin {
	char dir[64];
	int rootfd;
	struct fm_xfer_conf conf;
	struct fm_xfer x;
	struct fm_job job;
	struct fm_outcome o;
};

static int begin_setup(void **state)
{
	struct begin *b = calloc(1, sizeof(*b));

	if (!b)
		return -1;
	strcpy(b->dir, "/tmp/fm-error-XXXXXX");
	if (!mkdtemp(b->dir))
		return -1;
	b->rootfd = open(b->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	b->conf = (struct fm_xfer_conf){.user_agent = "test",
					.max_redirs = 5,
					.buffer_size = 16384};
	b->job.entry.url = "http://127.0.0.1:9/x.bin";
	b->job.relpath = "d/x.bin";
	b->job.path = "d/x.bin";
	if (b->rootfd < 0 || fm_xfer_init(&b->x, &b->conf))
		return -1;
	*state = b;
	return 0;
}

static int begin_teardown(void **state)
{
	struct begin *b = *state;
	char cmd[128];

	fm_xfer_abandon(&b->x);
	fm_xfer_cleanup(&b->x);
	close(b->rootfd);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", b->dir);
	if (system(cmd) != 0)
		return -1;
	free(b);
	return 0;
}

static void begin_ready_runs(void **state)
{
	struct begin *b = *state;
	struct stat st;

	assert_int_equal(fm_xfer_begin(&b->x, &b->job, b->rootfd, &b->o),
			 FM_BEGIN_RUN);
	/* the directory is made; nothing is opened before the body */
	assert_int_equal(fstatat(b->rootfd, "d", &st, 0), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(b->o.error[0], '\0');
}

static void begin_existing_name_under_n_is_skipped(void **state)
{
	struct begin *b = *state;

	b->conf.no_clobber = true;
	assert_int_equal(mkdirat(b->rootfd, "d", 0777), 0);
	close(openat(b->rootfd, "d/x.bin", O_WRONLY | O_CREAT | O_CLOEXEC,
		     0666));
	assert_int_equal(fm_xfer_begin(&b->x, &b->job, b->rootfd, &b->o),
			 FM_BEGIN_SKIPPED);
	assert_int_equal(b->o.status, FM_STATUS_SKIPPED);
}

static void begin_unusable_destination_fails(void **state)
{
	struct begin *b = *state;

	/* "d" is a file: its directory cannot be made (ENOTDIR) */
	close(openat(b->rootfd, "d", O_WRONLY | O_CREAT | O_CLOEXEC, 0666));
	assert_int_equal(fm_xfer_begin(&b->x, &b->job, b->rootfd, &b->o),
			 FM_BEGIN_FAILED);
	assert_int_equal(b->o.status, FM_STATUS_FAILED);
	assert_false(b->o.retry);
	assert_non_null(strstr(b->o.error, "cannot create the directory of "
					   "d/x.bin: "));
	assert_non_null(strstr(b->o.error, strerror(ENOTDIR)));
}

/* The credentials of a URL quoted in a message are hidden, every one,
 * whatever the scheme, the quoting and what follows; a message without
 * any is left as it is. */
static void redact_userinfo_hides_credentials(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{"Unsupported proxy syntax in 'http://u:SECRETPW@127.0.0.1:99999'",
		 "Unsupported proxy syntax in 'http://***@127.0.0.1:99999'"},
		{"ftp://puser:SECRETPW@127.0.0.1:1 and socks5h://a:b@[bad",
		 "ftp://***@127.0.0.1:1 and socks5h://***@[bad"},
		{"http://user@host/p@q x", "http://***@host/p@q x"},
		{"\"https://a:b@c:d@h/\"", "\"https://***@h/\""},
		{"http://host/path?u=a@b", "http://host/path?u=a@b"},
		{"no URL here, user@host", "no URL here, user@host"},
		{"http://***@h", "http://***@h"},
		{"://@h", "://***@h"},
		{"", ""},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char buf[256];

		snprintf(buf, sizeof(buf), "%s", cases[i].in);
		fm_redact_userinfo(buf);
		assert_string_equal(buf, cases[i].want);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(strerror_of_each_kept_code),
		cmocka_unit_test(strerror_of_negative_errno),
		cmocka_unit_test(strerror_of_anything_else),
		cmocka_unit_test(why_writes_the_reason_and_fails),
		cmocka_unit_test(uv_codes_are_negative_errno),
		cmocka_unit_test(uv_codes_without_errno_are_refused),
		cmocka_unit_test(redact_userinfo_hides_credentials),
		cmocka_unit_test_setup_teardown(begin_ready_runs, begin_setup,
						begin_teardown),
		cmocka_unit_test_setup_teardown(
			begin_existing_name_under_n_is_skipped, begin_setup,
			begin_teardown),
		cmocka_unit_test_setup_teardown(begin_unusable_destination_fails,
						begin_setup, begin_teardown),
	};
	int rc;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
