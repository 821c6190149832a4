/*
 * mapping.c - PLACEHOLDER: an empty table until the real one lands.
 */
#include "core/mapping.h"

#include <stdlib.h>

struct map_table {
	struct map_limits lim;
	const struct clock *clk;
	size_t count;
};

struct map_table *map_table_new(const struct map_limits *lim, const struct clock *clk)
{
	struct map_table *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->lim = *lim;
	t->clk = clk;
	return t;
}

void map_table_free(struct map_table *t)
{
	free(t);
}

size_t map_count(const struct map_table *t)
{
	return t->count;
}
