/* What the files of the question-sets resource share: src/api/questions.c
 * (sets and questions) and src/api/questions_submit.c (submissions,
 * grading, results). */
#ifndef ROLLCALL_API_QUESTIONS_INT_H
#define ROLLCALL_API_QUESTIONS_INT_H

#include <stddef.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "rollcall/auth.h"
#include "rollcall/util.h"

struct rc_req;

#define CHOICES_MAX	50
#define POINTS_MAX	1000
#define QS_PATH_LEN	64	/* "answers[499].choice_ids[49]" and a NUL */

/* What a handler builds for its statement; freed with the request. */
struct qs_op {
	json_t	*a, *b;		/* normalised members (choices, answer...) */
	char	*text[2];	/* their JSON texts, parameters */
	int	 csv;
};

/* A new op owned by req (req->data), freed with it. */
struct qs_op	*qs_op_new(struct rc_req *req);
/* The JSON text of v as a statement parameter, kept in op->text[i]; NULL
 * for NULL. */
const char	*qs_op_text(struct qs_op *op, int i, const json_t *v);

/* The rc_api_* validators read members of req->body. A value inside a
 * list is checked by the very same code by making it a member named by
 * its path ("choices[2]", "answers[0].question_id"), which is also the
 * field a 422 names: qs_nest(req, path, v), then rc_api_*(req, path...).
 * Does nothing for NULL (absent). */
void		 qs_nest(struct rc_req *req, const char *path, json_t *v);
/* Member field as a list of at most max items; *out NULL when absent or
 * null and not required. Replies 422 and returns RC_ERR otherwise. */
rc_status	 qs_list_member(struct rc_req *req, const char *field,
		    int required, size_t max, json_t **out);
/* v as a UUID at path, unique (case aside) among the strings of seen;
 * replies 422 with twice when it is not. */
rc_status	 qs_unique_uuid(struct rc_req *req, const char *path, json_t *v,
		    const json_t *seen, const char *twice, const char **out);


#endif
