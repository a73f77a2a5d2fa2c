/* unit: the runner's main. Tests run in the order they are defined. */
#include <stdlib.h>

#include "unit.h"
#include "auth/secret.h"

struct unit_test *unit_tests;
int unit_failed_now;

int
main(int argc, char **argv)
{
	struct unit_test *t, *rev = NULL;
	int passed = 0, failed = 0;

	if (secret_init() == -1)
		return 1;
	while ((t = unit_tests) != NULL) { /* constructors ran in reverse */
		unit_tests = t->next;
		t->next = rev;
		rev = t;
	}
	for (t = rev; t; t = t->next) {
		if (argc > 1 && strstr(t->name, argv[1]) == NULL)
			continue;
		unit_failed_now = 0;
		t->fn();
		if (unit_failed_now) {
			printf("FAIL %s\n", t->name);
			failed++;
		} else {
			passed++;
		}
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
