/* metrics.h -- the process's figures in Prometheus's text exposition format 0.0.4, pure */
#ifndef FCGI_SSE_HTTP_METRICS_H
#define FCGI_SSE_HTTP_METRICS_H

#include <stddef.h>

#include "http/stats.h"

/* The Content-Type of the format. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* Room for the whole text at its largest: every counter at its maximum,
 * Redis on, every process_* figure read (tests/unit/http/test_metrics.c). */
#define METRICS_TEXT_MAX 16384

/* Renders v (its process_* figures from v->proc, where read) as the text
 * format: for each metric `# HELP`, `# TYPE` and its samples, one family
 * together; counters end in _total; base units (seconds, bytes); labels
 * only from fixed sets (kind, code, reason) and the build's version, so
 * the series are the same in every scrape (none per channel). The
 * fcgi_sse_redis_* family only with --redis (v->redis.enabled). Returns
 * the length, or -1 when cap is too small (nothing is written past cap). */
int metrics_text(const struct stats_view *v, char *buf, size_t cap);

/* Escapes s as a label value: `\` as `\\`, `"` as `\"`, a line feed as
 * `\n`; everything else as is (the format is UTF-8). Returns the length
 * written (with a NUL after it), or -1 when cap is too small. */
int metrics_escape_label(const char *s, char *out, size_t cap);

/* Escapes s as HELP text: `\` as `\\`, a line feed as `\n`. As above. */
int metrics_escape_help(const char *s, char *out, size_t cap);

#endif
