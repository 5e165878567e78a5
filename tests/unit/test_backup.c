/* Unit tests of the backup archive's ustar writer and reader: a round
 * trip with per-member SHA-256, sizes past 8 GiB (GNU base-256), damaged
 * headers and truncations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "backup/backup-int.h"

static void
sha_of(const void *data, size_t len, char hex[SHA_HEX_LEN + 1])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	assert_int_equal(EVP_Digest(data, len, md, &n, EVP_sha256(), NULL), 1);
	sha256_hex(md, hex);
}

/* An archive of an empty member and a 1,000-byte one, in a temp file. */
static FILE *
two_members(char sha_a[SHA_HEX_LEN + 1], char sha_b[SHA_HEX_LEN + 1],
    unsigned char *data, size_t len)
{
	struct tar_writer w;
	FILE *fp = tmpfile();

	assert_non_null(fp);
	tar_writer_init(&w, fp);
	assert_int_equal(tar_add_buf(&w, "keys/a.pem", "", 0, sha_a), RC_OK);
	assert_int_equal(tar_add_buf(&w, "db.dump", data, len, sha_b), RC_OK);
	assert_int_equal(tar_finish(&w), RC_OK);
	tar_writer_cleanup(&w);
	rewind(fp);
	return fp;
}

static void
test_round_trip(void **state)
{
	unsigned char data[1000], back[2048];
	char sha_a[SHA_HEX_LEN + 1], sha_b[SHA_HEX_LEN + 1], got[SHA_HEX_LEN + 1];
	struct tar_reader r;
	struct tar_member m;
	size_t i, n;
	FILE *fp;

	(void)state;
	for (i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7);
	fp = two_members(sha_a, sha_b, data, sizeof(data));
	sha_of(data, sizeof(data), got);
	assert_string_equal(sha_b, got);
	fseek(fp, 0, SEEK_END);
	/* 2 headers + 2 data blocks + the two zero blocks */
	assert_int_equal(ftell(fp), 6 * TAR_BLOCK);
	rewind(fp);

	tar_reader_init(&r, fp);
	assert_int_equal(tar_next(&r, &m), RC_OK);
	assert_string_equal(m.name, "keys/a.pem");
	assert_int_equal(m.size, 0);
	assert_int_equal(tar_done(&r, got), RC_OK);
	assert_string_equal(got, sha_a);
	assert_int_equal(tar_next(&r, &m), RC_OK);
	assert_string_equal(m.name, "db.dump");
	assert_int_equal(m.size, sizeof(data));
	assert_int_equal(tar_read(&r, back, sizeof(back), &n), RC_OK);
	assert_int_equal(n, sizeof(data));
	assert_memory_equal(back, data, sizeof(data));
	assert_int_equal(tar_done(&r, got), RC_OK);
	assert_string_equal(got, sha_b);
	assert_int_equal(tar_next(&r, &m), RC_AGAIN);
	tar_reader_cleanup(&r);
	fclose(fp);
}

static void
test_writer_refuses_misuse(void **state)
{
	char sha[SHA_HEX_LEN + 1], name[TAR_NAME_MAX + 1];
	struct tar_writer w;
	FILE *fp = tmpfile();

	(void)state;
	tar_writer_init(&w, fp);
	memset(name, 'a', TAR_NAME_MAX);
	name[TAR_NAME_MAX] = '\0';
	assert_int_equal(tar_begin(&w, name, 1, 0600, 0), RC_ERR);
	assert_int_equal(tar_begin(&w, "x", 4, 0600, 0), RC_OK);
	assert_int_equal(tar_write(&w, "abc", 3), RC_OK);
	assert_int_equal(tar_end(&w, sha), RC_ERR);	/* one byte short */
	assert_int_equal(tar_write(&w, "de", 2), RC_ERR);	/* one too many */
	tar_writer_cleanup(&w);
	fclose(fp);
}

static void
test_large_size_is_base_256(void **state)
{
	const uint64_t big = 9ULL << 30;	/* past 11 octal digits */
	unsigned char h[TAR_BLOCK], buf[16];
	struct tar_writer w;
	struct tar_reader r;
	struct tar_member m;
	size_t n;
	FILE *fp = tmpfile();

	(void)state;
	tar_writer_init(&w, fp);
	assert_int_equal(tar_begin(&w, "db.dump", big, 0600, 0), RC_OK);
	assert_int_equal(tar_write(&w, "0123456789", 10), RC_OK);
	fflush(fp);
	tar_writer_cleanup(&w);
	rewind(fp);
	assert_int_equal(fread(h, 1, sizeof(h), fp), sizeof(h));
	assert_int_equal(h[124], 0x80);
	rewind(fp);
	tar_reader_init(&r, fp);
	assert_int_equal(tar_next(&r, &m), RC_OK);
	assert_true(m.size == big);
	assert_int_equal(tar_read(&r, buf, 10, &n), RC_OK);
	assert_memory_equal(buf, "0123456789", 10);
	/* The rest is not there: truncated, with the offset. */
	assert_int_equal(tar_read(&r, buf, sizeof(buf), &n), RC_ERR);
	assert_non_null(strstr(r.err, "truncated at byte 522"));
	tar_reader_cleanup(&r);
	fclose(fp);
}

static void
test_damage_is_found(void **state)
{
	unsigned char data[1000] = { 1 }, byte;
	char sha_a[SHA_HEX_LEN + 1], sha_b[SHA_HEX_LEN + 1], got[SHA_HEX_LEN + 1];
	struct tar_reader r;
	struct tar_member m;
	FILE *fp;

	(void)state;
	/* A flipped bit in the second header's name: its checksum fails. */
	fp = two_members(sha_a, sha_b, data, sizeof(data));
	fseek(fp, TAR_BLOCK + 2, SEEK_SET);
	byte = (unsigned char)fgetc(fp);
	fseek(fp, TAR_BLOCK + 2, SEEK_SET);
	fputc(byte ^ 1, fp);
	rewind(fp);
	tar_reader_init(&r, fp);
	assert_int_equal(tar_next(&r, &m), RC_OK);
	assert_int_equal(tar_done(&r, got), RC_OK);
	assert_int_equal(tar_next(&r, &m), RC_ERR);
	assert_non_null(strstr(r.err, "damaged member header at byte 512"));
	tar_reader_cleanup(&r);
	fclose(fp);

	/* A flipped data byte: the member reads, its SHA-256 differs. */
	fp = two_members(sha_a, sha_b, data, sizeof(data));
	fseek(fp, 3 * TAR_BLOCK + 100, SEEK_SET);
	fputc(0x55, fp);
	rewind(fp);
	tar_reader_init(&r, fp);
	assert_int_equal(tar_next(&r, &m), RC_OK);
	assert_int_equal(tar_done(&r, got), RC_OK);
	assert_int_equal(tar_next(&r, &m), RC_OK);
	assert_int_equal(tar_done(&r, got), RC_OK);
	assert_string_not_equal(got, sha_b);
	tar_reader_cleanup(&r);
	fclose(fp);

	/* Cut before the end-of-archive blocks: truncated, not the end. */
	fp = two_members(sha_a, sha_b, data, sizeof(data));
	assert_int_equal(ftruncate(fileno(fp), 4 * TAR_BLOCK + 10), 0);
	tar_reader_init(&r, fp);
	assert_int_equal(tar_next(&r, &m), RC_OK);
	assert_int_equal(tar_done(&r, got), RC_OK);
	assert_int_equal(tar_next(&r, &m), RC_OK);
	assert_int_equal(tar_done(&r, got), RC_OK);
	assert_int_equal(tar_next(&r, &m), RC_ERR);
	assert_non_null(strstr(r.err, "truncated"));
	tar_reader_cleanup(&r);
	fclose(fp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_writer_refuses_misuse),
		cmocka_unit_test(test_large_size_is_base_256),
		cmocka_unit_test(test_damage_is_found),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
