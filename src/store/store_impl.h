/* store_impl: what store.c and store_schema.c share; no one else. */
#ifndef POSTERN_STORE_IMPL_H
#define POSTERN_STORE_IMPL_H

#include "db.h"

struct store {
	struct db *db;
};

#endif
