/* fm_error.h: fetchmany's error convention.
 *
 * Functions return 0 on success and a negative value on failure: -errno for
 * system errors, and our own codes (below FM_E_BASE) for the rest. One
 * function, fm_strerror(), turns either into a message. */
#ifndef FM_ERROR_H
#define FM_ERROR_H

#define FM_E_BASE (-20000)

enum {
	FM_E_NOMEM = FM_E_BASE - 1,    /* out of memory */
	FM_E_USAGE = FM_E_BASE - 2,    /* bad command line */
	FM_E_CURL = FM_E_BASE - 3,     /* libcurl refused an operation */
	FM_E_UV = FM_E_BASE - 4,       /* libuv refused an operation */
};

#include <stddef.h>

/* Returns a static message for err, a negative errno or an FM_E_* code. */
const char *fm_strerror(int err);

/* Writes a reason into why (cut to whylen) and returns -1, so that a
 * check can fail in one statement. why may be NULL. */
__attribute__((format(printf, 3, 4))) int fm_why(char *why, size_t whylen,
						 const char *fmt, ...);

#endif
