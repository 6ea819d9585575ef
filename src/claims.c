/* claims.c: the set of output-path keys, in two tiers.
 *
 * New keys go to a fixed hash table of RECENT_SLOTS (linear probing, at
 * most three quarters full) together with who claimed them. When it is
 * full, its keys are sorted and merged into the settled array, which
 * holds only the low 48 bits of each key: the top 16 bits are the
 * bucket, and a directory of 65,537 offsets says where each bucket
 * starts. Keys are uniform (FNV-1a, then a bijective mix), so buckets
 * stay even, and a million settled keys cost 6 MB plus 256 KiB of
 * directory, with no slack and no second copy while growing: the array
 * grows in place (mremap) and the merge runs backwards through it. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fm_claims.h"
#include "fm_hash.h"

#define RECENT_SLOTS 8192 /* a power of two, > FM_CLAIMS_RECENT */
#define BUCKETS 65536
#define LOW_MASK ((UINT64_C(1) << 48) - 1)
#define GROW_BYTES (256 * 1024)

/* A claim's who: bit 63 says the key is an entry's NAME.part, bits
 * 40..62 hold its source and 0..39 its line. A source or line too large
 * for its field is not kept at all (WHO_UNKNOWN): a vaguer message is
 * better than one naming the wrong list or line. */
#define WHO_PART (UINT64_C(1) << 63)
#define WHO_LINE_BITS 40
#define WHO_LINE_MAX ((UINT64_C(1) << WHO_LINE_BITS) - 1)
#define WHO_SOURCE_MAX ((UINT32_C(1) << 23) - 1)
#define WHO_UNKNOWN ((uint64_t)WHO_SOURCE_MAX << WHO_LINE_BITS)

/* FNV's high bits are weak for similar strings: mix them. */
static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	return h ? h : 1; /* 0 marks an empty slot */
}

uint64_t fm_claims_key(const char *path)
{
	return mix(fm_fnv1a64(path, strlen(path)));
}

/* The key of path followed by ".part", without building that string. */
static uint64_t part_key(const char *path)
{
	return mix(fm_fnv1a64_more(fm_fnv1a64(path, strlen(path)), ".part", 5));
}

static uint64_t who(uint32_t source, uint64_t line, bool part)
{
	uint64_t w = source > WHO_SOURCE_MAX || line > WHO_LINE_MAX
			     ? WHO_UNKNOWN
			     : (uint64_t)source << WHO_LINE_BITS | line;

	return part ? w | WHO_PART : w;
}

static uint64_t load48(const unsigned char *p)
{
	return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 |
	       (uint64_t)p[3] << 24 | (uint64_t)p[4] << 32 |
	       (uint64_t)p[5] << 40;
}

static void store48(unsigned char *p, uint64_t v)
{
	for (int i = 0; i < 6; i++)
		p[i] = (unsigned char)(v >> (8 * i));
}

/* The slot holding key, or the empty slot where it would go. */
static size_t recent_find(const struct fm_claims *c, uint64_t key)
{
	size_t i = (size_t)(key >> 16) & (RECENT_SLOTS - 1);

	while (c->key[i] && c->key[i] != key)
		i = (i + 1) & (RECENT_SLOTS - 1);
	return i;
}

/* How many settled keys below hi are smaller than key: its place. */
static size_t settled_rank(const struct fm_claims *c, uint64_t key,
			   size_t hi)
{
	size_t b = (size_t)(key >> 48);
	size_t lo = c->dir[b];
	uint64_t want = key & LOW_MASK;

	if (hi > c->dir[b + 1])
		hi = c->dir[b + 1];
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (load48(c->low + 6 * mid) < want)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool settled_has(const struct fm_claims *c, uint64_t key)
{
	size_t i;

	if (!c->settled)
		return false;
	i = settled_rank(c, key, c->settled);
	return i < c->dir[(key >> 48) + 1] &&
	       load48(c->low + 6 * i) == (key & LOW_MASK);
}

/* Makes room for n settled keys, in place where the kernel can. */
static int reserve(struct fm_claims *c, size_t n)
{
	size_t bytes = (6 * n + GROW_BYTES - 1) / GROW_BYTES * GROW_BYTES;
	void *p;

	if (bytes <= c->low_bytes)
		return 0;
	if (!c->low_bytes)
		p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	else
		p = mremap(c->low, c->low_bytes, bytes, MREMAP_MAYMOVE);
	if (p == MAP_FAILED)
		return -ENOMEM;
	c->low = p;
	c->low_bytes = bytes;
	return 0;
}

static int cmp_key(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Moves every recent key into the settled array and empties the table. */
static int settle(struct fm_claims *c)
{
	size_t m = 0, i, out, b;

	if (!c->dir && !(c->dir = calloc(BUCKETS + 1, sizeof(*c->dir))))
		return -ENOMEM;
	if (reserve(c, c->settled + c->recent))
		return -ENOMEM;
	for (i = 0; i < RECENT_SLOTS; i++)
		if (c->key[i])
			c->key[m++] = c->key[i];
	qsort(c->key, m, sizeof(*c->key), cmp_key);
	/* Backwards, largest first: each key's place among the settled
	 * ones is found in the old layout, whose entries below that place
	 * have not moved yet; the run above it moves up in one piece. */
	i = c->settled;
	out = c->settled + m;
	for (size_t j = m; j-- > 0;) {
		size_t at = settled_rank(c, c->key[j], i);

		out -= i - at;
		memmove(c->low + 6 * out, c->low + 6 * at, 6 * (i - at));
		i = at;
		store48(c->low + 6 * --out, c->key[j] & LOW_MASK);
	}
	/* Each bucket now starts later by the new keys in buckets below. */
	i = 0;
	for (b = 0; b <= BUCKETS; b++) {
		while (i < m && (size_t)(c->key[i] >> 48) < b)
			i++;
		c->dir[b] += (uint32_t)i;
	}
	c->settled += m;
	c->recent = 0;
	memset(c->key, 0, RECENT_SLOTS * sizeof(*c->key));
	return 0;
}

/* Whether key is taken, with *prev saying by whom where known. */
static bool lookup(const struct fm_claims *c, uint64_t key,
		   struct fm_claim *prev)
{
	size_t i;
	uint64_t w;

	if (c->key && c->key[i = recent_find(c, key)]) {
		w = c->where[i];
		*prev = (struct fm_claim){.part = (w & WHO_PART) != 0};
		w &= ~WHO_PART;
		if (w != WHO_UNKNOWN) {
			prev->known = true;
			prev->source = (uint32_t)(w >> WHO_LINE_BITS);
			prev->line = w & WHO_LINE_MAX;
		}
		return true;
	}
	if (settled_has(c, key)) {
		*prev = (struct fm_claim){.known = false};
		return true;
	}
	return false;
}

/* Adds key, which is not taken, for w. Returns 0 or -ENOMEM. */
static int insert(struct fm_claims *c, uint64_t key, uint64_t w)
{
	size_t i;

	if (!c->key) {
		c->key = calloc(RECENT_SLOTS, sizeof(*c->key));
		c->where = calloc(RECENT_SLOTS, sizeof(*c->where));
		if (!c->key || !c->where) {
			fm_claims_free(c);
			return -ENOMEM;
		}
	}
	if (c->recent == FM_CLAIMS_RECENT && settle(c))
		return -ENOMEM;
	i = recent_find(c, key);
	c->key[i] = key;
	c->where[i] = w;
	c->recent++;
	c->used++;
	return 0;
}

enum fm_claim_result fm_claims_take_key(struct fm_claims *c, uint64_t key,
					uint32_t source, uint64_t line,
					struct fm_claim *prev)
{
	if (lookup(c, key, prev))
		return FM_CLAIM_PATH_TAKEN;
	if (insert(c, key, who(source, line, false)))
		return FM_CLAIM_NOMEM;
	return FM_CLAIM_FREE;
}

enum fm_claim_result fm_claims_take(struct fm_claims *c, const char *path,
				    uint32_t source, uint64_t line,
				    struct fm_claim *prev)
{
	return fm_claims_take_key(c, fm_claims_key(path), source, line, prev);
}

enum fm_claim_result fm_claims_take_path(struct fm_claims *c, const char *path,
					 bool part, uint32_t source,
					 uint64_t line, struct fm_claim *prev)
{
	uint64_t key = fm_claims_key(path), pkey = part ? part_key(path) : 0;
	int err;

	if (lookup(c, key, prev))
		return FM_CLAIM_PATH_TAKEN;
	if (part && lookup(c, pkey, prev))
		return FM_CLAIM_PART_TAKEN;
	err = insert(c, key, who(source, line, false));
	if (!err && part)
		err = insert(c, pkey, who(source, line, true));
	return err ? FM_CLAIM_NOMEM : FM_CLAIM_FREE;
}

size_t fm_claims_bytes(const struct fm_claims *c)
{
	size_t n = 6 * c->settled;

	if (c->key)
		n += RECENT_SLOTS * (sizeof(*c->key) + sizeof(*c->where));
	if (c->dir)
		n += (BUCKETS + 1) * sizeof(*c->dir);
	return n;
}

void fm_claims_free(struct fm_claims *c)
{
	free(c->key);
	free(c->where);
	free(c->dir);
	if (c->low_bytes)
		munmap(c->low, c->low_bytes);
	*c = (struct fm_claims){0};
}
