/* 1:N identification of an upload's face in an org's gallery
 * (rc_face_gallery_get), for the identify route and the kiosk punch: the
 * org's threshold, the search on the CPU pool, one match per person. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/cpu.h"
#include "rollcall/db.h"
#include "rollcall/face.h"
#include "rollcall/http.h"
#include "rollcall/log.h"
#include "rollcall/rest.h"

/* Rows rc_face_search ranks before one match per person is kept. */
#define SEARCH_HITS	64

/* $1 org, $2 default threshold. */
static const struct rc_db_stmt SQL_THRESHOLD = {
	"identify_threshold",
	"SELECT COALESCE(face_threshold, $2::real)::text FROM orgs"
	" WHERE id = $1::uuid",
	2,
};

struct ident {
	const struct rc_rest_upload	*up;
	const char			*org;
	rc_rest_identify_cb		 cb;
	double				 threshold;
	struct rc_face_gallery_snap		*snap;
	struct rc_rest_match		 matches[RC_REST_MATCHES_MAX];
	size_t				 n;
};

static void
ident_cleanup(void *arg)
{
	struct ident *id = arg;

	rc_face_gallery_snap_unref(id->snap);
}

/* CPU pool: the best rows, one per person, those at the threshold. */
static void
ident_work(void *arg)
{
	struct rc_req *req = arg;
	struct ident *id = rc_rest_state(req);
	struct rc_face_hit hits[SEARCH_HITS];
	const struct rc_face_gallery_snap *s = id->snap;
	size_t k, i, j;

	if (s->n == 0 || s->dim != rc_face_template_dim(id->up->face))
		return;
	k = rc_face_gallery_search(s->gallery,
	    rc_face_template_vector(id->up->face), SEARCH_HITS, hits);
	for (i = 0; i < k && id->n < RC_REST_MATCHES_MAX; i++) {
		if (hits[i].similarity < id->threshold)
			break;
		for (j = 0; j < id->n; j++)
			if (strcmp(id->matches[j].user_id,
			    s->users[hits[i].index]) == 0)
				break;
		if (j < id->n)
			continue;	/* a worse template of someone listed */
		snprintf(id->matches[id->n].user_id,
		    sizeof(id->matches[0].user_id), "%s",
		    s->users[hits[i].index]);
		id->matches[id->n++].similarity = hits[i].similarity;
	}
}

static void
ident_done(void *arg)
{
	struct rc_req *req = arg;
	struct ident *id = rc_rest_state(req);

	id->cb(req, id->up, id->matches, id->n, id->threshold);
}

static void
ident_gallery_cb(struct rc_req *req, struct rc_face_gallery_snap *snap)
{
	struct ident *id = rc_rest_state(req);

	id->snap = snap;
	rc_cpu_submit(req->loop, ident_work, ident_done, req);
}

static void
ident_threshold_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	struct ident *id = rc_rest_state(req);
	const struct rc_face_template *probe = id->up->face;

	if (!rc_rest_db_row(req, r, "no such organisation"))
		return;
	id->threshold = strtod(PQgetvalue(r->res, 0, 0), NULL);
	rc_face_gallery_get(req, id->org, rc_face_template_method(probe),
	    rc_face_template_version(probe), ident_gallery_cb);
}

void
rc_rest_identify(struct rc_req *req, const struct rc_rest_upload *up,
    const char *org_id, rc_rest_identify_cb cb)
{
	struct ident *id = rc_rest_state_new_cleanup(req, sizeof(*id), ident_cleanup);
	const char *p[2];

	id->up = up;
	id->org = org_id;
	id->cb = cb;
	p[0] = org_id;
	p[1] = rc_rest_face_threshold(req);
	rc_rest_query(req, &SQL_THRESHOLD, p, ident_threshold_cb);
}

