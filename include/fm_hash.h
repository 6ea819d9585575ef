/* fm_hash.h: the one string hash of the program, 64-bit FNV-1a.
 *
 * Used where a stable, seedless hash is wanted: claims' keys (mixed
 * further there), the host table's buckets, and --shard, whose split
 * must be the same on every machine and in every version. */
#ifndef FM_HASH_H
#define FM_HASH_H

#include <stddef.h>
#include <stdint.h>

#define FM_FNV1A64_INIT UINT64_C(0xcbf29ce484222325)

/* Continues hash h over n more bytes at p. */
static inline uint64_t fm_fnv1a64_more(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= UINT64_C(0x100000001b3);
	}
	return h;
}

/* 64-bit FNV-1a of n bytes at p. */
static inline uint64_t fm_fnv1a64(const void *p, size_t n)
{
	return fm_fnv1a64_more(FM_FNV1A64_INIT, p, n);
}

#endif
