/* Question sets, answered: submissions scored as they arrive (the rules
 * are SQL_SUB_CREATE's), grading by an admin, results per person as JSON
 * or CSV. A person sees their own submissions; an admin, the org's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rollcall/api.h"
#include "rollcall/rest.h"
#include "rollcall/sqlstate.h"
#include "rollcall/auth.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/reports.h"

#include "questions-int.h"

#define ANSWERS_MAX	500
#define ANSWER_TEXT_MAX	10000

/* The summary of a question_submissions row x. */
#define SUB_FIELDS(x) \
	"'id', " x ".id, 'set_id', " x ".set_id, 'user_id', " x ".user_id," \
	" 'attempt', " x ".attempt, 'score', " x ".score, 'max_score', " x \
	".max_score, 'pending_review', " x ".pending_review, 'created_at', " \
	RC_REST_INSTANT(x ".created_at") ", 'graded_at', " \
	RC_REST_INSTANT(x ".graded_at")

/* The answers of a submission from src, rows of (qid, position,
 * created_at, cids, text, points, max_points, graded). */
#define ANSWERS_AGG(src) \
	"COALESCE((SELECT json_agg(json_build_object('question_id', r.qid," \
	" 'choice_ids', COALESCE(r.cids, '{}'), 'text', r.text, 'points'," \
	" r.points, 'max_points', r.max_points, 'graded', r.graded) ORDER BY" \
	" r.position, r.created_at, r.qid) FROM " src " r), '[]'::json)"

/* Those rows for a stored submission x: an answer or a grade (the grade
 * wins). */
#define ANSWER_ROWS(x) \
	"(SELECT q.id AS qid, q.position, q.created_at, a.choice_ids AS cids," \
	" a.text, COALESCE(g.points, a.points) AS points, q.points AS" \
	" max_points, g.points IS NOT NULL AS graded FROM questions q" \
	" LEFT JOIN question_answers a ON a.submission_id = " x ".id AND" \
	" a.question_id = q.id LEFT JOIN question_grades g ON" \
	" g.submission_id = " x ".id AND g.question_id = q.id WHERE" \
	" q.set_id = " x ".set_id AND (a.question_id IS NOT NULL OR" \
	" g.question_id IS NOT NULL))"

/* $1 set, $2 org, $3 caller, $4 admin?, $5 answers (JSON, validated:
 * [{question_id, choice_ids: [...], text|null}], no question twice),
 * $6 client, $7 request id. One row: the submission (NULL when refused),
 * whether the caller sees the set, whether it is published, and the
 * first bad answer's field and message. Scoring: a single or multiple
 * question earns its points when the picked choices are exactly the right
 * ones; a text answer waits for a grade (points NULL); an unanswered
 * question earns 0. The trigger numbers the attempt and refuses one past
 * max_attempts (RC005). */
static const struct rc_db_stmt SQL_SUB_CREATE = {
	"questions_sub_create",
	"WITH s AS (SELECT * FROM question_sets WHERE id = $1::uuid AND"
	"  org_id = $2::uuid AND (published OR $4::bool)),"
	" q AS (SELECT q.* FROM questions q, s WHERE q.set_id = s.id),"
	" a AS (SELECT e.ord - 1 AS i, (e.x->>'question_id')::uuid AS qid,"
	"  ARRAY(SELECT t::uuid FROM jsonb_array_elements_text(e.x->"
	"  'choice_ids') t) AS cids, CASE WHEN btrim(e.x->>'text') = '' THEN"
	"  NULL ELSE e.x->>'text' END AS text"
	"  FROM jsonb_array_elements($5::jsonb) WITH ORDINALITY e(x, ord)),"
	" bad AS (SELECT a.i, 'question_id' AS f, 'is not a question of this"
	"  set' AS m FROM a WHERE NOT EXISTS (SELECT 1 FROM q WHERE"
	"  q.id = a.qid)"
	"  UNION ALL SELECT a.i, 'choice_ids', 'a text question takes text,"
	"  not choices' FROM a JOIN q ON q.id = a.qid WHERE q.kind = 'text'"
	"  AND cardinality(a.cids) > 0"
	"  UNION ALL SELECT a.i, 'text', 'a choice question takes choice_ids,"
	"  not text' FROM a JOIN q ON q.id = a.qid WHERE q.kind <> 'text' AND"
	"  a.text IS NOT NULL"
	"  UNION ALL SELECT a.i, 'choice_ids', 'a single-choice question takes"
	"  one choice' FROM a JOIN q ON q.id = a.qid WHERE q.kind = 'single'"
	"  AND cardinality(a.cids) > 1"
	"  UNION ALL SELECT a.i, 'choice_ids', 'names a choice that is not one"
	"  of this question''s' FROM a JOIN q ON q.id = a.qid WHERE"
	"  q.kind <> 'text' AND EXISTS (SELECT 1 FROM unnest(a.cids) c(id)"
	"  WHERE NOT EXISTS (SELECT 1 FROM question_choices x WHERE"
	"  x.id = c.id AND x.question_id = q.id))),"
	" nope AS (SELECT 'answers[' || i || '].' || f AS field, m FROM bad"
	"  ORDER BY i, f LIMIT 1),"
	" sc AS (SELECT q.id AS qid, q.position, q.created_at, a.cids, a.text,"
	"  q.points AS max_points, false AS graded, a.qid IS NOT NULL AS"
	"  answered, CASE WHEN a.qid IS NULL THEN 0"
	"  WHEN q.kind = 'text' THEN CASE WHEN a.text IS NULL THEN 0 END"
	"  WHEN ARRAY(SELECT c.id FROM question_choices c WHERE"
	"   c.question_id = q.id AND c.correct ORDER BY c.id) ="
	"   ARRAY(SELECT x FROM unnest(a.cids) x ORDER BY x) THEN q.points"
	"  ELSE 0 END AS points FROM q LEFT JOIN a ON a.qid = q.id),"
	" x AS (INSERT INTO question_submissions (org_id, set_id, user_id,"
	"  attempt, score, max_score, pending_review) SELECT s.org_id, s.id,"
	"  $3::uuid, 1, (SELECT COALESCE(sum(points), 0) FROM sc),"
	"  (SELECT COALESCE(sum(max_points), 0) FROM sc), EXISTS (SELECT 1"
	"  FROM sc WHERE points IS NULL) FROM s WHERE s.published AND"
	"  NOT EXISTS (SELECT 1 FROM bad) RETURNING *),"
	" ans AS (INSERT INTO question_answers (submission_id, question_id,"
	"  choice_ids, text, points) SELECT x.id, sc.qid, sc.cids, sc.text,"
	"  sc.points FROM x, sc WHERE sc.answered),"
	" au AS (" RC_REST_AUDIT_INSERT " SELECT x.org_id, $3::uuid,"
	"  'question_set_submitted', x.id, jsonb_build_object('set_id',"
	"  x.set_id, 'attempt', x.attempt, 'score', x.score, 'max_score',"
	"  x.max_score), $6, $7 FROM x)"
	" SELECT (SELECT json_build_object(" SUB_FIELDS("x") ", 'answers', "
	ANSWERS_AGG("(SELECT * FROM sc WHERE sc.answered)") ")::text FROM x),"
	" EXISTS (SELECT 1 FROM s), (SELECT published FROM s),"
	" (SELECT field FROM nope), (SELECT m FROM nope)",
	7,
};

/* $1 set, $2 org, $3 caller, $4 admin?, $5 user filter, $6/$7 cursor,
 * $8 limit. One row: the page, whether the caller sees the set. */
static const struct rc_db_stmt SQL_SUB_LIST = {
	"questions_sub_list",
	"WITH s AS (SELECT * FROM question_sets WHERE id = $1::uuid AND"
	"  org_id = $2::uuid AND (published OR $4::bool)),"
	" page AS (SELECT x.created_at, x.id, json_build_object("
	SUB_FIELDS("x") ", 'user_name', u.name, 'user_email', u.email,"
	"  'answers', " ANSWERS_AGG(ANSWER_ROWS("x")) ") AS j"
	"  FROM s JOIN question_submissions x ON x.set_id = s.id"
	"  JOIN users u ON u.id = x.user_id"
	"  WHERE ($4::bool OR x.user_id = $3::uuid)"
	"  AND ($5::uuid IS NULL OR x.user_id = $5::uuid)"
	"  AND ($6::timestamptz IS NULL OR (x.created_at, x.id) >"
	"   ($6::timestamptz, $7::uuid))"
	"  ORDER BY x.created_at, x.id LIMIT $8::int + 1)"
	" SELECT (" RC_REST_PAGE_SELECT("page", "$8") "),"
	" EXISTS (SELECT 1 FROM s)",
	8,
};

/* $1 set, $2 org, $3 submission, $4 grades (JSON, validated:
 * [{question_id, points}], no question twice), $5 actor, $6 client,
 * $7 request id. One row: the submission (NULL when refused), whether it
 * exists, the first bad grade's field and message. A grade replaces the
 * question's points in the score; a text answer without one keeps the
 * submission pending. */
static const struct rc_db_stmt SQL_SUB_GRADE = {
	"questions_sub_grade",
	"WITH x AS (SELECT y.* FROM question_submissions y WHERE"
	"  y.id = $3::uuid AND y.set_id = $1::uuid AND y.org_id = $2::uuid"
	"  FOR UPDATE),"
	" q AS (SELECT q.* FROM questions q, x WHERE q.set_id = x.set_id),"
	" g AS (SELECT e.ord - 1 AS i, (e.v->>'question_id')::uuid AS qid,"
	"  (e.v->>'points')::int AS points FROM jsonb_array_elements($4::jsonb)"
	"  WITH ORDINALITY e(v, ord)),"
	" bad AS (SELECT g.i, 'question_id' AS f, 'is not a question of this"
	"  set' AS m FROM g WHERE NOT EXISTS (SELECT 1 FROM q WHERE"
	"  q.id = g.qid)"
	"  UNION ALL SELECT g.i, 'points', 'must be from 0 to ' || q.points"
	"  FROM g JOIN q ON q.id = g.qid WHERE g.points > q.points),"
	" nope AS (SELECT 'grades[' || i || '].' || f AS field, m FROM bad"
	"  ORDER BY i, f LIMIT 1),"
	" eff AS (SELECT q.id AS qid, q.position, q.created_at,"
	"  a.choice_ids AS cids, a.text, q.points AS max_points,"
	"  COALESCE(ng.points, og.points, a.points) AS points,"
	"  ng.qid IS NOT NULL OR og.question_id IS NOT NULL AS graded"
	"  FROM x CROSS JOIN q"
	"  LEFT JOIN question_answers a ON a.submission_id = x.id AND"
	"   a.question_id = q.id"
	"  LEFT JOIN question_grades og ON og.submission_id = x.id AND"
	"   og.question_id = q.id"
	"  LEFT JOIN g ng ON ng.qid = q.id"
	"  WHERE a.question_id IS NOT NULL OR og.question_id IS NOT NULL OR"
	"  ng.qid IS NOT NULL),"
	" up AS (INSERT INTO question_grades (submission_id, question_id,"
	"  points, graded_by) SELECT x.id, g.qid, g.points, $5::uuid FROM x, g"
	"  WHERE NOT EXISTS (SELECT 1 FROM bad) ON CONFLICT (submission_id,"
	"  question_id) DO UPDATE SET points = EXCLUDED.points, graded_by ="
	"  EXCLUDED.graded_by, graded_at = now()),"
	" y AS (UPDATE question_submissions z SET score = (SELECT"
	"  COALESCE(sum(points), 0) FROM eff), pending_review = EXISTS (SELECT"
	"  1 FROM eff WHERE points IS NULL), graded_by = $5::uuid, graded_at ="
	"  now() FROM x WHERE z.id = x.id AND NOT EXISTS (SELECT 1 FROM bad)"
	"  RETURNING z.*),"
	" au AS (" RC_REST_AUDIT_INSERT " SELECT y.org_id, $5::uuid,"
	"  'question_submission_graded', y.id, jsonb_build_object('set_id',"
	"  y.set_id, 'user_id', y.user_id, 'score', y.score, 'grades',"
	"  $4::jsonb), $6, $7 FROM y)"
	" SELECT (SELECT json_build_object(" SUB_FIELDS("y") ", 'answers', "
	ANSWERS_AGG("eff") ")::text FROM y), EXISTS (SELECT 1 FROM x),"
	" (SELECT field FROM nope), (SELECT m FROM nope)",
	7,
};

/* $1 set, $2 org. One row per person who submitted: attempts, best
 * score, whether any attempt waits for a grade, the last one's time. */
static const struct rc_db_stmt SQL_RESULTS = {
	"questions_results",
	"SELECT json_build_object('set', json_build_object('id', s.id,"
	" 'title', s.title, 'max_attempts', s.max_attempts, 'max_score',"
	" (SELECT COALESCE(sum(points), 0) FROM questions WHERE"
	" set_id = s.id)), 'rows', COALESCE((SELECT json_agg("
	"json_build_object('user_id', u.id, 'name', u.name, 'email', u.email,"
	" 'role', u.role, 'attempts', r.attempts, 'best_score', r.best,"
	" 'max_score', r.max_score, 'pending_review', r.pending,"
	" 'last_submitted_at', " RC_REST_INSTANT("r.last_at") ") ORDER BY"
	" u.name, u.email) FROM (SELECT x.user_id, count(*) AS attempts,"
	" max(x.score) AS best, max(x.max_score) AS max_score,"
	" bool_or(x.pending_review) AS pending, max(x.created_at) AS last_at"
	" FROM question_submissions x WHERE x.set_id = s.id GROUP BY"
	" x.user_id) r JOIN users u ON u.id = r.user_id), '[]'::json))::text"
	" FROM question_sets s WHERE s.id = $1::uuid AND s.org_id = $2::uuid",
	2,
};

/* The columns of the results CSV, in order. */
static const char *const results_columns[] = {
	"name", "email", "role", "attempts", "best_score", "max_score",
	"pending_review", "last_submitted_at", NULL,
};

/* ---- Submissions ---------------------------------------------------------- */

/* One answer {question_id, choice_ids?, text?} at answers[i], checked and
 * appended to op->a normalised (choice_ids always a list); op->b holds the
 * question ids seen so far. */
static rc_status
answer_item(struct rc_req *req, struct qs_op *op, size_t i, json_t *el)
{
	const char *qid, *text, *cid;
	char path[QS_PATH_LEN];
	json_t *list, *ids, *v;
	size_t j;

	snprintf(path, sizeof(path), "answers[%zu]", i);
	if (!json_is_object(el)) {
		rc_http_fail_field(req, path, "must be an object");
		return RC_ERR;
	}
	snprintf(path, sizeof(path), "answers[%zu].question_id", i);
	if (qs_unique_uuid(req, path, json_object_get(el, "question_id"), op->b,
	    "answers a question an earlier answer does", &qid) != RC_OK)
		return RC_ERR;
	json_array_append_new(op->b, json_string(qid));
	snprintf(path, sizeof(path), "answers[%zu].text", i);
	qs_nest(req, path, json_object_get(el, "text"));
	if (rc_rest_string(req, path, 0, 0, ANSWER_TEXT_MAX, &text) != RC_OK)
		return RC_ERR;
	snprintf(path, sizeof(path), "answers[%zu].choice_ids", i);
	qs_nest(req, path, json_object_get(el, "choice_ids"));
	if (qs_list_member(req, path, 0, CHOICES_MAX, &list) != RC_OK)
		return RC_ERR;
	ids = json_array();
	json_array_append_new(op->a, json_pack("{s:s, s:o, s:s?}",
	    "question_id", qid, "choice_ids", ids, "text", text));
	json_array_foreach(list, j, v) {
		snprintf(path, sizeof(path), "answers[%zu].choice_ids[%zu]", i,
		    j);
		if (qs_unique_uuid(req, path, v, ids, "names a choice twice",
		    &cid) != RC_OK)
			return RC_ERR;
		json_array_append_new(ids, json_string(cid));
	}
	return RC_OK;
}

static void
submitted_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	const PGresult *res = r->res;

	if (rc_db_sqlstate_is(r, RC_SQLSTATE_MAX_ATTEMPTS)) {
		rc_http_fail(req, 409, "max_attempts", r->message);
		return;
	}
	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (!rc_rest_true(res, 1)) {
		rc_http_fail(req, 404, "not_found", "no such question set");
		return;
	}
	if (!rc_rest_true(res, 2)) {
		rc_http_fail(req, 409, "not_published",
		    "the set is not published yet");
		return;
	}
	if (!PQgetisnull(res, 0, 3)) {
		rc_http_fail_field(req, PQgetvalue(res, 0, 3),
		    PQgetvalue(res, 0, 4));
		return;
	}
	rc_rest_reply_cell(req, 201, res, 0);
}

/* POST /api/v1/question-sets/{id}/submissions {answers: [{question_id,
 * choice_ids?, text?}]} — one attempt, scored at once. */
void
rc_api_questions_submit(struct rc_req *req)
{
	struct qs_op *op = qs_op_new(req);
	const char *p[7];
	json_t *list, *el;
	size_t i;

	if (rc_rest_uuid_param(req, "id", &p[0]) != RC_OK ||
	    qs_list_member(req, "answers", 1, ANSWERS_MAX, &list) != RC_OK)
		return;
	op->a = json_array();
	op->b = json_array();
	json_array_foreach(list, i, el)
		if (answer_item(req, op, i, el) != RC_OK)
			return;
	p[1] = req->who->org_id;
	p[2] = req->who->user_id;
	p[3] = rc_rest_admin_text(req);
	p[4] = qs_op_text(op, 0, op->a);
	p[5] = rc_http_client(req);
	p[6] = req->id;
	rc_rest_query(req, &SQL_SUB_CREATE, p, submitted_cb);
}

static void
submissions_cb(const struct rc_db_result *r, void *arg)
{
	rc_rest_reply_found(arg, r, 1, 0, "no such question set");
}

/* GET /api/v1/question-sets/{id}/submissions?user_id=&limit=&cursor= —
 * admins: everyone's; others: their own. */
void
rc_api_questions_submissions(struct rc_req *req)
{
	const char *user = rc_http_query(req, "user_id");
	struct rc_rest_page page;
	const char *p[8];

	if (rc_rest_uuid_param(req, "id", &p[0]) != RC_OK)
		return;
	if (user != NULL && !rc_util_uuid_valid(user)) {
		rc_http_fail_field(req, "user_id", "is not an id");
		return;
	}
	if (rc_rest_page_parse(req, &page) != RC_OK)
		return;
	p[1] = req->who->org_id;
	p[2] = req->who->user_id;
	p[3] = rc_rest_admin_text(req);
	p[4] = user;
	p[5] = page.after_at;
	p[6] = page.after_id;
	p[7] = page.limit;
	rc_rest_query(req, &SQL_SUB_LIST, p, submissions_cb);
}

static void
graded_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	const PGresult *res = r->res;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (!rc_rest_true(res, 1)) {
		rc_http_fail(req, 404, "not_found", "no such submission");
		return;
	}
	if (!PQgetisnull(res, 0, 2)) {
		rc_http_fail_field(req, PQgetvalue(res, 0, 2),
		    PQgetvalue(res, 0, 3));
		return;
	}
	rc_rest_reply_cell(req, 200, res, 0);
}

/* grades: 1..500 of {question_id, points}, no question twice; into op->a. */
static rc_status
grades_parse(struct rc_req *req, struct qs_op *op)
{
	char path[QS_PATH_LEN];
	json_t *list, *el, *seen;
	const char *qid;
	long points;
	size_t i;

	if (qs_list_member(req, "grades", 1, ANSWERS_MAX, &list) != RC_OK)
		return RC_ERR;
	if (json_array_size(list) == 0) {
		rc_http_fail_field(req, "grades", "must not be empty");
		return RC_ERR;
	}
	op->a = json_array();
	op->b = seen = json_array();
	json_array_foreach(list, i, el) {
		snprintf(path, sizeof(path), "grades[%zu]", i);
		if (!json_is_object(el)) {
			rc_http_fail_field(req, path, "must be an object");
			return RC_ERR;
		}
		snprintf(path, sizeof(path), "grades[%zu].question_id", i);
		if (qs_unique_uuid(req, path, json_object_get(el, "question_id"),
		    seen, "grades a question an earlier grade does", &qid) !=
		    RC_OK)
			return RC_ERR;
		snprintf(path, sizeof(path), "grades[%zu].points", i);
		qs_nest(req, path, json_object_get(el, "points"));
		if (rc_rest_int(req, path, 1, 0, POINTS_MAX, &points) != RC_OK)
			return RC_ERR;
		json_array_append_new(seen, json_string(qid));
		json_array_append_new(op->a, json_pack("{s:s, s:I}",
		    "question_id", qid, "points", (json_int_t)points));
	}
	return RC_OK;
}

/* PATCH /api/v1/question-sets/{id}/submissions/{sid} {grades:
 * [{question_id, points}]} — an admin grades; the score is recomputed. */
void
rc_api_questions_grade(struct rc_req *req)
{
	struct qs_op *op = qs_op_new(req);
	const char *p[7];

	if (rc_rest_uuid_param(req, "id", &p[0]) != RC_OK ||
	    rc_rest_uuid_param(req, "sid", &p[2]) != RC_OK ||
	    grades_parse(req, op) != RC_OK)
		return;
	p[1] = req->who->org_id;
	p[3] = qs_op_text(op, 0, op->a);
	p[4] = req->who->user_id;
	p[5] = rc_http_client(req);
	p[6] = req->id;
	rc_rest_query(req, &SQL_SUB_GRADE, p, graded_cb);
}

/* ---- Results ---------------------------------------------------------------- */

/* The results' JSON text as a CSV download. */
static void
reply_results_csv(struct rc_req *req, const char *text)
{
	json_t *results = json_loads(text, 0, NULL);
	char *csv = NULL, *name;
	const char *title;
	size_t len;

	if (results != NULL)
		csv = rc_reports_rows_csv(json_object_get(results, "rows"),
		    results_columns, &len);
	if (csv == NULL) {
		json_decref(results);
		rc_http_fail(req, 500, "internal", "the results are malformed");
		return;
	}
	title = json_string_value(json_object_get(json_object_get(results,
	    "set"), "title"));
	name = rc_reports_filename("questions", title ? title : "set",
	    "results", "csv");
	rc_rest_reply_csv(req, csv, len, name);
	free(name);
	free(csv);
	json_decref(results);
}

static void
results_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	struct qs_op *op = req->data;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) != 1 || PQgetisnull(r->res, 0, 0)) {
		rc_http_fail(req, 404, "not_found", "no such question set");
		return;
	}
	if (op->csv) {
		reply_results_csv(req, PQgetvalue(r->res, 0, 0));
		return;
	}
	rc_rest_reply_cell(req, 200, r->res, 0);
}

/* GET /api/v1/question-sets/{id}/results?format=json|csv — one row per
 * person who submitted: attempts, best score, last submitted. */
void
rc_api_questions_results(struct rc_req *req)
{
	const char *format = rc_http_query(req, "format");
	struct qs_op *op = qs_op_new(req);
	const char *p[2];

	if (rc_rest_uuid_param(req, "id", &p[0]) != RC_OK)
		return;
	if (format != NULL && strcmp(format, "json") != 0 &&
	    strcmp(format, "csv") != 0) {
		rc_http_fail_field(req, "format", "must be json or csv");
		return;
	}
	op->csv = format != NULL && strcmp(format, "csv") == 0;
	p[1] = req->who->org_id;
	rc_rest_query(req, &SQL_RESULTS, p, results_cb);
}
