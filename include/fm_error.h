/* fm_error.h: fetchmany's error convention, the one every function keeps.
 *
 * - An action (a function named for what it does: open, take, push,
 *   init, start) returns 0 on success or a negative value on failure:
 *   -errno whenever an errno says it (-ENOMEM for want of memory), and
 *   one of our own FM_E_* codes below only where none fits. One function,
 *   fm_strerror(), turns either into a message. An action that yields a
 *   count or a descriptor returns it (>= 0) or -errno, as read(2) would.
 * - A predicate (is, has, owns, fits, may) returns bool; so does a try
 *   that either happens or not without anything going wrong
 *   (fm_bucket_take()).
 * - A parser or checker returns 0 when its input is good and -1 when it
 *   is not, and says so in the comment. One that explains itself takes
 *   (why, whylen) and writes the reason there with fm_why(), which
 *   returns -1, so that "return fm_why(...)" fails in one statement. In
 *   body.c the attempt itself holds the reason: its checks record our
 *   stop reason (fm_xfer_note_stop()) or the local error (x->local_err)
 *   and return -1.
 * - A function whose result is a choice among several outcomes returns
 *   an enum (fm_xfer_begin(), fm_claims_take(), fm_input_next(),
 *   fm_opts_parse()); an outcome that is a failure carries its -errno in
 *   an output parameter where the caller needs it.
 * - A function that computes a value returns it, with the value meaning
 *   "none" stated in its comment (NULL, or -1 for a port or a date).
 * - Callbacks return what their caller (libcurl, libuv) requires.
 *
 * Codes of the libraries are converted where they enter:
 * - libuv returns negative errno values on Unix (its UV_E* are -E*);
 *   fm_uv_err() checks, at the call, that a code is one of those (never
 *   UV_EOF nor a UV_EAI_*, which only reads and name lookups give), and
 *   passes it on as -errno.
 * - A CURLcode or CURLMcode that makes one of our actions fail becomes
 *   FM_E_CURL (fm_xfer_init(), fm_engine_add()); a URL API CURLUcode
 *   becomes a reason, "malformed URL: ...". A transfer's CURLcode and
 *   HTTP status are no errors of ours: they are facts kept native for
 *   fm_judge() and the result record. */
#ifndef FM_ERROR_H
#define FM_ERROR_H

#define FM_E_BASE (-20000)

enum {
	FM_E_CURL = FM_E_BASE - 1, /* libcurl refused an operation */
};

#include <stddef.h>

/* Returns a static message for err, a negative errno or an FM_E_* code. */
const char *fm_strerror(int err);

/* Writes a reason into why (cut to whylen) and returns -1, so that a
 * check can fail in one statement. why may be NULL. */
__attribute__((format(printf, 3, 4))) int fm_why(char *why, size_t whylen,
						 const char *fmt, ...);

/* Returns libuv's code rc (0 or negative) as 0 or -errno: the same
 * number on Unix. Asserts that rc is one, not UV_EOF or a UV_EAI_*. */
int fm_uv_err(int rc);

/* Hides the credentials of every URL that message s quotes (libcurl's
 * "Unsupported proxy syntax in 'http:" "//user:pw@host'"), in place: the
 * user information between a "://" and its "@" becomes three asterisks.
 * A proxy's or a server's password must never reach a result record or
 * standard error. */
void fm_redact_userinfo(char *s);

#endif
