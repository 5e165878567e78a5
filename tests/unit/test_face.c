/* Unit tests for the face matcher: templates, similarity, extraction on
 * real DEV photos from ../shared/data/faces (ROLLCALL_FACES_DIR). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rollcall/face.h"
#include "rollcall/util.h"

static struct rc_face_engine *eng;

static const char *
faces_dir(void)
{
	const char *d = getenv("ROLLCALL_FACES_DIR");

	return d != NULL && *d != '\0' ? d : "../shared/data/faces";
}

/* Reads a DEV photo; fails the test when it is missing. Caller frees. */
static char *
read_photo(const char *rel, size_t *len)
{
	char *path = rc_asprintf("%s/%s", faces_dir(), rel);
	char *buf = rc_read_file(path, len);

	if (buf == NULL)
		fail_msg("cannot read %s (set ROLLCALL_FACES_DIR)", path);
	free(path);
	return buf;
}

static struct rc_face_template *
template_of(const char *rel)
{
	size_t len;
	char *buf = read_photo(rel, &len);
	struct rc_face_template *t = NULL;
	struct rc_face_info info;
	enum rc_face_status st = rc_face_extract(eng, buf, len, 0, &t, &info);

	free(buf);
	if (st != RC_FACE_OK)
		fail_msg("%s: %s (%s)", rel, rc_face_status_code(st), info.reason);
	return t;
}

/* Parses a binary PGM (P5, maxval 255). Returns new pixels; caller frees. */
static unsigned char *
read_pgm(const char *rel, int *w, int *h)
{
	size_t len;
	char *buf = read_photo(rel, &len);
	int maxv, off = 0;
	unsigned char *px;

	assert_int_equal(sscanf(buf, "P5 %d %d %d%n", w, h, &maxv, &off), 3);
	assert_int_equal(maxv, 255);
	off++;	/* the single whitespace after maxval */
	assert_true((size_t)off + (size_t)*w * (size_t)*h <= len);
	px = rc_malloc((size_t)*w * (size_t)*h);
	memcpy(px, buf + off, (size_t)*w * (size_t)*h);
	free(buf);
	return px;
}

static int
setup(void **state)
{
	char err[256];

	(void)state;
	eng = rc_face_engine_new(NULL, err, sizeof(err));
	if (eng == NULL) {
		fprintf(stderr, "face engine: %s\n", err);
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	rc_face_engine_free(eng);
	return 0;
}

static void
test_template_round_trip(void **state)
{
	struct rc_face_template *t = template_of("orl/s01/01.pgm"), *u;
	unsigned char *blob;
	size_t len;

	(void)state;
	assert_string_equal(rc_face_template_method(t), rc_face_method(eng));
	/* dlib's ResNet descriptor, unit length; the method is known without
	 * an engine (the CLI queues reindexes that way). */
	assert_string_equal(rc_face_method(NULL), "dlib-resnet");
	assert_int_equal(rc_face_version(NULL), 1);
	assert_int_equal(rc_face_template_version(t), rc_face_version(eng));
	assert_int_equal(rc_face_template_dim(t), 128);
	double norm = 0;
	for (size_t i = 0; i < 128; i++)
		norm += (double)rc_face_template_vector(t)[i] *
		    rc_face_template_vector(t)[i];
	assert_true(fabs(norm - 1) < 1e-4);
	blob = rc_face_template_serialize(t, &len);
	u = rc_face_template_deserialize(blob, len);
	assert_non_null(u);
	assert_string_equal(rc_face_template_method(u), rc_face_template_method(t));
	assert_int_equal(rc_face_template_version(u), rc_face_template_version(t));
	assert_int_equal(rc_face_template_dim(u), rc_face_template_dim(t));
	assert_memory_equal(rc_face_template_vector(u), rc_face_template_vector(t),
	    rc_face_template_dim(t) * sizeof(float));
	assert_true(rc_face_similarity(t, u) > 0.999);
	/* truncated, bad magic and bad length are refused */
	assert_null(rc_face_template_deserialize(blob, len - 1));
	blob[0] ^= 0xff;
	assert_null(rc_face_template_deserialize(blob, len));
	assert_null(rc_face_template_deserialize("RCFT", 4));
	free(blob);
	rc_face_template_free(u);
	rc_face_template_free(t);
}

static void
test_method_mismatch(void **state)
{
	struct rc_face_template *t = template_of("orl/s01/01.pgm"), *u;
	unsigned char *blob;
	size_t len, mlen = strlen(rc_face_template_method(t));

	(void)state;
	blob = rc_face_template_serialize(t, &len);
	/* same vector, other method name: never compared */
	blob[5] = (unsigned char)(blob[5] == 'x' ? 'y' : 'x');
	u = rc_face_template_deserialize(blob, len);
	assert_non_null(u);
	assert_true(rc_face_similarity(t, u) < 0);
	rc_face_template_free(u);
	/* same method, other version */
	blob[5] = (unsigned char)rc_face_template_method(t)[0];
	blob[5 + mlen] ^= 1;
	u = rc_face_template_deserialize(blob, len);
	assert_non_null(u);
	assert_true(rc_face_similarity(t, u) < 0);
	rc_face_template_free(u);
	free(blob);
	rc_face_template_free(t);
}

static void
test_same_person_scores_higher(void **state)
{
	static const char *const trio[][3] = {
		{ "orl/s01/01.pgm", "orl/s01/02.pgm", "orl/s02/03.pgm" },
		{ "orl/s05/01.pgm", "orl/s05/06.pgm", "orl/s06/01.pgm" },
		{ "lfw-deepfunneled/Bill_Clinton/01.jpg",
		  "lfw-deepfunneled/Bill_Clinton/02.jpg",
		  "lfw-deepfunneled/Hans_Blix/01.jpg" },
	};

	(void)state;
	for (size_t i = 0; i < RC_NELEM(trio); i++) {
		struct rc_face_template *a = template_of(trio[i][0]);
		struct rc_face_template *b = template_of(trio[i][1]);
		struct rc_face_template *c = template_of(trio[i][2]);
		double same = rc_face_similarity(a, b), other = rc_face_similarity(a, c);

		assert_true(same >= 0 && same <= 1);
		assert_true(other >= 0 && other <= 1);
		if (!(same > other))
			fail_msg("%s: same %.4f <= other %.4f", trio[i][0], same, other);
		rc_face_template_free(a);
		rc_face_template_free(b);
		rc_face_template_free(c);
	}
}

static void
test_search_finds_best(void **state)
{
	static const char *const gal[] = {
		"orl/s03/01.pgm", "orl/s04/01.pgm", "orl/s05/01.pgm", "orl/s06/01.pgm",
	};
	struct rc_face_template *t[RC_NELEM(gal)], *probe = template_of("orl/s05/03.pgm");
	size_t dim = rc_face_template_dim(probe);
	float *g = rc_malloc(RC_NELEM(gal) * dim * sizeof(float));
	struct rc_face_hit hits[3];

	(void)state;
	for (size_t i = 0; i < RC_NELEM(gal); i++) {
		t[i] = template_of(gal[i]);
		memcpy(g + i * dim, rc_face_template_vector(t[i]), dim * sizeof(float));
	}
	assert_int_equal(rc_face_search(g, RC_NELEM(gal), dim,
	    rc_face_template_vector(probe), 3, hits), 3);
	assert_int_equal(hits[0].index, 2);
	assert_true(hits[0].similarity >= hits[1].similarity);
	assert_true(hits[1].similarity >= hits[2].similarity);
	assert_true(fabsf(hits[0].similarity -
	    (float)rc_face_similarity(probe, t[2])) < 1e-4f);
	assert_int_equal(rc_face_search(g, RC_NELEM(gal), dim,
	    rc_face_template_vector(probe), 0, hits), 0);
	for (size_t i = 0; i < RC_NELEM(gal); i++)
		rc_face_template_free(t[i]);
	rc_face_template_free(probe);
	free(g);
}

/* Extracts a template from grey pixels; fails the test unless OK. */
static struct rc_face_template *
template_of_grey(const unsigned char *px, int w, int h)
{
	struct rc_face_template *t = NULL;
	struct rc_face_info info;
	enum rc_face_status st = rc_face_extract_pixels(eng, px, w, h, (size_t)w, 1,
	    0, &t, &info);

	if (st != RC_FACE_OK)
		fail_msg("%s (%s)", rc_face_status_code(st), info.reason);
	return t;
}

/* A photo and its mirror image show the same face: with the eyes, nose
 * and mouth corners in their right places after alignment (a left/right
 * mix-up would mirror the chip the wrong way) they score higher than two
 * photos of the person. */
static void
test_mirror_image_matches(void **state)
{
	int w, h, w2, h2;
	unsigned char *px = read_pgm("orl/s07/01.pgm", &w, &h);
	unsigned char *same = read_pgm("orl/s07/02.pgm", &w2, &h2);
	unsigned char *flip = rc_malloc((size_t)w * (size_t)h);

	(void)state;
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			flip[(size_t)y * (size_t)w + (size_t)x] =
			    px[(size_t)y * (size_t)w + (size_t)(w - 1 - x)];
	struct rc_face_template *a = template_of_grey(px, w, h);
	struct rc_face_template *b = template_of_grey(flip, w, h);
	struct rc_face_template *c = template_of_grey(same, w2, h2);
	double mirrored = rc_face_similarity(a, b), other = rc_face_similarity(a, c);

	if (!(mirrored > 0.97 && mirrored > other))
		fail_msg("mirror %.4f, other photo of the person %.4f", mirrored, other);
	rc_face_template_free(a);
	rc_face_template_free(b);
	rc_face_template_free(c);
	free(px);
	free(same);
	free(flip);
}

/* A template holding vector v, through the documented serialised form. */
static struct rc_face_template *
template_from(const float *v, uint32_t dim)
{
	static const char method[] = "lbp-grid";
	size_t mlen = sizeof(method) - 1, len = 4 + 1 + mlen + 8 + 4 * (size_t)dim;
	unsigned char *buf = rc_malloc(len), *p = buf;
	struct rc_face_template *t;

	memcpy(p, "RCFT", 4);
	p[4] = (unsigned char)mlen;
	memcpy(p + 5, method, mlen);
	p += 5 + mlen;
	memset(p, 0, 4);			/* version 0 */
	for (int i = 0; i < 4; i++)
		p[4 + i] = (unsigned char)(dim >> (8 * i));
	p += 8;
	for (uint32_t i = 0; i < dim; i++, p += 4) {
		uint32_t bits;
		memcpy(&bits, &v[i], 4);
		for (int k = 0; k < 4; k++)
			p[k] = (unsigned char)(bits >> (8 * k));
	}
	t = rc_face_template_deserialize(buf, len);
	free(buf);
	assert_non_null(t);
	return t;
}

/* Search reads rows four at a time and the rest one by one: over a
 * gallery of 4k + 3 rows, each hit must carry rc_face_similarity's score
 * for its row, and the hits must be the best ones. */
static void
test_search_agrees_with_similarity(void **state)
{
	enum { N = 11, DIM = 2086, K = 5 };
	float *g = rc_malloc((size_t)N * DIM * sizeof(float));
	struct rc_face_template *t[N];
	struct rc_face_hit hits[K];
	uint32_t seed = 12345;

	(void)state;
	for (size_t i = 0; i < (size_t)N * DIM; i++) {
		seed = seed * 1103515245u + 12345u;
		g[i] = (float)((seed >> 16) & 0x7fff) / 32768.0f;
	}
	for (size_t r = 0; r < N; r++) {
		double n = 0;
		for (size_t i = 0; i < DIM; i++)
			n += (double)g[r * DIM + i] * g[r * DIM + i];
		for (size_t i = 0; i < DIM; i++)
			g[r * DIM + i] = (float)(g[r * DIM + i] / sqrt(n));
		t[r] = template_from(g + r * DIM, DIM);
	}
	for (size_t p = 0; p < N; p++) {
		assert_int_equal(rc_face_search(g, N, DIM, g + p * DIM, K, hits), K);
		assert_int_equal(hits[0].index, p);
		for (size_t k = 0; k < K; k++) {
			double want = rc_face_similarity(t[p], t[hits[k].index]);
			assert_true(fabs(hits[k].similarity - want) < 1e-5);
			if (k > 0)
				assert_true(hits[k - 1].similarity >= hits[k].similarity);
		}
		/* no row left out scores above the last hit */
		for (size_t r = 0; r < N; r++) {
			int in = 0;
			for (size_t k = 0; k < K; k++)
				in |= hits[k].index == r;
			if (!in)
				assert_true(rc_face_similarity(t[p], t[r]) <=
				    hits[K - 1].similarity + 1e-6);
		}
	}
	for (size_t r = 0; r < N; r++)
		rc_face_template_free(t[r]);
	free(g);
}

/* ---- the quantised gallery ------------------------------------------ */

static uint32_t
next_random(uint32_t *seed)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 8) & 0xffffff;
}

/* A uniform value in [lo, hi). */
static float
random_in(uint32_t *seed, float lo, float hi)
{
	return lo + (hi - lo) * (float)next_random(seed) / 16777216.0f;
}

static void
normalise(float *v, size_t dim)
{
	double n = 0;

	for (size_t i = 0; i < dim; i++)
		n += (double)v[i] * v[i];
	for (size_t i = 0; i < dim; i++)
		v[i] = (float)(v[i] / sqrt(n));
}

/* n random unit rows: non-negative and skewed like the built-in method's
 * histograms, or signed like SFace's. Caller frees. */
static float *
random_rows(uint32_t *seed, size_t n, size_t dim, int is_signed)
{
	float *g = rc_malloc((n ? n : 1) * dim * sizeof(float));

	for (size_t r = 0; r < n; r++) {
		for (size_t i = 0; i < dim; i++) {
			float x = random_in(seed, is_signed ? -1 : 0, 1);
			g[r * dim + i] = is_signed ? x : x * x * x;
		}
		normalise(g + r * dim, dim);
	}
	return g;
}

/* rc_face_gallery_search on gal (made from g) gives rc_face_search's
 * hits: the same rows in the same order with the same similarities. */
static void
assert_same_hits(const struct rc_face_gallery *gal, const float *g, size_t n,
    size_t dim, const float *probe, size_t k)
{
	struct rc_face_hit *want = rc_calloc(k ? k : 1, sizeof(*want));
	struct rc_face_hit *got = rc_calloc(k ? k : 1, sizeof(*got));
	size_t nw = rc_face_search(g, n, dim, probe, k, want);

	assert_int_equal(nw, k < n ? k : n);
	assert_int_equal(rc_face_gallery_search(gal, probe, k, got), nw);
	for (size_t i = 0; i < nw; i++) {
		if (got[i].index != want[i].index)
			fail_msg("hit %zu of %zu: row %zu (%.9f), want row %zu (%.9f)",
			    i, nw, got[i].index, got[i].similarity,
			    want[i].index, want[i].similarity);
		assert_true(fabsf(got[i].similarity - want[i].similarity) <= 1e-6f);
	}
	free(want);
	free(got);
}

/* Every k worth telling apart, probes in the gallery and out of it. */
static void
assert_gallery_agrees(const float *g, size_t n, size_t dim, int is_signed,
    uint32_t *seed)
{
	const size_t ks[] = { 1, 5, 31, 64, 65, n, n + 7 };
	struct rc_face_gallery *gal = rc_face_gallery_new(g, n, dim);
	float *probes = random_rows(seed, 4, dim, is_signed);

	assert_non_null(gal);
	assert_int_equal(rc_face_gallery_size(gal), n);
	for (size_t j = 0; j < RC_NELEM(ks); j++) {
		for (size_t p = 0; p < 4; p++)
			assert_same_hits(gal, g, n, dim, probes + p * dim, ks[j]);
		for (size_t r = 0; r < n; r += 1 + n / 5)
			assert_same_hits(gal, g, n, dim, g + r * dim, ks[j]);
	}
	rc_face_gallery_free(gal);
	free(probes);
}

/* Row counts around the blocks of four and the stack of 256 candidates,
 * dimensions around the 32-byte chunks, both kernels (rows >= 0 and
 * signed rows). */
static void
test_gallery_matches_search_random(void **state)
{
	const size_t ns[] = { 1, 3, 4, 5, 33, 257, 1003 };
	const size_t dims[] = { 2086, 128, 37 };
	uint32_t seed = 777;

	(void)state;
	for (int is_signed = 0; is_signed <= 1; is_signed++)
		for (size_t d = 0; d < RC_NELEM(dims); d++)
			for (size_t j = 0; j < RC_NELEM(ns); j++) {
				float *g = random_rows(&seed, ns[j], dims[d], is_signed);
				assert_gallery_agrees(g, ns[j], dims[d], is_signed, &seed);
				free(g);
			}
}

/* Rows closer to one another than the int8 step: their int8 ranking is
 * noise, so the best rows by the float score are found only because the
 * error bound sends every row that could still make the top k to be
 * rescored. Plus exact copies (ties go to the lower row, as in
 * rc_face_search) and a pair a few float steps apart. */
static void
test_gallery_near_ties(void **state)
{
	enum { N = 603, DIM = 2086 };
	float *g = random_rows(&(uint32_t){ 99 }, N, DIM, 0);
	uint32_t seed = 4242;
	struct rc_face_gallery *gal;
	struct rc_face_hit hits[2];

	(void)state;
	for (size_t r = 1; r < 400; r++) {
		for (size_t i = 0; i < DIM; i++)
			g[r * DIM + i] = g[i] * (1 + random_in(&seed, -1e-3f, 1e-3f));
		normalise(g + r * DIM, DIM);
	}
	for (size_t r = 400; r < 450; r++)	/* 50 copies of row 7 */
		memcpy(g + r * DIM, g + 7 * DIM, DIM * sizeof(float));
	for (size_t i = 0; i < DIM; i++)	/* row 500: row 460's twin */
		g[500 * DIM + i] = g[460 * DIM + i] *
		    (1 + random_in(&seed, -1e-3f, 1e-3f));
	normalise(g + 500 * DIM, DIM);
	gal = rc_face_gallery_new(g, N, DIM);
	assert_non_null(gal);
	for (size_t k = 1; k <= 64; k += 9)
		for (size_t p = 0; p < 10; p++) {
			assert_same_hits(gal, g, N, DIM, g + p * DIM, k);
			assert_same_hits(gal, g, N, DIM, g + (400 + p) * DIM, k);
		}
	assert_int_equal(rc_face_gallery_search(gal, g + 460 * DIM, 2, hits), 2);
	assert_int_equal(hits[0].index, 460);
	assert_int_equal(hits[1].index, 500);
	assert_true(hits[0].similarity > hits[1].similarity);
	assert_true(hits[0].similarity - hits[1].similarity < 1e-5f);
	assert_same_hits(gal, g, N, DIM, g + 460 * DIM, 2);
	assert_same_hits(gal, g, N, DIM, g + 500 * DIM, 2);
	rc_face_gallery_free(gal);
	free(g);
}

/* The template of a photo, or NULL when no usable face is found in it. */
static struct rc_face_template *
template_or_null(const char *rel)
{
	size_t len;
	char *buf = read_photo(rel, &len);
	struct rc_face_template *t = NULL;

	rc_face_extract(eng, buf, len, 0, &t, NULL);
	free(buf);
	return t;
}

/* Templates of real photos: the descriptor's values have both signs (the
 * signed int8 kernel), and the gallery finds what rc_face_search finds
 * for photos in it and photos not in it. */
static void
test_gallery_matches_search_real(void **state)
{
	enum { PEOPLE = 20, SHOTS = 3, PHOTOS = 10 };
	struct rc_face_template *probe[PEOPLE] = { NULL };
	struct rc_face_gallery *gal;
	float *g = NULL;
	size_t n = 0, dim = 0, negative = 0;

	(void)state;
	for (int p = 1; p <= PEOPLE; p++)
		for (int s = 1, shots = 0; shots <= SHOTS && s <= PHOTOS; s++) {
			char rel[32];
			snprintf(rel, sizeof(rel), "orl/s%02d/%02d.pgm", p, s);
			struct rc_face_template *t = template_or_null(rel);
			if (t == NULL)
				continue;
			const float *v = rc_face_template_vector(t);
			dim = rc_face_template_dim(t);
			for (size_t i = 0; i < dim; i++)
				negative += v[i] < 0;
			if (shots++ == SHOTS) {
				probe[p - 1] = t;
				continue;
			}
			g = rc_realloc(g, (n + 1) * dim * sizeof(float));
			memcpy(g + n++ * dim, v, dim * sizeof(float));
			rc_face_template_free(t);
		}
	assert_int_equal(n, PEOPLE * SHOTS);
	assert_true(negative > n * dim / 10);
	for (size_t p = 0; p < PEOPLE; p++)
		assert_non_null(probe[p]);
	gal = rc_face_gallery_new(g, n, dim);
	assert_non_null(gal);
	for (size_t k = 1; k <= n + 1; k += 10)
		for (size_t p = 0; p < PEOPLE; p++) {
			assert_same_hits(gal, g, n, dim, rc_face_template_vector(probe[p]), k);
			assert_same_hits(gal, g, n, dim, g + p * SHOTS * dim, k);
		}
	for (size_t p = 0; p < PEOPLE; p++)
		rc_face_template_free(probe[p]);
	rc_face_gallery_free(gal);
	free(g);
}

static void
test_gallery_empty_and_bad_rows(void **state)
{
	float row[40], probe[40] = { 1 };
	struct rc_face_hit hit = { 9, 0.5f };
	struct rc_face_gallery *gal = rc_face_gallery_new(NULL, 0, 40);

	(void)state;
	assert_non_null(gal);
	assert_int_equal(rc_face_gallery_size(gal), 0);
	assert_int_equal(rc_face_gallery_search(gal, probe, 5, &hit), 0);
	assert_int_equal(hit.index, 9);		/* untouched */
	rc_face_gallery_free(gal);
	assert_int_equal(rc_face_gallery_search(NULL, probe, 5, &hit), 0);
	assert_int_equal(rc_face_gallery_size(NULL), 0);
	rc_face_gallery_free(NULL);
	for (size_t i = 0; i < 40; i++)
		row[i] = 0.1f;
	gal = rc_face_gallery_new(row, 1, 40);
	assert_non_null(gal);
	assert_int_equal(rc_face_gallery_search(gal, probe, 0, &hit), 0);
	rc_face_gallery_free(gal);
	row[17] = NAN;
	assert_null(rc_face_gallery_new(row, 1, 40));
	row[17] = INFINITY;
	assert_null(rc_face_gallery_new(row, 1, 40));
	row[17] = 0.1f;
	assert_null(rc_face_gallery_new(row, 1, 0));
	assert_null(rc_face_gallery_new(NULL, 1, 40));
}

static void
test_not_an_image(void **state)
{
	static const char junk[] = "this is not a picture, just text";
	struct rc_face_template *t = (struct rc_face_template *)&t;
	struct rc_face_info info;

	(void)state;
	assert_int_equal(rc_face_extract(eng, junk, sizeof(junk), 0, &t, &info),
	    RC_FACE_NOT_IMAGE);
	assert_null(t);
	assert_true(info.reason[0] != '\0');
	assert_int_equal(rc_face_extract(eng, junk, 0, 0, &t, NULL), RC_FACE_NOT_IMAGE);
}

static void
test_blank_image_has_no_face(void **state)
{
	unsigned char *px = rc_malloc(320 * 240);
	struct rc_face_template *t;
	struct rc_face_info info;

	(void)state;
	memset(px, 128, 320 * 240);
	assert_int_equal(rc_face_extract_pixels(eng, px, 320, 240, 320, 1, 1, &t, &info),
	    RC_FACE_NO_FACE);
	assert_null(t);
	assert_int_equal(info.faces, 0);
	assert_string_equal(rc_face_status_code(RC_FACE_NO_FACE), "no_face");
	free(px);
}

/* Two people side by side on a plain canvas: strict mode refuses it,
 * lenient mode uses one of them. */
static void
test_two_people_reported(void **state)
{
	int w1, h1, w2, h2;
	unsigned char *a = read_pgm("orl/s07/01.pgm", &w1, &h1);
	unsigned char *b = read_pgm("orl/s12/01.pgm", &w2, &h2);
	int cw = 400, ch = 240;
	unsigned char *canvas = rc_malloc((size_t)cw * ch);
	struct rc_face_template *t;
	struct rc_face_info info;

	(void)state;
	memset(canvas, 40, (size_t)cw * ch);
	for (int y = 0; y < h1; y++)
		memcpy(canvas + (size_t)(y + 60) * cw + 60, a + (size_t)y * w1, (size_t)w1);
	for (int y = 0; y < h2; y++)
		memcpy(canvas + (size_t)(y + 60) * cw + 250, b + (size_t)y * w2, (size_t)w2);
	assert_int_equal(rc_face_extract_pixels(eng, canvas, cw, ch, (size_t)cw, 1, 1,
	    &t, &info), RC_FACE_MULTIPLE);
	assert_null(t);
	assert_true(info.faces >= 2);
	assert_true(info.comparable >= 2);
	assert_int_equal(rc_face_extract_pixels(eng, canvas, cw, ch, (size_t)cw, 1, 0,
	    &t, &info), RC_FACE_OK);
	assert_non_null(t);
	rc_face_template_free(t);
	free(canvas);
	free(a);
	free(b);
}

static void
test_bad_config_fails(void **state)
{
	struct rc_face_config cfg = { .cascade_dir = "/nonexistent" };
	char err[256] = "";

	(void)state;
	assert_null(rc_face_engine_new(&cfg, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent"));
	struct rc_face_config nomodels = { .models_dir = "/nonexistent-models" };
	assert_null(rc_face_engine_new(&nomodels, err, sizeof(err)));
	assert_non_null(strstr(err, "/nonexistent-models/"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template_round_trip),
		cmocka_unit_test(test_method_mismatch),
		cmocka_unit_test(test_same_person_scores_higher),
		cmocka_unit_test(test_search_finds_best),
		cmocka_unit_test(test_search_agrees_with_similarity),
		cmocka_unit_test(test_gallery_matches_search_random),
		cmocka_unit_test(test_gallery_near_ties),
		cmocka_unit_test(test_gallery_matches_search_real),
		cmocka_unit_test(test_gallery_empty_and_bad_rows),
		cmocka_unit_test(test_mirror_image_matches),
		cmocka_unit_test(test_not_an_image),
		cmocka_unit_test(test_blank_image_has_no_face),
		cmocka_unit_test(test_two_people_reported),
		cmocka_unit_test(test_bad_config_fails),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
