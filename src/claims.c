/* claims.c: an open-addressing set of output-path hashes.
 *
 * The set is split into 256 tables by the top byte of the (mixed) hash,
 * each growing on its own, so growing never holds two copies of the
 * whole set at once. Each table uses linear probing, is kept at most 85%
 * full and grows by a quarter; a slot is 12 bytes (hash and line in two
 * arrays), so a million claims cost about 16 MB. Slots are found by
 * "fast range" reduction, which works for any table size. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fm_claims.h"

uint64_t fm_fnv1a64(const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = 0xcbf29ce484222325ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= b[i];
		h *= 0x100000001b3ULL;
	}
	return h;
}

/* FNV's low bits are weak for similar strings: mix before using them. */
static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h;
}

static size_t find(const struct fm_claim_table *t, uint64_t h)
{
	/* Bits 24..55 of the mixed hash; the top byte chose the table. */
	size_t i = (size_t)((((mix(h) >> 24) & 0xffffffffu) * t->cap) >> 32);

	while (t->hash[i] && t->hash[i] != h)
		i = i + 1 == t->cap ? 0 : i + 1;
	return i;
}

static int grow(struct fm_claim_table *t)
{
	struct fm_claim_table n = {.cap = t->cap ? t->cap + t->cap / 4 : 64,
				   .used = t->used};

	n.hash = calloc(n.cap, sizeof(*n.hash));
	n.where = calloc(n.cap, sizeof(*n.where));
	if (!n.hash || !n.where) {
		free(n.hash);
		free(n.where);
		return -ENOMEM;
	}
	for (size_t i = 0; i < t->cap; i++) {
		if (t->hash[i]) {
			size_t j = find(&n, t->hash[i]);

			n.hash[j] = t->hash[i];
			n.where[j] = t->where[i];
		}
	}
	free(t->hash);
	free(t->where);
	*t = n;
	return 0;
}

int fm_claims_take(struct fm_claims *c, const char *path, uint32_t source,
		   uint32_t line, struct fm_claim *prev)
{
	uint64_t h = fm_fnv1a64(path, strlen(path));
	struct fm_claim_table *t;
	size_t i;

	if (h == 0)
		h = 1; /* 0 marks an empty slot */
	t = &c->table[mix(h) >> 56];
	if ((t->used + 1) * 20 > t->cap * 17 && grow(t))
		return -ENOMEM;
	i = find(t, h);
	if (t->hash[i]) {
		*prev = (struct fm_claim){
			.hash = h,
			.line = t->where[i] & FM_CLAIM_LINE_MASK,
			.source = t->where[i] >> FM_CLAIM_LINE_BITS,
		};
		return 1;
	}
	t->hash[i] = h;
	/* Lines beyond 2^24 and sources beyond 255 are remembered as 0 and
	 * 255: the message gets vaguer, the detection does not. */
	if (line > FM_CLAIM_LINE_MASK)
		line = 0;
	if (source > 255)
		source = 255;
	t->where[i] = source << FM_CLAIM_LINE_BITS | line;
	t->used++;
	c->used++;
	return 0;
}

size_t fm_claims_bytes(const struct fm_claims *c)
{
	size_t n = 0;

	for (size_t i = 0; i < FM_CLAIM_TABLES; i++)
		n += c->table[i].cap * (sizeof(uint64_t) + sizeof(uint32_t));
	return n;
}

void fm_claims_free(struct fm_claims *c)
{
	for (size_t i = 0; i < FM_CLAIM_TABLES; i++) {
		free(c->table[i].hash);
		free(c->table[i].where);
	}
	*c = (struct fm_claims){0};
}
