/* Shared basics: status codes, allocation that aborts on out-of-memory,
 * fatal errors, small string and time helpers. Every module includes it. */
#ifndef ROLLCALL_UTIL_H
#define ROLLCALL_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

typedef int rc_status;
#define RC_OK		0
#define RC_ERR		(-1)
#define RC_AGAIN	(-2)	/* pending: a callback follows */

#define RC_NELEM(a)	(sizeof(a) / sizeof((a)[0]))

#if defined(__GNUC__)
#define RC_PRINTF(f, a)	__attribute__((format(printf, f, a)))
#define RC_NORETURN	__attribute__((noreturn))
#else
#define RC_PRINTF(f, a)
#define RC_NORETURN
/* Length of the UTF-8 sequence at s (n bytes left), 0 when invalid;
 * strict (RFC 3629 3: no overlongs, surrogates or code points past
 * U+10FFFF), as PostgreSQL checks text. */
size_t	 rc_utf8_seq_len(const unsigned char *s, size_t n);
/* True when the n bytes at s are valid UTF-8 (see rc_utf8_seq_len). */
int	 rc_utf8_valid(const char *s, size_t n);

/* True when s is a UUID in its textual form (8-4-4-4-12 hex digits, either
 * case); false for NULL. */
int	 rc_util_uuid_valid(const char *s);
/* True when s is a real calendar date written exactly "YYYY-MM-DD", years
 * 1900..2999 (2026-02-30 and 2026-13-01 are not); false for NULL. */
int	 rc_util_date_valid(const char *s);
/* The same, and *days gets the date's day number (days since 1970-01-01);
 * false (and *days untouched) when s is not such a date. */
int	 rc_util_date_days(const char *s, long *days);
/* True when s is an RFC 3339 date-time with "Z" or a ±HH:MM offset and at
 * most 6 fractional digits ("2026-11-26T09:03:00Z"); false for NULL. */
int	 rc_util_instant_valid(const char *s);

#endif

/* Allocation: never returns NULL; aborts with a message instead. */
void	*rc_malloc(size_t n);
void	*rc_calloc(size_t nmemb, size_t size);
void	*rc_realloc(void *p, size_t n);
char	*rc_strdup(const char *s);
char	*rc_strndup(const char *s, size_t n);
/* Returns a new string; caller frees. */
char	*rc_asprintf(const char *fmt, ...) RC_PRINTF(1, 2);

/* For start-up failures and broken invariants only. */
RC_NORETURN void rc_fatal(const char *fmt, ...) RC_PRINTF(1, 2);

/* Monotonic clock in microseconds / seconds; wall clock in seconds. */
uint64_t rc_now_usec(void);
double	 rc_now_mono(void);

/* Constant-time comparison of two byte strings of possibly different
 * lengths; true when equal. The length difference is not hidden. */
int	 rc_secure_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Fills buf with n random bytes from the kernel (getrandom). */
void	 rc_random_bytes(void *buf, size_t n);
/* Writes 2*n lowercase hex digits and a NUL into out. */
void	 rc_hex_encode(const unsigned char *in, size_t n, char *out);

/* Reads a whole file into a new NUL-terminated buffer; caller frees.
 * Returns NULL and sets errno on failure. */
char	*rc_read_file(const char *path, size_t *len);

/* Length of the UTF-8 sequence at s (n bytes left), 0 when invalid;
 * strict (RFC 3629 3: no overlongs, surrogates or code points past
 * U+10FFFF), as PostgreSQL checks text. */
size_t	 rc_utf8_seq_len(const unsigned char *s, size_t n);
/* True when the n bytes at s are valid UTF-8 (see rc_utf8_seq_len). */
int	 rc_utf8_valid(const char *s, size_t n);

/* True when s is a UUID in its textual form (8-4-4-4-12 hex digits, either
 * case); false for NULL. */
int	 rc_util_uuid_valid(const char *s);
/* True when s is a real calendar date written exactly "YYYY-MM-DD", years
 * 1900..2999 (2026-02-30 and 2026-13-01 are not); false for NULL. */
int	 rc_util_date_valid(const char *s);
/* The same, and *days gets the date's day number (days since 1970-01-01);
 * false (and *days untouched) when s is not such a date. */
int	 rc_util_date_days(const char *s, long *days);
/* True when s is an RFC 3339 date-time with "Z" or a ±HH:MM offset and at
 * most 6 fractional digits ("2026-11-26T09:03:00Z"); false for NULL. */
int	 rc_util_instant_valid(const char *s);

#endif
