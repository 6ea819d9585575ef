/* test_sink.c: writing a body beside NAME and giving it NAME (sink.c), on
 * a real directory: nothing is visible under any name until the commit,
 * an existing NAME is replaced whole, a failure leaves nothing behind,
 * and under -c (named) the body is NAME.part. Every test runs three times,
 * once for each way a body can become NAME (fm_sink_set_naming): linkat
 * with AT_EMPTY_PATH, linkat through /proc/self/fd, and NAME.part +
 * rename, the fallback where the file system has no O_TMPFILE. */
#define _XOPEN_SOURCE 700 /* mkdtemp, nftw */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fm_sink.h"

struct dir {
	char path[64];
	int fd;
	enum fm_sink_naming naming;
};

static const enum fm_sink_naming namings[] = {
	FM_SINK_LINK_EMPTY_PATH,
	FM_SINK_LINK_PROC,
	FM_SINK_PART_RENAME,
};

/* *state comes in pointing at the naming to test. */
static int setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	d->naming = *(const enum fm_sink_naming *)*state;
	fm_sink_set_naming(d->naming);
	snprintf(d->path, sizeof(d->path), "/tmp/fm-sink-XXXXXX");
	if (!mkdtemp(d->path))
		return -1;
	d->fd = fm_sink_open_root(d->path);
	if (d->fd < 0)
		return -1;
	*state = d;
	return 0;
}

static int rm_one(const char *p, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	return remove(p);
}

static int teardown(void **state)
{
	struct dir *d = *state;

	close(d->fd);
	nftw(d->path, rm_one, 8, FTW_DEPTH | FTW_PHYS);
	free(d);
	return 0;
}

/* The names in directory sub of d (NULL: d itself), sorted, joined by
 * spaces: "" when empty. */
static char *names(const struct dir *d, const char *sub)
{
	static char out[512];
	char path[128];
	struct dirent **list;
	int n;

	snprintf(path, sizeof(path), "%s%s%s", d->path, sub ? "/" : "",
		 sub ? sub : "");
	n = scandir(path, &list, NULL, alphasort);
	assert_true(n >= 0);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(list[i]->d_name, ".") && strcmp(list[i]->d_name, "..")) {
			if (out[0])
				strcat(out, " ");
			strcat(out, list[i]->d_name);
		}
		free(list[i]);
	}
	free(list);
	return out;
}

static void put(const struct dir *d, const char *rel, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", d->path, rel);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void expect_content(const struct dir *d, const char *rel,
			   const char *text)
{
	char path[128], buf[256];
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", d->path, rel);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	assert_string_equal(buf, text);
}

static void write_str(struct fm_sink *s, const char *text)
{
	assert_int_equal(fm_sink_write(s, text, strlen(text)), 0);
}

/* Without -c the body has no name at all until it is complete. */
static void body_invisible_until_commit(void **state)
{
	struct dir *d = *state;
	struct fm_sink s = FM_SINK_INIT;
	struct stat st;

	assert_int_equal(fm_sink_prepare(&s, d->fd, "sub/a.bin", false), 0);
	assert_int_equal(fm_sink_open(&s, false), 0);
	write_str(&s, "hello, ");
	write_str(&s, "world");
	/* The fallback writes NAME.part, as the specification says. */
	assert_string_equal(names(d, "sub"), d->naming == FM_SINK_PART_RENAME
						     ? "a.bin.part"
						     : "");
	assert_int_equal(fm_sink_commit(&s, 1234567890), 0);
	assert_string_equal(names(d, "sub"), "a.bin");
	expect_content(d, "sub/a.bin", "hello, world");
	assert_int_equal(fstatat(d->fd, "sub/a.bin", &st, 0), 0);
	assert_int_equal(st.st_mtime, 1234567890);
	assert_int_equal(s.bytes, 12);
	fm_sink_release(&s);
}

/* b.bin holds body and the .part put beside it still holds part, except
 * in the fallback, whose own NAME.part took its place. */
static void expect_b_and_part(const struct dir *d, const char *body,
			      const char *part)
{
	if (d->naming == FM_SINK_PART_RENAME) {
		assert_string_equal(names(d, NULL), "b.bin");
	} else {
		assert_string_equal(names(d, NULL), "b.bin b.bin.part");
		expect_content(d, "b.bin.part", part);
	}
	expect_content(d, "b.bin", body);
}

/* An existing NAME is replaced by the new body, and a .part of an
 * earlier -c run is left alone, whether NAME exists or not (the fallback,
 * writing NAME.part itself, overwrites it). */
static void existing_name_replaced(void **state)
{
	struct dir *d = *state;
	struct fm_sink s = FM_SINK_INIT;
	struct stat before, after;

	put(d, "b.bin", "old contents");
	put(d, "b.bin.part", "stale");
	assert_int_equal(fstatat(d->fd, "b.bin", &before, 0), 0);
	assert_int_equal(fm_sink_prepare(&s, d->fd, "b.bin", false), 0);
	assert_int_equal(fm_sink_open(&s, false), 0);
	write_str(&s, "new");
	/* The old file stays whole while the new body is written. */
	expect_content(d, "b.bin", "old contents");
	assert_int_equal(fm_sink_commit(&s, -1), 0);
	fm_sink_release(&s);
	expect_b_and_part(d, "new", "stale");
	assert_int_equal(fstatat(d->fd, "b.bin", &after, 0), 0);
	assert_true(before.st_ino != after.st_ino);

	/* No NAME: the fast path, linked directly. */
	assert_int_equal(unlinkat(d->fd, "b.bin", 0), 0);
	put(d, "b.bin.part", "earlier -c run");
	assert_int_equal(fm_sink_prepare(&s, d->fd, "b.bin", false), 0);
	assert_int_equal(fm_sink_open(&s, false), 0);
	write_str(&s, "fresh");
	assert_int_equal(fm_sink_commit(&s, -1), 0);
	fm_sink_release(&s);
	expect_b_and_part(d, "fresh", "earlier -c run");
}

/* A failed body leaves nothing, and an older NAME untouched. */
static void abort_leaves_nothing(void **state)
{
	struct dir *d = *state;
	struct fm_sink s = FM_SINK_INIT;

	put(d, "c.bin", "keep me");
	assert_int_equal(fm_sink_prepare(&s, d->fd, "c.bin", false), 0);
	assert_int_equal(fm_sink_open(&s, false), 0);
	write_str(&s, "half a bo");
	fm_sink_abort(&s, false);
	fm_sink_release(&s);
	assert_string_equal(names(d, NULL), "c.bin");
	expect_content(d, "c.bin", "keep me");

	/* Released without a verdict (an interrupted run): the same. */
	assert_int_equal(fm_sink_prepare(&s, d->fd, "d.bin", false), 0);
	assert_int_equal(fm_sink_open(&s, false), 0);
	write_str(&s, "half");
	fm_sink_release(&s);
	assert_string_equal(names(d, NULL), "c.bin");
}

/* Under -c the body is NAME.part from the first byte, kept on a network
 * failure, appended to, and renamed over NAME at the end. */
static void named_body_is_part(void **state)
{
	struct dir *d = *state;
	struct fm_sink s = FM_SINK_INIT;

	assert_int_equal(fm_sink_prepare(&s, d->fd, "e.bin", true), 0);
	assert_int_equal(fm_sink_open(&s, false), 0);
	write_str(&s, "first ");
	assert_string_equal(names(d, NULL), "e.bin.part");
	fm_sink_abort(&s, true);
	fm_sink_release(&s);
	expect_content(d, "e.bin.part", "first ");

	assert_int_equal(fm_sink_prepare(&s, d->fd, "e.bin", true), 0);
	assert_int_equal(fm_sink_open(&s, true), 0);
	assert_int_equal(s.base, 6);
	write_str(&s, "second");
	assert_int_equal(fm_sink_commit(&s, -1), 0);
	fm_sink_release(&s);
	assert_string_equal(names(d, NULL), "e.bin");
	expect_content(d, "e.bin", "first second");
}

/* An empty body still becomes an (empty) NAME. */
static void empty_body_commits(void **state)
{
	struct dir *d = *state;
	struct fm_sink s = FM_SINK_INIT;

	assert_int_equal(fm_sink_prepare(&s, d->fd, "f.bin", false), 0);
	assert_int_equal(fm_sink_commit(&s, -1), 0);
	fm_sink_release(&s);
	assert_string_equal(names(d, NULL), "f.bin");
	expect_content(d, "f.bin", "");
}

/* Size on disk of the body s is writing. */
static long on_disk(const struct fm_sink *s)
{
	struct stat st;

	assert_int_equal(fstat(s->fd, &st), 0);
	return (long)st.st_size;
}

/* n bytes of c, checked byte by byte against the file rel. */
static void expect_run(const struct dir *d, const char *rel,
		       const char *pattern)
{
	char path[128];
	FILE *f;
	int c;
	size_t i = 0;

	snprintf(path, sizeof(path), "%s/%s", d->path, rel);
	f = fopen(path, "r");
	assert_non_null(f);
	/* pattern: a letter per FM_SINK_PIECE, '.' for a 100-byte tail */
	for (const char *p = pattern; *p; p++) {
		size_t n = *p == '.' ? 100 : FM_SINK_PIECE;

		for (size_t k = 0; k < n; k++, i++) {
			c = fgetc(f);
			if (c != (*p == '.' ? 't' : *p))
				fail_msg("%s: byte %zu is %d, want '%c'", rel, i,
					 c, *p);
		}
	}
	assert_int_equal(fgetc(f), EOF);
	fclose(f);
}

/* Full-size pieces wait in the pool until a shorter one ends the read,
 * the pool fills, another sink takes it, or the body ends; every byte
 * reaches the file, in order, whichever way. */
static void pool_gathers_pieces(void **state)
{
	struct dir *d = *state;
	struct fm_sink_pool pool;
	struct fm_sink a = FM_SINK_INIT, b = FM_SINK_INIT;
	static char x[FM_SINK_PIECE], y[FM_SINK_PIECE], z[FM_SINK_PIECE],
		t[100];

	memset(x, 'x', sizeof(x));
	memset(y, 'y', sizeof(y));
	memset(z, 'z', sizeof(z));
	memset(t, 't', sizeof(t));
	assert_int_equal(fm_sink_pool_init(&pool, 3 * FM_SINK_PIECE), 0);
	a.pool = b.pool = &pool;
	assert_int_equal(fm_sink_prepare(&a, d->fd, "a.bin", false), 0);
	assert_int_equal(fm_sink_prepare(&b, d->fd, "b.bin", false), 0);
	assert_ptr_equal(a.pool, &pool); /* prepare keeps it */
	assert_int_equal(fm_sink_open(&a, false), 0);
	assert_int_equal(fm_sink_open(&b, false), 0);

	/* Two pieces held, then the short end of the read: one write. */
	assert_int_equal(fm_sink_write(&a, x, sizeof(x)), 0);
	assert_int_equal(fm_sink_write(&a, y, sizeof(y)), 0);
	assert_int_equal(on_disk(&a), 0);
	assert_int_equal(a.bytes, 2 * FM_SINK_PIECE);
	assert_int_equal(fm_sink_write(&a, t, sizeof(t)), 0);
	assert_int_equal(on_disk(&a), 2 * FM_SINK_PIECE + 100);
	assert_null(pool.owner);

	/* Three pieces fill the pool: written at once. */
	assert_int_equal(fm_sink_write(&a, x, sizeof(x)), 0);
	assert_int_equal(fm_sink_write(&a, y, sizeof(y)), 0);
	assert_int_equal(fm_sink_write(&a, z, sizeof(z)), 0);
	assert_int_equal(on_disk(&a), 5 * FM_SINK_PIECE + 100);

	/* b takes the pool from a: a's piece is written first. */
	assert_int_equal(fm_sink_write(&a, x, sizeof(x)), 0);
	assert_int_equal(fm_sink_write(&b, z, sizeof(z)), 0);
	assert_int_equal(on_disk(&a), 6 * FM_SINK_PIECE + 100);
	assert_int_equal(on_disk(&b), 0);
	assert_ptr_equal(pool.owner, &b);

	/* The end of the body writes what is held. */
	assert_int_equal(fm_sink_commit(&b, -1), 0);
	assert_null(pool.owner);
	assert_int_equal(fm_sink_write(&a, y, sizeof(y)), 0);
	assert_int_equal(fm_sink_commit(&a, -1), 0);
	fm_sink_release(&a);
	fm_sink_release(&b);
	assert_ptr_equal(a.pool, &pool); /* so does release */
	expect_run(d, "a.bin", "xy.xyzxy");
	expect_run(d, "b.bin", "z");
	fm_sink_pool_free(&pool);
}

/* A .part kept for -c gets what the pool held; a dropped body's bytes
 * are forgotten; a write that fails for a sink while it is pooled is
 * that sink's error, reported on its next write and at its commit. */
static void pool_abort_and_errors(void **state)
{
	struct dir *d = *state;
	struct fm_sink_pool pool;
	struct fm_sink a = FM_SINK_INIT, b = FM_SINK_INIT;
	static char x[FM_SINK_PIECE], t[100];
	int good;

	memset(x, 'x', sizeof(x));
	memset(t, 't', sizeof(t));
	assert_int_equal(fm_sink_pool_init(&pool, 2 * FM_SINK_PIECE), 0);
	a.pool = b.pool = &pool;

	assert_int_equal(fm_sink_prepare(&a, d->fd, "k.bin", true), 0);
	assert_int_equal(fm_sink_open(&a, false), 0);
	assert_int_equal(fm_sink_write(&a, x, sizeof(x)), 0);
	fm_sink_abort(&a, true);
	fm_sink_release(&a);
	assert_null(pool.owner);
	expect_run(d, "k.bin.part", "x");

	assert_int_equal(fm_sink_prepare(&a, d->fd, "g.bin", false), 0);
	assert_int_equal(fm_sink_open(&a, false), 0);
	assert_int_equal(fm_sink_write(&a, x, sizeof(x)), 0);
	fm_sink_abort(&a, false);
	assert_null(pool.owner);
	fm_sink_release(&a);

	/* a's descriptor turns read-only under it: b's taking the pool
	 * makes the write that fails. */
	assert_int_equal(fm_sink_prepare(&a, d->fd, "h.bin", false), 0);
	assert_int_equal(fm_sink_prepare(&b, d->fd, "i.bin", false), 0);
	assert_int_equal(fm_sink_open(&a, false), 0);
	assert_int_equal(fm_sink_open(&b, false), 0);
	assert_int_equal(fm_sink_write(&a, x, sizeof(x)), 0);
	good = dup(a.fd);
	assert_true(good >= 0);
	assert_int_equal(dup2(open("/dev/null", O_RDONLY | O_CLOEXEC), a.fd),
			 a.fd);
	assert_int_equal(fm_sink_write(&b, x, sizeof(x)), 0);
	assert_int_equal(fm_sink_write(&b, t, sizeof(t)), 0);
	assert_int_equal(a.err, -EBADF);
	assert_int_equal(fm_sink_write(&a, t, sizeof(t)), -EBADF);
	assert_int_equal(fm_sink_commit(&a, -1), -EBADF);
	assert_int_equal(fm_sink_commit(&b, -1), 0);
	fm_sink_release(&a);
	fm_sink_release(&b);
	close(good);
	expect_run(d, "i.bin", "x.");
	assert_int_equal(faccessat(d->fd, "h.bin", F_OK, 0), -1);
	fm_sink_pool_free(&pool);
}

#define EACH_NAMING(f)                                                    \
	cmocka_unit_test_prestate_setup_teardown(f, setup, teardown,       \
						 (void *)&namings[0]),    \
	cmocka_unit_test_prestate_setup_teardown(f, setup, teardown,       \
						 (void *)&namings[1]),    \
	cmocka_unit_test_prestate_setup_teardown(f, setup, teardown,       \
						 (void *)&namings[2])

int main(void)
{
	const struct CMUnitTest tests[] = {
		EACH_NAMING(body_invisible_until_commit),
		EACH_NAMING(existing_name_replaced),
		EACH_NAMING(abort_leaves_nothing),
		EACH_NAMING(named_body_is_part),
		EACH_NAMING(empty_body_commits),
		EACH_NAMING(pool_gathers_pieces),
		EACH_NAMING(pool_abort_and_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
