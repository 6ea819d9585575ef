/* digest.c: the digests an entry may expect of its body (fm_digest.h).
 *
 * One table says everything about an algorithm: its key, its EVP
 * implementation, its length. The names and checks are pure; the hasher
 * feeds a body to the EVP contexts of the algorithms asked for only, so
 * that --sha256 or an md5= costs what it asks and nothing more. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fm_digest.h"
#include "fm_error.h"

static const struct {
	const char *name;
	const EVP_MD *(*md)(void);
	size_t hex_len;
} algos[FM_ALGOS] = {
	[FM_SHA256] = {"sha256", EVP_sha256, 64},
	[FM_SHA512] = {"sha512", EVP_sha512, 128},
	[FM_SHA1] = {"sha1", EVP_sha1, 40},
	[FM_MD5] = {"md5", EVP_md5, 32},
};

const char *fm_algo_name(enum fm_algo a)
{
	return algos[a].name;
}

int fm_algo_by_name(const char *s, size_t n, bool any_case)
{
	for (int a = 0; a < FM_ALGOS; a++) {
		const char *name = algos[a].name;

		if (strlen(name) != n)
			continue;
		if (any_case ? strncasecmp(s, name, n) == 0
			     : strncmp(s, name, n) == 0)
			return a;
	}
	return -1;
}

size_t fm_algo_hex_len(enum fm_algo a)
{
	return algos[a].hex_len;
}

int fm_algo_by_hex_len(size_t n)
{
	for (int a = 0; a < FM_ALGOS; a++)
		if (algos[a].hex_len == n)
			return a;
	return -1;
}

int fm_digest_check(enum fm_algo a, char *hex, char *why, size_t whylen)
{
	size_t i;

	for (i = 0; hex[i] != '\0'; i++) {
		char c = hex[i];

		if (c >= 'A' && c <= 'F')
			hex[i] = (char)(c - 'A' + 'a');
		else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			break;
	}
	if (hex[i] != '\0' || i != algos[a].hex_len)
		return fm_why(why, whylen, "%s must be %zu hex digits",
			      algos[a].name, algos[a].hex_len);
	return 0;
}

unsigned fm_digest_set(char *const want[FM_ALGOS], bool all)
{
	unsigned set = all ? FM_ALGO_BIT(FM_SHA256) : 0;

	for (int a = 0; a < FM_ALGOS; a++)
		if (want[a])
			set |= FM_ALGO_BIT(a);
	return set;
}

int fm_digest_compare(char *const want[FM_ALGOS],
		      const struct fm_digests *got, char *why, size_t whylen)
{
	for (int a = 0; a < FM_ALGOS; a++) {
		if (!want[a] || strcmp(want[a], got->hex[a]) == 0)
			continue;
		fm_why(why, whylen, "%s mismatch: expected %s, got %s",
		       algos[a].name, want[a], got->hex[a]);
		return a;
	}
	return -1;
}

int fm_hasher_start(struct fm_hasher *h, unsigned set)
{
	h->on = 0;
	for (int a = 0; a < FM_ALGOS; a++) {
		if (!(set & FM_ALGO_BIT(a)))
			continue;
		if (!h->ctx[a] && !(h->ctx[a] = EVP_MD_CTX_new()))
			return -ENOMEM;
		if (!EVP_DigestInit_ex(h->ctx[a], algos[a].md(), NULL))
			return -ENOMEM;
	}
	h->on = set;
	return 0;
}

void fm_hasher_update(struct fm_hasher *h, const void *buf, size_t n)
{
	for (int a = 0; a < FM_ALGOS; a++)
		if (h->on & FM_ALGO_BIT(a))
			EVP_DigestUpdate(h->ctx[a], buf, n);
}

static void to_hex(const unsigned char *d, unsigned n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (unsigned i = 0; i < n; i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[2 * n] = '\0';
}

int fm_hasher_finish(struct fm_hasher *h, struct fm_digests *out)
{
	unsigned char d[EVP_MAX_MD_SIZE];
	int err = 0;

	for (int a = 0; a < FM_ALGOS; a++) {
		unsigned n = 0;

		out->hex[a][0] = '\0';
		if (!(h->on & FM_ALGO_BIT(a)))
			continue;
		if (EVP_DigestFinal_ex(h->ctx[a], d, &n) &&
		    2 * n == algos[a].hex_len)
			to_hex(d, n, out->hex[a]);
		else
			err = -ENOMEM;
	}
	h->on = 0;
	return err;
}

void fm_hasher_free(struct fm_hasher *h)
{
	for (int a = 0; a < FM_ALGOS; a++)
		EVP_MD_CTX_free(h->ctx[a]);
	*h = (struct fm_hasher){0};
}
