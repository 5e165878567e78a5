/* face-api's tiny face detector (tinyFaceDetector/ on tinyYolov2/, the
 * separable-conv variant): the image padded bottom/right to a square,
 * resized to `input`, (pixel - its own mean) / 255; a VALID 3x3 conv, five
 * depthwise-separable blocks with leaky ReLU 0.1 and "same" max pools, and
 * a 1x1 conv giving 5 anchors x [tx, ty, tw, th, objectness] per cell. */
#include <algorithm>
#include <cmath>

#include "nets-int.h"

namespace rcface {

namespace {

constexpr float LEAK = 0.1f;
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
	builder b{w, d->g, input};
	const tensor &f0 = w.get("conv0/filters", {3, 3, 3, 16});
	int x = b.g.relu(b.g.conv(0, f0, &w.get("conv0/bias", {16}), 1,
	    pads{0, 0, 0, 0}), LEAK);
	b.size -= 2;
	x = b.pool(x, 2);
	x = b.pool(b.sep(x, "conv1", 16, 32), 2);
	x = b.pool(b.sep(x, "conv2", 32, 64), 2);
	x = b.pool(b.sep(x, "conv3", 64, 128), 2);
	x = b.pool(b.sep(x, "conv4", 128, 256), 2);
	x = b.pool(b.sep(x, "conv5", 256, 512), 1);
	d->out = b.g.conv(x, w.get("conv8/filters", {1, 1, 512, 25}),
	    &w.get("conv8/bias", {25}), 1, pads{0, 0, 0, 0});
	return d;
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
	cv::Mat o = dn->g.run(blob, dn->out);
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
