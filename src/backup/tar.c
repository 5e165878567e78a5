/* A small POSIX ustar writer and reader (IEEE 1003.1-2001 "ustar" format),
 * enough for the backup archive: regular files only, names under 100
 * bytes, sizes past 8 GiB in the GNU base-256 form. Each member's SHA-256
 * is computed as its bytes stream through. */
#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "rollcall/util.h"
#include "backup-int.h"

#define OCTAL_SIZE_MAX	077777777777ULL	/* 11 octal digits */

/* Header field offsets (POSIX pax, "ustar Interchange Format"). */
#define H_NAME		0
#define H_MODE		100
#define H_UID		108
#define H_GID		116
#define H_SIZE		124
#define H_MTIME		136
#define H_CHKSUM	148
#define H_TYPEFLAG	156
#define H_MAGIC		257
#define H_VERSION	263

static const unsigned char zero_block[TAR_BLOCK];

void
sha256_hex(const unsigned char md[32], char hex[SHA_HEX_LEN + 1])
{
	rc_hex_encode(md, 32, hex);
}

static void
md_start(EVP_MD_CTX **md)
{
	if (*md == NULL && (*md = EVP_MD_CTX_new()) == NULL)
		rc_fatal("backup: out of memory");
	if (EVP_DigestInit_ex(*md, EVP_sha256(), NULL) != 1)
		rc_fatal("backup: SHA-256 is unavailable");
}

static void
md_hex(EVP_MD_CTX *md, char hex[SHA_HEX_LEN + 1])
{
	unsigned char out[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(md, out, &n) != 1 || n != 32)
		rc_fatal("backup: SHA-256 failed");
	sha256_hex(out, hex);
}

/* width - 1 zero-padded octal digits and a NUL; v must fit. */
static void
put_octal(unsigned char *field, size_t width, uint64_t v)
{
	size_t i;

	field[width - 1] = '\0';
	for (i = width - 1; i > 0; i--, v >>= 3)
		field[i - 1] = (unsigned char)('0' + (v & 7));
}

static unsigned
header_sum(const unsigned char *h)
{
	unsigned sum = 0;
	size_t i;

	for (i = 0; i < TAR_BLOCK; i++)
		sum += (i >= H_CHKSUM && i < H_CHKSUM + 8) ? ' ' : h[i];
	return sum;
}

/* ---- writer ------------------------------------------------------------ */

void
tar_writer_init(struct tar_writer *w, FILE *fp)
{
	memset(w, 0, sizeof(*w));
	w->fp = fp;
}

void
tar_writer_cleanup(struct tar_writer *w)
{
	EVP_MD_CTX_free(w->md);
	w->md = NULL;
}

static rc_status
put_bytes(struct tar_writer *w, const void *buf, size_t len)
{
	if (w->failed || fwrite(buf, 1, len, w->fp) != len) {
		w->failed = 1;
		return RC_ERR;
	}
	return RC_OK;
}

static void
put_size(unsigned char *h, uint64_t size)
{
	int i;

	if (size <= OCTAL_SIZE_MAX) {
		put_octal(h + H_SIZE, 12, size);
		return;
	}
	/* GNU base-256: high bit set, big-endian in the remaining bytes. */
	h[H_SIZE] = 0x80;
	for (i = 11; i >= 1; i--, size >>= 8)
		h[H_SIZE + i] = (unsigned char)(size & 0xff);
}

rc_status
tar_begin(struct tar_writer *w, const char *name, uint64_t size,
    unsigned mode, int64_t mtime)
{
	unsigned char h[TAR_BLOCK];

	if (strlen(name) >= TAR_NAME_MAX || w->left != 0)
		return RC_ERR;
	memset(h, 0, sizeof(h));
	memcpy(h + H_NAME, name, strlen(name));
	put_octal(h + H_MODE, 8, mode & 07777);
	put_octal(h + H_UID, 8, 0);
	put_octal(h + H_GID, 8, 0);
	put_size(h, size);
	put_octal(h + H_MTIME, 12, mtime < 0 ? 0 : (uint64_t)mtime);
	h[H_TYPEFLAG] = '0';
	memcpy(h + H_MAGIC, "ustar", 6);
	memcpy(h + H_VERSION, "00", 2);
	put_octal(h + H_CHKSUM, 7, header_sum(h));
	h[H_CHKSUM + 7] = ' ';
	md_start(&w->md);
	w->left = w->size = size;
	return put_bytes(w, h, sizeof(h));
}

rc_status
tar_write(struct tar_writer *w, const void *buf, size_t len)
{
	if (len > w->left) {
		w->failed = 1;
		return RC_ERR;
	}
	if (EVP_DigestUpdate(w->md, buf, len) != 1)
		rc_fatal("backup: SHA-256 failed");
	w->left -= len;
	return put_bytes(w, buf, len);
}

rc_status
tar_end(struct tar_writer *w, char hex[SHA_HEX_LEN + 1])
{
	size_t pad = (size_t)((TAR_BLOCK - w->size % TAR_BLOCK) % TAR_BLOCK);

	if (w->left != 0) {
		w->failed = 1;
		return RC_ERR;
	}
	md_hex(w->md, hex);
	return put_bytes(w, zero_block, pad);
}

rc_status
tar_finish(struct tar_writer *w)
{
	if (put_bytes(w, zero_block, TAR_BLOCK) != RC_OK ||
	    put_bytes(w, zero_block, TAR_BLOCK) != RC_OK)
		return RC_ERR;
	return fflush(w->fp) == 0 && !ferror(w->fp) ? RC_OK : RC_ERR;
}

rc_status
tar_add_buf(struct tar_writer *w, const char *name, const void *buf,
    size_t len, char hex[SHA_HEX_LEN + 1])
{
	if (tar_begin(w, name, len, 0600, (int64_t)time(NULL)) != RC_OK ||
	    tar_write(w, buf, len) != RC_OK)
		return RC_ERR;
	return tar_end(w, hex);
}

rc_status
tar_add_file(struct tar_writer *w, const char *name, const char *path,
    char hex[SHA_HEX_LEN + 1], uint64_t *size)
{
	unsigned char buf[65536];
	rc_status rc = RC_ERR;
	FILE *in;
	long end;
	size_t n;

	if ((in = fopen(path, "rb")) == NULL)
		return RC_ERR;
	if (fseek(in, 0, SEEK_END) != 0 || (end = ftell(in)) < 0 ||
	    fseek(in, 0, SEEK_SET) != 0)
		goto out;
	*size = (uint64_t)end;
	if (tar_begin(w, name, *size, 0600, (int64_t)time(NULL)) != RC_OK)
		goto out;
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		if (tar_write(w, buf, n) != RC_OK)
			goto out;
	if (ferror(in))
		goto out;
	rc = tar_end(w, hex);
out:
	fclose(in);
	return rc;
}

/* ---- reader ------------------------------------------------------------ */

void
tar_reader_init(struct tar_reader *r, FILE *fp)
{
	memset(r, 0, sizeof(*r));
	r->fp = fp;
}

void
tar_reader_cleanup(struct tar_reader *r)
{
	EVP_MD_CTX_free(r->md);
	r->md = NULL;
}

static rc_status
read_exact(struct tar_reader *r, void *buf, size_t len, const char *what)
{
	size_t n = fread(buf, 1, len, r->fp);

	r->offset += n;
	if (n == len)
		return RC_OK;
	snprintf(r->err, sizeof(r->err), "truncated at byte %" PRIu64
	    " (in %s)%s%s", r->offset, what, ferror(r->fp) ? ": " : "",
	    ferror(r->fp) ? strerror(errno) : "");
	return RC_ERR;
}

static int
parse_octal(const unsigned char *f, size_t width, uint64_t *out)
{
	uint64_t v = 0;
	size_t i = 0;

	while (i < width && f[i] == ' ')
		i++;
	if (i == width || f[i] < '0' || f[i] > '7')
		return -1;
	for (; i < width && f[i] >= '0' && f[i] <= '7'; i++) {
		if (v > (UINT64_MAX >> 3))
			return -1;
		v = (v << 3) | (uint64_t)(f[i] - '0');
	}
	for (; i < width; i++)
		if (f[i] != ' ' && f[i] != '\0')
			return -1;
	*out = v;
	return 0;
}

static int
parse_size(const unsigned char *h, uint64_t *size)
{
	uint64_t v = 0;
	int i;

	if (h[H_SIZE] != 0x80)
		return parse_octal(h + H_SIZE, 12, size);
	for (i = 1; i < 12; i++) {
		if (v > (UINT64_MAX >> 8))
			return -1;
		v = (v << 8) | h[H_SIZE + i];
	}
	*size = v;
	return 0;
}

static rc_status
parse_header(struct tar_reader *r, const unsigned char *h,
    struct tar_member *m)
{
	uint64_t sum;

	if (parse_octal(h + H_CHKSUM, 8, &sum) != 0 || sum != header_sum(h) ||
	    memcmp(h + H_MAGIC, "ustar", 5) != 0) {
		snprintf(r->err, sizeof(r->err), "damaged member header at "
		    "byte %" PRIu64 " (bad checksum or not a tar archive)",
		    r->offset - TAR_BLOCK);
		return RC_ERR;
	}
	if (memchr(h + H_NAME, '\0', TAR_NAME_MAX) == NULL ||
	    (h[H_TYPEFLAG] != '0' && h[H_TYPEFLAG] != '\0') ||
	    parse_size(h, &m->size) != 0) {
		snprintf(r->err, sizeof(r->err), "unsupported member at byte %"
		    PRIu64 " (rollcall archives hold regular files only)",
		    r->offset - TAR_BLOCK);
		return RC_ERR;
	}
	memcpy(m->name, h + H_NAME, TAR_NAME_MAX);
	m->name[TAR_NAME_MAX] = '\0';
	return RC_OK;
}

rc_status
tar_next(struct tar_reader *r, struct tar_member *m)
{
	unsigned char h[TAR_BLOCK];

	assert(r->left == 0 && r->pad == 0);
	if (read_exact(r, h, sizeof(h), "a member header") != RC_OK)
		return RC_ERR;
	if (memcmp(h, zero_block, TAR_BLOCK) == 0) {
		if (read_exact(r, h, sizeof(h), "the end-of-archive marker")
		    != RC_OK)
			return RC_ERR;
		if (memcmp(h, zero_block, TAR_BLOCK) != 0) {
			snprintf(r->err, sizeof(r->err), "damaged end-of-archive "
			    "marker at byte %" PRIu64, r->offset - TAR_BLOCK);
			return RC_ERR;
		}
		return RC_AGAIN;
	}
	if (parse_header(r, h, m) != RC_OK)
		return RC_ERR;
	r->left = m->size;
	r->pad = (TAR_BLOCK - m->size % TAR_BLOCK) % TAR_BLOCK;
	md_start(&r->md);
	return RC_OK;
}

rc_status
tar_read(struct tar_reader *r, void *buf, size_t len, size_t *got)
{
	size_t n = len < r->left ? len : (size_t)r->left;

	*got = 0;
	if (n == 0)
		return RC_OK;
	if (read_exact(r, buf, n, "a member's data") != RC_OK)
		return RC_ERR;
	if (EVP_DigestUpdate(r->md, buf, n) != 1)
		rc_fatal("backup: SHA-256 failed");
	r->left -= n;
	*got = n;
	return RC_OK;
}

rc_status
tar_done(struct tar_reader *r, char hex[SHA_HEX_LEN + 1])
{
	unsigned char buf[65536];
	unsigned char pad[TAR_BLOCK];
	size_t got;

	while (r->left > 0)
		if (tar_read(r, buf, sizeof(buf), &got) != RC_OK)
			return RC_ERR;
	if (r->pad > 0 && read_exact(r, pad, (size_t)r->pad, "padding") != RC_OK)
		return RC_ERR;
	r->pad = 0;
	md_hex(r->md, hex);
	return RC_OK;
}
