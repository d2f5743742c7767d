/*
 * AWS cron expressions for maintenance windows (spec 3.9) and the UTC date-time strings of
 * schedulingConfig. PURE: libc only; times are Unix ms, UTC.
 *
 * Grammar (the EventBridge form AWS IoT uses): "cron(Minutes Hours Day-of-month Month
 * Day-of-week Year)" with fields 0-59, 0-23, 1-31, 1-12 or JAN-DEC, 1-7 or SUN-SAT (1 = Sunday),
 * 1970-2199. Each field is a comma list of "*", "N", "N-M", "*\/S", "N/S" or "N-M/S"; exactly one
 * of Day-of-month and Day-of-week is "?". Not supported (rejected with a message): the L, W and
 * # day specifiers and ranges that wrap around (FRI-MON).
 */
#ifndef BW_JOBS_CRON_H
#define BW_JOBS_CRON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define JOBS_CRON_MAX_LEN 256 /* maintenance window startTime (spec 3.9) */
#define JOBS_CRON_YEAR_MIN 1970
#define JOBS_CRON_YEAR_MAX 2199

/* A parsed expression: bit sets of the allowed values of each field. */
struct jobs_cron {
	uint64_t minutes;  /* bit 0..59 */
	uint32_t hours;	   /* bit 0..23 */
	uint32_t mdays;	   /* bit 1..31 */
	uint16_t months;   /* bit 1..12 */
	uint8_t wdays;	   /* bit 1..7, 1 = Sunday */
	bool is_by_wday;   /* Day-of-month is "?": days are chosen by Day-of-week */
	uint64_t years[4]; /* bit (year - 1970) */
};

/* Parse expr (at most JOBS_CRON_MAX_LEN characters). Returns false with a reason in msg (may be
 * NULL) when it is not a supported expression; out is then zeroed. */
bool jobs_cron_parse(const char *expr, struct jobs_cron *out, char *msg, size_t msg_cap);

/* True if the UTC minute containing t_ms matches c. */
bool jobs_cron_matches(const struct jobs_cron *c, int64_t t_ms);

/* Start (ms) of the first matching minute at or after from_ms and before until_ms, or -1. */
int64_t jobs_cron_next(const struct jobs_cron *c, int64_t from_ms, int64_t until_ms);

/* Start (ms) of the last matching minute at or before at_ms and at or after since_ms, or -1. */
int64_t jobs_cron_prev(const struct jobs_cron *c, int64_t at_ms, int64_t since_ms);

/* Parse a schedulingConfig time, UTC: "YYYY-MM-DDTHH:MM" (spec 3.9), also with a space instead
 * of 'T', optional ":SS" (accepted and dropped: AWS schedules by the minute) and an optional
 * trailing 'Z'. Years 1970..9999. False if malformed or not a real date. */
bool jobs_cron_datetime_parse(const char *s, int64_t *ms);

/* Format ms (>= 0, floored to the minute) as "YYYY-MM-DDTHH:MM" into out. False if out is too
 * small (17 bytes are needed) or ms is out of range. */
bool jobs_cron_datetime_format(int64_t ms, char *out, size_t cap);

#endif
