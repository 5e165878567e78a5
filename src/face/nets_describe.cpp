/* dlib's ResNet face descriptor as face-api ports it (faceRecognitionNet/):
 * 150x150 RGB, (pixel - mean) / 255, a 7x7/2 conv, a 3x3/2 max pool, 14
 * residual blocks, a global mean and a 256 -> 128 dense layer. Every conv
 * is followed by a per-channel scale layer, folded into the conv here. */
#include <algorithm>
#include <cmath>

#include "nets-int.h"

namespace rcface {

namespace {

struct builder {
	const weightset	&w;
	graph		&g;
	int		 size;	/* spatial size of the current output */

	int conv_scaled(int in, const std::string &prefix, int k, int ci, int co,
	    int stride, pads p)
	{
		const tensor &f = w.get(prefix + "/conv/filters", {k, k, ci, co});
		const tensor &b = w.get(prefix + "/conv/bias", {co});
		const tensor &m = w.get(prefix + "/scale/weights", {co});
		const tensor &a = w.get(prefix + "/scale/biases", {co});
		return g.conv(in, f, &b, stride, p, &m, &a);
	}

	/* relu(x + conv2(relu(conv1(x)))), 3x3 "same" convs. */
	int residual(int x, const std::string &prefix, int c)
	{
		pads same{1, 1, 1, 1};
		int o = g.relu(conv_scaled(x, prefix + "/conv1", 3, c, c, 1, same));
		o = conv_scaled(o, prefix + "/conv2", 3, c, c, 1, same);
		return g.relu(g.sum({o, x}));
	}

	/* The down-sampling block: a VALID 3x3/2 conv, and a 2x2/2 mean of x
	 * as the shortcut with its extra channels zero. When the size is odd
	 * the conv's output is one short of the pool's: face-api pads it with
	 * a zero row at the bottom and a zero column at the right. */
	int residual_down(int x, const std::string &prefix, int ci, int co)
	{
		int conv_size = (size - 3) / 2 + 1;
		int pool_size = size / 2;
		int o = g.relu(conv_scaled(x, prefix + "/conv1", 3, ci, co, 2,
		    pads{0, 0, 0, 0}));
		o = conv_scaled(o, prefix + "/conv2", 3, co, co, 1,
		    pads{1, 1, 1, 1});
		if (conv_size != pool_size)
			o = g.zero_pad(o, 0, pool_size - conv_size,
			    pool_size - conv_size);
		int s = g.avgpool(x, 2, 2);
		if (co != ci)
			s = g.zero_pad(s, co - ci, 0, 0);
		size = pool_size;
		return g.relu(g.sum({o, s}));
	}
};

} /* namespace */

std::unique_ptr<descriptor_net> build_descriptor(const models &m)
{
	const weightset &w = m.rec;
	std::unique_ptr<descriptor_net> d(new descriptor_net);
	d->g.cache = &m.blobs;
	builder b{w, d->g, CHIP_PX};
	int x = b.g.relu(b.conv_scaled(0, "conv32_down", 7, 3, 32, 2,
	    pads{0, 0, 0, 0}));
	b.size = (b.size - 7) / 2 + 1;
	x = b.g.maxpool(x, 3, 2, pads{0, 0, 0, 0});
	b.size = (b.size - 3) / 2 + 1;
	x = b.residual(x, "conv32_1", 32);
	x = b.residual(x, "conv32_2", 32);
	x = b.residual(x, "conv32_3", 32);
	x = b.residual_down(x, "conv64_down", 32, 64);
	x = b.residual(x, "conv64_1", 64);
	x = b.residual(x, "conv64_2", 64);
	x = b.residual(x, "conv64_3", 64);
	x = b.residual_down(x, "conv128_down", 64, 128);
	x = b.residual(x, "conv128_1", 128);
	x = b.residual(x, "conv128_2", 128);
	x = b.residual_down(x, "conv256_down", 128, 256);
	x = b.residual(x, "conv256_1", 256);
	x = b.residual(x, "conv256_2", 256);
	x = b.residual_down(x, "conv256_down_out", 256, 256);
	x = b.g.global_avgpool(x);
	d->out = b.g.fc(x, w.get("fc", {256, DESCRIPTOR_DIM}), nullptr);
	return d;
}

void nets_describe(nets *n, const cv::Mat &chip, float out[DESCRIPTOR_DIM])
{
	static const double mean_rgb[3] = {122.782, 117.001, 104.298};
	cv::Mat bgr = as_bgr(chip);
	/* Any other size is padded to a centred square and resized, as
	 * face-api's toBatchTensor(150, true) does. */
	int side = std::max(bgr.cols, bgr.rows), d = side - std::min(bgr.cols, bgr.rows);
	int before = d - (d + 1) / 2;
	cv::Mat blob = tf_input(bgr, cv::Rect(0, 0, bgr.cols, bgr.rows),
	    bgr.cols < bgr.rows ? before : 0, bgr.cols < bgr.rows ? 0 : before,
	    side, CHIP_PX, mean_rgb);
	cv::Mat o = n->rec->g.run(blob, n->rec->out);
	const float *p = o.ptr<float>();
	double ss = 0;
	for (int i = 0; i < DESCRIPTOR_DIM; i++)
		ss += (double)p[i] * p[i];
	float inv = ss > 0 ? (float)(1.0 / std::sqrt(ss)) : 0.f;
	for (int i = 0; i < DESCRIPTOR_DIM; i++)
		out[i] = p[i] * inv;
}

} /* namespace rcface */
