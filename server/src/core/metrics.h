/* Prometheus metrics: counters, gauges and histograms keyed by name + label set, rendered in
 * the Prometheus text exposition format. Thread-safe. */
#ifndef BW_CORE_METRICS_H
#define BW_CORE_METRICS_H

#include <stdbool.h>
#include <stdint.h>

#include "core/buf.h"

/* Declare a metric family once (idempotent); help and type appear in the output.
 * type: "counter", "gauge" or "histogram". */
void metrics_describe(const char *name, const char *type, const char *help);
/* labels: a Prometheus label body such as route="/x",status="200" (may be NULL or ""). */
void metrics_counter_add(const char *name, const char *labels, double value);
void metrics_gauge_set(const char *name, const char *labels, double value);
/* Observe a value (seconds for latencies) into the default buckets. */
void metrics_histogram_observe(const char *name, const char *labels, double value);
/* Callbacks run before rendering, to refresh gauges (e.g. pool stats). */
typedef void (*metrics_collect_fn)(void);
void metrics_on_collect(metrics_collect_fn fn);
/* Render everything into out. */
void metrics_render(struct buf *out);
/* Drop all series (tests). */
void metrics_reset(void);

#endif
