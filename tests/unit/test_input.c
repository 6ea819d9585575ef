/* test_input.c: splitting lists into lines, without blocking. */
#include <errno.h>
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

#include "fm_input.h"
#include "fm_list.h"
#include "ut.h"

static void expect_line(struct fm_input *in, const char *text,
			unsigned long line)
{
	struct fm_line l;
	int fd, err;

	assert_int_equal(fm_input_next(in, &l, &fd, &err), FM_INPUT_LINE);
	assert_false(l.overlong);
	assert_int_equal(l.len, strlen(text));
	assert_memory_equal(l.text, text, l.len);
	assert_int_equal(l.line, line);
}

static void lines_numbers_and_last_line(void **state)
{
	static const char data[] = "a\n\nb\r\n# c\nlast";
	char *path = ut_write_temp(data, sizeof(data) - 1);
	char *args[] = {path};
	struct fm_input in;
	struct fm_line l;
	int fd, err;

	assert_int_equal(fm_input_open(&in, args, 1), 0);
	expect_line(&in, "a", 1);
	expect_line(&in, "", 2);
	expect_line(&in, "b\r", 3);
	expect_line(&in, "# c", 4);
	expect_line(&in, "last", 5);
	assert_int_equal(fm_input_next(&in, &l, &fd, &err), FM_INPUT_END);
	fm_input_close(&in);
	unlink(path);
	free(path);
}

static void overlong_line_is_flagged_not_held(void **state)
{
	size_t big = FM_LINE_MAX + 5000;
	char *data = malloc(big * 2 + 16);
	size_t n = 0;

	assert_non_null(data);
	memset(data, 'x', big);
	n = big;
	memcpy(data + n, "\nok\n", 4);
	n += 4;
	memset(data + n, 'y', big); /* overlong, and no newline at the end */
	n += big;

	char *path = ut_write_temp(data, n);
	char *args[] = {path};
	struct fm_input in;
	struct fm_line l;
	int fd, err;

	assert_int_equal(fm_input_open(&in, args, 1), 0);
	assert_int_equal(fm_input_next(&in, &l, &fd, &err), FM_INPUT_LINE);
	assert_true(l.overlong);
	assert_int_equal(l.line, 1);
	expect_line(&in, "ok", 2);
	assert_int_equal(fm_input_next(&in, &l, &fd, &err), FM_INPUT_LINE);
	assert_true(l.overlong);
	assert_int_equal(l.line, 3);
	assert_int_equal(fm_input_next(&in, &l, &fd, &err), FM_INPUT_END);
	fm_input_close(&in);
	unlink(path);
	free(path);
	free(data);
}

static void line_of_exactly_the_limit_is_accepted(void **state)
{
	char *data = malloc(FM_LINE_MAX + 1);
	char *path, *args[1];
	struct fm_input in;
	struct fm_line l;
	int fd, err;

	assert_non_null(data);
	memset(data, 'z', FM_LINE_MAX);
	data[FM_LINE_MAX] = '\n';
	path = ut_write_temp(data, FM_LINE_MAX + 1);
	args[0] = path;
	assert_int_equal(fm_input_open(&in, args, 1), 0);
	assert_int_equal(fm_input_next(&in, &l, &fd, &err), FM_INPUT_LINE);
	assert_false(l.overlong);
	assert_int_equal(l.len, FM_LINE_MAX);
	fm_input_close(&in);
	unlink(path);
	free(path);
	free(data);
}

static void pipe_says_again_instead_of_blocking(void **state)
{
	int p[2], saved = dup(STDIN_FILENO);
	char *args[] = {"-"};
	struct fm_input in;
	struct fm_line l;
	int fd = -1, err;

	assert_int_equal(pipe(p), 0);
	assert_int_equal(dup2(p[0], STDIN_FILENO), STDIN_FILENO);
	close(p[0]);
	assert_int_equal(fm_input_open(&in, args, 1), 0);
	assert_int_equal(fm_input_next(&in, &l, &fd, &err), FM_INPUT_AGAIN);
	assert_int_equal(fd, STDIN_FILENO);
	assert_int_equal(write(p[1], "one\ntw", 6), 6);
	expect_line(&in, "one", 1);
	/* half a line is not a line yet */
	assert_int_equal(fm_input_next(&in, &l, &fd, &err), FM_INPUT_AGAIN);
	assert_int_equal(write(p[1], "o\n", 2), 2);
	expect_line(&in, "two", 2);
	close(p[1]);
	assert_int_equal(fm_input_next(&in, &l, &fd, &err), FM_INPUT_END);
	fm_input_close(&in);
	dup2(saved, STDIN_FILENO);
	close(saved);
}

static void url_arguments_between_lists(void **state)
{
	char *path = ut_write_temp("http://h/in-list\n", 17);
	char *args[] = {"http://h/first", path, "https://h/last"};
	struct fm_input in;
	struct fm_line l;
	int fd, err;

	assert_int_equal(fm_input_open(&in, args, 3), 0);
	assert_int_equal(fm_input_next(&in, &l, &fd, &err), FM_INPUT_LINE);
	assert_true(l.is_url);
	assert_int_equal(l.line, 0);
	assert_null(l.source);
	assert_string_equal(l.text, "http://h/first");
	assert_int_equal(fm_input_next(&in, &l, &fd, &err), FM_INPUT_LINE);
	assert_false(l.is_url);
	assert_string_equal(l.source, path);
	assert_int_equal(fm_input_next(&in, &l, &fd, &err), FM_INPUT_LINE);
	assert_string_equal(l.text, "https://h/last");
	assert_int_equal(fm_input_next(&in, &l, &fd, &err), FM_INPUT_END);
	fm_input_close(&in);
	unlink(path);
	free(path);
}

static void unusable_lists_refused_up_front(void **state)
{
	char *missing[] = {"http://h/ok", "/nonexistent/fm-list"};
	char *dir[] = {"/tmp"};
	struct fm_input in;

	assert_int_equal(fm_input_open(&in, missing, 2), -ENOENT);
	assert_int_equal(fm_input_open(&in, dir, 1), -EISDIR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(lines_numbers_and_last_line),
		cmocka_unit_test(overlong_line_is_flagged_not_held),
		cmocka_unit_test(line_of_exactly_the_limit_is_accepted),
		cmocka_unit_test(pipe_says_again_instead_of_blocking),
		cmocka_unit_test(url_arguments_between_lists),
		cmocka_unit_test(unusable_lists_refused_up_front),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
