/*
 * job.c - a backend job (backend.h, struct backend_job) run with the
 * backend's synchronous operations: the sim backend's deferred jobs, and
 * the engine's path for a backend without an asynchronous form.
 */
#include "backend/backend.h"

#include "core/mapping.h"

#include <errno.h>

static int apply_one(struct backend *b, const struct mapping *m, int grant_fd)
{
	if (!m->enabled)
		return b->ops->remove(b, m);
	if (grant_fd >= 0 && b->ops->apply_granted)
		return b->ops->apply_granted(b, m, grant_fd);
	return b->ops->apply(b, m);
}

/* One by one; a removal is all or none (what went is applied again). */
static int each(struct backend *b, const struct backend_job *j)
{
	size_t i;
	int r = 0;

	for (i = 0; i < j->n && r == 0; i++)
		r = j->op == BACKEND_JOB_APPLY ? apply_one(b, &j->v[i], j->grant_fd) :
		    b->ops->remove(b, &j->v[i]);
	if (r == 0 || j->op != BACKEND_JOB_REMOVE)
		return r;
	for (i--; i-- > 0;)
		(void)b->ops->apply(b, &j->v[i]);
	return r;
}

int backend_job_run(struct backend *b, const struct backend_job *j)
{
	switch (j->op) {
	case BACKEND_JOB_APPLY:
		if (j->n > 1 && b->ops->apply_many)
			return b->ops->apply_many(b, j->v, j->n);
		return each(b, j);
	case BACKEND_JOB_REMOVE:
		if (j->n > 1 && b->ops->remove_many)
			return b->ops->remove_many(b, j->v, j->n);
		return each(b, j);
	case BACKEND_JOB_PIN_APPLY:
		return b->ops->pin_apply ? b->ops->pin_apply(b, j->pin) : -ENOTSUP;
	case BACKEND_JOB_PIN_REMOVE:
		return b->ops->pin_remove ? b->ops->pin_remove(b, j->pin) : 0;
	}
	return -EINVAL;
}
