/* nosocket.c: an LD_PRELOAD object that makes the process run out of
 * descriptors for its TCP sockets, and for those only: socket() calls for
 * an AF_INET or AF_INET6 stream, counted from 1, fail with EMFILE from
 * call FM_NOSOCKET_FROM to call FM_NOSOCKET_TO (environment, both
 * included; unset: none fails). Every other call is the real one. It
 * makes a shortage strike a given transfer, which no limit set from
 * outside can do in time. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

typedef int (*socket_fn)(int, int, int);

static atomic_ulong calls;

static unsigned long env_number(const char *name)
{
	const char *v = getenv(name);

	return v ? strtoul(v, NULL, 10) : 0;
}

int socket(int domain, int type, int protocol)
{
	void *found = dlsym(RTLD_NEXT, "socket");
	socket_fn real;

	if ((domain == AF_INET || domain == AF_INET6) &&
	    (type & 0xf) == SOCK_STREAM) {
		unsigned long n = atomic_fetch_add(&calls, 1) + 1;

		if (n >= env_number("FM_NOSOCKET_FROM") &&
		    n <= env_number("FM_NOSOCKET_TO")) {
			errno = EMFILE;
			return -1;
		}
	}
	if (!found) {
		errno = ENOSYS;
		return -1;
	}
	memcpy(&real, &found, sizeof(real)); /* ISO C: no cast to code */
	return real(domain, type, protocol);
}
