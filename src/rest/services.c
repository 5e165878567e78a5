/* The services `rollcall serve` built (src/cli/serve.c), as the handlers
 * read them. Set before the loops start, so plain loads suffice; only the
 * keys change while serving (SIGHUP), and they are swapped whole. */
#include <stdatomic.h>
#include <stddef.h>

#include "rollcall/config.h"
#include "rollcall/http.h"
#include "rollcall/rest.h"

static const struct rc_auth_keys *_Atomic rest_keys;
static struct rc_rest_services rest;

void
rc_rest_services_set(const struct rc_rest_services *s)
{
	if (s == NULL)
		rest = (struct rc_rest_services){ 0 };
	else
		rest = *s;
	atomic_store(&rest_keys, rest.keys);
}

void
rc_rest_keys_set(const struct rc_auth_keys *keys)
{
	atomic_store(&rest_keys, keys);
}

const struct rc_auth_keys *
rc_rest_keys(void)
{
	return atomic_load(&rest_keys);
}

const struct rc_auth_passwords *
rc_rest_passwords(void)
{
	return rest.passwords;
}

struct rc_store *
rc_rest_store(void)
{
	return rest.store;
}

struct rc_face_engine *
rc_rest_face_engine(void)
{
	return rest.face_engine;
}

const char *
rc_rest_face_threshold(const struct rc_req *req)
{
	return rc_server_config(req->loop->server)->face_threshold;
}
