/* test_digest.c: unit tests of fm_digest.h: the algorithms' names and
 * lengths, the check of an entry's hex digest, the set a body is hashed
 * with, the comparison and its words, and the hasher against known
 * vectors (FIPS 180 "abc", RFC 1321), one byte at a time and in one
 * piece, reused from body to body. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fm_digest.h"

#define SHA256_ABC \
	"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
#define SHA512_ABC \
	"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a" \
	"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f"
#define SHA1_ABC "a9993e364706816aba3e25717850c26c9cd0d89d"
#define MD5_ABC "900150983cd24fb0d6963f7d28e17f72"
#define MD5_EMPTY "d41d8cd98f00b204e9800998ecf8427e"

static void names_and_lengths(void **state)
{
	static const struct {
		enum fm_algo a;
		const char *name, *tag;
		size_t len;
	} t[] = {
		{ FM_SHA256, "sha256", "SHA256", 64 },
		{ FM_SHA512, "sha512", "SHA512", 128 },
		{ FM_SHA1, "sha1", "SHA1", 40 },
		{ FM_MD5, "md5", "MD5", 32 },
	};

	(void)state;
	assert_int_equal(sizeof(t) / sizeof(t[0]), FM_ALGOS);
	for (size_t i = 0; i < FM_ALGOS; i++) {
		assert_int_equal(t[i].a, (enum fm_algo)i); /* result order */
		assert_string_equal(fm_algo_name(t[i].a), t[i].name);
		assert_int_equal(fm_algo_hex_len(t[i].a), t[i].len);
		assert_int_equal(fm_algo_by_hex_len(t[i].len), t[i].a);
		assert_int_equal(fm_algo_by_name(t[i].name,
						 strlen(t[i].name), false),
				 t[i].a);
		assert_int_equal(fm_algo_by_name(t[i].tag, strlen(t[i].tag),
						 true), t[i].a);
		assert_int_equal(fm_algo_by_name(t[i].tag, strlen(t[i].tag),
						 false), -1);
	}
	/* a prefix is not a name */
	assert_int_equal(fm_algo_by_name("sha512", 4, false), -1);
	assert_int_equal(fm_algo_by_name("sha2", 4, false), -1);
	assert_int_equal(fm_algo_by_name("sha384", 6, false), -1);
	assert_int_equal(fm_algo_by_name("", 0, true), -1);
	for (size_t n = 0; n <= 200; n++)
		if (n != 32 && n != 40 && n != 64 && n != 128)
			assert_int_equal(fm_algo_by_hex_len(n), -1);
}

static void check_hex(void **state)
{
	static const struct {
		enum fm_algo a;
		const char *in, *out; /* out NULL: refused */
		const char *why;
	} t[] = {
		{ FM_MD5, MD5_ABC, MD5_ABC, NULL },
		{ FM_MD5, "900150983CD24FB0D6963F7D28E17F72", MD5_ABC, NULL },
		{ FM_MD5, "900150983cd24fb0d6963f7d28e17f7", NULL,
		  "md5 must be 32 hex digits" },
		{ FM_MD5, "900150983cd24fb0d6963f7d28e17f722", NULL,
		  "md5 must be 32 hex digits" },
		{ FM_MD5, "900150983cd24fb0d6963f7d28e17f7g", NULL,
		  "md5 must be 32 hex digits" },
		{ FM_MD5, "", NULL, "md5 must be 32 hex digits" },
		{ FM_SHA1, SHA1_ABC, SHA1_ABC, NULL },
		{ FM_SHA1, MD5_ABC, NULL, "sha1 must be 40 hex digits" },
		{ FM_SHA256, SHA256_ABC, SHA256_ABC, NULL },
		{ FM_SHA256, " " SHA256_ABC, NULL,
		  "sha256 must be 64 hex digits" },
		{ FM_SHA512, SHA512_ABC, SHA512_ABC, NULL },
		{ FM_SHA512, SHA256_ABC SHA256_ABC "x", NULL,
		  "sha512 must be 128 hex digits" },
		{ FM_SHA512, SHA256_ABC, NULL,
		  "sha512 must be 128 hex digits" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		char buf[300], why[128] = "";
		int rc;

		strcpy(buf, t[i].in);
		rc = fm_digest_check(t[i].a, buf, why, sizeof(why));
		if (t[i].out) {
			if (rc != 0)
				fail_msg("row %zu refused: %s", i, why);
			assert_string_equal(buf, t[i].out);
			assert_string_equal(why, "");
		} else {
			assert_int_equal(rc, -1);
			assert_string_equal(why, t[i].why);
		}
	}
}

static void digest_set(void **state)
{
	char x[] = "x";
	char *none[FM_ALGOS] = { 0 };
	char *some[FM_ALGOS] = { [FM_SHA512] = x, [FM_MD5] = x };

	(void)state;
	assert_int_equal(fm_digest_set(none, false), 0);
	assert_int_equal(fm_digest_set(none, true), FM_ALGO_BIT(FM_SHA256));
	assert_int_equal(fm_digest_set(some, false),
			 FM_ALGO_BIT(FM_SHA512) | FM_ALGO_BIT(FM_MD5));
	assert_int_equal(fm_digest_set(some, true),
			 FM_ALGO_BIT(FM_SHA256) | FM_ALGO_BIT(FM_SHA512) |
				 FM_ALGO_BIT(FM_MD5));
}

static void compare(void **state)
{
	struct fm_digests got = { 0 };
	char sha1[] = SHA1_ABC, md5[] = MD5_ABC, wrong[] = MD5_EMPTY;
	char sha512[] = SHA512_ABC, w512[] = SHA512_ABC;
	char *want[FM_ALGOS] = { 0 };
	char why[FM_DIGEST_WHY_MAX];

	(void)state;
	strcpy(got.hex[FM_SHA256], SHA256_ABC); /* computed, not expected */
	strcpy(got.hex[FM_SHA1], SHA1_ABC);
	strcpy(got.hex[FM_MD5], MD5_ABC);
	strcpy(got.hex[FM_SHA512], SHA512_ABC);
	assert_int_equal(fm_digest_compare(want, &got, why, sizeof(why)), -1);
	want[FM_SHA1] = sha1;
	want[FM_MD5] = md5;
	strcpy(why, "untouched");
	assert_int_equal(fm_digest_compare(want, &got, why, sizeof(why)), -1);
	assert_string_equal(why, "untouched");
	want[FM_MD5] = wrong;
	assert_int_equal(fm_digest_compare(want, &got, why, sizeof(why)),
			 FM_MD5);
	assert_string_equal(why, "md5 mismatch: expected " MD5_EMPTY
				 ", got " MD5_ABC);
	/* the longest reason fits whole */
	w512[0] = '0';
	want[FM_MD5] = md5;
	want[FM_SHA512] = w512;
	assert_int_equal(fm_digest_compare(want, &got, why, sizeof(why)),
			 FM_SHA512);
	assert_true(strlen(why) < sizeof(why) - 1);
	assert_string_equal(why + strlen(why) - 128, sha512);
	/* expected but not computed is a mismatch, never a pass */
	got.hex[FM_SHA512][0] = '\0';
	want[FM_SHA512] = sha512;
	assert_int_equal(fm_digest_compare(want, &got, why, sizeof(why)),
			 FM_SHA512);
}

/* Hashes "abc" with set through h, in pieces of step bytes. */
static void hash_abc(struct fm_hasher *h, unsigned set, size_t step,
		     struct fm_digests *out)
{
	const char *s = "abc";

	assert_int_equal(fm_hasher_start(h, set), 0);
	for (size_t i = 0; i < 3; i += step)
		fm_hasher_update(h, s + i, i + step > 3 ? 3 - i : step);
	assert_int_equal(fm_hasher_finish(h, out), 0);
	assert_int_equal(h->on, 0);
}

static void hasher_vectors(void **state)
{
	struct fm_hasher h = { 0 };
	struct fm_digests d;
	unsigned all = FM_ALGO_BIT(FM_ALGOS) - 1;

	(void)state;
	for (size_t step = 1; step <= 3; step += 2) {
		hash_abc(&h, all, step, &d);
		assert_string_equal(d.hex[FM_SHA256], SHA256_ABC);
		assert_string_equal(d.hex[FM_SHA512], SHA512_ABC);
		assert_string_equal(d.hex[FM_SHA1], SHA1_ABC);
		assert_string_equal(d.hex[FM_MD5], MD5_ABC);
	}
	/* only what is asked is computed; contexts are reused */
	hash_abc(&h, FM_ALGO_BIT(FM_MD5), 3, &d);
	assert_string_equal(d.hex[FM_MD5], MD5_ABC);
	assert_string_equal(d.hex[FM_SHA256], "");
	assert_string_equal(d.hex[FM_SHA512], "");
	assert_string_equal(d.hex[FM_SHA1], "");
	/* an empty body, and no algorithm at all */
	assert_int_equal(fm_hasher_start(&h, FM_ALGO_BIT(FM_MD5)), 0);
	assert_int_equal(fm_hasher_finish(&h, &d), 0);
	assert_string_equal(d.hex[FM_MD5], MD5_EMPTY);
	assert_int_equal(fm_hasher_start(&h, 0), 0);
	fm_hasher_update(&h, "abc", 3);
	assert_int_equal(fm_hasher_finish(&h, &d), 0);
	for (int a = 0; a < FM_ALGOS; a++)
		assert_string_equal(d.hex[a], "");
	fm_hasher_free(&h);
	for (int a = 0; a < FM_ALGOS; a++)
		assert_null(h.ctx[a]);
	fm_hasher_free(&h); /* twice is harmless */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_and_lengths),
		cmocka_unit_test(check_hex),
		cmocka_unit_test(digest_set),
		cmocka_unit_test(compare),
		cmocka_unit_test(hasher_vectors),
	};

	return cmocka_run_group_tests_name("digest", tests, NULL, NULL);
}
