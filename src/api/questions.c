/* Question collection (the old carer_genese_question_collection): an org's
 * question sets and their questions with choices and answer key (the
 * submissions, grading and results are in questions_submit.c). Admins
 * build and see everything of their org; everyone else sees published
 * sets only, without the answer key. Each change is one statement that
 * also writes its audit row; the replies are JSON that PostgreSQL built. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "rollcall/api.h"
#include "rollcall/rest.h"
#include "rollcall/auth.h"
#include "rollcall/db.h"
#include "rollcall/http.h"

#include "questions-int.h"

#define TITLE_MAX	200
#define DESCRIPTION_MAX	5000
#define PROMPT_MAX	4000
#define CHOICE_MAX	500
#define ATTEMPTS_MAX	100

/* The members of the public set object, from a question_sets row s. */
#define SET_FIELDS(s) \
	"'id', " s ".id, 'title', " s ".title, 'description', " s \
	".description, 'published', " s ".published, 'max_attempts', " s \
	".max_attempts, 'question_count', (SELECT count(*) FROM questions qc" \
	" WHERE qc.set_id = " s ".id), 'max_score', (SELECT COALESCE(sum(" \
	"qc.points), 0) FROM questions qc WHERE qc.set_id = " s ".id)," \
	" 'created_at', " RC_REST_INSTANT(s ".created_at") ", 'updated_at', " \
	RC_REST_INSTANT(s ".updated_at")

/* ...and what the caller me did with it. */
#define MINE(s, me) \
	"'my_attempts', (SELECT count(*) FROM question_submissions m WHERE" \
	" m.set_id = " s ".id AND m.user_id = " me "::uuid), 'my_best_score'," \
	" (SELECT max(m.score) FROM question_submissions m WHERE m.set_id = " \
	s ".id AND m.user_id = " me "::uuid)"

#define SET_JSON(s, me) \
	"json_build_object(" SET_FIELDS(s) ", " MINE(s, me) ")"

/* The public question q with its choices from ch (a table or CTE of
 * question_choices rows); the answer key (choice indexes) when admin. */
#define QUESTION_JSON(q, ch, admin) \
	"json_strip_nulls(json_build_object('id', " q ".id, 'kind', " q \
	".kind, 'prompt', " q ".prompt, 'points', " q ".points, 'position', " \
	q ".position, 'choices', COALESCE((SELECT json_agg(json_build_object(" \
	"'id', c.id, 'text', c.text) ORDER BY c.position) FROM " ch " c WHERE" \
	" c.question_id = " q ".id), '[]'::json), 'answer', CASE WHEN " admin \
	"::bool THEN COALESCE((SELECT json_agg(c.position ORDER BY c.position)" \
	" FROM " ch " c WHERE c.question_id = " q ".id AND c.correct)," \
	" '[]'::json) END))"

/* Inserts the choices of the new or changed question q: choices a JSON
 * array of texts, answer a JSON array of their indexes (the key). */
#define CHOICES_INSERT(choices, answer) \
	"INSERT INTO question_choices (question_id, position, text, correct)" \
	" SELECT q.id, e.ord - 1, e.t, (e.ord - 1) IN (SELECT v::int FROM" \
	" jsonb_array_elements_text(" answer "::jsonb) v) FROM q," \
	" jsonb_array_elements_text(" choices "::jsonb) WITH ORDINALITY" \
	" e(t, ord) RETURNING *"

/* The set $1 of org $2, locked against concurrent question changes, and
 * whether it has submissions (then its questions no longer change). */
#define SET_LOCKED \
	"s AS (SELECT id FROM question_sets WHERE id = $1::uuid AND" \
	"  org_id = $2::uuid FOR UPDATE)," \
	" busy AS (SELECT EXISTS (SELECT 1 FROM question_submissions x, s" \
	"  WHERE x.set_id = s.id) AS yes)"

/* $1 org, $2 title, $3 description, $4 published, $5 max attempts,
 * $6 actor, $7 client, $8 request id. */
static const struct rc_db_stmt SQL_SET_CREATE = {
	"questions_set_create",
	"WITH s AS (INSERT INTO question_sets (org_id, title, description,"
	"  published, max_attempts, created_by) VALUES ($1::uuid, $2,"
	"  COALESCE($3, ''), $4::bool, $5::int, $6::uuid) RETURNING *),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT s.org_id, $6::uuid,"
	"  'question_set_created', s.id, jsonb_build_object('title', s.title,"
	"  'published', s.published, 'max_attempts', s.max_attempts), $7, $8"
	"  FROM s)"
	" SELECT " SET_JSON("s", "$6") "::text FROM s",
	8,
};

/* $1 org, $2 admin?, $3 caller, $4/$5 cursor, $6 limit. */
static const struct rc_db_stmt SQL_SET_LIST = {
	"questions_set_list",
	"WITH page AS (SELECT s.created_at, s.id, " SET_JSON("s", "$3") " AS j"
	"  FROM question_sets s WHERE s.org_id = $1::uuid AND (s.published OR"
	"  $2::bool) AND ($4::timestamptz IS NULL OR (s.created_at, s.id) >"
	"  ($4::timestamptz, $5::uuid)) ORDER BY s.created_at, s.id"
	"  LIMIT $6::int + 1)"
	" " RC_REST_PAGE_SELECT("page", "$6"),
	6,
};

/* $1 id, $2 org, $3 admin?, $4 caller. */
static const struct rc_db_stmt SQL_SET_GET = {
	"questions_set_get",
	"SELECT json_build_object(" SET_FIELDS("s") ", " MINE("s", "$4") ","
	" 'questions', COALESCE((SELECT json_agg(" QUESTION_JSON("q",
	"question_choices", "$3") " ORDER BY q.position, q.created_at, q.id)"
	" FROM questions q WHERE q.set_id = s.id), '[]'::json))::text"
	" FROM question_sets s WHERE s.id = $1::uuid AND s.org_id = $2::uuid"
	" AND (s.published OR $3::bool)",
	4,
};

/* $1 id, $2 org, $3 the changes (jsonb, validated), $4 actor, $5 client,
 * $6 request id. */
static const struct rc_db_stmt SQL_SET_PATCH = {
	"questions_set_patch",
	"WITH s AS (UPDATE question_sets x SET"
	"  title = COALESCE($3::jsonb->>'title', x.title),"
	"  description = COALESCE($3::jsonb->>'description', x.description),"
	"  published = COALESCE(($3::jsonb->>'published')::bool, x.published),"
	"  max_attempts = COALESCE(($3::jsonb->>'max_attempts')::int,"
	"   x.max_attempts)"
	"  WHERE x.id = $1::uuid AND x.org_id = $2::uuid RETURNING x.*),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT s.org_id, $4::uuid,"
	"  'question_set_updated', s.id, $3::jsonb, $5, $6 FROM s)"
	" SELECT " SET_JSON("s", "$4") "::text FROM s",
	6,
};

/* $1 id, $2 org, $3 actor, $4 client, $5 request id. Its questions,
 * submissions, answers and grades go with it (ON DELETE CASCADE). */
static const struct rc_db_stmt SQL_SET_DELETE = {
	"questions_set_delete",
	"WITH s AS (DELETE FROM question_sets WHERE id = $1::uuid AND"
	"  org_id = $2::uuid RETURNING id, org_id, title),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT s.org_id, $3::uuid,"
	"  'question_set_deleted', s.id, jsonb_build_object('title', s.title,"
	"  'submissions', (SELECT count(*) FROM question_submissions x WHERE"
	"  x.set_id = s.id)), $4, $5 FROM s)"
	" SELECT id FROM s",
	5,
};

/* $1 set, $2 org, $3 kind, $4 prompt, $5 points, $6 choices (JSON texts),
 * $7 answer (JSON indexes), $8 actor, $9 client, $10 request id. One row:
 * the question (NULL when not made), whether the set exists, true, whether
 * the set has submissions. */
static const struct rc_db_stmt SQL_Q_CREATE = {
	"questions_q_create",
	"WITH " SET_LOCKED ","
	" q AS (INSERT INTO questions (set_id, position, kind, prompt, points)"
	"  SELECT s.id, COALESCE((SELECT max(position) + 1 FROM questions"
	"  WHERE set_id = s.id), 0), $3, $4, $5::int FROM s, busy"
	"  WHERE NOT busy.yes RETURNING *),"
	" ch AS (" CHOICES_INSERT("$6", "$7") "),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT $2::uuid, $8::uuid,"
	"  'question_created', q.id, jsonb_build_object('set_id', q.set_id,"
	"  'kind', q.kind, 'points', q.points), $9, $10 FROM q)"
	" SELECT (SELECT " QUESTION_JSON("q", "ch", "true") "::text FROM q),"
	" EXISTS (SELECT 1 FROM s), true, (SELECT yes FROM busy)",
	10,
};

/* $1 set, $2 org, $3 question, $4 prompt, $5 points, $6 kind, $7 choices,
 * $8 answer (each NULL: unchanged; kind, choices and answer come
 * together), $9 actor, $10 client, $11 request id. One row: the question
 * (NULL when not changed), whether the set exists, whether the question
 * does, whether the set has submissions. */
static const struct rc_db_stmt SQL_Q_PATCH = {
	"questions_q_patch",
	"WITH " SET_LOCKED ","
	" old AS (SELECT o.* FROM questions o, s WHERE o.id = $3::uuid AND"
	"  o.set_id = s.id),"
	" q AS (UPDATE questions x SET prompt = COALESCE($4, x.prompt),"
	"  points = COALESCE($5::int, x.points), kind = COALESCE($6, x.kind)"
	"  FROM old, busy WHERE x.id = old.id AND NOT busy.yes RETURNING x.*),"
	" gone AS (DELETE FROM question_choices c USING q WHERE"
	"  c.question_id = q.id AND $7::jsonb IS NOT NULL),"
	" nc AS (" CHOICES_INSERT("$7", "$8") "),"
	" ch AS (SELECT * FROM nc UNION ALL SELECT c.* FROM question_choices c,"
	"  q WHERE c.question_id = q.id AND $7::jsonb IS NULL),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT $2::uuid, $9::uuid,"
	"  'question_updated', q.id, jsonb_build_object('set_id', q.set_id,"
	"  'kind', q.kind, 'points', q.points, 'choices_replaced', $7::jsonb IS"
	"  NOT NULL), $10, $11 FROM q)"
	" SELECT (SELECT " QUESTION_JSON("q", "ch", "true") "::text FROM q),"
	" EXISTS (SELECT 1 FROM s), EXISTS (SELECT 1 FROM old),"
	" (SELECT yes FROM busy)",
	11,
};

/* $1 set, $2 org, $3 question, $4 actor, $5 client, $6 request id. One
 * row: deleted?, set exists?, question exists?, set has submissions? */
static const struct rc_db_stmt SQL_Q_DELETE = {
	"questions_q_delete",
	"WITH " SET_LOCKED ","
	" old AS (SELECT o.* FROM questions o, s WHERE o.id = $3::uuid AND"
	"  o.set_id = s.id),"
	" q AS (DELETE FROM questions x USING old, busy WHERE x.id = old.id"
	"  AND NOT busy.yes RETURNING x.id, x.set_id, x.prompt),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT $2::uuid, $4::uuid,"
	"  'question_deleted', q.id, jsonb_build_object('set_id', q.set_id,"
	"  'prompt', q.prompt), $5, $6 FROM q)"
	" SELECT EXISTS (SELECT 1 FROM q), EXISTS (SELECT 1 FROM s),"
	" EXISTS (SELECT 1 FROM old), (SELECT yes FROM busy)",
	6,
};

static const char *const kinds[] = { "single", "multiple", "text", NULL };

static void
qs_op_free(void *arg)
{
	struct qs_op *op = arg;

	json_decref(op->a);
	json_decref(op->b);
	free(op->text[0]);
	free(op->text[1]);
}

struct qs_op *
qs_op_new(struct rc_req *req)
{
	struct qs_op *op = rc_req_alloc(req, sizeof(*op), qs_op_free);

	req->data = op;
	return op;
}

const char *
qs_op_text(struct qs_op *op, int i, const json_t *v)
{
	if (v == NULL)
		return NULL;
	op->text[i] = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
	return op->text[i];
}

/* ---- Validation of nested values (questions-int.h says why) ------------ */

void
qs_nest(struct rc_req *req, const char *path, json_t *v)
{
	if (v != NULL)
		json_object_set(req->body, path, v);
}

rc_status
qs_list_member(struct rc_req *req, const char *field, int required,
    size_t max, json_t **out)
{
	json_t *v = json_object_get(req->body, field);
	char msg[64];

	*out = NULL;
	if (v == NULL || json_is_null(v)) {
		if (!required)
			return RC_OK;
		rc_http_fail_field(req, field, "is required");
		return RC_ERR;
	}
	if (!json_is_array(v)) {
		rc_http_fail_field(req, field, "must be a list");
		return RC_ERR;
	}
	if (json_array_size(v) > max) {
		snprintf(msg, sizeof(msg), "holds at most %zu items", max);
		rc_http_fail_field(req, field, msg);
		return RC_ERR;
	}
	*out = v;
	return RC_OK;
}

rc_status
qs_unique_uuid(struct rc_req *req, const char *path, json_t *v,
    const json_t *seen, const char *twice, const char **out)
{
	const json_t *s;
	size_t k;

	qs_nest(req, path, v);
	if (rc_rest_uuid(req, path, 1, out) != RC_OK)
		return RC_ERR;
	json_array_foreach(seen, k, s) {
		if (strcasecmp(json_string_value(s), *out) == 0) {
			rc_http_fail_field(req, path, twice);
			return RC_ERR;
		}
	}
	return RC_OK;
}

/* ---- Question sets ------------------------------------------------------ */

/* A one-row JSON reply, or 404 when the row is missing or NULL. */
static void
json_200_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) != 1 || PQgetisnull(r->res, 0, 0)) {
		rc_http_fail(req, 404, "not_found", "no such question set");
		return;
	}
	rc_rest_reply_cell(req, 200, r->res, 0);
}

static void
set_created_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (rc_rest_db_ok(req, r, NULL))
		rc_rest_reply_cell(req, 201, r->res, 0);
}

/* POST /api/v1/question-sets {title, description?, published?,
 * max_attempts?} — an admin starts a set (unpublished by default). */
void
rc_api_questions_create(struct rc_req *req)
{
	const char *title, *description, *p[8];
	long attempts = 1;
	char n[16];
	int published;

	if (rc_rest_line(req, "title", 1, 1, TITLE_MAX, &title) != RC_OK ||
	    rc_rest_string(req, "description", 0, 0, DESCRIPTION_MAX,
	    &description) != RC_OK ||
	    rc_rest_bool(req, "published", 0, 0, &published) != RC_OK ||
	    rc_rest_int(req, "max_attempts", 0, 1, ATTEMPTS_MAX, &attempts) !=
	    RC_OK)
		return;
	snprintf(n, sizeof(n), "%ld", attempts);
	p[0] = req->who->org_id;
	p[1] = title;
	p[2] = description;
	p[3] = published ? "true" : "false";
	p[4] = n;
	p[5] = req->who->user_id;
	p[6] = rc_http_client(req);
	p[7] = req->id;
	rc_rest_query(req, &SQL_SET_CREATE, p, set_created_cb);
}

/* GET /api/v1/question-sets?limit=&cursor= — admins: all of the org's;
 * others: the published ones. */
void
rc_api_questions_list(struct rc_req *req)
{
	struct rc_rest_page page;
	const char *p[6];

	if (rc_rest_page_parse(req, &page) != RC_OK)
		return;
	p[0] = req->who->org_id;
	p[1] = rc_rest_admin_text(req);
	p[2] = req->who->user_id;
	p[3] = page.after_at;
	p[4] = page.after_id;
	p[5] = page.limit;
	rc_rest_query(req, &SQL_SET_LIST, p, json_200_cb);
}

/* GET /api/v1/question-sets/{id} — the set with its questions; the answer
 * key for admins only. */
void
rc_api_questions_get(struct rc_req *req)
{
	const char *p[4];

	if (rc_rest_uuid_param(req, "id", &p[0]) != RC_OK)
		return;
	p[1] = req->who->org_id;
	p[2] = rc_rest_admin_text(req);
	p[3] = req->who->user_id;
	rc_rest_query(req, &SQL_SET_GET, p, json_200_cb);
}

/* The validated changes of a PATCH as a JSON object (in op->a); RC_ERR
 * after a reply. */
static rc_status
set_changes(struct rc_req *req, struct qs_op *op)
{
	const char *title, *description;
	long attempts = 0;
	int published;

	if (rc_rest_line(req, "title", 0, 1, TITLE_MAX, &title) != RC_OK ||
	    rc_rest_string(req, "description", 0, 0, DESCRIPTION_MAX,
	    &description) != RC_OK ||
	    rc_rest_bool(req, "published", 0, -1, &published) != RC_OK ||
	    rc_rest_int(req, "max_attempts", 0, 1, ATTEMPTS_MAX, &attempts) !=
	    RC_OK)
		return RC_ERR;
	if (rc_rest_has(req, "title") && title == NULL) {
		rc_http_fail_field(req, "title", "must not be null");
		return RC_ERR;
	}
	op->a = json_object();
	if (title != NULL)
		json_object_set_new(op->a, "title", json_string(title));
	if (rc_rest_has(req, "description"))
		json_object_set_new(op->a, "description",
		    json_string(description ? description : ""));
	if (published >= 0)
		json_object_set_new(op->a, "published", json_boolean(published));
	if (attempts > 0)
		json_object_set_new(op->a, "max_attempts", json_integer(attempts));
	return RC_OK;
}

/* PATCH /api/v1/question-sets/{id} {title?, description?, published?,
 * max_attempts?} */
void
rc_api_questions_patch(struct rc_req *req)
{
	struct qs_op *op = qs_op_new(req);
	const char *p[6];

	if (rc_rest_uuid_param(req, "id", &p[0]) != RC_OK ||
	    set_changes(req, op) != RC_OK)
		return;
	p[1] = req->who->org_id;
	p[2] = qs_op_text(op, 0, op->a);
	p[3] = req->who->user_id;
	p[4] = rc_http_client(req);
	p[5] = req->id;
	rc_rest_query(req, &SQL_SET_PATCH, p, json_200_cb);
}

static void
set_deleted_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (rc_rest_db_row(req, r, "no such question set"))
		rc_http_reply(req, 204, NULL, NULL, 0);
}

/* DELETE /api/v1/question-sets/{id} — with its questions and submissions. */
void
rc_api_questions_delete(struct rc_req *req)
{
	const char *p[5];

	if (rc_rest_uuid_param(req, "id", &p[0]) != RC_OK)
		return;
	p[1] = req->who->org_id;
	p[2] = req->who->user_id;
	p[3] = rc_http_client(req);
	p[4] = req->id;
	rc_rest_query(req, &SQL_SET_DELETE, p, set_deleted_cb);
}

/* ---- Questions ------------------------------------------------------------ */

/* What a question body says; NULL/-1 for what a PATCH leaves alone. */
struct question_in {
	const char	*kind, *prompt;
	long		 points;
	json_t		*choices, *answer;	/* in the op */
};

/* choices: 2..50 distinct one-line texts for a choice question, none for
 * a text one; normalised into op->a. */
static rc_status
choices_parse(struct rc_req *req, struct qs_op *op, const char *kind)
{
	int text_kind = strcmp(kind, "text") == 0;
	const json_t *seen;
	char path[QS_PATH_LEN];
	const char *text;
	json_t *list, *v;
	size_t i, k;

	if (qs_list_member(req, "choices", !text_kind, CHOICES_MAX, &list) !=
	    RC_OK)
		return RC_ERR;
	op->a = json_array();
	if (text_kind) {
		if (list != NULL && json_array_size(list) > 0) {
			rc_http_fail_field(req, "choices",
			    "a text question has no choices");
			return RC_ERR;
		}
		return RC_OK;
	}
	if (json_array_size(list) < 2) {
		rc_http_fail_field(req, "choices",
		    "a choice question has 2 to 50 choices");
		return RC_ERR;
	}
	json_array_foreach(list, i, v) {
		snprintf(path, sizeof(path), "choices[%zu]", i);
		qs_nest(req, path, v);
		if (rc_rest_line(req, path, 1, 1, CHOICE_MAX, &text) != RC_OK)
			return RC_ERR;
		json_array_foreach(op->a, k, seen) {
			if (strcmp(json_string_value(seen), text) == 0) {
				rc_http_fail_field(req, path, "repeats a choice");
				return RC_ERR;
			}
		}
		json_array_append_new(op->a, json_string(text));
	}
	return RC_OK;
}

/* answer: the indexes of the right choices — exactly one for single, at
 * least one for multiple, none for text; normalised into op->b. */
static rc_status
answer_parse(struct rc_req *req, struct qs_op *op, const char *kind)
{
	size_t n = json_array_size(op->a), i, k;
	int text_kind = strcmp(kind, "text") == 0;
	char path[QS_PATH_LEN];
	const json_t *seen;
	json_t *list, *v;
	long index;

	if (qs_list_member(req, "answer", !text_kind, CHOICES_MAX, &list) != RC_OK)
		return RC_ERR;
	op->b = json_array();
	if (text_kind) {
		if (list != NULL && json_array_size(list) > 0) {
			rc_http_fail_field(req, "answer", "a text question has "
			    "no answer key: an admin grades it");
			return RC_ERR;
		}
		return RC_OK;
	}
	json_array_foreach(list, i, v) {
		snprintf(path, sizeof(path), "answer[%zu]", i);
		qs_nest(req, path, v);
		if (rc_rest_int(req, path, 1, 0, (long)n - 1, &index) != RC_OK)
			return RC_ERR;
		json_array_foreach(op->b, k, seen) {
			if (json_integer_value(seen) == index) {
				rc_http_fail_field(req, path, "repeats a choice");
				return RC_ERR;
			}
		}
		json_array_append_new(op->b, json_integer(index));
	}
	if (strcmp(kind, "single") == 0 && json_array_size(op->b) != 1) {
		rc_http_fail_field(req, "answer", "a single-choice question has "
		    "exactly one right choice");
		return RC_ERR;
	}
	if (json_array_size(op->b) == 0) {
		rc_http_fail_field(req, "answer",
		    "name at least one right choice");
		return RC_ERR;
	}
	return RC_OK;
}

/* A question body; with patch, every member may be absent, but kind,
 * choices and answer change together. */
static rc_status
question_parse(struct rc_req *req, struct qs_op *op, int patch,
    struct question_in *in)
{
	in->points = -1;
	in->choices = in->answer = NULL;
	if (rc_rest_enum(req, "kind", !patch, kinds, &in->kind) != RC_OK ||
	    rc_rest_string(req, "prompt", !patch, 1, PROMPT_MAX, &in->prompt) !=
	    RC_OK ||
	    rc_rest_int(req, "points", !patch, 0, POINTS_MAX, &in->points) !=
	    RC_OK)
		return RC_ERR;
	if (patch && in->kind == NULL) {
		if (rc_rest_has(req, "choices") || rc_rest_has(req, "answer")) {
			rc_http_fail_field(req, "kind", "is required with "
			    "choices and answer (they change together)");
			return RC_ERR;
		}
		return RC_OK;
	}
	if (choices_parse(req, op, in->kind) != RC_OK ||
	    answer_parse(req, op, in->kind) != RC_OK)
		return RC_ERR;
	in->choices = op->a;
	in->answer = op->b;
	return RC_OK;
}

/* Columns 1..3 of the question statements: the set exists, the question
 * does, the set has no submissions. Replies and returns 1 when one fails. */
static int
question_refused(struct rc_req *req, const PGresult *res)
{
	if (!rc_rest_true(res, 1)) {
		rc_http_fail(req, 404, "not_found", "no such question set");
		return 1;
	}
	if (!rc_rest_true(res, 2)) {
		rc_http_fail(req, 404, "not_found", "no such question");
		return 1;
	}
	if (rc_rest_true(res, 3)) {
		rc_http_fail(req, 409, "has_submissions", "this set has "
		    "submissions: its questions no longer change (scores would "
		    "stop meaning anything); make a new set");
		return 1;
	}
	return 0;
}

static void
question_created_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (rc_rest_db_ok(req, r, NULL) && !question_refused(req, r->res))
		rc_rest_reply_cell(req, 201, r->res, 0);
}

static void
question_patched_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (rc_rest_db_ok(req, r, NULL) && !question_refused(req, r->res))
		rc_rest_reply_cell(req, 200, r->res, 0);
}

static void
question_deleted_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (rc_rest_db_ok(req, r, NULL) && !question_refused(req, r->res))
		rc_http_reply(req, 204, NULL, NULL, 0);
}

/* POST /api/v1/question-sets/{id}/questions {kind, prompt, choices?,
 * answer?, points} — appended to the set; 201 with its choices' ids. */
void
rc_api_questions_question_create(struct rc_req *req)
{
	struct qs_op *op = qs_op_new(req);
	struct question_in in;
	const char *p[10];
	char points[16];

	if (rc_rest_uuid_param(req, "id", &p[0]) != RC_OK ||
	    question_parse(req, op, 0, &in) != RC_OK)
		return;
	snprintf(points, sizeof(points), "%ld", in.points);
	p[1] = req->who->org_id;
	p[2] = in.kind;
	p[3] = in.prompt;
	p[4] = points;
	p[5] = qs_op_text(op, 0, in.choices);
	p[6] = qs_op_text(op, 1, in.answer);
	p[7] = req->who->user_id;
	p[8] = rc_http_client(req);
	p[9] = req->id;
	rc_rest_query(req, &SQL_Q_CREATE, p, question_created_cb);
}

/* PATCH /api/v1/question-sets/{id}/questions/{qid} {prompt?, points?,
 * kind + choices + answer?} — new choices get new ids. */
void
rc_api_questions_question_patch(struct rc_req *req)
{
	struct qs_op *op = qs_op_new(req);
	struct question_in in;
	const char *p[11];
	char points[16];

	if (rc_rest_uuid_param(req, "id", &p[0]) != RC_OK ||
	    rc_rest_uuid_param(req, "qid", &p[2]) != RC_OK ||
	    question_parse(req, op, 1, &in) != RC_OK)
		return;
	snprintf(points, sizeof(points), "%ld", in.points);
	p[1] = req->who->org_id;
	p[3] = in.prompt;
	p[4] = in.points >= 0 ? points : NULL;
	p[5] = in.kind;
	p[6] = qs_op_text(op, 0, in.choices);
	p[7] = qs_op_text(op, 1, in.answer);
	p[8] = req->who->user_id;
	p[9] = rc_http_client(req);
	p[10] = req->id;
	rc_rest_query(req, &SQL_Q_PATCH, p, question_patched_cb);
}

/* DELETE /api/v1/question-sets/{id}/questions/{qid} */
void
rc_api_questions_question_delete(struct rc_req *req)
{
	const char *p[6];

	if (rc_rest_uuid_param(req, "id", &p[0]) != RC_OK ||
	    rc_rest_uuid_param(req, "qid", &p[2]) != RC_OK)
		return;
	p[1] = req->who->org_id;
	p[3] = req->who->user_id;
	p[4] = rc_http_client(req);
	p[5] = req->id;
	rc_rest_query(req, &SQL_Q_DELETE, p, question_deleted_cb);
}
