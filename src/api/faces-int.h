/* Internals shared by the face routes (faces.c) and the kiosks
 * (kiosks.c): the kiosk authentication, which joins src/auth/ with the
 * route table (issue 11); then this file goes. */
#ifndef ROLLCALL_API_FACES_INT_H
#define ROLLCALL_API_FACES_INT_H

#include "rollcall/auth.h"
#include "rollcall/http.h"

/* ---- kiosks.c -------------------------------------------------------- */

/* The principal of a kiosk device: no user, role "kiosk", role_bit 0,
 * org_id the kiosk's, name the kiosk's. */
struct kiosk_principal {
	struct rc_principal	 p;
	char			 kiosk_id[40];
};

/* The kiosk id when the caller is a kiosk, else NULL. */
const char *kiosk_of(const struct rc_req *req);
/* A kiosk token ("Bearer rck_...") → a kiosk principal; any other bearer
 * → rc_auth_require(req, roles, next). The caller must not touch req
 * afterwards. */
void	kiosk_or_user_require(struct rc_req *req, unsigned roles,
	    rc_auth_next next);
/* A kiosk token only (401 otherwise). */
void	kiosk_require(struct rc_req *req, rc_auth_next next);

#endif
