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

	assert_int_equal(fm_claims_take(&c, "a/b.gif", 0, 1, &prev), 0);
	assert_int_equal(fm_claims_take(&c, "a/c.gif", 0, 2, &prev), 0);
	assert_int_equal(fm_claims_take(&c, "a/b.gif", 1, 7, &prev), 1);
	assert_int_equal(prev.line, 1);
	assert_int_equal(prev.source, 0);
	fm_claims_free(&c);
}

static void claims_grow_keeps_everything(void **state)
{
	struct fm_claims c = {0};
	struct fm_claim prev;
	char name[32];

	for (uint32_t i = 1; i <= 50000; i++) {
		snprintf(name, sizeof(name), "f%u.bin", i);
		assert_int_equal(fm_claims_take(&c, name, 0, i, &prev), 0);
	}
	for (uint32_t i = 1; i <= 50000; i += 997) {
		snprintf(name, sizeof(name), "f%u.bin", i);
		assert_int_equal(fm_claims_take(&c, name, 2, 0, &prev), 1);
		assert_int_equal(prev.line, i);
	}
	/* a few bytes per entry: 12-byte slots, mostly full */
	assert_int_equal(c.used, 50000);
	assert_true(fm_claims_bytes(&c) <= 50000 * 12 * 2);
	fm_claims_free(&c);
}

static void claims_clamp_large_lines_and_sources(void **state)
{
	struct fm_claims c = {0};
	struct fm_claim prev;

	assert_int_equal(fm_claims_take(&c, "big", 300, 20000000, &prev), 0);
	assert_int_equal(fm_claims_take(&c, "big", 0, 1, &prev), 1);
	assert_int_equal(prev.line, 0);     /* past 2^24: unknown */
	assert_int_equal(prev.source, 255); /* 255 and beyond */
	assert_int_equal(fm_claims_take(&c, "ok", 3, 16777215, &prev), 0);
	assert_int_equal(fm_claims_take(&c, "ok", 0, 1, &prev), 1);
	assert_int_equal(prev.line, 16777215);
	assert_int_equal(prev.source, 3);
	fm_claims_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(heap_pops_in_key_order),
		cmocka_unit_test(fnv1a64_published_vectors),
		cmocka_unit_test(claims_detect_second_use),
		cmocka_unit_test(claims_grow_keeps_everything),
		cmocka_unit_test(claims_clamp_large_lines_and_sources),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
