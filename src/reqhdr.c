/* reqhdr.c: the headers a request carries besides libcurl's own (see
 * fm_reqhdr.h): an entry's header= lines checked, and each attempt's
 * list made from -H's and the entry's. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fm_error.h"
#include "fm_reqhdr.h"

/* How much of a bad header name a reason quotes. */
#define NAME_QUOTE 32

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

/* The length of h's name: up to ':' or ';'. */
static size_t name_len(const char *h)
{
	return strcspn(h, ":;");
}

int fm_reqhdr_check(const char *h, char *why, size_t whylen)
{
	size_t n = strcspn(h, ":");
	char name[NAME_QUOTE + 1];
	size_t i;

	if (!h[n])
		return fm_why(why, whylen, "header has no ':'");
	if (n == 0)
		return fm_why(why, whylen, "empty header name");
	/* the name, as a reason may show it: printable, and short */
	for (i = 0; i < n && i < NAME_QUOTE; i++)
		name[i] = is_ctl((unsigned char)h[i]) ? '?' : h[i];
	name[i] = '\0';
	for (i = 0; i < n; i++)
		if (h[i] == ' ' || is_ctl((unsigned char)h[i]))
			return fm_why(why, whylen,
				      "header name '%s' has white space or a "
				      "control character", name);
	for (const char *p = h + n + 1; *p; p++) {
		if (*p == '\r' || *p == '\n')
			return fm_why(why, whylen,
				      "header '%s': CR or LF in the value",
				      name);
		if (*p != '\t' && is_ctl((unsigned char)*p))
			return fm_why(why, whylen,
				      "header '%s': control character in the "
				      "value", name);
	}
	return 0;
}

bool fm_reqhdr_same_name(const char *a, const char *b)
{
	size_t n = name_len(a);

	return n == name_len(b) && strncasecmp(a, b, n) == 0;
}

bool fm_reqhdr_is_credential(const char *h)
{
	return fm_reqhdr_same_name(h, "Authorization:") ||
	       fm_reqhdr_same_name(h, "Cookie:");
}

/* Whether one of the entry's n headers has h's name. */
static bool replaced(const char *h, char *const *entry, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (fm_reqhdr_same_name(h, entry[i]))
			return true;
	return false;
}

static int append(struct curl_slist **list, const char *h)
{
	struct curl_slist *l = curl_slist_append(*list, h);

	if (!l)
		return -ENOMEM;
	*list = l;
	return 0;
}

int fm_reqhdr_append(struct curl_slist **list, const char *const *conf,
		     unsigned nconf, char *const *entry, unsigned nentry,
		     bool foreign)
{
	int err = 0;

	for (unsigned i = 0; i < nconf && !err; i++)
		if (!replaced(conf[i], entry, nentry) &&
		    !(foreign && fm_reqhdr_is_credential(conf[i])))
			err = append(list, conf[i]);
	for (unsigned i = 0; i < nentry && !err; i++)
		if (!(foreign && fm_reqhdr_is_credential(entry[i])))
			err = append(list, entry[i]);
	return err;
}
