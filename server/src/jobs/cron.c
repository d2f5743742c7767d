#include "jobs/cron.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define MS_PER_MIN INT64_C(60000)
#define MS_PER_DAY INT64_C(86400000)

static bool fail(char *msg, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool fail(char *msg, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (msg && cap > 0) {
		va_start(ap, fmt);
		vsnprintf(msg, cap, fmt, ap);
		va_end(ap);
	}
	return false;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int64_t floor_div(int64_t a, int64_t b)
{
	return a >= 0 ? a / b : -((-a + b - 1) / b);
}

static int days_in_month(int64_t y, int m)
{
	static const int dim[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : dim[m - 1];
}

struct field {
	const char *name;
	int lo, hi;
	const char *const *names; /* 3-letter names for lo.., or NULL */
};

static const char *const month_names[] = { "JAN", "FEB", "MAR", "APR", "MAY", "JUN",
					   "JUL", "AUG", "SEP", "OCT", "NOV", "DEC" };
static const char *const wday_names[] = { "SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT" };

static const struct field fields[6] = {
	{ "Minutes", 0, 59, NULL },
	{ "Hours", 0, 23, NULL },
	{ "Day-of-month", 1, 31, NULL },
	{ "Month", 1, 12, month_names },
	{ "Day-of-week", 1, 7, wday_names },
	{ "Year", JOBS_CRON_YEAR_MIN, JOBS_CRON_YEAR_MAX, NULL },
};

/* A value of f at s[*i]: digits or (f->names) a 3-letter name, case-insensitive. */
static bool value(const struct field *f, const char *s, size_t len, size_t *i, int *out)
{
	int v = 0, digits = 0;

	if (f->names && *i + 3 <= len) {
		for (int k = 0; k <= f->hi - f->lo; k++) {
			if (strncasecmp(s + *i, f->names[k], 3) == 0) {
				*out = f->lo + k;
				*i += 3;
				return true;
			}
		}
	}
	while (*i < len && s[*i] >= '0' && s[*i] <= '9' && digits < 5) {
		v = v * 10 + (s[*i] - '0');
		(*i)++;
		digits++;
	}
	if (digits == 0 || v < f->lo || v > f->hi)
		return false;
	*out = v;
	return true;
}

/* Parse one item (no commas) of field f into bits (bit v for value v - base). */
static bool item(const struct field *f, const char *s, size_t len, int base, uint64_t *bits,
		 char *msg, size_t cap)
{
	size_t i = 0;
	int a, b, step = 1;

	if (len == 1 && s[0] == '*') {
		a = f->lo;
		b = f->hi;
		i = 1;
	} else if (len >= 1 && s[0] == '*' && s[1] == '/') {
		a = f->lo;
		b = f->hi;
		i = 1;
	} else {
		if (!value(f, s, len, &i, &a))
			return fail(msg, cap,
				    "cron %s: bad value in '%.*s' (L, W and # are not supported)",
				    f->name, (int)len, s);
		b = a;
		if (i < len && s[i] == '-') {
			i++;
			if (!value(f, s, len, &i, &b))
				return fail(msg, cap, "cron %s: bad range in '%.*s'", f->name,
					    (int)len, s);
			if (b < a)
				return fail(msg, cap,
					    "cron %s: wrapping range '%.*s' is not supported",
					    f->name, (int)len, s);
		} else if (i < len && s[i] == '/') {
			b = f->hi; /* N/S: from N to the end */
		}
	}
	if (i < len && s[i] == '/') {
		size_t j = ++i;

		step = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9' && i - j < 5)
			step = step * 10 + (s[i++] - '0');
		if (i == j || step < 1)
			return fail(msg, cap, "cron %s: bad step in '%.*s'", f->name, (int)len, s);
	}
	if (i != len)
		return fail(msg, cap, "cron %s: unsupported syntax '%.*s'", f->name, (int)len, s);
	for (int v = a; v <= b; v += step)
		bits[(v - base) / 64] |= UINT64_C(1) << ((v - base) % 64);
	return true;
}

/* Parse field k (text s[0..len)) into bits; *is_any set for "?". */
static bool parse_field(int k, const char *s, size_t len, uint64_t *bits, bool *is_any, char *msg,
			size_t cap)
{
	const struct field *f = &fields[k];
	int base = k == 5 ? JOBS_CRON_YEAR_MIN : 0;
	size_t start = 0;

	*is_any = false;
	if (len == 1 && s[0] == '?') {
		if (k != 2 && k != 4)
			return fail(msg, cap, "cron %s: '?' is only allowed in the day fields",
				    f->name);
		*is_any = true;
		return true;
	}
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != ',')
			continue;
		if (i == start)
			return fail(msg, cap, "cron %s: empty list item", f->name);
		if (!item(f, s + start, i - start, base, bits, msg, cap))
			return false;
		start = i + 1;
	}
	return true;
}

bool jobs_cron_parse(const char *expr, struct jobs_cron *out, char *msg, size_t msg_cap)
{
	const char *p, *end;
	uint64_t bits[6][4];
	bool any[6];
	size_t len;
	int k = 0;

	memset(out, 0, sizeof(*out));
	memset(bits, 0, sizeof(bits));
	if (!expr)
		return fail(msg, msg_cap, "cron expression missing");
	len = strlen(expr);
	if (len > JOBS_CRON_MAX_LEN)
		return fail(msg, msg_cap, "cron expression longer than %d characters",
			    JOBS_CRON_MAX_LEN);
	if (len < 6 || strncmp(expr, "cron(", 5) != 0 || expr[len - 1] != ')')
		return fail(msg, msg_cap,
			    "expected cron(Minutes Hours Day-of-month Month "
			    "Day-of-week Year)");
	p = expr + 5;
	end = expr + len - 1;
	while (p < end) {
		const char *q;

		while (p < end && *p == ' ')
			p++;
		if (p == end)
			break;
		q = p;
		while (q < end && *q != ' ')
			q++;
		if (k == 6)
			return fail(msg, msg_cap, "cron expression has more than 6 fields");
		if (!parse_field(k, p, (size_t)(q - p), bits[k], &any[k], msg, msg_cap))
			return false;
		k++;
		p = q;
	}
	if (k != 6)
		return fail(msg, msg_cap, "cron expression needs 6 fields, has %d", k);
	if (any[2] == any[4])
		return fail(msg, msg_cap,
			    "cron: exactly one of Day-of-month and Day-of-week must be '?'");
	out->minutes = bits[0][0];
	out->hours = (uint32_t)bits[1][0];
	out->mdays = (uint32_t)bits[2][0];
	out->months = (uint16_t)bits[3][0];
	out->wdays = (uint8_t)bits[4][0];
	out->is_by_wday = any[2];
	memcpy(out->years, bits[5], sizeof(out->years));
	return true;
}

static bool bit64(const uint64_t *set, int v)
{
	return set[v / 64] >> (v % 64) & 1;
}

/* True if the whole UTC day number `day` is allowed (year, month, day fields). */
static bool day_matches(const struct jobs_cron *c, int64_t day)
{
	int64_t y;
	int m, d, wday;

	civil_from_days(day, &y, &m, &d);
	if (y < JOBS_CRON_YEAR_MIN || y > JOBS_CRON_YEAR_MAX || !bit64(c->years, (int)(y - 1970)))
		return false;
	if (!(c->months >> m & 1))
		return false;
	if (c->is_by_wday) {
		wday = (int)((day % 7 + 7 + 4) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
		return c->wdays >> (wday + 1) & 1;
	}
	return c->mdays >> d & 1;
}

bool jobs_cron_matches(const struct jobs_cron *c, int64_t t_ms)
{
	int64_t min = floor_div(t_ms, MS_PER_MIN);
	int64_t day = floor_div(min, 1440);
	int mod = (int)(min - day * 1440);

	return day_matches(c, day) && (c->hours >> (mod / 60) & 1) &&
	       (c->minutes >> (mod % 60) & 1);
}

int64_t jobs_cron_next(const struct jobs_cron *c, int64_t from_ms, int64_t until_ms)
{
	int64_t first = floor_div(from_ms + MS_PER_MIN - 1, MS_PER_MIN); /* minute index */
	int64_t day = floor_div(first, 1440), last_day = floor_div(until_ms, MS_PER_DAY);

	for (; day <= last_day; day++) {
		int start = day == floor_div(first, 1440) ? (int)(first - day * 1440) : 0;

		if (!day_matches(c, day))
			continue;
		for (int m = start; m < 1440; m++) {
			int64_t t;

			if (!(c->hours >> (m / 60) & 1)) {
				m = (m / 60) * 60 + 59; /* skip the rest of the hour */
				continue;
			}
			if (!(c->minutes >> (m % 60) & 1))
				continue;
			t = (day * 1440 + m) * MS_PER_MIN;
			return t < until_ms ? t : -1;
		}
	}
	return -1;
}

int64_t jobs_cron_prev(const struct jobs_cron *c, int64_t at_ms, int64_t since_ms)
{
	int64_t last = floor_div(at_ms, MS_PER_MIN);
	int64_t day = floor_div(last, 1440), first_day = floor_div(since_ms, MS_PER_DAY);

	for (; day >= first_day; day--) {
		int start = day == floor_div(last, 1440) ? (int)(last - day * 1440) : 1439;

		if (!day_matches(c, day))
			continue;
		for (int m = start; m >= 0; m--) {
			int64_t t;

			if (!(c->hours >> (m / 60) & 1)) {
				m = (m / 60) * 60; /* skip to the start of the hour */
				continue;
			}
			if (!(c->minutes >> (m % 60) & 1))
				continue;
			t = (day * 1440 + m) * MS_PER_MIN;
			return t >= since_ms ? t : -1;
		}
	}
	return -1;
}

/* n decimal digits at s; -1 if any is not a digit. */
static int digits(const char *s, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

bool jobs_cron_datetime_parse(const char *s, int64_t *ms)
{
	int y, mo, d, h, mi, sec = 0;
	size_t len, i = 16;

	if (!s)
		return false;
	len = strlen(s);
	if (len < 16 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
	    s[13] != ':')
		return false;
	y = digits(s, 4);
	mo = digits(s + 5, 2);
	d = digits(s + 8, 2);
	h = digits(s + 11, 2);
	mi = digits(s + 14, 2);
	if (len >= 19 && s[16] == ':') {
		sec = digits(s + 17, 2);
		i = 19;
	}
	if (i < len && s[i] == 'Z')
		i++;
	if (i != len || y < 1970 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 59)
		return false;
	if (d > days_in_month(y, mo))
		return false;
	*ms = ((days_from_civil(y, mo, d) * 24 + h) * 60 + mi) * MS_PER_MIN;
	return true;
}

bool jobs_cron_datetime_format(int64_t ms, char *out, size_t cap)
{
	int64_t min, day, y;
	int m, d, mod, n;

	if (cap > 0)
		out[0] = '\0';
	if (ms < 0)
		return false;
	min = ms / MS_PER_MIN;
	day = min / 1440;
	mod = (int)(min % 1440);
	civil_from_days(day, &y, &m, &d);
	if (y > 9999)
		return false;
	n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d", (int)y, m, d, mod / 60, mod % 60);
	if (n < 0 || (size_t)n >= cap) {
		if (cap > 0)
			out[0] = '\0';
		return false;
	}
	return true;
}
