/* rollcall face-eval: measures the face matcher on a person-per-folder
 * image set — rank-1 identification, failure to detect, TAR at fixed FAR,
 * time per photo and 1:N search time. */

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

#include "rollcall/face.h"
#include "rollcall/util.h"

struct eval_opts {
	const char	*dir;
	int		 enroll;
	int		 json;
	double		 threshold;	/* < 0: none given */
	struct rc_face_config cfg;
};

struct sample {
	int			 person;
	int			 enrol;		/* 1: gallery, 0: probe */
	enum rc_face_status	 st;
	struct rc_face_template	*t;
	double			 ms;
};

struct dataset {
	char		**people;	/* folder names, sorted */
	size_t		  npeople;
	struct sample	 *s;
	size_t		  n, cap;
};

struct results {
	size_t	 photos, probes, no_face, poor, other_fail, correct, probed;
	double	 rank1, rank1_detected, ftd;
	double	 tar1, tar01, thr1, thr01;
	double	 far_at, tar_at;	/* at the --threshold given */
	size_t	 ngen, nimp;
	double	 p50, p95, id1k, id10k, id10k_float;
	size_t	 dim;
	const char *method;
};

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static int
is_image_name(const char *name)
{
	static const char *const ext[] = {
		".jpg", ".jpeg", ".png", ".pgm", ".ppm", ".pnm", ".bmp", ".webp",
	};
	const char *dot = strrchr(name, '.');

	if (name[0] == '.' || dot == NULL)
		return 0;
	for (size_t i = 0; i < RC_NELEM(ext); i++)
		if (strcasecmp(dot, ext[i]) == 0)
			return 1;
	return 0;
}

/* Lists the entries of dir that are directories (want_dirs) or image
 * files, sorted by name. Returns a new array of new strings, or NULL with
 * errno set when dir cannot be read. */
static char **
list_dir(const char *dir, int want_dirs, size_t *count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	*count = 0;
	if (d == NULL)
		return NULL;
	while ((de = readdir(d)) != NULL) {
		struct stat st;
		char *path;
		int ok;

		if (de->d_name[0] == '.')
			continue;
		path = rc_asprintf("%s/%s", dir, de->d_name);
		ok = stat(path, &st) == 0 && (want_dirs ? S_ISDIR(st.st_mode) :
		    S_ISREG(st.st_mode) && is_image_name(de->d_name));
		free(path);
		if (!ok)
			continue;
		names = rc_realloc(names, (n + 1) * sizeof(*names));
		names[n++] = rc_strdup(de->d_name);
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_str);
	*count = n;
	return names != NULL ? names : rc_calloc(1, sizeof(*names));
}

static void
free_names(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
}

static void
add_sample(struct dataset *ds, struct rc_face_engine *eng, const char *path,
    int person, int enrol)
{
	struct sample *s;
	size_t len = 0;
	char *buf = rc_read_file(path, &len);
	uint64_t t0;

	if (ds->n == ds->cap) {
		ds->cap = ds->cap ? 2 * ds->cap : 256;
		ds->s = rc_realloc(ds->s, ds->cap * sizeof(*ds->s));
	}
	s = &ds->s[ds->n++];
	memset(s, 0, sizeof(*s));
	s->person = person;
	s->enrol = enrol;
	t0 = rc_now_usec();
	s->st = buf == NULL ? RC_FACE_NOT_IMAGE :
	    rc_face_extract(eng, buf, len, 0, &s->t, NULL);
	s->ms = (double)(rc_now_usec() - t0) / 1000.0;
	free(buf);
}

/* Extracts every photo: the first `enroll` of each person into the
 * gallery, the rest as probes. */
static rc_status
load_dataset(const struct eval_opts *o, struct rc_face_engine *eng,
    struct dataset *ds)
{
	ds->people = list_dir(o->dir, 1, &ds->npeople);
	if (ds->people == NULL) {
		fprintf(stderr, "face-eval: cannot read %s: %s\n", o->dir, strerror(errno));
		return RC_ERR;
	}
	if (ds->npeople < 2) {
		fprintf(stderr, "face-eval: %s must hold one folder per person "
		    "(at least two)\n", o->dir);
		return RC_ERR;
	}
	for (size_t p = 0; p < ds->npeople; p++) {
		char *pdir = rc_asprintf("%s/%s", o->dir, ds->people[p]);
		size_t nf;
		char **files = list_dir(pdir, 0, &nf);

		for (size_t f = 0; files != NULL && f < nf; f++) {
			char *path = rc_asprintf("%s/%s", pdir, files[f]);
			add_sample(ds, eng, path, (int)p, (int)f < o->enroll);
			free(path);
		}
		free_names(files, files ? nf : 0);
		free(pdir);
	}
	if (ds->n == 0) {
		fprintf(stderr, "face-eval: no images found under %s\n", o->dir);
		return RC_ERR;
	}
	return RC_OK;
}

static void
free_dataset(struct dataset *ds)
{
	for (size_t i = 0; i < ds->n; i++)
		rc_face_template_free(ds->s[i].t);
	free(ds->s);
	free_names(ds->people, ds->npeople);
}

/* Contiguous gallery of the enrolled templates; *owner gets each row's
 * person. Returns a new array; caller frees both. */
static float *
build_gallery(const struct dataset *ds, size_t *n, size_t *dim, int **owner)
{
	float *g = NULL;

	*n = 0;
	*dim = 0;
	*owner = NULL;
	for (size_t i = 0; i < ds->n; i++) {
		const struct sample *s = &ds->s[i];

		if (!s->enrol || s->t == NULL)
			continue;
		*dim = rc_face_template_dim(s->t);
		g = rc_realloc(g, (*n + 1) * *dim * sizeof(float));
		*owner = rc_realloc(*owner, (*n + 1) * sizeof(int));
		memcpy(g + *n * *dim, rc_face_template_vector(s->t), *dim * sizeof(float));
		(*owner)[(*n)++] = s->person;
	}
	return g;
}

/* Threshold giving at most `far` of the impostor scores accepted
 * (score >= threshold), and the share of genuine scores accepted. */
static void
tar_at_far(const double *imp, size_t nimp, const double *gen, size_t ngen,
    double far, double *tar, double *thr)
{
	size_t allowed = (size_t)floor(far * (double)nimp), acc = 0;

	/* imp is sorted ascending: the allowed-th highest is the cut */
	*thr = nimp == 0 ? 0 : nextafter(imp[nimp - 1 - allowed], 2.0);
	if (allowed >= nimp)
		*thr = 0;
	for (size_t i = 0; i < ngen; i++)
		acc += gen[i] >= *thr;
	*tar = ngen ? (double)acc / (double)ngen : 0;
}

/* The shares of impostor and genuine scores accepted (score >= thr). */
static void
rates_at(const double *imp, size_t nimp, const double *gen, size_t ngen,
    double thr, double *far, double *tar)
{
	size_t fa = 0, ta = 0;

	for (size_t i = 0; i < nimp; i++)
		fa += imp[i] >= thr;
	for (size_t i = 0; i < ngen; i++)
		ta += gen[i] >= thr;
	*far = nimp ? (double)fa / (double)nimp : 0;
	*tar = ngen ? (double)ta / (double)ngen : 0;
}

/* Each probe against each enrolled person (best of that person's
 * templates): one genuine score and npeople-1 impostor scores. Also
 * rank-1 identification through the daemon's search, rc_face_gallery_search
 * on gal (the n rows of g). */
static void
score_probes(const struct dataset *ds, const struct rc_face_gallery *gal,
    const int *owner, struct results *r, double **gen, double **imp)
{
	double *best = rc_malloc(ds->npeople * sizeof(double));

	*gen = rc_malloc((ds->n + 1) * sizeof(double));
	*imp = rc_malloc((ds->n * ds->npeople + 1) * sizeof(double));
	for (size_t i = 0; i < ds->n; i++) {
		const struct sample *s = &ds->s[i];
		struct rc_face_hit hit;

		if (s->enrol)
			continue;
		r->probes++;
		if (s->t == NULL || rc_face_gallery_size(gal) == 0)
			continue;
		r->probed++;
		if (rc_face_gallery_search(gal, rc_face_template_vector(s->t), 1, &hit) == 1 &&
		    owner[hit.index] == s->person)
			r->correct++;
		for (size_t p = 0; p < ds->npeople; p++)
			best[p] = -1;
		for (size_t j = 0; j < ds->n; j++) {
			const struct sample *e = &ds->s[j];
			if (!e->enrol || e->t == NULL)
				continue;
			double sim = rc_face_similarity(s->t, e->t);
			if (sim > best[e->person])
				best[e->person] = sim;
		}
		for (size_t p = 0; p < ds->npeople; p++) {
			if (best[p] < 0)
				continue;
			if ((int)p == s->person)
				(*gen)[r->ngen++] = best[p];
			else
				(*imp)[r->nimp++] = best[p];
		}
	}
	free(best);
}

/* Median time of a top-5 search over n synthetic templates (the real
 * gallery repeated): through a prepared rc_face_gallery as the daemon
 * searches, or over the plain float rows with rc_face_search when
 * float_rows is set. */
static double
time_search(const float *g, size_t gn, size_t dim, size_t n, int float_rows)
{
	float *big = rc_malloc(n * dim * sizeof(float));
	struct rc_face_gallery *gal = NULL;
	struct rc_face_hit hits[5];
	double ms[21];

	for (size_t i = 0; i < n; i++)
		memcpy(big + i * dim, g + (i % gn) * dim, dim * sizeof(float));
	if (!float_rows && (gal = rc_face_gallery_new(big, n, dim)) == NULL)
		rc_fatal("face-eval: templates hold a value that is not finite");
	for (size_t rep = 0; rep < RC_NELEM(ms); rep++) {
		const float *probe = g + (rep % gn) * dim;
		uint64_t t0 = rc_now_usec();
		if (float_rows)
			rc_face_search(big, n, dim, probe, 5, hits);
		else
			rc_face_gallery_search(gal, probe, 5, hits);
		ms[rep] = (double)(rc_now_usec() - t0) / 1000.0;
	}
	rc_face_gallery_free(gal);
	free(big);
	qsort(ms, RC_NELEM(ms), sizeof(double), cmp_double);
	return ms[RC_NELEM(ms) / 2];
}

static void
summarise(const struct dataset *ds, struct results *r)
{
	double *ms = rc_malloc(ds->n * sizeof(double));

	r->photos = ds->n;
	for (size_t i = 0; i < ds->n; i++) {
		ms[i] = ds->s[i].ms;
		r->no_face += ds->s[i].st == RC_FACE_NO_FACE;
		r->poor += ds->s[i].st == RC_FACE_POOR_QUALITY;
		r->other_fail += ds->s[i].st != RC_FACE_OK &&
		    ds->s[i].st != RC_FACE_NO_FACE && ds->s[i].st != RC_FACE_POOR_QUALITY;
	}
	qsort(ms, ds->n, sizeof(double), cmp_double);
	r->p50 = ms[ds->n / 2];
	r->p95 = ms[(size_t)(0.95 * (double)(ds->n - 1))];
	r->ftd = (double)r->no_face / (double)ds->n;
	r->rank1 = r->probes ? (double)r->correct / (double)r->probes : 0;
	r->rank1_detected = r->probed ? (double)r->correct / (double)r->probed : 0;
	free(ms);
}

static rc_status
evaluate(const struct eval_opts *o, const struct dataset *ds, struct results *r)
{
	size_t gn, dim;
	int *owner;
	float *g = build_gallery(ds, &gn, &dim, &owner);
	struct rc_face_gallery *gal = rc_face_gallery_new(g, gn, dim);
	double *gen, *imp;

	if (gal == NULL)
		rc_fatal("face-eval: templates hold a value that is not finite");
	score_probes(ds, gal, owner, r, &gen, &imp);
	rc_face_gallery_free(gal);
	summarise(ds, r);
	qsort(imp, r->nimp, sizeof(double), cmp_double);
	tar_at_far(imp, r->nimp, gen, r->ngen, 0.01, &r->tar1, &r->thr1);
	tar_at_far(imp, r->nimp, gen, r->ngen, 0.001, &r->tar01, &r->thr01);
	if (o->threshold >= 0)
		rates_at(imp, r->nimp, gen, r->ngen, o->threshold, &r->far_at, &r->tar_at);
	r->dim = dim;
	if (gn > 0) {
		r->id1k = time_search(g, gn, dim, 1000, 0);
		r->id10k = time_search(g, gn, dim, 10000, 0);
		r->id10k_float = time_search(g, gn, dim, 10000, 1);
	}
	free(gen);
	free(imp);
	free(owner);
	free(g);
	if (gn == 0) {
		fprintf(stderr, "face-eval: no photo could be enrolled\n");
		return RC_ERR;
	}
	return RC_OK;
}

static void
print_json(const struct eval_opts *o, const struct dataset *ds, const struct results *r)
{
	json_t *j = json_object();
	char *s;

	json_object_set_new(j, "method", json_string(r->method));
	json_object_set_new(j, "people", json_integer((json_int_t)ds->npeople));
	json_object_set_new(j, "photos", json_integer((json_int_t)r->photos));
	json_object_set_new(j, "enroll", json_integer(o->enroll));
	json_object_set_new(j, "probes", json_integer((json_int_t)r->probes));
	json_object_set_new(j, "rank1_accuracy", json_real(r->rank1));
	json_object_set_new(j, "rank1_accuracy_detected", json_real(r->rank1_detected));
	json_object_set_new(j, "failure_to_detect", json_real(r->ftd));
	json_object_set_new(j, "poor_quality", json_real((double)r->poor / (double)r->photos));
	json_object_set_new(j, "genuine_scores", json_integer((json_int_t)r->ngen));
	json_object_set_new(j, "impostor_scores", json_integer((json_int_t)r->nimp));
	json_object_set_new(j, "tar_at_far_1pct", json_real(r->tar1));
	json_object_set_new(j, "tar_at_far_0_1pct", json_real(r->tar01));
	json_object_set_new(j, "threshold_far_1pct", json_real(r->thr1));
	json_object_set_new(j, "threshold", json_real(r->thr01));
	if (o->threshold >= 0) {
		json_object_set_new(j, "at_threshold", json_real(o->threshold));
		json_object_set_new(j, "far_at_threshold", json_real(r->far_at));
		json_object_set_new(j, "tar_at_threshold", json_real(r->tar_at));
	}
	json_object_set_new(j, "ms_per_photo_p50", json_real(r->p50));
	json_object_set_new(j, "ms_per_photo_p95", json_real(r->p95));
	json_object_set_new(j, "template_dim", json_integer((json_int_t)r->dim));
	json_object_set_new(j, "identify_ms_1k", json_real(r->id1k));
	json_object_set_new(j, "identify_ms_10k", json_real(r->id10k));
	json_object_set_new(j, "identify_ms_10k_float", json_real(r->id10k_float));
	s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
	json_decref(j);
	if (s != NULL) {
		puts(s);
		free(s);
	}
}

static void
print_text(const struct eval_opts *o, const struct dataset *ds, const struct results *r)
{
	printf("face-eval: %s, method %s, %zu people, %zu photos, enrol %d each\n",
	    o->dir, r->method, ds->npeople, r->photos, o->enroll);
	printf("rank-1 identification   %.3f of %zu probes (%.3f of those with a face)\n",
	    r->rank1, r->probes, r->rank1_detected);
	printf("failure to detect       %.3f (%zu photos); poor quality %zu; other %zu\n",
	    r->ftd, r->no_face, r->poor, r->other_fail);
	printf("scores                  %zu genuine, %zu impostor (probe vs person, best template)\n",
	    r->ngen, r->nimp);
	printf("TAR at FAR 1%%           %.3f (threshold %.4f)\n", r->tar1, r->thr1);
	printf("TAR at FAR 0.1%%         %.3f (threshold %.4f)\n", r->tar01, r->thr01);
	printf("suggested threshold     %.4f (the FAR 0.1%% cut on this set%s)\n", r->thr01,
	    r->nimp < 1000 ? "; fewer than 1000 impostor scores, so rough" : "");
	if (o->threshold >= 0)
		printf("at threshold %.4f     FAR %.4f, TAR %.3f\n", o->threshold,
		    r->far_at, r->tar_at);
	printf("time per photo          p50 %.1f ms, p95 %.1f ms (decode+detect+align+template)\n",
	    r->p50, r->p95);
	printf("1:N search, top 5       1k: %.3f ms, 10k: %.3f ms (dim %zu; "
	    "float rows 10k: %.3f ms)\n", r->id1k, r->id10k, r->dim, r->id10k_float);
}

static void
usage(void)
{
	fprintf(stderr, "usage: rollcall face-eval DIR [--enroll N] [--json] "
	    "[--models-dir D] [--detector-model F] [--cascade-dir D] "
	    "[--min-face PX] [--threshold T]\n"
	    "DIR holds one folder per person; the first N photos of each "
	    "(by name) are enrolled, the rest are probes. --threshold also "
	    "prints the FAR and TAR at T.\n");
}

static rc_status
parse_args(const struct rc_face_config *defaults, int argc, char **argv,
    struct eval_opts *o)
{
	static const struct option longopts[] = {
		{ "enroll", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "detector-model", required_argument, NULL, 'd' },
		{ "models-dir", required_argument, NULL, 'M' },
		{ "cascade-dir", required_argument, NULL, 'c' },
		{ "min-face", required_argument, NULL, 'm' },
		{ "threshold", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	if (defaults != NULL)
		o->cfg = *defaults;
	o->enroll = 5;
	o->threshold = -1;
	optind = 0;	/* glibc: restart scanning, argv may be reused */
	while ((c = getopt_long(argc, argv, "n:jd:M:c:m:t:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'n':
			o->enroll = (int)strtol(optarg, &end, 10);
			if (*end != '\0' || o->enroll < 1 || o->enroll > 1000) {
				fprintf(stderr, "face-eval: --enroll wants 1..1000\n");
				return RC_ERR;
			}
			break;
		case 'j': o->json = 1; break;
		case 'd': o->cfg.detector_model = optarg; break;
		case 'M': o->cfg.models_dir = optarg; break;
		case 'c': o->cfg.cascade_dir = optarg; break;
		case 'm': o->cfg.min_face_px = atoi(optarg); break;
		case 't':
			o->threshold = strtod(optarg, &end);
			if (*end != '\0' || end == optarg || !(o->threshold >= 0 &&
			    o->threshold <= 1)) {
				fprintf(stderr, "face-eval: --threshold wants 0..1\n");
				return RC_ERR;
			}
			break;
		default:
			usage();
			return RC_ERR;
		}
	}
	if (optind != argc - 1) {
		usage();
		return RC_ERR;
	}
	o->dir = argv[optind];
	return RC_OK;
}

int
rc_face_eval_main(const struct rc_face_config *defaults, int argc, char **argv)
{
	struct eval_opts o;
	struct dataset ds;
	struct results r;
	struct rc_face_engine *eng;
	char err[256];
	struct stat st;
	int rc = 1;

	if (parse_args(defaults, argc, argv, &o) != RC_OK)
		return 2;
	if (stat(o.dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "face-eval: %s: %s\n", o.dir,
		    errno ? strerror(errno) : "not a directory");
		return 1;
	}
	eng = rc_face_engine_new(&o.cfg, err, sizeof(err));
	if (eng == NULL) {
		fprintf(stderr, "face-eval: %s\n", err);
		return 1;
	}
	memset(&ds, 0, sizeof(ds));
	memset(&r, 0, sizeof(r));
	r.method = rc_face_method(eng);
	if (load_dataset(&o, eng, &ds) == RC_OK && evaluate(&o, &ds, &r) == RC_OK) {
		if (o.json)
			print_json(&o, &ds, &r);
		else
			print_text(&o, &ds, &r);
		rc = 0;
	}
	free_dataset(&ds);
	rc_face_engine_free(eng);
	return rc;
}
