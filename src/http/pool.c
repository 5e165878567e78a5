/* Request-scoped memory, after h2o's request pools: small allocations are
 * carved from chunks the request owns, large ones get their own chunk, and
 * cleanups run, last registered first, when the request is freed. A
 * handler never frees what it made for its request. */
#include <stdalign.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "http-int.h"

#define CHUNK_SIZE	4096	/* most requests need one chunk, or none */
#define ALIGN		alignof(max_align_t)

struct rc_req_chunk {
	struct rc_req_chunk	*next;
	size_t			 used, cap;
	alignas(max_align_t) unsigned char data[];
};

struct rc_req_cleanup {
	struct rc_req_cleanup	*next;
	void			(*fn)(void *ptr);
	void			*ptr;
};

static size_t
round_up(size_t n)
{
	return (n + ALIGN - 1) & ~(ALIGN - 1);
}

/* size bytes from the request's chunks, uninitialised. */
static void *
carve(struct rc_req *req, size_t size)
{
	struct rc_req_chunk *c = req->chunks;
	size_t need = round_up(size ? size : 1);

	if (need > CHUNK_SIZE / 4) {
		/* Large: a chunk of its own, behind the current one so that
		 * the current one keeps serving small requests. */
		c = rc_malloc(sizeof(*c) + need);
		c->used = c->cap = need;
		if (req->chunks != NULL) {
			c->next = req->chunks->next;
			req->chunks->next = c;
		} else {
			c->next = NULL;
			req->chunks = c;
		}
		return c->data;
	}
	if (c == NULL || c->cap - c->used < need) {
		c = rc_malloc(sizeof(*c) + CHUNK_SIZE);
		c->used = 0;
		c->cap = CHUNK_SIZE;
		c->next = req->chunks;
		req->chunks = c;
	}
	c->used += need;
	return c->data + c->used - need;
}

void *
rc_req_alloc(struct rc_req *req, size_t size, void (*cleanup)(void *ptr))
{
	void *p = carve(req, size);
	struct rc_req_cleanup *cl;

	memset(p, 0, size);
	if (cleanup != NULL) {
		cl = carve(req, sizeof(*cl));
		cl->fn = cleanup;
		cl->ptr = p;
		cl->next = req->cleanups;
		req->cleanups = cl;
	}
	return p;
}

char *
rc_req_strdup(struct rc_req *req, const char *s)
{
	size_t n;
	char *p;

	if (s == NULL)
		return NULL;
	n = strlen(s) + 1;
	p = carve(req, n);
	memcpy(p, s, n);
	return p;
}

void
rc_http_req_pool_free(struct rc_req *req)
{
	struct rc_req_cleanup *cl;
	struct rc_req_chunk *c;

	/* The cleanups live in the chunks: all of them run first. */
	while ((cl = req->cleanups) != NULL) {
		req->cleanups = cl->next;
		cl->fn(cl->ptr);
	}
	while ((c = req->chunks) != NULL) {
		req->chunks = c->next;
		free(c);
	}
}
