#include "src/io/sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int sdnotify_addr(const char *name, struct sockaddr_un *sa, socklen_t *len)
{
	size_t n;

	if (!name || (name[0] != '/' && name[0] != '@'))
		return -EINVAL;
	n = strlen(name);
	/* An abstract name has no terminating NUL: its length is the
	 * address's; a path keeps room for its NUL. */
	if (n < 2 || n > sizeof(sa->sun_path) - (name[0] == '/'))
		return n < 2 ? -EINVAL : -ENAMETOOLONG;
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	memcpy(sa->sun_path, name, n);
	if (name[0] == '@')
		sa->sun_path[0] = '\0';
	*len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (name[0] == '/'));
	return 0;
}

int sdnotify_send(const char *state)
{
	const char *name = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa;
	socklen_t len;
	ssize_t r;
	int fd, ret;

	if (!name || !*name)
		return 0;
	ret = sdnotify_addr(name, &sa, &len);
	if (ret < 0)
		return ret;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	do
		r = sendto(fd, state, strlen(state), MSG_NOSIGNAL, (struct sockaddr *)&sa, len);
	while (r < 0 && errno == EINTR);
	ret = r < 0 ? -errno : 1;
	close(fd);
	return ret;
}

int sdnotify_reloading(void)
{
	struct timespec ts;
	char msg[64];

	clock_gettime(CLOCK_MONOTONIC, &ts);
	snprintf(msg, sizeof(msg), "RELOADING=1\nMONOTONIC_USEC=%llu",
		 (unsigned long long)ts.tv_sec * 1000000ULL + (unsigned long long)ts.tv_nsec / 1000);
	return sdnotify_send(msg);
}
