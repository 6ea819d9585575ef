/* test_error.c: the error convention (fm_error.h): one message for every
 * code we return, reasons written by fm_why(), libuv's codes taken as
 * -errno at entry. */
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
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <uv.h>

#include "fm_error.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(strerror_of_each_kept_code),
		cmocka_unit_test(strerror_of_negative_errno),
		cmocka_unit_test(strerror_of_anything_else),
		cmocka_unit_test(why_writes_the_reason_and_fails),
		cmocka_unit_test(uv_codes_are_negative_errno),
		cmocka_unit_test(uv_codes_without_errno_are_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
