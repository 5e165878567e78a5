/* A handler's state across the queries and CPU work of its request: in
 * the request's memory (rc_req_alloc), so it is freed with the request,
 * and req->data until the next one; earlier states (an upload's, say)
 * stay valid underneath until the reply. */
#include <stddef.h>

#include "rollcall/http.h"
#include "rollcall/rest.h"

void *
rc_rest_state(struct rc_req *req)
{
	return req->data;
}

void *
rc_rest_state_new_cleanup(struct rc_req *req, size_t size,
    void (*cleanup)(void *state))
{
	req->data = rc_req_alloc(req, size, cleanup);
	return req->data;
}

void *
rc_rest_state_new(struct rc_req *req, size_t size)
{
	return rc_rest_state_new_cleanup(req, size, NULL);
}
