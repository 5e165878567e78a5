/* libFuzzer driver: building a message from outside text (a person's
 * name, a subject, an attachment name, a body: src/mail/message.c). What
 * comes out is 7-bit with CRLF line ends, so no text can add a header.
 * Input: name, subject and file name on the first three lines, then the
 * body. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/mail.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *
next_line(const char **p, const char *end)
{
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	const char *stop = nl != NULL ? nl : end;
	char *s = rc_strndup(*p, (size_t)(stop - *p));

	*p = nl != NULL ? nl + 1 : end;
	return s;
}

static void
check_wire(const char *msg, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)msg[i];

		if (c >= 0x80 || c == '\0' || (c == '\r' && (i + 1 == len ||
		    msg[i + 1] != '\n')) || (c == '\n' && (i == 0 ||
		    msg[i - 1] != '\r')))
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const to[] = { "boss@example.com" };
	const char *p = (const char *)data, *end = p + size;
	char *name = next_line(&p, end), *subject = next_line(&p, end);
	char *file = next_line(&p, end), *text = rc_strndup(p,
	    (size_t)(end - p));
	struct rc_mail_attachment att = { file, "text/csv; charset=UTF-8",
	    (const unsigned char *)text, strlen(text) };
	struct rc_mail_message m = {
		.from = "rollcall@example.org", .from_name = name, .to = to,
		.nto = 1, .subject = subject, .text = text, .att = &att,
		.natt = *file != '\0', .id = name,
	};
	char err[RC_MAIL_ERRLEN], *msg = NULL;
	size_t len = 0;

	if (rc_mail_build(&m, &msg, &len, err, sizeof(err)) == RC_OK) {
		check_wire(msg, len);
		free(msg);
	}
	free(name);
	free(subject);
	free(file);
	free(text);
	return 0;
}
