/* The built-in mail templates: plain text with {{name}} placeholders filled
 * from a JSON object. A missing variable is an error, never a blank, so a
 * mail cannot go out saying "your password is ". */
#include <assert.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rollcall/log.h"
#include "rollcall/mail.h"
#include "rollcall/util.h"

#define VAR_NAME_MAX	64

struct mail_template {
	const char	*name;
	const char	*subject;
	const char	*body;
};

static const struct mail_template templates[] = {
	{
		"credentials",
		"Your rollcall account",
		"Hello {{name}},\n"
		"\n"
		"An account has been created for you on rollcall.\n"
		"\n"
		"  Sign in at:          {{sign_in_url}}\n"
		"  Login email:         {{email}}\n"
		"  Temporary password:  {{temporary_password}}\n"
		"\n"
		"When you sign in you will be asked to change it.\n"
		"\n"
		"If you did not expect this message, tell your administrator.\n",
	},
	{
		"reset_code",
		"Your rollcall password reset code",
		"Hello,\n"
		"\n"
		"Someone, hopefully you, asked to reset the password of your\n"
		"rollcall account. Your reset code is:\n"
		"\n"
		"  {{code}}\n"
		"\n"
		"It is valid for {{minutes}} minutes. If you did not ask for it,\n"
		"ignore this message: your password stays as it is.\n",
	},
	{
		"leave_requested",
		"Leave request from {{requester_name}}",
		"Hello {{approver_name}},\n"
		"\n"
		"{{requester_name}} asks for leave:\n"
		"\n"
		"  Type:    {{leave_type}}\n"
		"  From:    {{start_date}}\n"
		"  To:      {{end_date}}\n"
		"  Reason:  {{reason}}\n"
		"\n"
		"Approve or reject it at {{review_url}}\n",
	},
	{
		"leave_decided",
		"Your leave request was {{decision}}",
		"Hello {{name}},\n"
		"\n"
		"Your leave request ({{leave_type}}, {{start_date}} to {{end_date}})\n"
		"was {{decision}} by {{decided_by}}.\n"
		"\n"
		"Comment: {{comment}}\n",
	},
	{
		"report",
		"rollcall report for {{month}}",
		"Hello {{name}},\n"
		"\n"
		"Attached is the attendance report of {{org_name}} for {{month}}.\n",
	},
};

static const struct mail_template *
template_find(const char *name)
{
	size_t i;

	for (i = 0; i < RC_NELEM(templates); i++)
		if (strcmp(templates[i].name, name) == 0)
			return &templates[i];
	return NULL;
}

/* The text of one variable: a string as is, an integer in decimal. The
 * result lives in num when it is a number. */
static const char *
var_text(json_t *vars, const char *tname, const char *var, char *num,
    size_t numlen, size_t *len)
{
	json_t *v = json_object_get(vars, var);

	if (v == NULL) {
		rc_log(RC_LOG_WARN, "mail: template %s: variable %s missing", tname, var);
		return NULL;
	}
	if (json_is_integer(v)) {
		snprintf(num, numlen, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		*len = strlen(num);
		return num;
	}
	if (json_is_string(v) && strlen(json_string_value(v)) == json_string_length(v)) {
		*len = json_string_length(v);
		return json_string_value(v);
	}
	rc_log(RC_LOG_WARN, "mail: template %s: variable %s is not a string "
	    "or an integer", tname, var);
	return NULL;
}

/* One pass over tpl: counts the output length into *need, and when out is
 * not NULL also writes it (sized by the first pass, so the result is
 * allocated once and no stray copy of a secret is left in freed memory). */
static rc_status
expand(const char *tpl, json_t *vars, const char *tname, char *out, size_t *need)
{
	const char *p = tpl, *open, *close, *val;
	char var[VAR_NAME_MAX + 1], num[32];
	size_t n = 0, len;

	while ((open = strstr(p, "{{")) != NULL) {
		close = strstr(open + 2, "}}");
		assert(close != NULL && (size_t)(close - open - 2) <= VAR_NAME_MAX);
		if (out != NULL)
			memcpy(out + n, p, (size_t)(open - p));
		n += (size_t)(open - p);
		memcpy(var, open + 2, (size_t)(close - open - 2));
		var[close - open - 2] = '\0';
		val = var_text(vars, tname, var, num, sizeof(num), &len);
		if (val == NULL)
			return RC_ERR;
		if (out != NULL)
			memcpy(out + n, val, len);
		n += len;
		p = close + 2;
	}
	len = strlen(p);
	if (out != NULL) {
		memcpy(out + n, p, len);
		out[n + len] = '\0';
	}
	*need = n + len;
	return RC_OK;
}

/* Returns a new string, or NULL when a variable is missing. */
static char *
fill(const char *tpl, json_t *vars, const char *tname)
{
	size_t need;
	char *out;

	if (expand(tpl, vars, tname, NULL, &need) != RC_OK)
		return NULL;
	out = rc_malloc(need + 1);
	if (expand(tpl, vars, tname, out, &need) != RC_OK) {
		free(out);	/* vars changed under us: cannot happen */
		return NULL;
	}
	return out;
}

rc_status
rc_mail_render(const char *template_name, json_t *vars, char **subject,
    char **body)
{
	const struct mail_template *t;

	*subject = *body = NULL;
	if (template_name == NULL || (t = template_find(template_name)) == NULL) {
		rc_log(RC_LOG_WARN, "mail: unknown template %s",
		    template_name ? template_name : "(null)");
		return RC_ERR;
	}
	if (!json_is_object(vars)) {
		rc_log(RC_LOG_WARN, "mail: template %s: variables are not an object",
		    template_name);
		return RC_ERR;
	}
	if ((*subject = fill(t->subject, vars, t->name)) == NULL)
		return RC_ERR;
	if ((*body = fill(t->body, vars, t->name)) == NULL) {
		free(*subject);
		*subject = NULL;
		return RC_ERR;
	}
	return RC_OK;
}
