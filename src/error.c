/* error.c: one table from error codes to messages (see fm_error.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fm_error.h"

const char *fm_strerror(int err)
{
	switch (err) {
	case 0:
		return "success";
	case FM_E_NOMEM:
		return "out of memory";
	case FM_E_USAGE:
		return "usage error";
	case FM_E_CURL:
		return "libcurl error";
	case FM_E_UV:
		return "libuv error";
	}
	if (err < 0 && err > FM_E_BASE)
		return strerror(-err);
	return "unknown error";
}

int fm_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (why == NULL || whylen == 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return -1;
}
