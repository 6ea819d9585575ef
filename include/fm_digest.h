/* fm_digest.h: the digests an entry may expect of its body.
 *
 * sha256=, sha512=, sha1= and md5= (list keys, JSON keys of entries and
 * results, in this order): their names and hex forms, pure; and the set
 * of EVP contexts that hashes one body as it streams (struct
 * fm_hasher), computing only the digests asked for. */
#ifndef FM_DIGEST_H
#define FM_DIGEST_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

/* The algorithms, in the order of the keys of a result record. */
enum fm_algo {
	FM_SHA256,
	FM_SHA512,
	FM_SHA1,
	FM_MD5,
	FM_ALGOS
};

/* Hex digits of the longest digest (SHA-512), without the NUL. */
#define FM_HEX_MAX 128

/* A set of algorithms: bit a for algorithm a. */
#define FM_ALGO_BIT(a) (1u << (a))

/* The digests of one body, in lowercase hex; "" for those not
 * computed. */
struct fm_digests {
	char hex[FM_ALGOS][FM_HEX_MAX + 1];
};

/* The name of algorithm a as a key: "sha256", "sha512", "sha1", "md5". */
const char *fm_algo_name(enum fm_algo a);

/* The algorithm whose key is the n bytes at s ("sha512"), or, with
 * any_case, whose key matches in any case (a BSD tag, "SHA512").
 * Returns it, or -1 when there is none. */
int fm_algo_by_name(const char *s, size_t n, bool any_case);

/* Hex digits of algorithm a's digest: 64, 128, 40, 32. */
size_t fm_algo_hex_len(enum fm_algo a);

/* The algorithm whose digests have n hex digits, or -1 (the digests of
 * these four all differ in length, so a coreutils line needs no tag). */
int fm_algo_by_hex_len(size_t n);

/* Checks that hex is a digest of algorithm a (its number of hex digits,
 * any case) and lowercases it in place. Returns 0, or -1 with "sha1
 * must be 40 hex digits" in why. */
int fm_digest_check(enum fm_algo a, char *hex, char *why, size_t whylen);

/* The set of algorithms a body is hashed with: those of the digests
 * expected (want[a] not NULL), and SHA-256 under --sha256 (all). */
unsigned fm_digest_set(char *const want[FM_ALGOS], bool all);

/* Compares the digests computed (got) with those expected (want[a], NULL
 * for none). Returns -1 when every expected one matches; else the first
 * algorithm that differs, with "md5 mismatch: expected X, got Y" in why
 * (FM_DIGEST_WHY_MAX bytes hold it whole). */
int fm_digest_compare(char *const want[FM_ALGOS],
		      const struct fm_digests *got, char *why, size_t whylen);

/* Room for fm_digest_compare()'s reason with two SHA-512 digests. */
#define FM_DIGEST_WHY_MAX (48 + 2 * FM_HEX_MAX)

/* The EVP contexts that hash one body. Zeroed is ready; a context is
 * made the first time its algorithm is asked for, then reused from body
 * to body (a transfer hashes many). */
struct fm_hasher {
	EVP_MD_CTX *ctx[FM_ALGOS];
	unsigned on;            /* the set this body is hashed with */
};

/* Starts hashing a new body with the algorithms of set (0: none).
 * Returns 0 or -ENOMEM (then nothing is on). */
int fm_hasher_start(struct fm_hasher *h, unsigned set);

/* Adds n bytes of the body to every digest that is on. */
void fm_hasher_update(struct fm_hasher *h, const void *buf, size_t n);

/* Finishes every digest that is on into out ("" for the others) and
 * turns them off. Returns 0 or -ENOMEM. */
int fm_hasher_finish(struct fm_hasher *h, struct fm_digests *out);

/* Frees the contexts; h is zeroed, ready again. */
void fm_hasher_free(struct fm_hasher *h);

#endif
