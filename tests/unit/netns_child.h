/*
 * netns_child.h - what the unit tests that need a network namespace of
 * their own share: a child process that enters one (harness.h's
 * test_own_netns(): root, or an unprivileged user namespace where the
 * kernel allows it), a CHECK that fails the child with the line, and
 * running ip(8) and nft(8) there. Include it after cmocka.h.
 */
#ifndef IGDD_TEST_NETNS_CHILD_H
#define IGDD_TEST_NETNS_CHILD_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "harness.h"

/* In the child: fail it with the file and line. */
#define CHECK(cond) \
	do { \
		if (!(cond)) { \
			fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
			return 1; \
		} \
	} while (0)

/* The child's "cannot run here": the test is skipped. */
#define NETNS_SKIP 77

/* A shell command's success. */
static inline int sh(const char *cmd)
{
	int r = system(cmd);

	return WIFEXITED(r) && WEXITSTATUS(r) == 0 ? 0 : -1;
}

/* Enter a network namespace of its own, lo up: 0, or NETNS_SKIP.
 * user_ok: an unprivileged user namespace will do (for a user, or
 * where a plain one is refused). */
static inline int netns_enter(bool user_ok)
{
	if (!user_ok && geteuid() != 0)
		return NETNS_SKIP;
	return test_own_netns() == 0 ? 0 : NETNS_SKIP;
}

/* Run fn in a child process: its exit status (100: it did not exit). */
static inline int child_status(int (*fn)(void))
{
	int status = 0;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(fn());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

/* Run fn in a child process and assert it returned 0; NETNS_SKIP skips
 * the test. */
static inline void run_in_child(int (*fn)(void))
{
	int r = child_status(fn);

	if (r == NETNS_SKIP)
		skip();
	if (r != 0)
		fail_msg("the child failed (status %d)", r);
}

#endif
