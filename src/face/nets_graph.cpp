/* A small builder of cv::dnn::Net graphs from TF-layout tensors (HWIO
 * filters, [in, out] dense weights), and one thread's set of nets. */

#include <cfloat>

#include "nets-int.h"

namespace rcface {

pads tf_same(int n, int k, int s)
{
	int out = (n + s - 1) / s;
	int total = std::max((out - 1) * s + k - n, 0);
	return pads{total / 2, total / 2, total - total / 2, total - total / 2};
}

graph::graph()
{
	net.setInputsNames({"data"});
	names.push_back("data");
}

std::string graph::name(int id) const
{
	return names.at((size_t)id);
}

int graph::add(const std::string &type, cv::dnn::LayerParams &lp,
    std::initializer_list<int> in)
{
	std::string nm = type + std::to_string(names.size());
	lp.name = nm;
	lp.type = type;
	int id = net.addLayer(nm, type, lp);
	int k = 0;
	for (int src : in)
		net.connect(src, 0, id, k++);
	if ((size_t)id != names.size())
		throw std::runtime_error("graph: unexpected layer id");
	names.push_back(nm);
	return id;
}

static void set_window(cv::dnn::LayerParams &lp, int kh, int kw, int stride,
    pads p)
{
	lp.set("kernel_h", kh);
	lp.set("kernel_w", kw);
	lp.set("stride_h", stride);
	lp.set("stride_w", stride);
	lp.set("pad_t", p.t);
	lp.set("pad_l", p.l);
	lp.set("pad_b", p.b);
	lp.set("pad_r", p.r);
}

int graph::conv(int in, const tensor &hwio, const tensor *bias, int stride,
    pads p, const tensor *mul, const tensor *add_)
{
	const int kh = hwio.shape[0], kw = hwio.shape[1];
	const int ci = hwio.shape[2], co = hwio.shape[3];
	int sz[4] = {co, ci, kh, kw};
	cv::Mat w(4, sz, CV_32F);
	float *wp = w.ptr<float>();
	for (int o = 0; o < co; o++) {
		float m = mul ? mul->data[(size_t)o] : 1.f;
		for (int i = 0; i < ci; i++)
			for (int y = 0; y < kh; y++)
				for (int x = 0; x < kw; x++)
					wp[((o * ci + i) * kh + y) * kw + x] =
					    hwio.data[(((size_t)y * kw + x) * ci + i) * co + o] * m;
	}
	cv::Mat b(1, co, CV_32F);
	for (int o = 0; o < co; o++) {
		float v = bias ? bias->data[(size_t)o] : 0.f;
		if (mul)
			v *= mul->data[(size_t)o];
		if (add_)
			v += add_->data[(size_t)o];
		b.at<float>(o) = v;
	}
	in = pad_asymmetric(in, p, 0.f);
	cv::dnn::LayerParams lp;
	set_window(lp, kh, kw, stride, p);
	lp.set("num_output", co);
	lp.set("bias_term", true);
	lp.blobs = {w, b};
	return add("Convolution", lp, {in});
}

int graph::depthwise(int in, const tensor &hwi1, int stride, pads p)
{
	const int kh = hwi1.shape[0], kw = hwi1.shape[1], c = hwi1.shape[2];
	int sz[4] = {c, 1, kh, kw};
	cv::Mat w(4, sz, CV_32F);
	float *wp = w.ptr<float>();
	for (int o = 0; o < c; o++)
		for (int y = 0; y < kh; y++)
			for (int x = 0; x < kw; x++)
				wp[(o * kh + y) * kw + x] =
				    hwi1.data[((size_t)y * kw + x) * c + o];
	in = pad_asymmetric(in, p, 0.f);
	cv::dnn::LayerParams lp;
	set_window(lp, kh, kw, stride, p);
	lp.set("num_output", c);
	lp.set("group", c);
	lp.set("bias_term", false);
	lp.blobs = {w};
	return add("Convolution", lp, {in});
}

int graph::relu(int in, float slope)
{
	cv::dnn::LayerParams lp;
	if (slope != 0.f)
		lp.set("negative_slope", slope);
	return add("ReLU", lp, {in});
}

/* TF pads max pools with -inf (padded cells never win). */
int graph::maxpool(int in, int k, int stride, pads p)
{
	in = pad_asymmetric(in, p, -FLT_MAX);
	cv::dnn::LayerParams lp;
	lp.set("pool", "max");
	set_window(lp, k, k, stride, p);
	lp.set("ceil_mode", false);
	return add("Pooling", lp, {in});
}

int graph::avgpool(int in, int k, int stride)
{
	cv::dnn::LayerParams lp;
	lp.set("pool", "ave");
	set_window(lp, k, k, stride, pads{0, 0, 0, 0});
	lp.set("ceil_mode", false);
	return add("Pooling", lp, {in});
}

int graph::global_avgpool(int in)
{
	cv::dnn::LayerParams lp;
	lp.set("pool", "ave");
	lp.set("global_pooling", true);
	return add("Pooling", lp, {in});
}

int graph::sum(std::initializer_list<int> in)
{
	cv::dnn::LayerParams lp;
	lp.set("operation", "sum");
	return add("Eltwise", lp, in);
}

int graph::pad(int in, const int p[8], float value)
{
	cv::dnn::LayerParams lp;
	lp.set("paddings", cv::dnn::DictValue::arrayInt(p, 8));
	lp.set("type", "constant");
	lp.set("value", value);
	return add("Padding", lp, {in});
}

int graph::zero_pad(int in, int channels, int rows, int cols)
{
	int p[8] = {0, 0, 0, channels, 0, rows, 0, cols};
	return pad(in, p, 0.f);
}

/* OpenCV 4.6's convolution refuses asymmetric padding ("Unsupported
 * asymmetric padding"): TF's "same" at stride 2 (0 top/left, 1
 * bottom/right) becomes a Padding layer and an unpadded window. p is
 * zeroed when the padding was moved into the graph. */
int graph::pad_asymmetric(int in, pads &p, float value)
{
	if (p.t == p.b && p.l == p.r)
		return in;
	int q[8] = {0, 0, 0, 0, p.t, p.b, p.l, p.r};
	p = pads{0, 0, 0, 0};
	return pad(in, q, value);
}

int graph::fc(int in, const tensor &in_out, const tensor *bias)
{
	const int ni = in_out.shape[0], no = in_out.shape[1];
	cv::Mat w(no, ni, CV_32F);
	for (int o = 0; o < no; o++)
		for (int i = 0; i < ni; i++)
			w.at<float>(o, i) = in_out.data[(size_t)i * no + o];
	cv::dnn::LayerParams lp;
	lp.set("num_output", no);
	lp.set("bias_term", bias != nullptr);
	lp.set("axis", 1);
	lp.blobs = {w};
	if (bias)
		lp.blobs.push_back(cv::Mat(1, no, CV_32F,
		    const_cast<float *>(bias->data.data())).clone());
	return add("InnerProduct", lp, {in});
}

cv::Mat graph::run(const cv::Mat &blob, int id)
{
	net.setInput(blob, "data");
	return net.forward(name(id));
}

cv::Mat tf_resize(const cv::Mat &src, int dst)
{
	cv::Matx23d m(src.cols / (double)dst, 0, 0,
	    0, src.rows / (double)dst, 0);
	cv::Mat out;
	cv::warpAffine(src, out, m, cv::Size(dst, dst),
	    cv::INTER_LINEAR | cv::WARP_INVERSE_MAP, cv::BORDER_REPLICATE);
	return out;
}

cv::Mat as_bgr(const cv::Mat &img)
{
	if (img.depth() != CV_8U)
		throw std::runtime_error("face nets: an 8-bit image is needed");
	if (img.channels() == 3)
		return img;
	cv::Mat out;
	cv::cvtColor(img, out, img.channels() == 1 ? cv::COLOR_GRAY2BGR :
	    cv::COLOR_BGRA2BGR);
	return out;
}

static void prepare(cv::dnn::Net &net)
{
	net.setPreferableBackend(cv::dnn::DNN_BACKEND_OPENCV);
	net.setPreferableTarget(cv::dnn::DNN_TARGET_CPU);
}

nets *nets_new(const models *m, std::string *err)
{
	try {
		std::unique_ptr<nets> n(new nets);
		n->m = m;
		n->det[320] = build_detector(m->det, 320);
		n->lmk = build_landmarks(m->lmk);
		n->rec = build_descriptor(m->rec);
		prepare(n->det[320]->g.net);
		prepare(n->lmk->g.net);
		prepare(n->rec->g.net);
		/* A first run allocates OpenCV's buffers and checks the shapes
		 * of the whole graph, so the first photo is not slower. */
		cv::Mat grey(200, 200, CV_8UC3, cv::Scalar(128, 128, 128));
		nets_detect(n.get(), grey, 2.f);
		landmarks68(n.get(), grey, cv::Rect2f(50, 50, 100, 100));
		float d[DESCRIPTOR_DIM];
		nets_describe(n.get(), grey(cv::Rect(0, 0, CHIP_PX, CHIP_PX)), d);
		return n.release();
	} catch (const std::exception &e) {
		if (err)
			*err = std::string("face nets: ") + e.what();
	}
	return nullptr;
}

void nets_free(nets *n)
{
	delete n;
}

} /* namespace rcface */
