#include "src/io/daemonize.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int daemonize_run(bool foreground, int (*run)(void *arg, int ready_fd), void *arg)
{
	int pipefd[2], status;
	pid_t pid;
	char c;

	if (foreground)
		return run(arg, -1);
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		fprintf(stderr, "cannot create a pipe: %s\n", strerror(errno));
		return 1;
	}
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "cannot fork: %s\n", strerror(errno));
		return 1;
	}
	if (pid == 0) {
		close(pipefd[0]);
		setsid();
		_exit(run(arg, pipefd[1]));
	}
	close(pipefd[1]);
	if (read(pipefd[0], &c, 1) == 1)
		return 0;
	/* The child failed before it was ready: it printed why. */
	if (waitpid(pid, &status, 0) == pid && WIFEXITED(status))
		return WEXITSTATUS(status) ? WEXITSTATUS(status) : 1;
	return 1;
}

void daemonize_ready(int ready_fd, bool keep_stderr)
{
	int null;

	if (ready_fd < 0)
		return;
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	(void)!write(ready_fd, "", 1);
	close(ready_fd);
	if (null >= 0) {
		dup2(null, STDIN_FILENO);
		dup2(null, STDOUT_FILENO);
		if (!keep_stderr)
			dup2(null, STDERR_FILENO);
		close(null);
	}
}
