/* Internals of the identity routes shared by src/api/auth.c (sign-in,
 * tokens, sign-up) and src/api/password.c (forgotten and changed
 * passwords). */
#ifndef ROLLCALL_API_AUTH_INT_H
#define ROLLCALL_API_AUTH_INT_H

#include <stdint.h>

#include "rollcall/auth.h"
#include "rollcall/db.h"
#include "rollcall/http.h"

#define EMAIL_MAX		254
#define NAME_MAX_CHARS		200
#define SLUG_MAX		100

struct rc_config;

/* A users row as replies show it. */
struct user {
	char	*id, *email, *name, *role, *org_id, *manager_id, *status;
	int	 must_change;
	int64_t	 tv;
};

/* A request's state across queries and CPU work, freed with the request
 * (req->data). Strings from the body point into req->body. */
struct flow {
	struct rc_req		*req;
	const struct rc_config	*cfg;
	const char		*email, *password, *new_password;
	const char		*name, *org, *code;
	char			 email_key[EMAIL_MAX + 8];
	char			 ip_key[80];
	char			 pair_key[EMAIL_MAX + 96];	/* e-mail + source */
	char			 device_hash[RC_AUTH_TOKEN_HASH_LEN + 1];	/* "" none */
	int			 trusted;	/* holds a live refresh token */
	char			 domain[EMAIL_MAX + 1];
	int			 have_user;
	struct user		 u;
	char			 hash[RC_AUTH_PWHASH_LEN];	/* stored */
	char			 new_hash[RC_AUTH_PWHASH_LEN];	/* "" none */
	int			 ok;
	char			*access;
	char			 refresh[RC_AUTH_RANDOM_TOKEN_LEN + 1];
	char			 refresh_hash[RC_AUTH_TOKEN_HASH_LEN + 1];
	char			 old_hash[RC_AUTH_TOKEN_HASH_LEN + 1];
	char			 family[40];	/* the refresh family: the
						   access token's sid */
	int			 cookie;	/* the refresh token goes in
						   an HttpOnly cookie */
};

/* A new flow owned by req (req->data), freed with it. */
struct flow	*auth_flow_new(struct rc_req *req);
/* CPU pool: hashes f->new_password into f->new_hash; f->ok says if it
 * worked. */
void		 auth_hash_work(void *arg);
/* A query callback replying 204 when the query worked. */
void		 auth_no_content_cb(const struct rc_db_result *r, void *arg);
/* Registers forgot/reset/change (password.c). */
void		 auth_password_routes(struct rc_router *r);

#endif
