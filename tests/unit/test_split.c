/* test_split.c: one body over several ranged transfers (split.c), on a
 * real file: segments cut, confirmed, failed and taken again, written out
 * of order; the file and its digest must come out byte for byte. */
#define _XOPEN_SOURCE 700 /* mkdtemp */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "fm_split.h"

#define KIB 1024u
#define MIN (64u * KIB)
#define SIZE (1024u * KIB)

struct fx {
	char dir[64];
	int root;
	struct fm_sink sink;
	unsigned char *body;    /* what the server would send */
	struct fm_split split;
	struct fm_seg *first;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/fm-split-XXXXXX");
	if (!mkdtemp(f->dir) || (f->root = fm_sink_open_root(f->dir)) < 0)
		return -1;
	f->body = malloc(SIZE);
	if (!f->body)
		return -1;
	for (uint32_t i = 0; i < SIZE; i++)
		f->body[i] = (unsigned char)(i * 2654435761u >> 13);
	f->sink = (struct fm_sink)FM_SINK_INIT;
	if (fm_sink_prepare(&f->sink, f->root, "big", false) ||
	    fm_sink_open(&f->sink, false))
		return -1;
	if (fm_split_init(&f->split, SIZE, MIN, "http://h/big", "\"v1\"",
			  "\"v1\"", -1, &f->sink, true, &f->first))
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	char path[128];

	fm_split_free(&f->split, false);
	fm_sink_release(&f->sink);
	snprintf(path, sizeof(path), "%s/big", f->dir);
	unlink(path);
	close(f->root);
	rmdir(f->dir);
	free(f->body);
	free(f);
	return 0;
}

/* Sends seg's response from offset from (its request's first byte) to
 * upto, in pieces of 16 KiB, as a transfer would; returns what the last
 * write said. */
static int send(struct fx *f, struct fm_seg *seg, uint64_t from, uint64_t upto)
{
	int rc = FM_SPLIT_MORE;

	while (from < upto && rc == FM_SPLIT_MORE) {
		size_t n = upto - from < 16 * KIB ? upto - from : 16 * KIB;

		rc = fm_split_write(&f->split, seg, f->body + from, n);
		from += n;
	}
	return rc;
}

static bool end(struct fx *f, struct fm_seg *seg, bool failed)
{
	bool complete;

	return fm_split_end(&f->split, seg, failed, &complete);
}

/* The file holds the body; its digest is the body's. */
static void check_file(struct fx *f)
{
	unsigned char want[32];
	char hex[65], whex[65];
	unsigned char *got = malloc(SIZE);
	unsigned n = 0;
	char path[128];
	int fd;

	assert_non_null(got);
	assert_int_equal(fm_split_digest(&f->split, hex), 0);
	EVP_Digest(f->body, SIZE, want, &n, EVP_sha256(), NULL);
	for (unsigned i = 0; i < 32; i++)
		snprintf(whex + 2 * i, 3, "%02x", want[i]);
	assert_string_equal(hex, whex);
	assert_int_equal(fm_split_commit(&f->split), 0);
	snprintf(path, sizeof(path), "%s/big", f->dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, got, SIZE), SIZE);
	assert_int_equal(read(fd, got, 1), 0);
	close(fd);
	assert_memory_equal(got, f->body, SIZE);
	free(got);
}

/* Nobody cuts it: the first transfer writes it all and commits. */
static void split_whole_by_one(void **state)
{
	struct fx *f = *state;

	assert_int_equal(send(f, f->first, 0, SIZE), FM_SPLIT_MORE);
	assert_true(end(f, f->first, false));
	assert_int_equal(f->split.reread, 0);
	check_file(f);
}

/* The first cut is a probe: the first transfer keeps its whole range
 * until the probe's 206 comes, then ends where the probe begins. */
static void split_probe_then_cut(void **state)
{
	struct fx *f = *state;
	struct fm_seg *p, *again;
	bool probe;

	p = fm_split_take(&f->split, 0, &probe);
	assert_non_null(p);
	assert_true(probe);
	assert_int_equal(p->start, SIZE / 2);
	/* no second probe while one is out */
	assert_null(fm_split_take(&f->split, 0, &probe));
	assert_int_equal(f->first->end, SIZE);
	assert_true(fm_split_confirm(&f->split, p));
	assert_int_equal(f->first->end, SIZE / 2);
	/* the probe's half first, then the first half: the first
	 * transfer's plain GET would go on, but stops at its end */
	assert_int_equal(send(f, p, SIZE / 2, SIZE), FM_SPLIT_MORE);
	assert_false(end(f, p, false));
	assert_int_equal(send(f, f->first, 0, SIZE), FM_SPLIT_END);
	assert_true(end(f, f->first, false));
	again = fm_split_take(&f->split, 0, &probe);
	assert_null(again);
	check_file(f);
	/* the second half was on disk before the prefix reached it */
	assert_int_equal(f->split.reread, SIZE / 2);
}

/* The probe's 206 comes after the first transfer passed the cut: the
 * probe drops what is on disk already and takes the rest. */
static void split_probe_confirmed_late(void **state)
{
	struct fx *f = *state;
	struct fm_seg *p;
	bool probe;

	p = fm_split_take(&f->split, 0, &probe);
	assert_non_null(p);
	assert_int_equal(send(f, f->first, 0, SIZE / 2 + 100 * KIB),
			 FM_SPLIT_MORE);
	assert_true(fm_split_confirm(&f->split, p));
	assert_int_equal(f->first->end, SIZE / 2 + 100 * KIB);
	assert_int_equal(p->start, SIZE / 2 + 100 * KIB);
	assert_int_equal(p->skip, 100 * KIB);
	/* its response still begins at the offset it asked */
	assert_int_equal(send(f, p, SIZE / 2, SIZE), FM_SPLIT_MORE);
	assert_true(end(f, p, false));
	assert_false(end(f, f->first, false));
	check_file(f);
}

/* A probe the server answers with 200: nothing is ever cut again. */
static void split_no_ranges(void **state)
{
	struct fx *f = *state;
	struct fm_seg *p;
	bool probe;

	p = fm_split_take(&f->split, 0, &probe);
	fm_split_unprobe(&f->split, p, true);
	assert_null(fm_split_take(&f->split, 0, &probe));
	assert_int_equal(send(f, f->first, 0, SIZE), FM_SPLIT_MORE);
	assert_true(end(f, f->first, false));
	check_file(f);
}

/* A probe that fails (an error, not a 200) is tried again, twice at
 * most. */
static void split_probe_retried(void **state)
{
	struct fx *f = *state;
	struct fm_seg *p;
	bool probe;

	p = fm_split_take(&f->split, 0, &probe);
	fm_split_unprobe(&f->split, p, false);
	p = fm_split_take(&f->split, 0, &probe);
	assert_non_null(p);
	assert_true(probe);
	fm_split_unprobe(&f->split, p, false);
	assert_null(fm_split_take(&f->split, 0, &probe));
	assert_int_equal(f->split.held, 1);
}

/* Once ranges work, each take cuts the segment with the most left in
 * two, and none smaller than 2 * MIN is cut. */
static void split_cuts_the_largest(void **state)
{
	struct fx *f = *state;
	struct fm_seg *s[16];
	unsigned n = 0;
	bool probe;

	s[n++] = f->first;
	s[n] = fm_split_take(&f->split, 0, &probe);
	assert_true(fm_split_confirm(&f->split, s[n++]));
	while (n < 16 && (s[n] = fm_split_take(&f->split, 0, &probe))) {
		assert_false(probe);
		assert_true(s[n]->end - s[n]->start >= MIN);
		n++;
	}
	/* 1 MiB in pieces of at least 64 KiB, each cut halving: 16 */
	assert_int_equal(n, 16);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(send(f, s[i], s[i]->pos, s[i]->end),
				 FM_SPLIT_MORE);
	}
	/* every byte is there: the first to end commits, once */
	for (unsigned i = 0; i < n; i++)
		assert_int_equal(end(f, s[i], false), i == 0);
	/* merged into one */
	assert_null(f->split.segs->next);
	check_file(f);
}

/* A segment that fails keeps what it wrote; the rest waits, free, until
 * the scheduler says when, and goes on from where it stopped. */
static void split_failed_segment_retried(void **state)
{
	struct fx *f = *state;
	struct fm_seg *p;
	bool probe;

	p = fm_split_take(&f->split, 0, &probe);
	assert_true(fm_split_confirm(&f->split, p));
	assert_int_equal(send(f, f->first, 0, SIZE / 2), FM_SPLIT_MORE);
	assert_false(end(f, f->first, false));
	assert_int_equal(send(f, p, SIZE / 2, SIZE / 2 + 50 * KIB),
			 FM_SPLIT_MORE);
	assert_false(end(f, p, true));
	assert_int_equal(fm_split_failures(&f->split, p), 1);
	/* not before the scheduler says when */
	assert_null(fm_split_take(&f->split, 1000, &probe));
	fm_split_due(&f->split, p, 500);
	assert_int_equal(fm_split_next_due(&f->split), 500);
	assert_null(fm_split_take(&f->split, 499, &probe));
	assert_ptr_equal(fm_split_take(&f->split, 500, &probe), p);
	assert_false(probe);
	assert_int_equal(p->pos, SIZE / 2 + 50 * KIB);
	assert_int_equal(send(f, p, p->pos, SIZE), FM_SPLIT_MORE);
	assert_true(end(f, p, false));
	check_file(f);
}

/* fm_split_stop(): every segment stops at its next byte. */
static void split_stop(void **state)
{
	struct fx *f = *state;
	bool probe;

	fm_split_stop(&f->split);
	assert_int_equal(fm_split_write(&f->split, f->first, f->body, 10),
			 FM_SPLIT_STOP);
	assert_null(fm_split_take(&f->split, 0, &probe));
	assert_false(end(f, f->first, true));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(split_whole_by_one),
		T(split_probe_then_cut),
		T(split_probe_confirmed_late),
		T(split_no_ranges),
		T(split_probe_retried),
		T(split_cuts_the_largest),
		T(split_failed_segment_retried),
		T(split_stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
