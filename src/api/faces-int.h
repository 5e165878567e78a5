/* Internals shared by the face routes (faces.c), the kiosks (kiosks.c)
 * and face-gated check-in (attendance.c). */
#ifndef ROLLCALL_API_FACES_INT_H
#define ROLLCALL_API_FACES_INT_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "rollcall/auth.h"
#include "rollcall/http.h"
#include "rollcall/rest.h"

struct rc_config;

/* Templates one person may enrol: bounds the 1:1 comparisons that run on
 * the loop thread (faces_best_similarity). */
#define FACES_PER_USER_MAX	20
#define FACES_PER_USER_MAX_TEXT	"20"
/* Matches identify answers with, at most. */
#define FACES_MATCHES_MAX	5

/* The blob_delete job of the outbox (sql/006_faces.sql): keys is a SQL
 * jsonb array expression of sha256 / thumb_sha256 texts, org an org id
 * expression; append a FROM / WHERE as needed. */
#define FACES_BLOB_DELETE_JOB(keys, org) \
	"INSERT INTO jobs (kind, payload, org_id) SELECT 'blob_delete'," \
	" jsonb_build_object('keys', " keys "), " org

/* ---- faces.c --------------------------------------------------------- */

/* A handler's state across its callbacks: size bytes, zeroed, in the
 * request's memory (rc_req_alloc), and req->data until the next one (the
 * earlier ones, the upload's, stay valid until the reply). */
void	*faces_state_new(struct rc_req *req, size_t size);
/* The state the last faces_state_new (or faces_identify) made. */
void	*faces_state_of(struct rc_req *req);

/* The installation's threshold (face.threshold) as text, for a SQL
 * COALESCE(orgs.face_threshold, $n::real). */
const char *faces_default_threshold(const struct rc_req *req);

/* The best similarity of probe among the templates of res: column
 * method_col holds the method, then the version, then the template
 * (bytea as text); rows with NULL templates or of another method or
 * version are skipped. -1 when none compares. Cheap (at most
 * FACES_PER_USER_MAX templates): fine on a loop thread. */
double	faces_best_similarity(const struct rc_face_template *probe,
	    const PGresult *res, int method_col);

/* Queues a blob_delete job for the blobs up stored (nothing when it
 * stored none), then replies rc_http_fail(status, code, detail). */
void	faces_fail_discard(struct rc_req *req, const struct rc_rest_upload *up,
	    const char *org_id, int status, const char *code,
	    const char *detail);
/* The same with rc_rest_fail_face's reply for up->face_status. */
void	faces_fail_face_discard(struct rc_req *req,
	    const struct rc_rest_upload *up, const char *org_id);

/* One person an identification found. */
struct faces_match {
	char	 user_id[40];
	double	 similarity;
};

/* Called on req's loop with the people (at most FACES_MATCHES_MAX, best
 * first, one entry each: their best template) whose similarity reaches the
 * org's threshold. */
typedef void (*faces_identify_cb)(struct rc_req *req,
	    const struct rc_rest_upload *up, const struct faces_match *m,
	    size_t n, double threshold);

/* Searches org_id's gallery for up->face (RC_FACE_OK) on the CPU pool,
 * then calls cb. Sets req->data (as faces_state_new does). On
 * failure it replies itself (404 no org, 503) and cb is not called. */
void	faces_identify(struct rc_req *req, const struct rc_rest_upload *up,
	    const char *org_id, faces_identify_cb cb);

#endif
