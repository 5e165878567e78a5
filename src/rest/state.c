/* A handler's state across the queries and CPU work of its request,
 * chained in front of what req->data held (an upload, say, which stays
 * alive underneath) and freed with the request. */
#include <stddef.h>
#include <stdlib.h>

#include "rollcall/http.h"
#include "rollcall/rest.h"
#include "rollcall/util.h"

struct chained {
	void		*prev_data;
	void		(*prev_free)(void *);
	void		(*cleanup)(void *state);
	max_align_t	 state[];
};

static void
chained_free(void *arg)
{
	struct chained *c = arg;

	if (c->cleanup != NULL)
		c->cleanup(c->state);
	if (c->prev_free != NULL)
		c->prev_free(c->prev_data);
	free(c);
}

void *
rc_rest_state(struct rc_req *req)
{
	return ((struct chained *)req->data)->state;
}

void *
rc_rest_state_new_cleanup(struct rc_req *req, size_t size,
    void (*cleanup)(void *state))
{
	struct chained *c = rc_calloc(1, sizeof(*c) + size);

	c->prev_data = req->data;
	c->prev_free = req->data_free;
	c->cleanup = cleanup;
	req->data = c;
	req->data_free = chained_free;
	return c->state;
}

void *
rc_rest_state_new(struct rc_req *req, size_t size)
{
	return rc_rest_state_new_cleanup(req, size, NULL);
}

