/*
 * test_sdnotify.c - util/sdnotify: the sd_notify(3) datagram protocol
 * against a fake service manager: a datagram socket bound at a path, or
 * at an abstract name ('@' in $NOTIFY_SOCKET), read back byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "util/sdnotify.h"

/* A fake manager bound at name ('@': abstract); its fd. */
static int manager_bind(const char *name)
{
	struct sockaddr_un sa;
	socklen_t len;
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, name, strlen(name));
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(name));
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	else
		len++;
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, len), 0);
	return fd;
}

/* The next datagram, NUL-terminated; waits at most the safety timeout. */
static void manager_recv(int fd, char *out, size_t outsz)
{
	struct timeval tv = { IGDD_TEST_TIMEOUT_BASE_S, 0 };
	ssize_t n;

	assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	n = recv(fd, out, outsz - 1, 0);
	assert_true(n >= 0);
	out[n] = '\0';
}

static void roundtrip(const char *name)
{
	char err[200], got[SDNOTIFY_MAX + 2], big[SDNOTIFY_MAX + 10];
	struct sdnotify *n;
	int fd = manager_bind(name);

	assert_int_equal(setenv("NOTIFY_SOCKET", name, 1), 0);
	n = sdnotify_open(err, sizeof(err));
	if (!n)
		fail_msg("sdnotify_open(%s): %s", name, err);
	assert_null(getenv("NOTIFY_SOCKET"));   /* children do not inherit it */
	assert_int_equal(sdnotify_send(n, "READY=1\nSTATUS=serving"), 0);
	manager_recv(fd, got, sizeof(got));
	assert_string_equal(got, "READY=1\nSTATUS=serving");
	assert_int_equal(sdnotify_sendf(n, "STOPPING=1\nSTATUS=%s %d", "stop", 7), 0);
	manager_recv(fd, got, sizeof(got));
	assert_string_equal(got, "STOPPING=1\nSTATUS=stop 7");
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(sdnotify_send(n, big), -EMSGSIZE);
	assert_int_equal(sdnotify_sendf(n, "%s", big), -EMSGSIZE);
	big[SDNOTIFY_MAX] = '\0';
	assert_int_equal(sdnotify_send(n, big), 0);
	manager_recv(fd, got, sizeof(got));
	assert_int_equal(strlen(got), SDNOTIFY_MAX);
	sdnotify_free(n);
	close(fd);
}

static void test_path(void **state)
{
	char dir[] = "/tmp/igdd-notify-XXXXXX", path[64];

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/notify", dir);
	roundtrip(path);
	unlink(path);
	rmdir(dir);
}

static void test_abstract(void **state)
{
	char name[64];

	(void)state;
	snprintf(name, sizeof(name), "@igdd-test-notify-%ld", (long)getpid());
	roundtrip(name);
}

/* Unset: nothing to do, no error; set but unusable: NULL and why. */
static void test_unusable(void **state)
{
	static const char *bad[] = {
		"relative/path", "@", "/", "x",
		"/tmp/igdd-no-such-dir-for-notify/notify",
		"/tmp/igdd-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	};
	char err[200];
	size_t i;

	(void)state;
	unsetenv("NOTIFY_SOCKET");
	assert_null(sdnotify_open(err, sizeof(err)));
	assert_string_equal(err, "");
	assert_int_equal(sdnotify_send(NULL, "READY=1"), 0);
	assert_int_equal(sdnotify_sendf(NULL, "READY=%d", 1), 0);
	sdnotify_free(NULL);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(setenv("NOTIFY_SOCKET", bad[i], 1), 0);
		assert_null(sdnotify_open(err, sizeof(err)));
		if (strstr(err, "NOTIFY_SOCKET") == NULL)
			fail_msg("%s: no message (%s)", bad[i], err);
		assert_null(getenv("NOTIFY_SOCKET"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path),
		cmocka_unit_test(test_abstract),
		cmocka_unit_test(test_unusable),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
