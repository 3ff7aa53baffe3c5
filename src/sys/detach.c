/* detach.c - background mode with start-up errors still reported. */
#include "config.h"
#include "sys/detach.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int ready_fd = -1;	/* the child's end of the pipe to the parent */

static void fatal(const char *what)
{
	fprintf(stderr, "aoexd: error: --daemon: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The parent: one byte means serving; EOF means the child died first. */
static void __attribute__((noreturn)) wait_for_child(int fd, pid_t pid)
{
	char c;
	ssize_t n;
	int status;

	do
		n = read(fd, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		_exit(0);
	if (waitpid(pid, &status, 0) < 0)
		fatal("waitpid");
	if (WIFEXITED(status))
		_exit(WEXITSTATUS(status) ? WEXITSTATUS(status) : 1);
	fprintf(stderr, "aoexd: error: --daemon: the daemon died during start-up (signal %d)\n",
		WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	_exit(1);
}

void detach_begin(void)
{
	int fds[2];
	pid_t pid;

	fflush(NULL);
	if (pipe2(fds, O_CLOEXEC) < 0)
		fatal("pipe");
	pid = fork();
	if (pid < 0)
		fatal("fork");
	if (pid > 0) {
		close(fds[1]);
		wait_for_child(fds[0], pid);
	}
	close(fds[0]);
	ready_fd = fds[1];
	/* away from the terminal's job control: ^C there is not for us */
	if (setsid() < 0)
		fatal("setsid");
	log_to_syslog();
}

void detach_done(void)
{
	int null;

	if (ready_fd < 0)
		return;
	if (chdir("/") < 0)
		log_warn("--daemon: chdir /: %s", strerror(errno));
	null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null >= 0) {
		fflush(NULL);
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	if (write(ready_fd, "", 1) != 1)
		log_warn("--daemon: cannot tell the parent we serve: %s", strerror(errno));
	close(ready_fd);
	ready_fd = -1;
}
