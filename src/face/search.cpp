// 1:N search: the dot products (AVX2+FMA chosen at run time), the plain
// search rc_face_search, and the prepared int8 gallery rc_face_gallery_*.
// Also rc_face_similarity, which must give the same number as search.

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#endif

#include "matcher.h"

// Dot product with eight independent sums, which the compiler turns into
// SIMD without -ffast-math.
static float
dot_plain(const float *a, const float *b, size_t n)
{
	float s[8] = { 0, 0, 0, 0, 0, 0, 0, 0 };
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		for (int j = 0; j < 8; j++)
			s[j] += a[i + j] * b[i + j];
	for (; i < n; i++)
		s[0] += a[i] * b[i];
	return ((s[0] + s[4]) + (s[1] + s[5])) + ((s[2] + s[6]) + (s[3] + s[7]));
}

#if defined(__x86_64__) && defined(__GNUC__)
// The build targets baseline x86-64; 1:N search is the one loop where
// AVX2+FMA pays, so it is chosen at run time. A row's products go into
// one chain of sums, in the same order in the one- and four-row kernels,
// so search and rc_face_similarity give the same number.
__attribute__((target("avx2,fma"))) static float
hsum_avx2(__m256 s)
{
	__m128 h = _mm_add_ps(_mm256_castps256_ps128(s), _mm256_extractf128_ps(s, 1));

	h = _mm_add_ps(h, _mm_movehl_ps(h, h));
	h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
	return _mm_cvtss_f32(h);
}

__attribute__((target("avx2,fma"))) static float
dot_avx2(const float *a, const float *b, size_t n)
{
	__m256 s = _mm256_setzero_ps();
	size_t i = 0;

	for (; i + 8 <= n; i += 8)
		s = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), s);
	float r = hsum_avx2(s);
	for (; i < n; i++)
		r += a[i] * b[i];
	return r;
}

// Four consecutive gallery rows against one probe. Search is bound by
// memory: four streams in flight read the gallery about a third faster
// than one, and the four chains hide the latency of the sums.
__attribute__((target("avx2,fma"))) static void
dot4_avx2(const float *rows, size_t dim, const float *b, float out[4])
{
	const float *r0 = rows, *r1 = rows + dim, *r2 = rows + 2 * dim,
	    *r3 = rows + 3 * dim;
	__m256 s0 = _mm256_setzero_ps(), s1 = s0, s2 = s0, s3 = s0;
	size_t i = 0;

	for (; i + 8 <= dim; i += 8) {
		__m256 p = _mm256_loadu_ps(b + i);
		s0 = _mm256_fmadd_ps(_mm256_loadu_ps(r0 + i), p, s0);
		s1 = _mm256_fmadd_ps(_mm256_loadu_ps(r1 + i), p, s1);
		s2 = _mm256_fmadd_ps(_mm256_loadu_ps(r2 + i), p, s2);
		s3 = _mm256_fmadd_ps(_mm256_loadu_ps(r3 + i), p, s3);
	}
	out[0] = hsum_avx2(s0);
	out[1] = hsum_avx2(s1);
	out[2] = hsum_avx2(s2);
	out[3] = hsum_avx2(s3);
	for (; i < dim; i++) {
		out[0] += r0[i] * b[i];
		out[1] += r1[i] * b[i];
		out[2] += r2[i] * b[i];
		out[3] += r3[i] * b[i];
	}
}

static bool
have_avx2(void)
{
	static const bool yes = __builtin_cpu_supports("avx2") &&
	    __builtin_cpu_supports("fma");
	return yes;
}

static inline float
dot(const float *a, const float *b, size_t n)
{
	return have_avx2() ? dot_avx2(a, b, n) : dot_plain(a, b, n);
}
#else
static inline float
dot(const float *a, const float *b, size_t n)
{
	return dot_plain(a, b, n);
}
#endif

static inline float
clamp01(float x)
{
	return x < 0 ? 0 : x > 1 ? 1 : x;
}

extern "C" double
rc_face_similarity(const struct rc_face_template *a, const struct rc_face_template *b)
{
	if (a == nullptr || b == nullptr || a->method != b->method ||
	    a->version != b->version || a->v.size() != b->v.size())
		return -1;
	return clamp01(dot(a->v.data(), b->v.data(), a->v.size()));
}

// Offers row i with similarity sim to the sorted top-k in hits.
static inline void
offer_hit(struct rc_face_hit *hits, size_t k, size_t *have, size_t i, float sim)
{
	if (*have == k && sim <= hits[k - 1].similarity)
		return;
	// insertion into the sorted top-k; k is small
	size_t j = *have < k ? (*have)++ : k - 1;
	while (j > 0 && hits[j - 1].similarity < sim) {
		hits[j] = hits[j - 1];
		j--;
	}
	hits[j].index = i;
	hits[j].similarity = sim;
}

extern "C" size_t
rc_face_search(const float *gallery, size_t n, size_t dim, const float *probe,
    size_t k, struct rc_face_hit *hits)
{
	size_t have = 0, i = 0;

	k = std::min(k, n);
	if (k == 0)
		return 0;
#if defined(__x86_64__) && defined(__GNUC__)
	if (have_avx2())
		for (; i + 4 <= n; i += 4) {
			float s[4];
			dot4_avx2(gallery + i * dim, dim, probe, s);
			for (size_t r = 0; r < 4; r++)
				offer_hit(hits, k, &have, i + r, clamp01(s[r]));
		}
#endif
	for (; i < n; i++)
		offer_hit(hits, k, &have, i, clamp01(dot(gallery + i * dim, probe, dim)));
	return have;
}

// ==== Quantised gallery: rc_face_gallery_* ================================
// Search reads the whole gallery for every probe, so its speed is the
// memory it reads: 8 KB a row as floats. The gallery keeps each row also
// as int8 with a per-row scale (a quarter of the bytes), ranks every row by
// that, and rescores the best rows with the float rows. Each row's
// quantisation error has a bound (below), so a row the int8 pass left out
// is rescored too whenever it could still reach the k-th score: the hits
// are those of rc_face_search, not an approximation of them.

struct rc_face_gallery {
	size_t			 n, dim;
	size_t			 stride;	// bytes per int8 row, zero-padded
	bool			 has_negative;	// rows are not all >= 0
	std::vector<float>	 rows;		// the exact rows, for rescoring
	std::vector<float>	 scale;		// row i ~ scale[i] * q row i
	std::vector<float>	 err;		// |row - scale * q|, rounded up
	std::vector<float>	 qnorm;		// |scale * q|, rounded up
	std::vector<float>	 norm;		// |row|, rounded up
	int8_t			*q;		// blocks of 4 rows, see Q_BLOCK
};

namespace {

const int	 Q_MAX = 127;		// both sides: 2 * 127 * 127 fits maddubs' int16
const size_t	 Q_ALIGN = 32;
const size_t	 RESCORE_MIN = 32;	// rows rescored at least, and 4 per hit
const size_t	 RESCORE_STACK = 256;	// max(4 * 64, 32): no allocation for k <= 64

int8_t *
aligned_bytes(size_t len)
{
	void *p = aligned_alloc(Q_ALIGN, std::max(len, Q_ALIGN));

	if (p == nullptr)
		throw std::bad_alloc();
	return (int8_t *)p;
}

// Rounds a norm computed in double up, so that a bound built on it holds
// after the conversion to float.
inline float
up(double x)
{
	return (float)(x * (1 + 1e-6));
}

// Quantises v to q[0..dim) in [-Q_MAX, Q_MAX] and returns the scale;
// *e is |v - scale * q| and *qn is |scale * q|.
float
quantise(const float *v, size_t dim, int8_t *q, double *e, double *qn)
{
	float m = 0;

	for (size_t j = 0; j < dim; j++)
		m = std::max(m, std::fabs(v[j]));
	// The bounds use the q actually chosen, so how it rounds only has to
	// be close, not exact: no libm call per value.
	float s = m / Q_MAX, inv = m > 0 ? Q_MAX / m : 0;
	double e2 = 0, q2 = 0;
	for (size_t j = 0; j < dim; j++) {
		float x = v[j] * inv;
		int r = (int)(x + (x < 0 ? -0.5f : 0.5f));
		r = std::min(std::max(r, -Q_MAX), Q_MAX);
		q[j] = (int8_t)r;
		double d = (double)v[j] - (double)s * r;
		e2 += d * d;
		q2 += (double)(r * r);
	}
	*e = std::sqrt(e2);
	*qn = (double)s * std::sqrt(q2);
	return s;
}

// The int8 rows are stored four at a time, their 32-byte chunks
// interleaved (chunk c of rows 4b..4b+3 side by side), so that the pass
// over the gallery is one sequential stream that the prefetcher follows
// from the first byte; four separate rows of 2 KB each are too short for
// it. The last block is filled with zero rows that are never offered.
const size_t	 Q_CHUNK = 32;
const size_t	 Q_BLOCK = 4;

// Integer dot products of the four rows of block b (stride bytes each).
void
idot4_plain(const int8_t *block, size_t stride, const int8_t *p, int32_t out[4])
{
	for (size_t r = 0; r < Q_BLOCK; r++) {
		int32_t s = 0;
		for (size_t c = 0; c < stride; c += Q_CHUNK) {
			const int8_t *q = block + c * Q_BLOCK + r * Q_CHUNK;
			for (size_t j = 0; j < Q_CHUNK; j++)
				s += (int32_t)q[j] * p[c + j];
		}
		out[r] = s;
	}
}

#if defined(__x86_64__) && defined(__GNUC__)
// maddubs multiplies unsigned by signed bytes. Rows that are all >= 0 (the
// built-in method's histograms) go in as they are; signed rows lend their
// sign to the probe byte and go in as magnitudes.
template <bool SIGNED>
__attribute__((target("avx2"))) inline __m256i
madd_row(__m256i row, __m256i probe)
{
	const __m256i ones = _mm256_set1_epi16(1);
	__m256i pairs = SIGNED ?
	    _mm256_maddubs_epi16(_mm256_abs_epi8(row), _mm256_sign_epi8(probe, row)) :
	    _mm256_maddubs_epi16(row, probe);
	return _mm256_madd_epi16(pairs, ones);
}

__attribute__((target("avx2"))) inline int32_t
hsum_epi32_avx2(__m256i s)
{
	__m128i h = _mm_add_epi32(_mm256_castsi256_si128(s), _mm256_extracti128_si256(s, 1));

	h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(1, 0, 3, 2)));
	h = _mm_add_epi32(h, _mm_shuffle_epi32(h, _MM_SHUFFLE(2, 3, 0, 1)));
	return _mm_cvtsi128_si32(h);
}

template <bool SIGNED>
__attribute__((target("avx2"))) void
idot4_avx2(const int8_t *block, size_t stride, const int8_t *p, int32_t out[4])
{
	__m256i s0 = _mm256_setzero_si256(), s1 = s0, s2 = s0, s3 = s0;
	const __m256i *q = (const __m256i *)block;

	for (size_t c = 0; c < stride; c += Q_CHUNK, q += Q_BLOCK) {
		__m256i b = _mm256_load_si256((const __m256i *)(p + c));
		s0 = _mm256_add_epi32(s0, madd_row<SIGNED>(_mm256_load_si256(q), b));
		s1 = _mm256_add_epi32(s1, madd_row<SIGNED>(_mm256_load_si256(q + 1), b));
		s2 = _mm256_add_epi32(s2, madd_row<SIGNED>(_mm256_load_si256(q + 2), b));
		s3 = _mm256_add_epi32(s3, madd_row<SIGNED>(_mm256_load_si256(q + 3), b));
	}
	out[0] = hsum_epi32_avx2(s0);
	out[1] = hsum_epi32_avx2(s1);
	out[2] = hsum_epi32_avx2(s2);
	out[3] = hsum_epi32_avx2(s3);
}
#endif

// Integer dot products of rows [4b, 4b + 4) with the probe.
void
idot_block(const rc_face_gallery *g, size_t b, const int8_t *p, int32_t out[4])
{
	const int8_t *block = g->q + b * Q_BLOCK * g->stride;

#if defined(__x86_64__) && defined(__GNUC__)
	if (have_avx2()) {
		if (g->has_negative)
			idot4_avx2<true>(block, g->stride, p, out);
		else
			idot4_avx2<false>(block, g->stride, p, out);
		return;
	}
#endif
	idot4_plain(block, g->stride, p, out);
}

// One thread's working memory for a search: the quantised probe and each
// row's upper bound on its float score.
struct search_scratch {
	int8_t			*probe = nullptr;
	size_t			 probe_len = 0;
	std::vector<float>	 bound;

	~search_scratch() { free(probe); }
};

struct quant_probe {
	const int8_t	*q;
	float		 scale;		// probe ~ scale * q
	float		 norm;		// |probe|, rounded up
	float		 err;		// |probe - scale * q|, rounded up
};

quant_probe
probe_quantise(const rc_face_gallery *g, const float *probe, search_scratch *s)
{
	quant_probe qp;
	double e, qn, pn = 0;

	if (s->probe_len < g->stride) {
		free(s->probe);
		s->probe = (int8_t *)aligned_bytes(g->stride);
		s->probe_len = g->stride;
	}
	memset(s->probe + g->dim, 0, g->stride - g->dim);
	qp.scale = quantise(probe, g->dim, s->probe, &e, &qn);
	for (size_t j = 0; j < g->dim; j++)
		pn += (double)probe[j] * probe[j];
	qp.q = s->probe;
	qp.norm = up(std::sqrt(pn));
	qp.err = up(e);
	return qp;
}

// Bound on |float score - int8 estimate| of row i. With row = a q + e_r and
// probe = b s + e_p: row.probe - ab q.s = e_r.probe + a q.e_p, which
// Cauchy-Schwarz bounds; the last terms cover the rounding of the float
// dot product (a few hundred roundings of at most 2^-24 each) and of the
// estimate itself.
inline float
score_bound(const rc_face_gallery *g, size_t i, const quant_probe &qp)
{
	return g->err[i] * qp.norm + g->qnorm[i] * qp.err +
	    1e-4f * g->norm[i] * qp.norm + 1e-6f;
}

// The int8 pass: the best c rows by estimate into cand (index order on
// ties, as rc_face_search), each row's upper bound into bound.
size_t
estimate_all(const rc_face_gallery *g, const quant_probe &qp, float *bound,
    struct rc_face_hit *cand, size_t c)
{
	size_t have = 0;

	for (size_t i = 0; i < g->n;) {
		int32_t d[Q_BLOCK];
		idot_block(g, i / Q_BLOCK, qp.q, d);
		for (size_t r = 0; r < Q_BLOCK && i < g->n; r++, i++) {
			float est = g->scale[i] * qp.scale * (float)d[r];
			bound[i] = est + score_bound(g, i, qp);
			offer_hit(cand, c, &have, i, est);
		}
	}
	return have;
}

bool
by_index(const struct rc_face_hit &a, const struct rc_face_hit &b)
{
	return a.index < b.index;
}

// True when some row outside cand could still score t or more (then ties
// at t could also need it), so the candidates alone do not decide.
bool
others_could_reach(const rc_face_gallery *g, const float *bound,
    const struct rc_face_hit *cand, size_t c, float t)
{
	size_t above = 0, cand_above = 0;

	if (t <= 0)
		return true;	// clamping makes every row a tie at 0
	for (size_t i = 0; i < g->n; i++)
		above += bound[i] >= t;
	for (size_t j = 0; j < c; j++)
		cand_above += bound[cand[j].index] >= t;
	return above > cand_above;
}

// Rows in index order through offer_hit, as rc_face_search offers them,
// so ties come out the same. Rows whose bound is under t are skipped.
size_t
rescore(const rc_face_gallery *g, const float *probe, const float *bound,
    float t, size_t k, struct rc_face_hit *hits)
{
	size_t have = 0;

	for (size_t i = 0; i < g->n; i++)
		if (t <= 0 || bound[i] >= t)
			offer_hit(hits, k, &have, i,
			    clamp01(dot(&g->rows[i * g->dim], probe, g->dim)));
	return have;
}

size_t
gallery_search(const rc_face_gallery *g, const float *probe, size_t k,
    struct rc_face_hit *hits, struct rc_face_hit *cand, size_t c)
{
	static thread_local search_scratch s;
	size_t have = 0;

	quant_probe qp = probe_quantise(g, probe, &s);
	if (s.bound.size() < g->n)
		s.bound.resize(g->n);
	c = estimate_all(g, qp, s.bound.data(), cand, c);
	std::sort(cand, cand + c, by_index);
	for (size_t j = 0; j < c; j++)
		offer_hit(hits, k, &have, cand[j].index, clamp01(dot(
		    &g->rows[cand[j].index * g->dim], probe, g->dim)));
	float t = hits[k - 1].similarity;
	if (!others_could_reach(g, s.bound.data(), cand, c, t))
		return have;
	return rescore(g, probe, s.bound.data(), t, k, hits);
}

} // namespace

namespace {

bool
all_finite(const float *v, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!std::isfinite(v[i]))
			return false;
	return true;
}

size_t
q_bytes(size_t n, size_t stride)
{
	return (n + Q_BLOCK - 1) / Q_BLOCK * Q_BLOCK * stride;
}

// Row i's int8 chunks into their places in its block of four.
void
interleave(rc_face_gallery *g, size_t i, const int8_t *q)
{
	int8_t *block = g->q + i / Q_BLOCK * Q_BLOCK * g->stride;

	for (size_t c = 0; c < g->stride; c += Q_CHUNK)
		memcpy(block + c * Q_BLOCK + i % Q_BLOCK * Q_CHUNK, q + c, Q_CHUNK);
}

void
gallery_fill(rc_face_gallery *g, const float *rows)
{
	g->rows.assign(rows, rows + g->n * g->dim);
	g->scale.resize(g->n);
	g->err.resize(g->n);
	g->qnorm.resize(g->n);
	g->norm.resize(g->n);
	std::vector<int8_t> q(g->stride, 0);
	memset(g->q, 0, q_bytes(g->n, g->stride));
	for (size_t i = 0; i < g->n; i++) {
		const float *v = rows + i * g->dim;
		double e, qn, rn = 0;
		g->scale[i] = quantise(v, g->dim, q.data(), &e, &qn);
		interleave(g, i, q.data());
		for (size_t j = 0; j < g->dim; j++) {
			rn += (double)v[j] * v[j];
			g->has_negative |= v[j] < 0;
		}
		g->err[i] = up(e);
		g->qnorm[i] = up(qn);
		g->norm[i] = up(std::sqrt(rn));
	}
}

} // namespace

extern "C" struct rc_face_gallery *
rc_face_gallery_new(const float *rows, size_t n, size_t dim)
{
	if (n > 0 && (rows == nullptr || dim == 0 || !all_finite(rows, n * dim)))
		return nullptr;
	try {
		std::unique_ptr<rc_face_gallery> g(new rc_face_gallery);
		g->n = n;
		g->dim = dim;
		g->stride = (dim + Q_ALIGN - 1) / Q_ALIGN * Q_ALIGN;
		g->has_negative = false;
		g->q = nullptr;
		g->q = aligned_bytes(q_bytes(n, g->stride));
		gallery_fill(g.get(), rows);
		return g.release();
	} catch (...) {
		return nullptr;
	}
}

extern "C" void
rc_face_gallery_free(struct rc_face_gallery *g)
{
	if (g == nullptr)
		return;
	free(g->q);
	delete g;
}

extern "C" size_t
rc_face_gallery_size(const struct rc_face_gallery *g)
{
	return g == nullptr ? 0 : g->n;
}

extern "C" size_t
rc_face_gallery_search(const struct rc_face_gallery *g, const float *probe,
    size_t k, struct rc_face_hit *hits)
{
	if (g == nullptr || (k = std::min(k, g->n)) == 0)
		return 0;
	size_t c = std::min(std::max(4 * k, RESCORE_MIN), g->n);
	try {
		if (c <= RESCORE_STACK) {
			struct rc_face_hit cand[RESCORE_STACK];
			return gallery_search(g, probe, k, hits, cand, c);
		}
		std::vector<struct rc_face_hit> cand(c);
		return gallery_search(g, probe, k, hits, cand.data(), c);
	} catch (const std::bad_alloc &) {
		abort();	// as rc_malloc: out of memory is not an answer
	}
}

