/* The REST API's resources: each src/api/<resource>.c registers its routes
 * here, and rc_api_start/stop set up and tear down what they share (keys,
 * password policy) around `rollcall serve`. */
#ifndef ROLLCALL_API_H
#define ROLLCALL_API_H

#include "rollcall/util.h"

struct rc_config;
struct rc_router;

/* Loads what the handlers need (blocking: before the loops start). */
rc_status rc_api_start(const struct rc_config *cfg, char *err, size_t errlen);
void	rc_api_stop(void);
/* Registers every API route (and the core ones). */
void	rc_api_routes(struct rc_router *r);

#endif
