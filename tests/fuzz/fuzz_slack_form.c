/* libFuzzer driver: a slash command's form body (src/slack/form.c) and its
 * command text (src/slack/command.c). Input: a body such as
 * "team_id=T1&user_id=U1&text=leave+2026-12-01+2026-12-02+Annual+x".
 * Checks what the parser promises: every name and value it returns is
 * UTF-8 without NUL, and names are distinct. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/slack.h"
#include "rollcall/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rc_slack_form f;
	struct rc_slack_command cmd;
	char err[1024];
	size_t i, j;

	if (rc_slack_form_parse((const char *)data, size, &f, err,
	    sizeof(err)) == RC_OK) {
		for (i = 0; i < f.n; i++) {
			if (!rc_utf8_valid(f.names[i], strlen(f.names[i])) ||
			    !rc_utf8_valid(f.values[i], strlen(f.values[i])))
				abort();
			for (j = 0; j < i; j++)
				if (strcmp(f.names[i], f.names[j]) == 0)
					abort();
		}
		if (rc_slack_command_parse(rc_slack_form_get(&f, "text"), &cmd,
		    err, sizeof(err)) == RC_OK && cmd.verb == RC_SLACK_LEAVE &&
		    (cmd.rest == NULL || strcmp(cmd.end, cmd.start) < 0))
			abort();
		rc_slack_command_cleanup(&cmd);
	}
	rc_slack_form_cleanup(&f);
	return 0;
}
