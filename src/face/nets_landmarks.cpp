/* face-api's 68-point landmark net (faceLandmarkNet/ + faceFeatureExtractor/):
 * four dense blocks of depthwise-separable convs on a 112x112 crop, a 7x7
 * mean and a 256 -> 136 dense layer; and dlib's face alignment from five of
 * the points. */
#include <cmath>

#include "nets-int.h"

namespace rcface {

namespace {

constexpr int LMK_PX = 112;
const double MEAN_RGB[3] = {122.782, 117.001, 104.298};

struct builder {
	const weightset	&w;
	graph		&g;
	int		 size;

	/* TF separableConv2d 'same' + bias: depthwise then pointwise. */
	int sep(int in, const std::string &prefix, int ci, int co, int stride)
	{
		const tensor &dw = w.get(prefix + "/depthwise_filter", {3, 3, ci, 1});
		const tensor &pw = w.get(prefix + "/pointwise_filter", {1, 1, ci, co});
		const tensor &b = w.get(prefix + "/bias", {co});
		int d = g.depthwise(in, dw, stride, tf_same(size, 3, stride));
		return g.conv(d, pw, &b, 1, pads{0, 0, 0, 0});
	}

	/* denseBlock4: out1 = relu(conv0(x)) (stride 2), each next conv sees
	 * relu of the sum of all before it; the block returns relu(sum). */
	int dense4(int x, const std::string &prefix, int ci, int co, bool first)
	{
		int o1;
		if (first) {
			const tensor &f = w.get(prefix + "/conv0/filters", {3, 3, ci, co});
			const tensor &b = w.get(prefix + "/conv0/bias", {co});
			o1 = g.conv(x, f, &b, 2, tf_same(size, 3, 2));
		} else {
			o1 = sep(x, prefix + "/conv0", ci, co, 2);
		}
		o1 = g.relu(o1);
		size = (size + 1) / 2;
		int o2 = sep(o1, prefix + "/conv1", co, co, 1);
		int o3 = sep(g.relu(g.sum({o1, o2})), prefix + "/conv2", co, co, 1);
		int o4 = sep(g.relu(g.sum({o1, o2, o3})), prefix + "/conv3", co, co, 1);
		return g.relu(g.sum({o1, o2, o3, o4}));
	}
};

/* Mean positions of dlib's 68-point shape, points 17..67, in [0, 1] of the
 * face (dlib's get_face_chip_details): the template dlib aligns to. */
const double MEAN_X[51] = {
	0.000213256, 0.0752622, 0.18113, 0.29077, 0.393397, 0.586856,
	0.689483, 0.799124, 0.904991, 0.98004, 0.490127, 0.490127, 0.490127,
	0.490127, 0.36688, 0.426036, 0.490127, 0.554217, 0.613373, 0.121737,
	0.187122, 0.265825, 0.334606, 0.260918, 0.182743, 0.645647, 0.714428,
	0.793132, 0.858516, 0.79751, 0.719335, 0.254149, 0.340985, 0.428858,
	0.490127, 0.551395, 0.639268, 0.726104, 0.642159, 0.556721, 0.490127,
	0.423532, 0.338094, 0.290379, 0.428096, 0.490127, 0.552157, 0.689874,
	0.553364, 0.490127, 0.42689,
};
const double MEAN_Y[51] = {
	0.106454, 0.038915, 0.0187482, 0.0344891, 0.0773906, 0.0773906,
	0.0344891, 0.0187482, 0.038915, 0.106454, 0.203352, 0.307009,
	0.409805, 0.515625, 0.587326, 0.609345, 0.628106, 0.609345, 0.587326,
	0.216423, 0.178758, 0.179852, 0.231733, 0.245099, 0.244077, 0.231733,
	0.179852, 0.178758, 0.216423, 0.244077, 0.245099, 0.780233, 0.745405,
	0.727388, 0.742578, 0.727388, 0.745405, 0.780233, 0.864805, 0.902192,
	0.909281, 0.902192, 0.864805, 0.784792, 0.778746, 0.785343, 0.778746,
	0.784792, 0.824182, 0.831803, 0.824182,
};

constexpr double CHIP_PADDING = 0.25;

/* Our 5 points out of 68 (0-based): each eye's 6, nose tip, mouth corners. */
template <typename P, typename Get>
void five_of_68(Get pt, P out[5])
{
	for (int e = 0; e < 2; e++) {
		double x = 0, y = 0;
		for (int i = 36 + 6 * e; i < 42 + 6 * e; i++) {
			x += pt(i).x;
			y += pt(i).y;
		}
		out[e] = P(x / 6, y / 6);
	}
	out[2] = P(pt(30).x, pt(30).y);
	out[3] = P(pt(48).x, pt(48).y);
	out[4] = P(pt(54).x, pt(54).y);
}

/* Least-squares similarity (Umeyama, as dlib's find_similarity_transform)
 * taking from[i] to to[i]. */
cv::Matx23d similarity(const cv::Point2d *from, const cv::Point2d *to, int n)
{
	cv::Point2d mf(0, 0), mt(0, 0);
	for (int i = 0; i < n; i++) {
		mf += from[i];
		mt += to[i];
	}
	mf /= n;
	mt /= n;
	double sf = 0, a = 0, b = 0;
	for (int i = 0; i < n; i++) {
		cv::Point2d f = from[i] - mf, t = to[i] - mt;
		sf += f.dot(f);
		a += f.x * t.x + f.y * t.y;	/* sum of dots */
		b += f.x * t.y - f.y * t.x;	/* sum of crosses */
	}
	if (sf <= 0)
		return cv::Matx23d(1, 0, mt.x - mf.x, 0, 1, mt.y - mf.y);
	double c = a / sf, s = b / sf;		/* scale * (cos, sin) */
	return cv::Matx23d(c, -s, mt.x - (c * mf.x - s * mf.y),
	    s, c, mt.y - (s * mf.x + c * mf.y));
}

} /* namespace */

std::unique_ptr<landmark_net> build_landmarks(const models &m)
{
	const weightset &w = m.lmk;
	std::unique_ptr<landmark_net> l(new landmark_net);
	l->g.cache = &m.blobs;
	builder b{w, l->g, LMK_PX};
	int x = b.dense4(0, "dense0", 3, 32, true);
	x = b.dense4(x, "dense1", 32, 64, false);
	x = b.dense4(x, "dense2", 64, 128, false);
	x = b.dense4(x, "dense3", 128, 256, false);
	x = b.g.avgpool(x, 7, 2);
	l->out = b.g.fc(x, w.get("fc/weights", {256, 136}),
	    &w.get("fc/bias", {136}));
	return l;
}

std::vector<cv::Point2f> landmarks68(nets *n, const cv::Mat &img,
    const cv::Rect2f &box)
{
	cv::Mat bgr = as_bgr(img);
	std::vector<cv::Point2f> pts(68,
	    cv::Point2f(box.x + box.width / 2, box.y + box.height / 2));
	if (!std::isfinite(box.x) || !std::isfinite(box.y) ||
	    !std::isfinite(box.width) || !std::isfinite(box.height))
		return pts;
	/* face-api's crop: the box clipped at the borders, then floored
	 * (clamped first, so that the casts to int are defined). */
	double x0 = std::min(std::max((double)box.x, 0.0), (double)bgr.cols);
	double y0 = std::min(std::max((double)box.y, 0.0), (double)bgr.rows);
	double cw = std::min((double)box.x + box.width - x0, bgr.cols - x0);
	double ch = std::min((double)box.y + box.height - y0, bgr.rows - y0);
	int ix = (int)std::floor(x0), iy = (int)std::floor(y0);
	int iw = (int)std::floor(std::max(cw, 0.0));
	int ih = (int)std::floor(std::max(ch, 0.0));
	iw = std::min(iw, bgr.cols - ix);
	ih = std::min(ih, bgr.rows - iy);
	if (iw <= 0 || ih <= 0)
		return pts;
	/* Zero-padded to a square, centred, the bottom/right side getting
	 * round(d / 2) (face-api's padToSquare). */
	int side = std::max(iw, ih), d = side - std::min(iw, ih);
	int before = d - (d + 1) / 2;
	cv::Mat blob = tf_input(bgr, cv::Rect(ix, iy, iw, ih),
	    iw < ih ? before : 0, iw < ih ? 0 : before, side, LMK_PX, MEAN_RGB);
	cv::Mat o = n->lmk->g.run(blob, n->lmk->out);
	const float *p = o.ptr<float>();
	/* face-api's postProcess: undo the padding (taken as exactly half the
	 * difference) and the scale, relative to the crop. */
	double scale = (double)LMK_PX / side;
	double sw = iw * scale, sh = ih * scale;
	double px = iw < ih ? std::fabs(sw - sh) / 2 : 0;
	double py = ih < iw ? std::fabs(sw - sh) / 2 : 0;
	for (int i = 0; i < 68; i++) {
		double rx = (p[2 * i] * LMK_PX - px) / sw;
		double ry = (p[2 * i + 1] * LMK_PX - py) / sh;
		pts[(size_t)i] = cv::Point2f((float)(rx * iw + ix),
		    (float)(ry * ih + iy));
	}
	return pts;
}

void nets_landmarks5(nets *n, const cv::Mat &bgr, const cv::Rect2f &box,
    cv::Point2f out[5])
{
	std::vector<cv::Point2f> p = landmarks68(n, bgr, box);
	five_of_68([&](int i) { return p[(size_t)i]; }, out);
}

void chip_template(cv::Point2d out[5])
{
	five_of_68([](int i) {
		return cv::Point2d(
		    (CHIP_PADDING + MEAN_X[i - 17]) / (2 * CHIP_PADDING + 1) * CHIP_PX,
		    (CHIP_PADDING + MEAN_Y[i - 17]) / (2 * CHIP_PADDING + 1) * CHIP_PX);
	}, out);
}

cv::Mat nets_align(const cv::Mat &img, const cv::Point2f pts[5])
{
	cv::Mat bgr = as_bgr(img);
	cv::Point2d tpl[5], src[5];
	chip_template(tpl);
	for (int i = 0; i < 5; i++)
		src[i] = cv::Point2d(pts[i].x, pts[i].y);
	/* As dlib: the transform from the chip to the image, fitted that way,
	 * then sampled bilinearly at each chip pixel. */
	cv::Matx23d chip_to_img = similarity(tpl, src, 5);
	cv::Mat chip;
	cv::warpAffine(bgr, chip, chip_to_img, cv::Size(CHIP_PX, CHIP_PX),
	    cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_CONSTANT,
	    cv::Scalar());
	return chip;
}

} /* namespace rcface */
