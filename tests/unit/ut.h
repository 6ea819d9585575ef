/* ut.h: the few helpers unit tests share (file fixtures). Each fails the
 * running cmocka test on error rather than returning one. */
#ifndef FM_UT_H
#define FM_UT_H

#include <stddef.h>

/* Writes n bytes of data to a new temporary file; returns its path, to
 * unlink() and free(). */
char *ut_write_temp(const char *data, size_t n);

/* Reads the file rel of the source tree ($FM_SRCDIR, set by meson) whole,
 * NUL-terminated; returns it, to free(). */
char *ut_read_source(const char *rel);

#endif
