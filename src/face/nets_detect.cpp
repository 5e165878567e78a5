/* face-api's tiny face detector (tinyFaceDetector/ on tinyYolov2/, the
 * separable-conv variant): the image padded bottom/right to a square,
 * resized to `input`, (pixel - its own mean) / 255; a VALID 3x3 conv, five
 * depthwise-separable blocks with leaky ReLU 0.1 and "same" max pools, and
 * a 1x1 conv giving 5 anchors x [tx, ty, tw, th, objectness] per cell. */
#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstring>

#include "nets-int.h"

namespace rcface {

namespace {

constexpr float LEAK = 0.1f;
constexpr int STEM_C = 16;
constexpr int ANCHORS = 5;
const double ANCHOR_W[ANCHORS] = {1.603231, 6.041143, 2.882459, 4.266906, 9.041765};
const double ANCHOR_H[ANCHORS] = {2.094468, 7.080126, 3.518061, 5.178857, 10.66308};
constexpr double IOU = 0.4;
const double MEAN_RGB[3] = {117.001, 114.697, 97.404};

struct builder {
	const weightset	&w;
	graph		&g;
	int		 size;

	/* Padded by one on every side, VALID separable conv, bias, leaky. */
	int sep(int in, const std::string &prefix, int ci, int co)
	{
		const tensor &dw = w.get(prefix + "/depthwise_filter", {3, 3, ci, 1});
		const tensor &pw = w.get(prefix + "/pointwise_filter", {1, 1, ci, co});
		const tensor &b = w.get(prefix + "/bias", {co});
		int d = g.depthwise(in, dw, 1, pads{1, 1, 1, 1});
		return g.relu(g.conv(d, pw, &b, 1, pads{0, 0, 0, 0}), LEAK);
	}

	int pool(int in, int stride)
	{
		int o = g.maxpool(in, 2, stride, tf_same(size, 2, stride));
		size = (size + stride - 1) / stride;
		return o;
	}
};

double sigmoid(double x)
{
	return 1 / (1 + std::exp(-x));
}

double iou(const cv::Rect2d &a, const cv::Rect2d &b)
{
	double w = std::max(0.0, std::min(a.br().x, b.br().x) - std::max(a.x, b.x));
	double h = std::max(0.0, std::min(a.br().y, b.br().y) - std::max(a.y, b.y));
	double in = w * h;
	return in / (a.area() + b.area() - in);
}

} /* namespace */

std::unique_ptr<detector_net> build_detector(const models &m, int input)
{
	const weightset &w = m.det;
	if (input < 32 || input > 4096)
		throw std::runtime_error("tiny face detector: input size " +
		    std::to_string(input) + " out of 32..4096");
	std::unique_ptr<detector_net> d(new detector_net);
	d->g.cache = &m.blobs;
	d->input = input;
	const tensor &f0 = w.get("conv0/filters", {3, 3, 3, STEM_C});
	const tensor &b0 = w.get("conv0/bias", {STEM_C});
	std::vector<cv::Mat> stem = d->g.prepared(&f0, &b0, [&] {
		return std::vector<cv::Mat>{
		    cv::Mat(1, (int)f0.data.size(), CV_32F,
			const_cast<float *>(f0.data.data())).clone(),
		    cv::Mat(1, STEM_C, CV_32F,
			const_cast<float *>(b0.data.data())).clone()};
	});
	d->stem_w = stem[0];
	d->stem_b = stem[1];
	/* The graph starts after conv0 and its pool (stem() below). */
	builder b{w, d->g, (input - 2 + 1) / 2};
	int x = b.pool(b.sep(0, "conv1", 16, 32), 2);
	x = b.pool(b.sep(x, "conv2", 32, 64), 2);
	x = b.pool(b.sep(x, "conv3", 64, 128), 2);
	x = b.pool(b.sep(x, "conv4", 128, 256), 2);
	x = b.pool(b.sep(x, "conv5", 256, 512), 1);
	d->out = b.g.conv(x, w.get("conv8/filters", {1, 1, 512, 25}),
	    &w.get("conv8/bias", {25}), 1, pads{0, 0, 0, 0});
	return d;
}

/* conv0 (3x3 VALID, 3 -> 16, bias), leaky ReLU and the 2x2/2 "same" max
 * pool in one pass over the 1 x 3 x S x S input: at this size OpenCV's conv
 * with 3 input channels and its pool were half the detector's time, mostly
 * writing and reading the 16-channel map. Leaky ReLU is increasing, so it
 * is applied once to each window's maximum. AVX2+FMA when the CPU has
 * them, SSE2 otherwise. */
typedef float v8 __attribute__((vector_size(32)));	/* AVX */
typedef float v4 __attribute__((vector_size(16)));	/* SSE2 */

/* Adds tap weights wk (STEM_C floats) times v[k] to a[k], for N outputs. */
#define STEM_TAP(N) do {						\
	V wv[NV];							\
	_Pragma("GCC unroll 16")					\
	for (int j = 0; j < NV; j++)					\
		std::memcpy(&wv[j], wk + j * L, sizeof(V));		\
	_Pragma("GCC unroll 16")					\
	for (int k = 0; k < (N); k++)					\
		_Pragma("GCC unroll 16")				\
		for (int j = 0; j < NV; j++)				\
			a[k][j] += v[k] * wv[j];			\
} while (0)

template <typename V>
static inline __attribute__((always_inline)) void
stem_kernel(const float *in, int s, const float *w, const float *bias,
    float *out, int p)
{
	constexpr int L = sizeof(V) / sizeof(float), NV = STEM_C / L;
	const int c = s - 2;	/* conv output size */
	const size_t plane = (size_t)s * s, oplane = (size_t)p * p;
	V b[NV];
	std::memcpy(b, bias, sizeof b);
	for (int py = 0; py < p; py++)
		for (int px = 0; px < p; px++) {
			const int y0 = 2 * py, x0 = 2 * px;
			V m[NV];
			for (int j = 0; j < NV; j++)
				m[j] = b[j] - FLT_MAX;
			if (y0 + 1 < c && x0 + 1 < c) {
				/* The window's 4 conv outputs at once: 4 x NV
				 * independent sums rather than one chain. */
				V a[4][NV];
				for (int k = 0; k < 4; k++)
					for (int j = 0; j < NV; j++)
						a[k][j] = b[j];
				const float *wk = w;
#pragma GCC unroll 3
				for (int ky = 0; ky < 3; ky++)
#pragma GCC unroll 3
					for (int kx = 0; kx < 3; kx++)
#pragma GCC unroll 3
						for (int ci = 0; ci < 3; ci++) {
							const float *q = in + ci * plane +
							    (size_t)(y0 + ky) * s + x0 + kx;
							const float v[4] = {q[0], q[1], q[s],
							    q[s + 1]};
							STEM_TAP(4);
							wk += STEM_C;
						}
				for (int k = 0; k < 4; k++)
					for (int j = 0; j < NV; j++)
						m[j] = m[j] > a[k][j] ? m[j] : a[k][j];
			} else {
				/* The last row or column: the window is clipped. */
				for (int y = y0; y < std::min(y0 + 2, c); y++)
					for (int x = x0; x < std::min(x0 + 2, c); x++) {
						V a[1][NV];
						for (int j = 0; j < NV; j++)
							a[0][j] = b[j];
						const float *wk = w;
						for (int ky = 0; ky < 3; ky++)
							for (int kx = 0; kx < 3; kx++)
								for (int ci = 0; ci < 3; ci++) {
									const float v[1] = {in[ci * plane +
									    (size_t)(y + ky) * s + x + kx]};
									STEM_TAP(1);
									wk += STEM_C;
								}
						for (int j = 0; j < NV; j++)
							m[j] = m[j] > a[0][j] ? m[j] : a[0][j];
					}
			}
			float mv[STEM_C];
			std::memcpy(mv, m, sizeof mv);
			for (int o = 0; o < STEM_C; o++) {
				float v = mv[o];
				out[o * oplane + (size_t)py * p + px] =
				    v > 0 ? v : v * LEAK;
			}
		}
}
#undef STEM_TAP

__attribute__((target("avx2,fma")))
static void stem_avx2(const float *in, int s, const float *w,
    const float *bias, float *out, int p)
{
	stem_kernel<v8>(in, s, w, bias, out, p);
}

void detector_stem(const float *in, int s, const float *w, const float *bias,
    float *out, int simd)
{
	static const bool avx2 = __builtin_cpu_supports("avx2") &&
	    __builtin_cpu_supports("fma");
	const int p = (s - 2 + 1) / 2;
	if (avx2 && simd != 0)
		stem_avx2(in, s, w, bias, out, p);
	else
		stem_kernel<v4>(in, s, w, bias, out, p);
}

static cv::Mat stem(const detector_net &d, const cv::Mat &blob)
{
	const int s = blob.size[2], p = (s - 2 + 1) / 2;
	int sz[4] = {1, STEM_C, p, p};
	cv::Mat out(4, sz, CV_32F);
	detector_stem(blob.ptr<float>(), s, d.stem_w.ptr<float>(),
	    d.stem_b.ptr<float>(), out.ptr<float>(), -1);
	return out;
}

std::vector<detection> nets_detect(nets *n, const cv::Mat &img,
    float min_score, int input)
{
	cv::Mat bgr = as_bgr(img);
	std::vector<detection> out;
	if (bgr.empty())
		return out;
	auto &dn = n->det[input];
	if (!dn) {
		dn = build_detector(*n->m, input);
		dn->g.net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
		dn->g.net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
	}
	/* Zero-padded bottom/right to a square, then TF's resize (the zeros
	 * are blended in at the image's edge as TF does). */
	int side = std::max(bgr.cols, bgr.rows);
	cv::Mat blob = tf_input(bgr, cv::Rect(0, 0, bgr.cols, bgr.rows), 0, 0,
	    side, input, MEAN_RGB);
	cv::Mat o = dn->g.run(stem(*dn, blob), dn->out);
	const int cells = o.size[2];
	const float *p = o.ptr<float>();
	auto at = [&](int a, int k, int r, int c) {
		return (double)p[((a * 5 + k) * cells + r) * cells + c];
	};
	/* face-api corrects x and y by input / resized size: boxes come out
	 * relative to the image, NMS is run on them scaled by `input`. */
	double s = (double)input / side;
	double cx = input / std::round(bgr.cols * s);
	double cy = input / std::round(bgr.rows * s);
	std::vector<cv::Rect2d> rel;
	std::vector<double> score;
	for (int r = 0; r < cells; r++)
		for (int c = 0; c < cells; c++)
			for (int a = 0; a < ANCHORS; a++) {
				double sc = sigmoid(at(a, 4, r, c));
				if (sc < min_score)
					continue;
				double x = (c + sigmoid(at(a, 0, r, c))) / cells * cx;
				double y = (r + sigmoid(at(a, 1, r, c))) / cells * cy;
				double w = std::exp(at(a, 2, r, c)) * ANCHOR_W[a] / cells * cx;
				double h = std::exp(at(a, 3, r, c)) * ANCHOR_H[a] / cells * cy;
				/* exp() of a wild output: no box to give. */
				if (!std::isfinite(w) || !std::isfinite(h) ||
				    w > 1e6 || h > 1e6)
					continue;
				rel.emplace_back(x - w / 2, y - h / 2, w, h);
				score.push_back(sc);
			}
	std::vector<size_t> order(rel.size());
	for (size_t i = 0; i < order.size(); i++)
		order[i] = i;
	std::stable_sort(order.begin(), order.end(),
	    [&](size_t a, size_t b) { return score[a] > score[b]; });
	std::vector<bool> gone(rel.size(), false);
	for (size_t i = 0; i < order.size(); i++) {
		size_t k = order[i];
		if (gone[k])
			continue;
		cv::Rect2d bk(rel[k].x * input, rel[k].y * input,
		    rel[k].width * input, rel[k].height * input);
		for (size_t j = i + 1; j < order.size(); j++) {
			size_t m = order[j];
			cv::Rect2d bm(rel[m].x * input, rel[m].y * input,
			    rel[m].width * input, rel[m].height * input);
			if (!gone[m] && iou(bk, bm) > IOU)
				gone[m] = true;
		}
		detection d;
		d.box = cv::Rect2f((float)(rel[k].x * bgr.cols),
		    (float)(rel[k].y * bgr.rows), (float)(rel[k].width * bgr.cols),
		    (float)(rel[k].height * bgr.rows));
		d.score = (float)score[k];
		out.push_back(d);
	}
	return out;
}

} /* namespace rcface */
