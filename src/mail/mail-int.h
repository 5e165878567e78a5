/* Internals shared by the mail module's files: a growable byte buffer that
 * wipes what it leaves behind (messages carry temporary passwords and reset
 * codes), error formatting, and address checks. */
#ifndef ROLLCALL_MAIL_INT_H
#define ROLLCALL_MAIL_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "rollcall/util.h"

struct rc_mail_buf {
	char	*p;
	size_t	 len;
	size_t	 cap;
};

void	rc_mail_buf_add(struct rc_mail_buf *b, const void *data, size_t n);
void	rc_mail_buf_adds(struct rc_mail_buf *b, const char *s);
/* Zeroes and frees the contents; the buffer is empty afterwards. */
void	rc_mail_buf_wipe(struct rc_mail_buf *b);
/* NUL-terminates and hands the contents over; caller frees. */
char	*rc_mail_buf_take(struct rc_mail_buf *b, size_t *len);

void	rc_mail_seterr(char *err, size_t errlen, const char *fmt, ...)
	    RC_PRINTF(3, 4);

/* True for an ASCII addr-spec local@domain of sane length and characters
 * (RFC 5321 4.5.3.1 limits; dot-atom text only, no quoted local parts). */
bool	rc_mail_addr_valid(const char *addr);

#endif
