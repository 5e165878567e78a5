/* A small streaming JSON writer for the hot reads: the handler walks a
 * result's typed columns and writes the reply straight into one buffer,
 * instead of PostgreSQL building it (json_build_object, to_char). Strings
 * are escaped as PostgreSQL's json does (escape_json), instants written as
 * RC_REST_INSTANT writes them, so a converted route answers the same text
 * values as before. */
#ifndef ROLLCALL_JSON_H
#define ROLLCALL_JSON_H

#include <stddef.h>
#include <stdint.h>

/* Embed it (rc_json_init / rc_json_cleanup). Commas are the writer's: a
 * value or a closing bracket asks for one before what follows, an opening
 * bracket or a key does not. */
struct rc_json {
	char	*buf;
	size_t	 len;
	size_t	 cap;
	int	 comma;
};

/* Instants outside any calendar: PostgreSQL's 'infinity', '-infinity'. */
#define RC_JSON_TIME_INFINITY		INT64_MAX
#define RC_JSON_TIME_NEG_INFINITY	INT64_MIN
/* "YYYY-MM-DDTHH:MM:SS.ffffffZ" and its NUL, for years 0..9999. */
#define RC_JSON_TIME_MAX		28

void	rc_json_init(struct rc_json *w);
/* Frees the buffer; safe twice. */
void	rc_json_cleanup(struct rc_json *w);

void	rc_json_object_begin(struct rc_json *w);
void	rc_json_object_end(struct rc_json *w);
void	rc_json_array_begin(struct rc_json *w);
void	rc_json_array_end(struct rc_json *w);
/* An object member's name; its value follows. */
void	rc_json_key(struct rc_json *w, const char *key);

void	rc_json_null(struct rc_json *w);
void	rc_json_bool(struct rc_json *w, int v);
void	rc_json_int(struct rc_json *w, int64_t v);
/* len bytes of UTF-8 (the database's text: valid, no NUL), escaped. */
void	rc_json_string(struct rc_json *w, const char *s, size_t len);
void	rc_json_cstring(struct rc_json *w, const char *s);
/* A UUID's 16 bytes as its lowercase textual form (RFC 9562 4). */
void	rc_json_uuid(struct rc_json *w, const unsigned char b[16]);
/* Microseconds since 1970-01-01 UTC as RFC 3339 UTC to the second
 * ("2026-10-01T08:08:00Z"; the fraction is dropped, as to_char's
 * HH24:MI:SS does); null for an infinity. */
void	rc_json_time(struct rc_json *w, int64_t usec);
/* Days since 1970-01-01 as "YYYY-MM-DD". */
void	rc_json_date(struct rc_json *w, int32_t days);

/* Writes usec as above into out (RC_JSON_TIME_MAX bytes), with the six
 * fractional digits when micro is true; returns the length, 0 for an
 * infinity (out is then ""). */
size_t	rc_json_format_time(char *out, int64_t usec, int micro);
/* A UUID's textual form and its NUL. */
#define RC_JSON_UUID_MAX		37
/* Writes b as its textual form into out (RC_JSON_UUID_MAX bytes). */
void	rc_json_format_uuid(char *out, const unsigned char b[16]);

/* "YYYY-MM-DD" and its NUL (years past 9999 take more digits). */
#define RC_JSON_DATE_MAX		16
/* Writes days as "YYYY-MM-DD" into out (RC_JSON_DATE_MAX bytes); returns
 * the length. */
size_t	rc_json_format_date(char *out, int32_t days);

#endif
