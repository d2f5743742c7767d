#include "jobs/topics.h"

#include <stdio.h>
#include <string.h>

#define PREFIX "$aws/things/"
#define PREFIX_LEN (sizeof(PREFIX) - 1)

/* A [p, p + len) slice of the topic. */
struct seg {
	const char *p;
	size_t len;
};

static bool seg_is(struct seg s, const char *lit)
{
	size_t n = strlen(lit);

	return s.len == n && memcmp(s.p, lit, n) == 0;
}

/* Split s[0..len) on '/' into at most max segments; returns the count, or max + 1 if more. */
static size_t split(const char *s, size_t len, struct seg *segs, size_t max)
{
	size_t n = 0, start = 0;

	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '/')
			continue;
		if (n == max)
			return max + 1;
		segs[n].p = s + start;
		segs[n].len = i - start;
		n++;
		start = i + 1;
	}
	return n;
}

/* Copy a segment into dst if valid(dst) holds; returns false (dst = "") otherwise. */
static bool copy_name(struct seg s, char *dst, size_t cap, bool (*valid)(const char *))
{
	dst[0] = '\0';
	if (s.len >= cap)
		return false;
	memcpy(dst, s.p, s.len);
	dst[s.len] = '\0';
	if (!valid(dst)) {
		dst[0] = '\0';
		return false;
	}
	return true;
}

static bool is_next(const char *s)
{
	return strcmp(s, JOBS_TOPICS_NEXT) == 0;
}

static void parse_jobs(struct seg thing, const char *rest, size_t len, struct jobs_topic *t)
{
	struct seg segs[3];
	size_t n = split(rest, len, segs, 3);
	bool thing_ok = copy_name(thing, t->thing, sizeof(t->thing), strutil_is_valid_thing_name);

	if (n <= 3 && (seg_is(segs[n - 1], "accepted") || seg_is(segs[n - 1], "rejected"))) {
		t->kind = JOBS_TOPICS_IGNORE;
		return;
	}
	if (n > 3) {
		/* deeper than any operation: InvalidTopic, unless it is a reply (our own
		 * InvalidTopic replies end in /rejected and must not be answered again) */
		const char *last = memrchr(rest, '/', len);
		struct seg tail = { last + 1, len - (size_t)(last + 1 - rest) };

		t->kind = seg_is(tail, "accepted") || seg_is(tail, "rejected")
				  ? JOBS_TOPICS_IGNORE
				  : JOBS_TOPICS_INVALID;
		return;
	}
	t->kind = JOBS_TOPICS_INVALID;
	if (n == 1) {
		if (seg_is(segs[0], "get"))
			t->kind = JOBS_TOPICS_GET_PENDING;
		else if (seg_is(segs[0], "start-next"))
			t->kind = JOBS_TOPICS_START_NEXT;
		else if (seg_is(segs[0], "notify") || seg_is(segs[0], "notify-next"))
			t->kind = JOBS_TOPICS_IGNORE;
	} else if (n == 2) {
		bool id_ok;

		if (seg_is(segs[1], "get"))
			t->kind = JOBS_TOPICS_DESCRIBE;
		else if (seg_is(segs[1], "update"))
			t->kind = JOBS_TOPICS_UPDATE;
		else if (segs[1].len > 17 && memcmp(segs[1].p, "notify-namespace-", 17) == 0)
			t->kind = JOBS_TOPICS_IGNORE; /* AWS customer-namespace events: not ours */
		if (t->kind == JOBS_TOPICS_DESCRIBE || t->kind == JOBS_TOPICS_UPDATE) {
			id_ok = copy_name(segs[0], t->job_id, sizeof(t->job_id),
					  strutil_is_valid_job_id);
			if (!id_ok && t->kind == JOBS_TOPICS_DESCRIBE && seg_is(segs[0], "$next")) {
				strcpy(t->job_id, JOBS_TOPICS_NEXT);
				t->is_next = true;
				id_ok = true;
			}
			if (!id_ok)
				t->is_bad_name = true;
		}
	}
	if (t->kind != JOBS_TOPICS_IGNORE && t->kind != JOBS_TOPICS_INVALID && !thing_ok)
		t->is_bad_name = true;
	if (t->is_bad_name) {
		t->thing[0] = t->job_id[0] = '\0';
		t->is_next = false;
	}
}

static void parse_streams(struct seg thing, const char *rest, size_t len, struct jobs_topic *t)
{
	struct seg segs[3];
	size_t n = split(rest, len, segs, 3);
	bool names_ok;

	t->kind = JOBS_TOPICS_STREAM_INVALID;
	if (n <= 3) {
		if (seg_is(segs[n - 1], "json"))
			t->enc = JOBS_TOPICS_ENC_JSON;
		else if (seg_is(segs[n - 1], "cbor"))
			t->enc = JOBS_TOPICS_ENC_CBOR;
	}
	if (n == 3 && t->enc != JOBS_TOPICS_ENC_NONE) {
		if (seg_is(segs[1], "get"))
			t->kind = JOBS_TOPICS_STREAM_GET;
		else if (seg_is(segs[1], "describe"))
			t->kind = JOBS_TOPICS_STREAM_DESCRIBE;
		else if (seg_is(segs[1], "data") || seg_is(segs[1], "description") ||
			 seg_is(segs[1], "rejected"))
			t->kind = JOBS_TOPICS_IGNORE;
	}
	if (t->kind == JOBS_TOPICS_IGNORE) {
		t->enc = JOBS_TOPICS_ENC_NONE;
		return;
	}
	if (n == 3 && (seg_is(segs[1], "data") || seg_is(segs[1], "description") ||
		       seg_is(segs[1], "rejected"))) {
		t->kind = JOBS_TOPICS_IGNORE; /* ours, with an unknown encoding */
		t->enc = JOBS_TOPICS_ENC_NONE;
		return;
	}
	names_ok = copy_name(thing, t->thing, sizeof(t->thing), strutil_is_valid_thing_name);
	names_ok = copy_name(segs[0], t->stream, sizeof(t->stream), jobs_text_is_valid_stream_id) &&
		   names_ok;
	if (!names_ok) {
		t->is_bad_name = true;
		t->thing[0] = t->stream[0] = '\0';
	}
}

void jobs_topics_parse(const char *topic, size_t len, struct jobs_topic *t)
{
	const char *p, *slash;
	struct seg thing;
	size_t rest;

	memset(t, 0, sizeof(*t));
	t->kind = JOBS_TOPICS_NONE;
	if (!topic || len <= PREFIX_LEN || memchr(topic, '\0', len) ||
	    memcmp(topic, PREFIX, PREFIX_LEN) != 0)
		return;
	p = topic + PREFIX_LEN;
	rest = len - PREFIX_LEN;
	slash = memchr(p, '/', rest);
	if (!slash)
		return;
	thing.p = p;
	thing.len = (size_t)(slash - p);
	rest -= thing.len + 1;
	p = slash + 1;
	if (rest >= 4 && memcmp(p, "jobs", 4) == 0 && (rest == 4 || p[4] == '/')) {
		if (rest <= 5) {
			/* "P" or "P/": under P but no operation */
			t->kind = JOBS_TOPICS_INVALID;
			return;
		}
		parse_jobs(thing, p + 5, rest - 5, t);
	} else if (rest > 8 && memcmp(p, "streams/", 8) == 0) {
		parse_streams(thing, p + 8, rest - 8, t);
	}
}

bool jobs_topics_is_jobs_request(enum jobs_topics_kind kind)
{
	return kind == JOBS_TOPICS_GET_PENDING || kind == JOBS_TOPICS_START_NEXT ||
	       kind == JOBS_TOPICS_DESCRIBE || kind == JOBS_TOPICS_UPDATE ||
	       kind == JOBS_TOPICS_INVALID;
}

bool jobs_topics_is_stream_request(enum jobs_topics_kind kind)
{
	return kind == JOBS_TOPICS_STREAM_GET || kind == JOBS_TOPICS_STREAM_DESCRIBE ||
	       kind == JOBS_TOPICS_STREAM_INVALID;
}

/* snprintf into out; false (out = "") when truncated. */
static bool put(char *out, size_t cap, int n)
{
	if (n < 0 || (size_t)n >= cap) {
		if (cap > 0)
			out[0] = '\0';
		return false;
	}
	return true;
}

bool jobs_topics_reply(const char *request_topic, size_t len, bool accepted, char *out, size_t cap)
{
	const char *sfx = accepted ? "/accepted" : "/rejected";
	size_t n = strlen(sfx);

	if (!out || cap == 0)
		return false;
	out[0] = '\0';
	if (!request_topic || len > cap - 1 || cap - 1 - len < n ||
	    memchr(request_topic, '\0', len))
		return false;
	memcpy(out, request_topic, len);
	memcpy(out + len, sfx, n + 1);
	return true;
}

bool jobs_topics_request(enum jobs_topics_kind op, const char *thing, const char *job_id, char *out,
			 size_t cap)
{
	if (cap > 0)
		out[0] = '\0';
	if (!strutil_is_valid_thing_name(thing))
		return false;
	switch (op) {
	case JOBS_TOPICS_GET_PENDING:
		return put(out, cap, snprintf(out, cap, PREFIX "%s/jobs/get", thing));
	case JOBS_TOPICS_START_NEXT:
		return put(out, cap, snprintf(out, cap, PREFIX "%s/jobs/start-next", thing));
	case JOBS_TOPICS_DESCRIBE:
		if (!job_id || !(strutil_is_valid_job_id(job_id) || is_next(job_id)))
			return false;
		return put(out, cap, snprintf(out, cap, PREFIX "%s/jobs/%s/get", thing, job_id));
	case JOBS_TOPICS_UPDATE:
		if (!strutil_is_valid_job_id(job_id))
			return false;
		return put(out, cap, snprintf(out, cap, PREFIX "%s/jobs/%s/update", thing, job_id));
	default:
		return false;
	}
}

bool jobs_topics_notify(const char *thing, char *out, size_t cap)
{
	if (cap > 0)
		out[0] = '\0';
	if (!strutil_is_valid_thing_name(thing))
		return false;
	return put(out, cap, snprintf(out, cap, PREFIX "%s/jobs/notify", thing));
}

bool jobs_topics_notify_next(const char *thing, char *out, size_t cap)
{
	if (cap > 0)
		out[0] = '\0';
	if (!strutil_is_valid_thing_name(thing))
		return false;
	return put(out, cap, snprintf(out, cap, PREFIX "%s/jobs/notify-next", thing));
}

bool jobs_topics_stream(const char *thing, const char *stream, enum jobs_topics_stream_op op,
			enum jobs_topics_enc enc, char *out, size_t cap)
{
	static const char *const ops[] = { "get", "describe", "data", "description", "rejected" };
	const char *e;

	if (cap > 0)
		out[0] = '\0';
	if (!strutil_is_valid_thing_name(thing) || !jobs_text_is_valid_stream_id(stream) ||
	    (unsigned)op >= sizeof(ops) / sizeof(ops[0]))
		return false;
	if (enc == JOBS_TOPICS_ENC_JSON)
		e = "json";
	else if (enc == JOBS_TOPICS_ENC_CBOR)
		e = "cbor";
	else
		return false;
	return put(out, cap,
		   snprintf(out, cap, PREFIX "%s/streams/%s/%s/%s", thing, stream, ops[op], e));
}

const char *jobs_topics_kind_name(enum jobs_topics_kind kind)
{
	switch (kind) {
	case JOBS_TOPICS_NONE:
		return "none";
	case JOBS_TOPICS_IGNORE:
		return "ignore";
	case JOBS_TOPICS_GET_PENDING:
		return "get_pending";
	case JOBS_TOPICS_START_NEXT:
		return "start_next";
	case JOBS_TOPICS_DESCRIBE:
		return "describe";
	case JOBS_TOPICS_UPDATE:
		return "update";
	case JOBS_TOPICS_INVALID:
		return "invalid";
	case JOBS_TOPICS_STREAM_GET:
		return "stream_get";
	case JOBS_TOPICS_STREAM_DESCRIBE:
		return "stream_describe";
	case JOBS_TOPICS_STREAM_INVALID:
		return "stream_invalid";
	}
	return "unknown";
}
