/* rate.c: the --limit-rate token bucket (see fm_rate.h). */
#include "fm_rate.h"

void fm_bucket_init(struct fm_bucket *b, double rate, uint64_t now)
{
	b->rate = rate;
	b->burst = rate * 0.05;
	if (b->burst < 16384)
		b->burst = 16384;
	b->tokens = 0;
	b->last = now;
}

void fm_bucket_refill(struct fm_bucket *b, uint64_t now)
{
	if (now <= b->last)
		return;
	b->tokens += b->rate * (double)(now - b->last) / 1e9;
	if (b->tokens > b->burst)
		b->tokens = b->burst;
	b->last = now;
}

bool fm_bucket_take(struct fm_bucket *b, size_t n)
{
	if (b->tokens <= 0)
		return false;
	b->tokens -= (double)n;
	return true;
}
