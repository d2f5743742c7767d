#include "core/metrics.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Default latency buckets, in seconds. */
static const double buckets[] = { 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
				  0.1,	  0.25,	 0.5,	 1,	2.5,  5,     10 };
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

struct series {
	struct series *next;
	char *labels;
	double value; /* counter/gauge value, or histogram sum */
	uint64_t count;
	uint64_t bucket_counts[NBUCKETS];
};

struct family {
	struct family *next;
	char *name;
	char *type;
	char *help;
	struct series *series;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct family *families;
static struct family *families_tail;
static metrics_collect_fn collectors[16];
static int ncollectors;

static struct family *family_find(const char *name, const char *type)
{
	struct family *f;
	for (f = families; f; f = f->next)
		if (strcmp(f->name, name) == 0)
			return f;
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->name = strdup(name);
	f->type = strdup(type);
	f->help = strdup("");
	if (!f->name || !f->type || !f->help) {
		free(f->name);
		free(f->type);
		free(f->help);
		free(f);
		return NULL;
	}
	if (families_tail)
		families_tail->next = f;
	else
		families = f;
	families_tail = f;
	return f;
}

static struct series *series_find(struct family *f, const char *labels)
{
	struct series *s, **tail = &f->series;
	if (!labels)
		labels = "";
	for (s = f->series; s; s = s->next) {
		if (strcmp(s->labels, labels) == 0)
			return s;
		tail = &s->next;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->labels = strdup(labels);
	if (!s->labels) {
		free(s);
		return NULL;
	}
	*tail = s;
	return s;
}

void metrics_describe(const char *name, const char *type, const char *help)
{
	pthread_mutex_lock(&lock);
	struct family *f = family_find(name, type);
	if (f) {
		char *h = strdup(help);
		char *t = strdup(type);
		if (h && t) {
			free(f->help);
			free(f->type);
			f->help = h;
			f->type = t;
		} else {
			free(h);
			free(t);
		}
	}
	pthread_mutex_unlock(&lock);
}

void metrics_counter_add(const char *name, const char *labels, double value)
{
	pthread_mutex_lock(&lock);
	struct family *f = family_find(name, "counter");
	struct series *s = f ? series_find(f, labels) : NULL;
	if (s)
		s->value += value;
	pthread_mutex_unlock(&lock);
}

void metrics_gauge_set(const char *name, const char *labels, double value)
{
	pthread_mutex_lock(&lock);
	struct family *f = family_find(name, "gauge");
	struct series *s = f ? series_find(f, labels) : NULL;
	if (s)
		s->value = value;
	pthread_mutex_unlock(&lock);
}

void metrics_histogram_observe(const char *name, const char *labels, double value)
{
	pthread_mutex_lock(&lock);
	struct family *f = family_find(name, "histogram");
	struct series *s = f ? series_find(f, labels) : NULL;
	if (s) {
		s->value += value;
		s->count++;
		for (size_t i = 0; i < NBUCKETS; i++)
			if (value <= buckets[i])
				s->bucket_counts[i]++;
	}
	pthread_mutex_unlock(&lock);
}

void metrics_on_collect(metrics_collect_fn fn)
{
	pthread_mutex_lock(&lock);
	for (int i = 0; i < ncollectors; i++) {
		if (collectors[i] == fn) {
			pthread_mutex_unlock(&lock);
			return;
		}
	}
	if (ncollectors < (int)(sizeof(collectors) / sizeof(collectors[0])))
		collectors[ncollectors++] = fn;
	pthread_mutex_unlock(&lock);
}

static void render_labels(struct buf *out, const char *labels, const char *extra)
{
	bool has = labels && *labels;
	if (!has && !extra)
		return;
	buf_putc(out, '{');
	if (has)
		buf_puts(out, labels);
	if (extra) {
		if (has)
			buf_putc(out, ',');
		buf_puts(out, extra);
	}
	buf_putc(out, '}');
}

void metrics_render(struct buf *out)
{
	metrics_collect_fn fns[16];
	int n;

	pthread_mutex_lock(&lock);
	n = ncollectors;
	memcpy(fns, collectors, sizeof(fns));
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < n; i++)
		fns[i]();

	pthread_mutex_lock(&lock);
	for (struct family *f = families; f; f = f->next) {
		if (*f->help)
			buf_printf(out, "# HELP %s %s\n", f->name, f->help);
		buf_printf(out, "# TYPE %s %s\n", f->name, f->type);
		for (struct series *s = f->series; s; s = s->next) {
			if (strcmp(f->type, "histogram") == 0) {
				char le[48];
				for (size_t i = 0; i < NBUCKETS; i++) {
					snprintf(le, sizeof(le), "le=\"%g\"", buckets[i]);
					buf_printf(out, "%s_bucket", f->name);
					render_labels(out, s->labels, le);
					buf_printf(out, " %llu\n",
						   (unsigned long long)s->bucket_counts[i]);
				}
				buf_printf(out, "%s_bucket", f->name);
				render_labels(out, s->labels, "le=\"+Inf\"");
				buf_printf(out, " %llu\n", (unsigned long long)s->count);
				buf_printf(out, "%s_sum", f->name);
				render_labels(out, s->labels, NULL);
				buf_printf(out, " %.9g\n", s->value);
				buf_printf(out, "%s_count", f->name);
				render_labels(out, s->labels, NULL);
				buf_printf(out, " %llu\n", (unsigned long long)s->count);
			} else {
				buf_puts(out, f->name);
				render_labels(out, s->labels, NULL);
				buf_printf(out, " %.17g\n", s->value);
			}
		}
	}
	pthread_mutex_unlock(&lock);
}

void metrics_reset(void)
{
	pthread_mutex_lock(&lock);
	while (families) {
		struct family *f = families;
		families = f->next;
		while (f->series) {
			struct series *s = f->series;
			f->series = s->next;
			free(s->labels);
			free(s);
		}
		free(f->name);
		free(f->type);
		free(f->help);
		free(f);
	}
	families_tail = NULL;
	ncollectors = 0;
	pthread_mutex_unlock(&lock);
}
