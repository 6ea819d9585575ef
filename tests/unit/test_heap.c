/* test_heap.c: the waiting heap and the output-path claims set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fm_claims.h"
#include "fm_hash.h"
#include "fm_heap.h"

static void heap_pops_in_key_order(void **state)
{
	struct fm_heap h = {0};
	static int items[1000];
	uint64_t prev = 0;

	/* keys in a scrambled order, with duplicates */
	for (int i = 0; i < 1000; i++) {
		items[i] = (i * 7919) % 500;
		assert_int_equal(fm_heap_push(&h, (uint64_t)items[i],
					      &items[i]),
				 0);
	}
	assert_int_equal(h.len, 1000);
	for (int i = 0; i < 1000; i++) {
		const struct fm_heap_node *top = fm_heap_peek(&h);
		int *it;

		assert_non_null(top);
		assert_true(top->key >= prev);
		prev = top->key;
		it = fm_heap_pop(&h);
		assert_int_equal((uint64_t)*it, prev);
	}
	assert_null(fm_heap_peek(&h));
	assert_null(fm_heap_pop(&h));
	fm_heap_free(&h);
}

/* Items due at the same time come out in the order they went in. */
static void heap_equal_keys_first_in_first_out(void **state)
{
	struct fm_heap h = {0};
	static int items[300];

	(void)state;
	for (int i = 0; i < 300; i++) {
		items[i] = i;
		assert_int_equal(fm_heap_push(&h, (uint64_t)(i % 3), &items[i]),
				 0);
	}
	for (int k = 0; k < 3; k++) {
		for (int i = k; i < 300; i += 3) {
			int *it = fm_heap_pop(&h);

			assert_non_null(it);
			assert_int_equal(*it, i);
		}
	}
	assert_null(fm_heap_pop(&h));
	fm_heap_free(&h);
}

static void fnv1a64_published_vectors(void **state)
{
	/* From the FNV reference test suite. */
	assert_true(fm_fnv1a64("", 0) == 0xcbf29ce484222325ULL);
	assert_true(fm_fnv1a64("a", 1) == 0xaf63dc4c8601ec8cULL);
	assert_true(fm_fnv1a64("foobar", 6) == 0x85944171f73967e8ULL);
}

static void claims_detect_second_use(void **state)
{
	struct fm_claims c = {0};
	struct fm_claim prev = {0};

	assert_int_equal(fm_claims_take(&c, "a/b.gif", 0, 1, &prev),
			 FM_CLAIM_FREE);
	assert_int_equal(fm_claims_take(&c, "a/c.gif", 0, 2, &prev),
			 FM_CLAIM_FREE);
	assert_int_equal(fm_claims_take(&c, "a/b.gif", 1, 7, &prev),
			 FM_CLAIM_PATH_TAKEN);
	assert_int_equal(prev.line, 1);
	assert_int_equal(prev.source, 0);
	fm_claims_free(&c);
}

static void claims_grow_keeps_everything(void **state)
{
	struct fm_claims c = {0};
	struct fm_claim prev;
	char name[32];
	/* The claim that found the recent table full settled it. */
	uint32_t last_settled = 50000 - 50000 % FM_CLAIMS_RECENT;

	for (uint32_t i = 1; i <= 50000; i++) {
		snprintf(name, sizeof(name), "f%u.bin", i);
		assert_int_equal(fm_claims_take(&c, name, 0, i, &prev),
				 FM_CLAIM_FREE);
	}
	assert_int_equal(c.settled, last_settled);
	for (uint32_t i = 1; i <= 50000; i += 97) {
		snprintf(name, sizeof(name), "f%u.bin", i);
		assert_int_equal(fm_claims_take(&c, name, 2, 0, &prev),
				 FM_CLAIM_PATH_TAKEN);
		if (i <= last_settled) {
			assert_false(prev.known);
		} else {
			assert_true(prev.known);
			assert_int_equal(prev.line, i);
		}
	}
	for (uint32_t i = 50001; i <= 50100; i++) {
		snprintf(name, sizeof(name), "f%u.bin", i);
		assert_int_equal(fm_claims_take(&c, name, 0, i, &prev),
				 FM_CLAIM_FREE);
	}
	/* a few bytes per entry: 6 settled, plus the fixed recent table
	 * (an 8-byte key and an 8-byte author a slot)
	 * and the bucket directory */
	assert_int_equal(c.used, 50100);
	assert_true(fm_claims_bytes(&c) <=
		    50100 * 6 + 8192 * 16 + 65537 * 4);
	fm_claims_free(&c);
}

#define LOWBITS ((UINT64_C(1) << 48) - 1)

static uint64_t low48(const unsigned char *p)
{
	uint64_t v = 0;

	for (int i = 5; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Keys placed on purpose: crowded buckets, the same low 48 bits in other
 * buckets, the extremes; then random ones, enough to settle four times. */
static void claims_settled_keys_stay_exact(void **state)
{
	struct fm_claims c = {0};
	struct fm_claim prev;
	enum { N = 4 * FM_CLAIMS_RECENT + 500, CRAFTED = 3 * 300 + 2 };
	uint64_t *keys = malloc(N * sizeof(*keys)), s = 88172645463325252ULL;
	size_t n = 0;

	assert_non_null(keys);
	for (uint64_t i = 0; i < 300; i++) {
		keys[n++] = UINT64_C(0x1234) << 48 | (i * 7919 + 1);
		keys[n++] = (i + 1) << 48 | UINT64_C(0xabcdef);
		keys[n++] = UINT64_C(0xffff) << 48 | (LOWBITS - 2 - i);
	}
	keys[n++] = 1;
	keys[n++] = UINT64_MAX - 1;
	assert_int_equal(n, CRAFTED);
	while (n < N) {
		uint64_t k = xorshift(&s);

		keys[n++] = k ? k : 2;
	}
	/* Interleave crafted and random keys. */
	for (size_t i = N - 1; i > 0; i--) {
		size_t j = (size_t)(xorshift(&s) % (i + 1));
		uint64_t t = keys[i];

		keys[i] = keys[j];
		keys[j] = t;
	}
	for (size_t i = 0; i < N; i++)
		assert_int_equal(fm_claims_take_key(&c, keys[i], 0,
						    (uint32_t)i + 1, &prev),
				 FM_CLAIM_FREE);
	assert_int_equal(c.settled, 4 * FM_CLAIMS_RECENT);
	assert_int_equal(c.dir[65536], c.settled);
	for (size_t b = 0; b < 65536; b++)
		for (size_t i = c.dir[b] + 1; i < c.dir[b + 1]; i++)
			assert_true(low48(c.low + 6 * (i - 1)) <
				    low48(c.low + 6 * i));
	for (size_t i = 0; i < N; i++) {
		assert_int_equal(fm_claims_take_key(&c, keys[i], 1, 1, &prev),
				 FM_CLAIM_PATH_TAKEN);
		assert_int_equal(prev.known, i >= 4 * FM_CLAIMS_RECENT);
	}
	/* Neighbours of taken keys are free: the bucket bits count. */
	assert_int_equal(fm_claims_take_key(&c, UINT64_C(0x1235) << 48 | 1, 0,
					    1, &prev),
			 FM_CLAIM_FREE);
	assert_int_equal(fm_claims_take_key(&c, UINT64_C(0xabcdef), 0, 1,
					    &prev),
			 FM_CLAIM_FREE);
	assert_int_equal(fm_claims_take_key(&c, UINT64_MAX, 0, 1, &prev),
			 FM_CLAIM_FREE);
	assert_int_equal(fm_claims_take_key(&c, 3, 0, 1, &prev), FM_CLAIM_FREE);
	free(keys);
	fm_claims_free(&c);
}

/* Who claimed a path is kept exactly, also past line 2^24 and source
 * 255 (once kept in 24 and 8 bits, so the message named a wrong list or
 * "line 0"); what cannot be kept exactly is not kept at all. */
static void claims_keep_large_lines_and_sources(void **state)
{
	struct fm_claims c = {0};
	struct fm_claim prev;

	(void)state;
	assert_int_equal(fm_claims_take(&c, "big", 300, 20000000, &prev),
			 FM_CLAIM_FREE);
	assert_int_equal(fm_claims_take(&c, "big", 0, 1, &prev),
			 FM_CLAIM_PATH_TAKEN);
	assert_true(prev.known);
	assert_int_equal(prev.line, 20000000);
	assert_int_equal(prev.source, 300);
	assert_int_equal(fm_claims_take(&c, "2^24", 256, 1u << 24, &prev),
			 FM_CLAIM_FREE);
	assert_int_equal(fm_claims_take(&c, "2^24", 0, 1, &prev),
			 FM_CLAIM_PATH_TAKEN);
	assert_true(prev.known);
	assert_int_equal(prev.line, 1u << 24);
	assert_int_equal(prev.source, 256);
	assert_int_equal(fm_claims_take(&c, "ok", 3, 16777215, &prev),
			 FM_CLAIM_FREE);
	assert_int_equal(fm_claims_take(&c, "ok", 0, 1, &prev),
			 FM_CLAIM_PATH_TAKEN);
	assert_true(prev.known);
	assert_int_equal(prev.line, 16777215);
	assert_int_equal(prev.source, 3);
	assert_int_equal(fm_claims_take(&c, "4e9", 7, UINT64_C(4000000000),
					&prev), FM_CLAIM_FREE);
	assert_int_equal(fm_claims_take(&c, "4e9", 0, 1, &prev),
			 FM_CLAIM_PATH_TAKEN);
	assert_true(prev.known);
	assert_true(prev.line == UINT64_C(4000000000));
	assert_int_equal(prev.source, 7);
	/* Too large to keep: the claim holds, its author is unknown. */
	assert_int_equal(fm_claims_take(&c, "huge", 1, UINT64_C(1) << 40,
					&prev), FM_CLAIM_FREE);
	assert_int_equal(fm_claims_take(&c, "huge", 0, 1, &prev),
			 FM_CLAIM_PATH_TAKEN);
	assert_false(prev.known);
	assert_int_equal(fm_claims_take(&c, "many", 1u << 23, 5, &prev),
			 FM_CLAIM_FREE);
	assert_int_equal(fm_claims_take(&c, "many", 0, 1, &prev),
			 FM_CLAIM_PATH_TAKEN);
	assert_false(prev.known);
	fm_claims_free(&c);
}

/* Under -c a path also takes its NAME.part, in either order, and a
 * refused claim takes nothing. */
static void claims_part_reserved(void **state)
{
	struct fm_claims c = {0};
	struct fm_claim prev;

	(void)state;
	assert_int_equal(fm_claims_take_path(&c, "d/x.bin", true, 1, 5, &prev),
			 FM_CLAIM_FREE);
	assert_int_equal(fm_claims_take_path(&c, "d/x.bin.part", true, 2, 9,
					     &prev),
			 FM_CLAIM_PATH_TAKEN);
	assert_true(prev.known && prev.part);
	assert_int_equal(prev.source, 1);
	assert_int_equal(prev.line, 5);
	assert_int_equal(fm_claims_take_path(&c, "d/x.bin", true, 2, 9, &prev),
			 FM_CLAIM_PATH_TAKEN);
	assert_false(prev.part);

	/* The other order: y.bin.part first, then y.bin (whose .part it
	 * is) is refused, and y.bin stays free for a later entry. */
	assert_int_equal(fm_claims_take_path(&c, "y.bin.part", true, 1, 6,
					     &prev), FM_CLAIM_FREE);
	assert_int_equal(fm_claims_take_path(&c, "y.bin", true, 1, 7, &prev),
			 FM_CLAIM_PART_TAKEN);
	assert_true(prev.known);
	assert_false(prev.part);
	assert_int_equal(prev.line, 6);
	assert_int_equal(fm_claims_take_path(&c, "y.bin", false, 1, 8, &prev),
			 FM_CLAIM_FREE);

	/* Without -c, NAME.part is no one's. */
	assert_int_equal(fm_claims_take_path(&c, "z.bin", false, 1, 10, &prev),
			 FM_CLAIM_FREE);
	assert_int_equal(fm_claims_take_path(&c, "z.bin.part", false, 1, 11,
					     &prev), FM_CLAIM_FREE);
	fm_claims_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(heap_pops_in_key_order),
		cmocka_unit_test(heap_equal_keys_first_in_first_out),
		cmocka_unit_test(fnv1a64_published_vectors),
		cmocka_unit_test(claims_detect_second_use),
		cmocka_unit_test(claims_grow_keeps_everything),
		cmocka_unit_test(claims_settled_keys_stay_exact),
		cmocka_unit_test(claims_keep_large_lines_and_sources),
		cmocka_unit_test(claims_part_reserved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
