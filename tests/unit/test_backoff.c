/*
 * test_backoff.c - core/backoff: waits doubling from the first up to the
 * bound, reset after a success, the n-th retransmission delay without
 * overflow.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/backoff.h"

static void test_take(void **state)
{
	struct backoff b;

	(void)state;
	backoff_init(&b, 60000, 600000);
	assert_int_equal(backoff_take(&b), 60000);
	assert_int_equal(backoff_take(&b), 120000);
	assert_int_equal(backoff_take(&b), 240000);
	assert_int_equal(backoff_take(&b), 480000);
	assert_int_equal(backoff_take(&b), 600000);      /* bounded, not 960000 */
	assert_int_equal(backoff_take(&b), 600000);
	backoff_reset(&b);
	assert_int_equal(backoff_take(&b), 60000);
	/* a bound below the first wait: the first wait, always */
	backoff_init(&b, 500, 100);
	assert_int_equal(backoff_take(&b), 500);
	assert_int_equal(backoff_take(&b), 500);
}

static void test_nth(void **state)
{
	(void)state;
	assert_int_equal(backoff_nth(3000, 0, UINT64_MAX), 3000);
	assert_int_equal(backoff_nth(3000, 3, UINT64_MAX), 24000);
	assert_int_equal(backoff_nth(3000, 3, 10000), 10000);
	assert_int_equal(backoff_nth(1, 63, UINT64_MAX), UINT64_C(1) << 63);
	assert_true(backoff_nth(3000, 200, UINT64_MAX) == UINT64_MAX);  /* no wrap to 0 */
	assert_int_equal(backoff_nth(0, 5, 100), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_take),
		cmocka_unit_test(test_nth),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
