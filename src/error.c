/* error.c: one table from error codes to messages (see fm_error.h). */
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
