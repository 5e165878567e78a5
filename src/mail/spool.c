/* The spool transport: with no SMTP relay configured, each message becomes
 * one .eml file, written so a reader never sees half a message and a crash
 * never loses an accepted one (temp file, fsync, rename, fsync the dir). */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "rollcall/mail.h"
#include "rollcall/util.h"
#include "mail-int.h"

#define MSGID_HEX_MAX	64

/* Creates dir and its missing parents, 0700 (messages may carry
 * temporary passwords). An existing dir keeps its mode. */
static rc_status
mkdir_p(const char *dir)
{
	char *tmp = rc_strdup(dir), *p, c;
	rc_status rv = RC_OK;

	for (p = tmp + 1; ; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		c = *p;
		*p = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST) {
			rv = RC_ERR;
			break;
		}
		*p = c;
		if (c == '\0')
			break;
	}
	free(tmp);
	return rv;
}

/* The hex part of "Message-ID: <hex@domain>" in the header block, so the
 * file name matches the message; random when absent or odd. */
static void
spool_id(const char *msg, size_t len, char out[MSGID_HEX_MAX + 1])
{
	const char *p = msg, *end = msg + len, *hdr_end;
	unsigned char rnd[16];
	size_t n;

	hdr_end = memmem(msg, len, "\r\n\r\n", 4);
	if (hdr_end != NULL)
		end = hdr_end;
	while (p != NULL && p < end) {
		if ((size_t)(end - p) > 13 && strncasecmp(p, "Message-ID: <", 13) == 0) {
			p += 13;
			for (n = 0; p + n < end && n < MSGID_HEX_MAX &&
			    strchr("0123456789abcdef", p[n]) != NULL && p[n] != '\0'; n++)
				;
			if (n > 0 && p + n < end && p[n] == '@') {
				memcpy(out, p, n);
				out[n] = '\0';
				return;
			}
			break;
		}
		p = memmem(p, (size_t)(end - p), "\r\n", 2);
		if (p != NULL)
			p += 2;
	}
	rc_random_bytes(rnd, sizeof(rnd));
	rc_hex_encode(rnd, sizeof(rnd), out);
}

static rc_status
write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return RC_ERR;
		p += n;
		len -= (size_t)n;
	}
	return RC_OK;
}

/* The rename is durable only once the directory entry is on disk. */
static rc_status
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	rc_status rv = RC_OK;

	if (fd < 0)
		return RC_ERR;
	if (fsync(fd) != 0)
		rv = RC_ERR;
	close(fd);
	return rv;
}

/* Writes msg to a fresh 0600 temp file in dir; on RC_OK *tmp names it. */
static rc_status
write_temp(const char *dir, const char *msg, size_t len, char **tmp,
    char *err, size_t errlen)
{
	int fd;

	*tmp = rc_asprintf("%s/.tmp-XXXXXX", dir);
	fd = mkostemp(*tmp, O_CLOEXEC);		/* creates 0600 */
	if (fd < 0) {
		rc_mail_seterr(err, errlen, "spool: create temp file: %s", strerror(errno));
		free(*tmp);
		*tmp = NULL;
		return RC_ERR;
	}
	if (fchmod(fd, 0600) != 0 || write_all(fd, msg, len) != RC_OK ||
	    fsync(fd) != 0) {
		rc_mail_seterr(err, errlen, "spool: write: %s", strerror(errno));
		close(fd);
		goto fail;
	}
	if (close(fd) != 0) {
		rc_mail_seterr(err, errlen, "spool: close: %s", strerror(errno));
		goto fail;
	}
	return RC_OK;
fail:
	unlink(*tmp);
	free(*tmp);
	*tmp = NULL;
	return RC_ERR;
}

rc_status
rc_mail_spool_write(const char *dir, const char *msg, size_t len, char **path,
    char *err, size_t errlen)
{
	char id[MSGID_HEX_MAX + 1], *tmp = NULL, *final = NULL;

	if (path != NULL)
		*path = NULL;
	if (dir == NULL || *dir == '\0') {
		rc_mail_seterr(err, errlen, "spool: no directory configured");
		return RC_ERR;
	}
	if (mkdir_p(dir) != RC_OK) {
		rc_mail_seterr(err, errlen, "spool: mkdir %s: %s", dir, strerror(errno));
		return RC_ERR;
	}
	if (write_temp(dir, msg, len, &tmp, err, errlen) != RC_OK)
		return RC_ERR;
	/* Named by the message alone: a redelivery of the same message (the
	 * outbox after a crash between delivery and commit) replaces it. */
	spool_id(msg, len, id);
	final = rc_asprintf("%s/%s.eml", dir, id);
	if (rename(tmp, final) != 0) {
		rc_mail_seterr(err, errlen, "spool: rename: %s", strerror(errno));
		unlink(tmp);
		free(tmp);
		free(final);
		return RC_ERR;
	}
	free(tmp);
	if (fsync_dir(dir) != RC_OK) {
		/* The file is in place; only its durability is in doubt. Say
		 * so: the outbox retries and a duplicate beats a loss. */
		rc_mail_seterr(err, errlen, "spool: fsync dir: %s", strerror(errno));
		free(final);
		return RC_ERR;
	}
	if (path != NULL)
		*path = final;
	else
		free(final);
	return RC_OK;
}
