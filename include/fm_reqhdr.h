/* fm_reqhdr.h: the headers a request carries besides libcurl's own.
 *
 * Pure: an entry's header= lines are checked here before any network
 * work (list.c), and each attempt's list is made here (xfer.c) from -H's
 * and the entry's, so that which header goes where is decided in one
 * place, the unit tests' as the binary's. Credentials (Authorization,
 * Cookie) go to the entry's own hosts only: libcurl drops them from a
 * redirected request to another host itself; a segment that goes
 * straight to such a host (foreign) must not carry them either. */
#ifndef FM_REQHDR_H
#define FM_REQHDR_H

#include <stdbool.h>
#include <stddef.h>

#include <curl/curl.h>

/* Checks an entry's header line h: "Name: value", a name of at least one
 * byte, none of them white space or a control byte (nor ':'), then a
 * colon; a value without CR, LF or another control byte (a tab is
 * fine). An empty value is allowed: as with -H, it removes a header
 * libcurl would send. Returns 0, or -1 with a reason in why (whylen
 * bytes) that names the header by its name, never quotes its value (a
 * credential, in a result record). */
int fm_reqhdr_check(const char *h, char *why, size_t whylen);

/* Whether header lines a and b have the same name, ignoring case. A name
 * ends at ':' or at ';' (-H's "Name;", an empty header). */
bool fm_reqhdr_same_name(const char *a, const char *b);

/* Whether header line h carries credentials: Authorization or Cookie. */
bool fm_reqhdr_is_credential(const char *h);

/* Appends to *list the headers of a request: each of the nconf -H
 * headers conf that none of the entry's replaces (same name), then the
 * entry's nentry headers, in order; when foreign (the request goes to a
 * host the entry did not name: a redirect's target), none that carries
 * credentials. Returns 0, or -ENOMEM with *list holding what was
 * appended so far (the caller frees it as always). */
int fm_reqhdr_append(struct curl_slist **list, const char *const *conf,
		     unsigned nconf, char *const *entry, unsigned nentry,
		     bool foreign);

#endif
