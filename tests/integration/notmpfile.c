/* notmpfile.c: an LD_PRELOAD object that makes a file system without
 * O_TMPFILE (vfat, NFS, CIFS) of every file system: openat() with
 * O_TMPFILE fails with EOPNOTSUPP, as those do; every other openat() is
 * the real one. */
#define _GNU_SOURCE
#undef _FILE_OFFSET_BITS /* openat and openat64 defined apart */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/types.h>

typedef int (*openat_fn)(int, const char *, int, ...);

static int pass(const char *sym, int dirfd, const char *path, int flags,
		mode_t mode)
{
	void *found = dlsym(RTLD_NEXT, sym);
	openat_fn real;

	if (!found) {
		errno = ENOSYS;
		return -1;
	}
	memcpy(&real, &found, sizeof(real)); /* ISO C: no cast to code */
	return real(dirfd, path, flags, mode);
}

static mode_t mode_of(int flags, va_list ap)
{
	if ((flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE)
		return (mode_t)va_arg(ap, int);
	return 0;
}

/* openat() and openat64() alike: no O_TMPFILE, the rest passed on. */
static int intercept(const char *name, int dirfd, const char *path,
		     int flags, va_list ap)
{
	mode_t mode = mode_of(flags, ap);

	if ((flags & O_TMPFILE) == O_TMPFILE) {
		errno = EOPNOTSUPP;
		return -1;
	}
	return pass(name, dirfd, path, flags, mode);
}

int openat(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	int fd;

	va_start(ap, flags);
	fd = intercept("openat", dirfd, path, flags, ap);
	va_end(ap);
	return fd;
}

int openat64(int dirfd, const char *path, int flags, ...)
{
	va_list ap;
	int fd;

	va_start(ap, flags);
	fd = intercept("openat64", dirfd, path, flags, ap);
	va_end(ap);
	return fd;
}
