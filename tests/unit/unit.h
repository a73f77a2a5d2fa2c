/*
 * unit: the smallest test runner that says what failed. Each test is a
 * function registered with UNIT_TEST; the runner prints one line per
 * failure and closes with "N passed, N failed".
 */
#ifndef POSTERN_UNIT_H
#define POSTERN_UNIT_H

#include <stdio.h>
#include <string.h>

struct unit_test {
	const char *name;
	void (*fn)(void);
	struct unit_test *next;
};

extern struct unit_test *unit_tests;
extern int unit_failed_now;

/*
 * The store a test runs on. The first pass: a SQLite file at path
 * (fresh: removed first). With $POSTERN_TEST_PG (a conninfo; `make test`
 * starts a cluster for it), every test that opened a store runs a second
 * time as name[postgresql], on that database emptied at each fresh open.
 */
struct store;
extern const char *unit_pg;
struct store *unit_store_fresh(const char *path);
struct store *unit_store_reopen(const char *path);

#define UNIT_TEST(name)                                                        \
	static void name(void);                                                \
	static struct unit_test unit_##name = { #name, name, NULL };           \
	__attribute__((constructor)) static void unit_reg_##name(void)         \
	{                                                                      \
		unit_##name.next = unit_tests;                                 \
		unit_tests = &unit_##name;                                     \
	}                                                                      \
	static void name(void)

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			printf("  FAIL %s:%d: %s\n", __FILE__, __LINE__,       \
			    #cond);                                            \
			unit_failed_now = 1;                                   \
		}                                                              \
	} while (0)

#define CHECK_STR(a, b)                                                        \
	do {                                                                   \
		const char *a_ = (a), *b_ = (b);                               \
		if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {         \
			printf("  FAIL %s:%d: \"%s\" != \"%s\"\n", __FILE__,   \
			    __LINE__, a_ ? a_ : "(null)", b_ ? b_ : "(null)"); \
			unit_failed_now = 1;                                   \
		}                                                              \
	} while (0)

#endif
