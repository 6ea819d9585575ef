/* ut.c: helpers shared by the unit tests (ut.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "ut.h"

char *ut_write_temp(const char *data, size_t n)
{
	char *path = strdup("/tmp/fm-unit-XXXXXX");
	int fd;

	assert_non_null(path);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
	return path;
}

char *ut_read_source(const char *rel)
{
	const char *src = getenv("FM_SRCDIR");
	char path[4096];
	FILE *f;
	char *buf;
	long n;

	if (!src)
		fail_msg("FM_SRCDIR is not set");
	snprintf(path, sizeof(path), "%s/%s", src, rel);
	f = fopen(path, "r");
	if (!f)
		fail_msg("cannot open %s", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}
