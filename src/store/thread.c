/*
 * The store handle of the calling thread (see thread.h).
 */
#include <stddef.h>

#include "thread.h"

static _Thread_local struct store *thread_store;

struct store *
store_thread(void)
{
	return thread_store;
}

void
store_thread_set(struct store *st)
{
	thread_store = st;
}
