/*
 * bellwether-agent: the reference device agent for Linux-class devices. One thread, one loop:
 * curl_multi_poll() waits on the download sockets and the MQTT socket together; the protocol
 * decisions are agent_fsm's (agent/lib), this file only performs its actions: MQTT publishes,
 * a resumable HTTP download into DIR/download-<job>.part, verification, writing the inactive
 * slot, "reboot" (re-exec: with the file backend a process start is a power-on), self-test (a
 * command), confirm/rollback. Usage: bellwether-agent --help; agent/README.md.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <mosquitto.h>

#include "agent_config.h"
#include "agent_fsm.h"
#include "agent_proto.h"
#include "agent_slot.h"
#include "agent_stream.h"
#include "agent_verify.h"
#include "file.h"

struct opts {
	const char *thing, *host, *dir, *hardware_type, *initial_version, *trust_path;
	const char *config_path, *self_test_cmd;
	int port;
	uint32_t initial_security_version;
	int64_t confirm_delay_ms, health_interval_ms;
	bool is_exit_after_job;
	unsigned protocols; /* AGENT_PROTO_* */
	bool prefer_mqtt;
	uint32_t stream_block_size, stream_window;
	int64_t stream_timeout_ms;
	uint64_t download_rate; /* bytes/s, 0 = unlimited */
	bool is_stream_cbor;	/* --stream-encoding cbor */
};

static struct {
	struct opts o;
	char **argv;
	struct agent_slot slot;
	struct agent_trust trust;
	struct agent_fsm fsm;
	struct agent_options fopt;
	struct mosquitto *mosq;
	bool is_connected;
	int64_t reconnect_at_ms;
	int backoff_ms;
	CURLM *multi;
	CURL *easy;
	FILE *part;
	uint64_t got;
	bool is_first_write; /* of the current transfer: a 200 to a Range request restarts */
	/* --download-rate for HTTP: the write callback pauses the transfer when it runs ahead (our
	 * own pacing: CURLOPT_MAX_RECV_SPEED_LARGE does not hold on loopback with libcurl 7.88) */
	int64_t rate_start_ms;
	uint64_t rate_bytes;
	bool is_paused;
	int64_t resume_at_ms;
	struct agent_hash hash;
	/* MQTT file-stream download (spec 9.3) into the same staging file, at block offsets */
	bool is_streaming;
	char stream_job[AGENT_JOB_ID_MAX + 1]; /* the job being streamed (the FSM may move on) */
	struct agent_stream stream;
	struct agent_stream_policy stream_policy;
	int stream_fd;
	unsigned char *block_buf;
	uint32_t stream_unsaved; /* blocks stored since the progress record was last written */
	int64_t stream_saved_ms;
	unsigned stream_token;
	json_t *config;
	uint32_t crash_count;
	int64_t started_ms, health_at_ms;
	bool is_reboot_due, is_rollback_due, is_job_done;
	volatile sig_atomic_t is_stopping;
} A;

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void logf_(const char *event, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* One line per event on stderr: `agent <event>: <text>`. */
static void logf_(const char *event, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "bellwether-agent %s: ", event);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void path_in(char *buf, size_t cap, const char *name)
{
	snprintf(buf, cap, "%s/%s", A.o.dir, name);
}

/* Writes text to path atomically (temp + fsync + rename). */
static int write_atomic(const char *path, const char *text)
{
	char tmp[1100];
	int fd, rc = -1;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) == (ssize_t)strlen(text) && fsync(fd) == 0)
		rc = 0;
	close(fd);
	return rc == 0 ? rename(tmp, path) : -1;
}

/* agent-state.json: the FSM's persist record, the crash counter and a "running" marker. */
static void save_state(bool is_running)
{
	const struct agent_persist *p = &A.fsm.persist;
	char path[1024], *text;
	json_t *j;

	j = json_pack("{s:i,s:s,s:s,s:I,s:s,s:I,s:i,s:i,s:s,s:I,s:b}", "stage", (int)p->stage,
		      "job_id", p->job_id, "target_version", p->target_version,
		      "target_security_version", (json_int_t)p->target_security_version,
		      "prev_version", p->prev_version, "prev_security_version",
		      (json_int_t)p->prev_security_version, "prev_slot", p->prev_slot, "new_slot",
		      p->new_slot, "reason", p->reason, "crash_count", (json_int_t)A.crash_count,
		      "running", is_running);
	text = j != NULL ? json_dumps(j, JSON_COMPACT) : NULL;
	path_in(path, sizeof(path), "agent-state.json");
	if (text == NULL || write_atomic(path, text) != 0)
		logf_("state_write_failed", "%s: %s", path, strerror(errno));
	free(text);
	json_decref(j);
}

static void load_state(struct agent_persist *p)
{
	char path[1024];
	json_t *j;
	const char *s;

	memset(p, 0, sizeof(*p));
	path_in(path, sizeof(path), "agent-state.json");
	j = json_load_file(path, 0, NULL);
	if (j == NULL)
		return;
	p->stage = (enum agent_pending_stage)json_integer_value(json_object_get(j, "stage"));
	if (p->stage > AGENT_PENDING_ROLLBACK)
		p->stage = AGENT_PENDING_NONE;
#define STR(field, key)                                 \
	s = json_string_value(json_object_get(j, key)); \
	snprintf(p->field, sizeof(p->field), "%s", s != NULL ? s : "")
	STR(job_id, "job_id");
	STR(target_version, "target_version");
	STR(prev_version, "prev_version");
	STR(reason, "reason");
#undef STR
	p->target_security_version =
		(uint32_t)json_integer_value(json_object_get(j, "target_security_version"));
	p->prev_security_version =
		(uint32_t)json_integer_value(json_object_get(j, "prev_security_version"));
	p->prev_slot = (int)json_integer_value(json_object_get(j, "prev_slot")) ? 1 : 0;
	p->new_slot = (int)json_integer_value(json_object_get(j, "new_slot")) ? 1 : 0;
	A.crash_count = (uint32_t)json_integer_value(json_object_get(j, "crash_count"));
	if (json_is_true(json_object_get(j, "running")))
		A.crash_count++; /* the previous run ended without a clean exit or reboot */
	json_decref(j);
}

static void publish(const char *topic, const char *payload, int qos)
{
	if (A.is_connected)
		mosquitto_publish(A.mosq, NULL, topic, (int)strlen(payload), payload, qos, false);
}

static void feed(struct agent_event *ev);

static void part_path(char *buf, size_t cap)
{
	char name[AGENT_JOB_ID_MAX + 32];

	snprintf(name, sizeof(name), "download-%s.part", A.fsm.job_id);
	path_in(buf, cap, name);
}

static void download_stop(void)
{
	if (A.easy != NULL) {
		curl_multi_remove_handle(A.multi, A.easy);
		curl_easy_cleanup(A.easy);
		A.easy = NULL;
	}
	if (A.part != NULL) {
		fclose(A.part);
		A.part = NULL;
	}
}

static size_t on_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	size_t len = size * nmemb;
	long code = 0;
	struct agent_event ev = { .type = AGENT_EV_DOWNLOAD_PROGRESS };

	(void)userdata;
	curl_easy_getinfo(A.easy, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200 && code != 206)
		return len;
	if (A.o.download_rate > 0) {
		int64_t due = A.rate_start_ms + (int64_t)(A.rate_bytes * 1000 / A.o.download_rate);

		if (due > now_ms()) {
			A.is_paused = true;
			A.resume_at_ms = due;
			return CURL_WRITEFUNC_PAUSE; /* curl delivers the same bytes again later */
		}
		A.rate_bytes += len;
	}
	if (A.is_first_write && code == 200 && A.got > 0) { /* Range ignored: start over */
		if (ftruncate(fileno(A.part), 0) != 0 || fseek(A.part, 0, SEEK_SET) != 0)
			return 0;
		A.got = 0;
		agent_hash_reset(&A.hash);
	}
	A.is_first_write = false;
	if (A.got + len > A.fsm.doc.size_bytes || fwrite(ptr, 1, len, A.part) != len)
		return 0; /* larger than announced, or disk full: abort */
	agent_hash_update(&A.hash, ptr, len);
	A.got += len;
	ev.now_ms = now_ms();
	ev.bytes = A.got;
	feed(&ev);
	return len;
}

/* With --download-rate, a small receive buffer so that pacing the reads throttles the sender
 * (TCP flow control), as a slow link would; otherwise loopback buffers absorb whole images. */
static int on_sockopt(void *clientp, curl_socket_t fd, curlsocktype purpose)
{
	int size = 65536;

	(void)clientp;
	if (purpose == CURLSOCKTYPE_IPCXN &&
	    setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) != 0)
		logf_("sockopt_failed", "SO_RCVBUF: %s", strerror(errno));
	return CURL_SOCKOPT_OK;
}

/* Opens the staging file, re-hashes what a previous attempt (or process) kept, and resumes. */
static void download_start(void)
{
	struct agent_event ev = { .type = AGENT_EV_DOWNLOAD_DONE, .now_ms = now_ms() };
	char path[1100], buf[65536];
	size_t n;

	download_stop();
	part_path(path, sizeof(path));
	A.part = fopen(path, "a+b");
	if (A.part == NULL || !agent_hash_reset(&A.hash) || fseek(A.part, 0, SEEK_SET) != 0)
		goto fail;
	A.got = 0;
	while ((n = fread(buf, 1, sizeof(buf), A.part)) > 0) {
		agent_hash_update(&A.hash, buf, n);
		A.got += n;
	}
	if (A.got > A.fsm.doc.size_bytes) { /* not ours: start again */
		if (ftruncate(fileno(A.part), 0) != 0)
			goto fail;
		A.got = 0;
		agent_hash_reset(&A.hash);
	}
	if (A.got == A.fsm.doc.size_bytes) {
		fclose(A.part);
		A.part = NULL;
		ev.is_ok = true;
		feed(&ev);
		return;
	}
	A.easy = curl_easy_init();
	if (A.easy == NULL)
		goto fail;
	A.is_first_write = true;
	curl_easy_setopt(A.easy, CURLOPT_URL, A.fsm.doc.url);
	curl_easy_setopt(A.easy, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(A.easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(A.easy, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
	curl_easy_setopt(A.easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(A.easy, CURLOPT_LOW_SPEED_TIME, 60L);
	A.rate_start_ms = now_ms();
	A.rate_bytes = 0;
	A.is_paused = false;
	if (A.o.download_rate > 0)
		curl_easy_setopt(A.easy, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
	if (A.got > 0) {
		curl_easy_setopt(A.easy, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)A.got);
		logf_("download_resume", "job %s from byte %" PRIu64, A.fsm.job_id, A.got);
	}
	if (curl_multi_add_handle(A.multi, A.easy) == CURLM_OK)
		return;
	curl_easy_cleanup(A.easy);
	A.easy = NULL;
fail:
	download_stop();
	ev.is_retryable = true;
	snprintf(ev.reason, sizeof(ev.reason), "cannot start: %s", strerror(errno));
	feed(&ev);
}

static void check_multi(void)
{
	struct agent_event ev = { .type = AGENT_EV_DOWNLOAD_DONE };
	CURLMsg *m;
	long code = 0;
	int left;

	while ((m = curl_multi_info_read(A.multi, &left)) != NULL) {
		CURLcode res = m->data.result;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE, &code);
		if (A.part != NULL)
			fflush(A.part);
		download_stop();
		memset(&ev, 0, sizeof(ev));
		ev.type = AGENT_EV_DOWNLOAD_DONE;
		ev.now_ms = now_ms();
		if (res == CURLE_OK && (code == 200 || code == 206) &&
		    A.got == A.fsm.doc.size_bytes) {
			ev.is_ok = true;
		} else if (res != CURLE_OK || code == 200 || code == 206) {
			ev.is_retryable = true;
			snprintf(ev.reason, sizeof(ev.reason), "%s (%" PRIu64 " bytes)",
				 curl_easy_strerror(res), A.got);
		} else {
			ev.is_retryable = code >= 500 || code == 408 || code == 429;
			snprintf(ev.reason, sizeof(ev.reason), "HTTP %ld", code);
		}
		if (!ev.is_ok)
			logf_("download_failed", "%s%s", ev.reason,
			      ev.is_retryable ? " (will resume)" : "");
		feed(&ev);
	}
}

/* ---- MQTT file streams: $aws/things/T/streams/S/{get,data,rejected}/json ---- */

static void stream_topic(const char *op, char *buf, size_t cap)
{
	snprintf(buf, cap, "$aws/things/%s/streams/%s/%s/%s", A.o.thing, A.stream.name, op,
		 A.stream.is_cbor ? "cbor" : "json");
}

/* DIR/download-<job>.<ext>: "part" (the staging file) or "blocks" (which blocks of it are
 * stored, agent_stream's progress record). */
static void staging_path(const char *job, const char *ext, char *buf, size_t cap)
{
	char name[AGENT_JOB_ID_MAX + 32];

	snprintf(name, sizeof(name), "download-%s.%s", job, ext);
	path_in(buf, cap, name);
}

static void stream_subscribe(void)
{
	char data[AGENT_TOPIC_MAX + 160], rejected[AGENT_TOPIC_MAX + 160];
	char *subs[2] = { data, rejected };

	if (!A.is_streaming || !A.is_connected)
		return;
	stream_topic("data", data, sizeof(data));
	stream_topic("rejected", rejected, sizeof(rejected));
	mosquitto_subscribe_multiple(A.mosq, NULL, 2, subs, 0, 0, NULL);
}

/* Writes the progress record after the blocks it names reached the disk. */
static void stream_save(void)
{
	char path[1100], *text;

	if (fdatasync(A.stream_fd) != 0) {
		logf_("stream_sync_failed", "%s", strerror(errno));
		return;
	}
	text = agent_stream_progress(&A.stream);
	staging_path(A.stream_job, "blocks", path, sizeof(path));
	if (text == NULL || write_atomic(path, text) != 0)
		logf_("stream_progress_write_failed", "%s", path);
	free(text);
	A.stream_unsaved = 0;
	A.stream_saved_ms = now_ms();
}

/* Ends the stream download; is_discard (the job was canceled) also deletes its staging files,
 * otherwise the progress is saved for a later attempt. */
static void stream_stop(bool is_discard)
{
	char data[AGENT_TOPIC_MAX + 160], rejected[AGENT_TOPIC_MAX + 160], path[1100];
	char *subs[2] = { data, rejected };

	if (!A.is_streaming)
		return;
	if (A.stream_unsaved > 0 && !is_discard)
		stream_save();
	if (A.is_connected) {
		stream_topic("data", data, sizeof(data));
		stream_topic("rejected", rejected, sizeof(rejected));
		mosquitto_unsubscribe_multiple(A.mosq, NULL, 2, subs, NULL);
	}
	close(A.stream_fd);
	A.stream_fd = -1;
	free(A.block_buf);
	A.block_buf = NULL;
	agent_stream_cleanup(&A.stream);
	A.is_streaming = false;
	if (is_discard) {
		staging_path(A.stream_job, "part", path, sizeof(path));
		unlink(path);
		staging_path(A.stream_job, "blocks", path, sizeof(path));
		unlink(path);
	}
}

static void stream_finish(bool is_ok, bool is_retryable, const char *reason)
{
	struct agent_event ev = { .type = AGENT_EV_DOWNLOAD_DONE, .now_ms = now_ms() };

	stream_stop(false);
	ev.is_ok = is_ok;
	ev.is_retryable = is_retryable;
	snprintf(ev.reason, sizeof(ev.reason), "%s", reason);
	if (!is_ok)
		logf_("download_failed", "%s%s", reason, is_retryable ? " (will resume)" : "");
	feed(&ev);
}

/* Every block is stored: hash the staging file in order (blocks came in any order). */
static void stream_complete(void)
{
	char buf[65536];
	ssize_t n;
	off_t off = 0;

	stream_save();
	logf_("stream_complete",
	      "job %s: %" PRIu32 " blocks, %" PRIu64 " requests, %" PRIu64 " duplicates",
	      A.fsm.job_id, A.stream.nblocks, A.stream.requests, A.stream.duplicates);
	if (!agent_hash_reset(&A.hash)) {
		stream_finish(false, true, "out of memory");
		return;
	}
	while ((n = pread(A.stream_fd, buf, sizeof(buf), off)) > 0) {
		agent_hash_update(&A.hash, buf, (size_t)n);
		off += n;
	}
	if (n < 0 || (uint64_t)off != A.stream.size) {
		stream_finish(false, true, "cannot read back the staging file");
		return;
	}
	stream_finish(true, false, "");
}

/* Opens the staging file and the progress record of a previous attempt (or process), and
 * starts asking for the missing blocks. */
static void stream_start(void)
{
	char path[1100], *text = NULL;
	FILE *f;
	long len;

	download_stop();
	stream_stop(false);
	snprintf(A.stream_job, sizeof(A.stream_job), "%s", A.fsm.job_id);
	if (!agent_stream_init(&A.stream, A.fsm.doc.stream, A.fsm.doc.file_id, A.fsm.doc.size_bytes,
			       A.o.stream_block_size, A.o.stream_window) ||
	    (A.block_buf = malloc(A.stream.block_size)) == NULL) {
		agent_stream_cleanup(&A.stream);
		stream_finish(false, false, "cannot set up the stream download");
		return;
	}
	A.stream.is_cbor = A.o.is_stream_cbor;
	staging_path(A.stream_job, "part", path, sizeof(path));
	A.stream_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (A.stream_fd < 0) {
		free(A.block_buf);
		A.block_buf = NULL;
		agent_stream_cleanup(&A.stream);
		stream_finish(false, true, "cannot open the staging file");
		return;
	}
	A.is_streaming = true;
	staging_path(A.stream_job, "blocks", path, sizeof(path));
	f = fopen(path, "rb");
	if (f != NULL && fseek(f, 0, SEEK_END) == 0 && (len = ftell(f)) > 0 && len < (1L << 20) &&
	    fseek(f, 0, SEEK_SET) == 0 && (text = calloc(1, (size_t)len + 1)) != NULL &&
	    fread(text, 1, (size_t)len, f) == (size_t)len &&
	    agent_stream_progress_load(&A.stream, text)) {
		logf_("stream_resume",
		      "job %s from %" PRIu32 "/%" PRIu32 " blocks (%" PRIu64 " bytes kept)",
		      A.fsm.job_id, A.stream.have_count, A.stream.nblocks, A.stream.have_bytes);
	} else if (ftruncate(A.stream_fd, 0) != 0) {
		logf_("stream_truncate_failed", "%s", strerror(errno));
	}
	if (f != NULL)
		fclose(f);
	free(text);
	A.got = A.stream.have_bytes;
	A.stream_unsaved = 0;
	A.stream_saved_ms = now_ms();
	logf_("stream_start", "job %s: stream %s file %d (%s), %" PRIu32 " blocks of %" PRIu32,
	      A.fsm.job_id, A.stream.name, A.stream.file_id, A.stream.is_cbor ? "cbor" : "json",
	      A.stream.nblocks, A.stream.block_size);
	stream_subscribe();
	if (agent_stream_is_complete(&A.stream))
		stream_complete();
}

/* Sends the next request when due, gives up after too many silent ones, saves progress. */
static void stream_tick(int64_t now)
{
	char topic[AGENT_TOPIC_MAX + 160], token[32];
	uint32_t count;
	size_t len;
	void *req;
	int due;

	if (!A.is_streaming)
		return;
	if (A.stream_unsaved > 0 && now - A.stream_saved_ms >= 1000)
		stream_save();
	if (!A.is_connected)
		return;
	due = agent_stream_due(&A.stream, &A.stream_policy, now);
	if (due < 0) {
		char reason[96];

		snprintf(reason, sizeof(reason), "no stream data after %d requests",
			 A.stream_policy.max_idle);
		stream_finish(false, true, reason);
		return;
	}
	if (due == 0)
		return;
	snprintf(token, sizeof(token), "%u", ++A.stream_token);
	req = agent_stream_request(&A.stream, token, &count, &len);
	if (req == NULL)
		return;
	stream_topic("get", topic, sizeof(topic));
	/* QoS 0 like FreeRTOS; a lost request times out */
	mosquitto_publish(A.mosq, NULL, topic, (int)len, req, 0, false);
	free(req);
	agent_stream_sent(&A.stream, &A.stream_policy, count, now);
}

static void stream_on_data(const void *payload, size_t len)
{
	struct agent_event ev = { .type = AGENT_EV_DOWNLOAD_PROGRESS };
	char err[96];
	uint32_t index;
	uint64_t off;
	size_t n, done = 0;

	if (agent_stream_parse_data(&A.stream, payload, len, &index, A.block_buf,
				    A.stream.block_size, &n, err,
				    sizeof(err)) != AGENT_STREAM_MSG_BLOCK) {
		logf_("stream_bad_block", "%s", err);
		return;
	}
	if (agent_stream_has(&A.stream, index)) {
		agent_stream_mark(&A.stream, index); /* counts the duplicate */
		return;
	}
	agent_stream_block_range(&A.stream, index, &off, &n);
	while (done < n) {
		ssize_t k = pwrite(A.stream_fd, A.block_buf + done, n - done, (off_t)(off + done));

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			stream_finish(false, true, "cannot write the staging file");
			return;
		}
		done += (size_t)k;
	}
	agent_stream_mark(&A.stream, index);
	A.got = A.stream.have_bytes;
	if (++A.stream_unsaved >= 64)
		stream_save();
	if (agent_stream_is_complete(&A.stream)) {
		stream_complete();
		return;
	}
	ev.now_ms = now_ms();
	ev.bytes = A.got;
	feed(&ev);
}

static void stream_on_rejected(const void *payload, size_t len)
{
	char code[64], msg[120], reason[AGENT_REASON_MAX + 1];

	if (agent_stream_parse_rejected(&A.stream, payload, len, code, sizeof(code), msg,
					sizeof(msg)) != AGENT_STREAM_MSG_REJECTED)
		return;
	snprintf(reason, sizeof(reason), "stream %.44s rejected: %.40s %.80s", A.stream.name, code,
		 msg);
	stream_finish(false, agent_stream_rejected_is_retryable(code), reason);
}

/* Copies the verified staging file into the inactive slot and marks it pending. */
static bool install(char *reason, size_t cap)
{
	const struct agent_slot_ops *ops = A.slot.ops;
	char path[1100], buf[65536];
	FILE *f;
	size_t n;
	bool ok = false;

	part_path(path, sizeof(path));
	f = fopen(path, "rb");
	if (f == NULL || ops->write_begin(A.slot.ctx, A.fsm.doc.size_bytes) != 0) {
		snprintf(reason, cap, "cannot open the image or the inactive slot");
		goto out;
	}
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
		if (ops->write(A.slot.ctx, buf, n) != 0)
			break;
	if (n > 0 || ferror(f)) {
		ops->write_end(A.slot.ctx, false);
		snprintf(reason, cap, "writing the inactive slot failed");
		goto out;
	}
	if (ops->write_end(A.slot.ctx, true) != 0 ||
	    ops->mark_pending(A.slot.ctx,
			      A.fsm.doc.version[0] ? A.fsm.doc.version : A.fsm.dev.version,
			      A.fsm.doc.has_security_version ? A.fsm.doc.security_version
							     : A.fsm.dev.security_version) != 0) {
		snprintf(reason, cap, "committing the inactive slot failed");
		goto out;
	}
	ok = true;
	unlink(path);
	staging_path(A.fsm.job_id, "blocks", path, sizeof(path));
	unlink(path);
out:
	if (f != NULL)
		fclose(f);
	return ok;
}

static bool run_self_test(char *reason, size_t cap)
{
	int status;

	if (A.o.self_test_cmd == NULL)
		return true;
	status = system(A.o.self_test_cmd);
	if (status == 0)
		return true;
	snprintf(reason, cap, "'%s' exited with %d", A.o.self_test_cmd,
		 WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return false;
}

static void run_actions(struct agent_actions *acts)
{
	struct agent_event ev;
	unsigned char digest[32];
	size_t i;

	if (acts->is_oom)
		logf_("out_of_memory", "an action could not be built");
	for (i = 0; i < acts->count; i++) {
		struct agent_action *a = &acts->items[i];

		memset(&ev, 0, sizeof(ev));
		ev.now_ms = now_ms();
		switch (a->type) {
		case AGENT_ACT_PUBLISH:
			publish(a->topic, a->payload, a->qos);
			break;
		case AGENT_ACT_DOWNLOAD:
			if (a->is_mqtt)
				stream_start();
			else
				download_start();
			break;
		case AGENT_ACT_CANCEL_DOWNLOAD:
			if (A.easy != NULL || A.is_streaming)
				logf_("download_canceled", "the job is no longer pending");
			download_stop();
			stream_stop(true);
			break;
		case AGENT_ACT_VERIFY:
			ev.type = AGENT_EV_VERIFIED;
			ev.is_ok = agent_hash_final(&A.hash, digest) &&
				   agent_verify_image(&A.trust, &A.fsm.doc, &A.fsm.dev, digest,
						      ev.reason, sizeof(ev.reason));
			if (!ev.is_ok) {
				char path[1100];

				part_path(path, sizeof(path));
				unlink(path); /* never resume from a bad image */
				staging_path(A.fsm.job_id, "blocks", path, sizeof(path));
				unlink(path);
			}
			feed(&ev);
			break;
		case AGENT_ACT_INSTALL:
			ev.type = AGENT_EV_INSTALLED;
			ev.is_ok = install(ev.reason, sizeof(ev.reason));
			feed(&ev);
			break;
		case AGENT_ACT_PERSIST:
			save_state(true);
			break;
		case AGENT_ACT_REBOOT:
			A.is_reboot_due = true;
			break;
		case AGENT_ACT_SELF_TEST:
			ev.type = AGENT_EV_SELF_TEST_DONE;
			ev.is_ok = run_self_test(ev.reason, sizeof(ev.reason));
			feed(&ev);
			break;
		case AGENT_ACT_CONFIRM:
			if (A.slot.ops->confirm(A.slot.ctx) != 0)
				logf_("confirm_failed", "slot backend could not confirm");
			break;
		case AGENT_ACT_ROLLBACK:
			A.slot.ops->rollback(A.slot.ctx);
			A.is_reboot_due = true;
			break;
		case AGENT_ACT_JOB_DONE:
			logf_("job_done", "%s %s: %s", a->topic, a->status, a->reason);
			A.is_job_done = true;
			break;
		}
	}
}

static void feed(struct agent_event *ev)
{
	struct agent_actions acts = { 0 };

	agent_fsm_handle(&A.fsm, ev, &acts);
	run_actions(&acts);
	agent_actions_clear(&acts);
}

static void apply_delta(json_t *delta)
{
	struct agent_actions acts = { 0 };
	char *report, *text;
	int is_oom;

	report = agent_config_apply(A.config, delta, &is_oom);
	if (report == NULL)
		return;
	text = json_dumps(A.config, JSON_INDENT(2));
	if (text == NULL || write_atomic(A.o.config_path, text) != 0)
		logf_("config_write_failed", "%s", A.o.config_path);
	else
		logf_("config_applied", "%s", report);
	free(text);
	/* the FSM adds a clientToken and sends it again after a 429 */
	agent_fsm_config_report(&A.fsm, report, now_ms(), &acts);
	run_actions(&acts);
	agent_actions_clear(&acts);
	free(report);
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	char topics[AGENT_PROTO_SUBSCRIPTIONS][AGENT_TOPIC_MAX], *subs[AGENT_PROTO_SUBSCRIPTIONS];
	struct agent_event ev = { .type = AGENT_EV_CONNECTED };
	size_t n, i;

	(void)obj;
	if (rc != 0) {
		logf_("connect_refused", "%s", mosquitto_connack_string(rc));
		return;
	}
	n = agent_proto_subscriptions(A.o.thing, topics, AGENT_PROTO_SUBSCRIPTIONS);
	for (i = 0; i < n; i++)
		subs[i] = topics[i];
	mosquitto_subscribe_multiple(m, NULL, (int)n, subs, 1, 0, NULL);
	A.is_connected = true;
	A.backoff_ms = 0;
	logf_("connected", "%s:%d as %s", A.o.host, A.o.port, A.o.thing);
	ev.now_ms = now_ms();
	feed(&ev);	      /* also asks for the shadow (get), for a delta missed while away */
	if (A.is_streaming) { /* clean session: subscribe again, ask again for what is missing */
		agent_stream_pause(&A.stream);
		stream_subscribe();
	}
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	struct agent_event ev = { 0 };
	struct agent_execution ex;
	json_t *delta = NULL;
	enum agent_msg_kind kind;

	(void)m;
	(void)obj;
	if (A.is_streaming) {
		char topic[AGENT_TOPIC_MAX + 160];

		stream_topic("data", topic, sizeof(topic));
		if (strcmp(msg->topic, topic) == 0) {
			stream_on_data(msg->payload, (size_t)msg->payloadlen);
			return;
		}
		stream_topic("rejected", topic, sizeof(topic));
		if (strcmp(msg->topic, topic) == 0) {
			stream_on_rejected(msg->payload, (size_t)msg->payloadlen);
			return;
		}
	}
	memset(&ex, 0, sizeof(ex));
	kind = agent_proto_parse(A.o.thing, msg->topic, msg->payload, (size_t)msg->payloadlen, &ev,
				 &ex, &delta);
	ev.now_ms = now_ms();
	if (kind == AGENT_MSG_EVENT)
		feed(&ev);
	else if (kind == AGENT_MSG_SHADOW_DELTA)
		apply_delta(delta);
	json_decref(delta);
	agent_doc_cleanup(&ex.doc);
}

static void link_lost(int64_t now)
{
	struct agent_event ev = { .type = AGENT_EV_DISCONNECTED, .now_ms = now };

	if (A.is_connected) {
		A.is_connected = false;
		logf_("disconnected", "reconnecting with backoff");
		if (A.is_streaming)
			agent_stream_pause(&A.stream);
		feed(&ev);
	}
	A.backoff_ms =
		A.backoff_ms == 0 ? 1000 : (A.backoff_ms >= 30000 ? 60000 : A.backoff_ms * 2);
	A.reconnect_at_ms = now + A.backoff_ms / 2 + rand() % (A.backoff_ms / 2 + 1);
}

static void publish_health(int64_t now)
{
	struct agent_health h = { 0 };
	char topic[AGENT_TOPIC_MAX], *s;

	h.boot_count = A.fsm.dev.boot_count;
	h.crash_count = A.crash_count;
	h.uptime_s = (uint64_t)((now - A.started_ms) / 1000);
	h.gauge_count = 1;
	h.gauge_names[0] = "download_bytes";
	h.gauge_values[0] = (double)A.got;
	s = agent_health_report(&h);
	if (s == NULL)
		return;
	agent_proto_shadow_topic(A.o.thing, "update", topic, sizeof(topic));
	publish(topic, s, 0);
	free(s);
}

/* Flushes queued publishes (bounded), disconnects, and re-executes: the next "boot". */
static void reboot(void)
{
	int64_t until = now_ms() + 2000;

	while (A.is_connected && mosquitto_want_write(A.mosq) && now_ms() < until)
		mosquitto_loop(A.mosq, 50, 1);
	if (A.is_connected)
		mosquitto_disconnect(A.mosq);
	download_stop();
	stream_stop(false);
	save_state(false);
	logf_("reboot", "restarting into the pending slot");
	fflush(NULL);
	execv("/proc/self/exe", A.argv);
	logf_("reboot_failed", "execv: %s", strerror(errno));
	exit(1);
}

static void on_stop(int sig)
{
	(void)sig;
	A.is_stopping = 1;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bellwether-agent --thing NAME --slot-dir DIR --trust-list FILE [options]\n"
		"  --mqtt HOST:PORT          broker (default 127.0.0.1:1883)\n"
		"  --hardware-type TYPE      default sim-board\n"
		"  --initial-version V       slot A's version when DIR is new (default 1.0.0)\n"
		"  --initial-security-version N  (default 0)\n"
		"  --config-store FILE       shadow config store (default DIR/config.json)\n"
		"  --self-test CMD           run on a new image; exit 0 = healthy\n"
		"  --confirm-delay-ms MS     healthy time before SUCCEEDED (default 10000)\n"
		"  --health-interval-s S     reported.health period (default 60)\n"
		"  --exit-after-job          exit 0 once a job's final status is accepted\n"
		"  --protocols LIST          download protocols: http,mqtt (default both)\n"
		"  --prefer-mqtt             MQTT streams when a job offers both (default HTTP)\n"
		"  --stream-block-size N     MQTT stream block bytes, 256..131072 (default 4096)\n"
		"  --stream-window N         blocks per stream request (default: 128 KiB worth)\n"
		"  --stream-timeout-ms MS    re-request after this silence (default 10000)\n"
		"  --stream-encoding E       json or cbor (FreeRTOS's; default json)\n"
		"  --download-rate B         limit downloads to about B bytes/s (default none)\n");
}

static bool parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{ "thing", required_argument, NULL, 't' },
		{ "mqtt", required_argument, NULL, 'm' },
		{ "slot-dir", required_argument, NULL, 'd' },
		{ "trust-list", required_argument, NULL, 'T' },
		{ "hardware-type", required_argument, NULL, 'H' },
		{ "initial-version", required_argument, NULL, 'v' },
		{ "initial-security-version", required_argument, NULL, 's' },
		{ "config-store", required_argument, NULL, 'c' },
		{ "self-test", required_argument, NULL, 'x' },
		{ "confirm-delay-ms", required_argument, NULL, 'C' },
		{ "health-interval-s", required_argument, NULL, 'i' },
		{ "exit-after-job", no_argument, NULL, 'e' },
		{ "protocols", required_argument, NULL, 'P' },
		{ "prefer-mqtt", no_argument, NULL, 'M' },
		{ "stream-block-size", required_argument, NULL, 'B' },
		{ "stream-window", required_argument, NULL, 'W' },
		{ "stream-timeout-ms", required_argument, NULL, 'O' },
		{ "download-rate", required_argument, NULL, 'R' },
		{ "stream-encoding", required_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static char host[256];
	int opt;

	memset(o, 0, sizeof(*o));
	o->host = "127.0.0.1";
	o->port = 1883;
	o->hardware_type = "sim-board";
	o->initial_version = "1.0.0";
	o->confirm_delay_ms = 10000;
	o->health_interval_ms = 60000;
	o->protocols = AGENT_PROTO_HTTP | AGENT_PROTO_MQTT;
	o->stream_timeout_ms = 10000;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 't':
			o->thing = optarg;
			break;
		case 'm': {
			const char *colon = strrchr(optarg, ':');

			if (colon == NULL || (size_t)(colon - optarg) >= sizeof(host))
				return false;
			snprintf(host, sizeof(host), "%.*s", (int)(colon - optarg), optarg);
			o->host = host;
			o->port = atoi(colon + 1);
			break;
		}
		case 'd':
			o->dir = optarg;
			break;
		case 'T':
			o->trust_path = optarg;
			break;
		case 'H':
			o->hardware_type = optarg;
			break;
		case 'v':
			o->initial_version = optarg;
			break;
		case 's':
			o->initial_security_version = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'c':
			o->config_path = optarg;
			break;
		case 'x':
			o->self_test_cmd = optarg;
			break;
		case 'C':
			o->confirm_delay_ms = strtoll(optarg, NULL, 10);
			break;
		case 'i':
			o->health_interval_ms = strtoll(optarg, NULL, 10) * 1000;
			break;
		case 'e':
			o->is_exit_after_job = true;
			break;
		case 'P':
			if (strcmp(optarg, "http") == 0)
				o->protocols = AGENT_PROTO_HTTP;
			else if (strcmp(optarg, "mqtt") == 0)
				o->protocols = AGENT_PROTO_MQTT;
			else if (strcmp(optarg, "http,mqtt") == 0 ||
				 strcmp(optarg, "mqtt,http") == 0)
				o->protocols = AGENT_PROTO_HTTP | AGENT_PROTO_MQTT;
			else
				return false;
			break;
		case 'M':
			o->prefer_mqtt = true;
			break;
		case 'B':
			o->stream_block_size = (uint32_t)strtoul(optarg, NULL, 10);
			if (o->stream_block_size < AGENT_STREAM_BLOCK_MIN ||
			    o->stream_block_size > AGENT_STREAM_BLOCK_MAX)
				return false;
			break;
		case 'W':
			o->stream_window = (uint32_t)strtoul(optarg, NULL, 10);
			break;
		case 'O':
			o->stream_timeout_ms = strtoll(optarg, NULL, 10);
			if (o->stream_timeout_ms < 100)
				return false;
			break;
		case 'R':
			o->download_rate = strtoull(optarg, NULL, 10);
			break;
		case 'E':
			if (strcmp(optarg, "json") != 0 && strcmp(optarg, "cbor") != 0)
				return false;
			o->is_stream_cbor = strcmp(optarg, "cbor") == 0;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			return false;
		}
	}
	return optind == argc && o->thing != NULL && o->dir != NULL && o->trust_path != NULL &&
	       o->port > 0 && o->port < 65536 && strlen(o->thing) <= AGENT_THING_MAX &&
	       o->confirm_delay_ms >= 0 && o->health_interval_ms > 0;
}

int main(int argc, char **argv)
{
	static char config_default[1100];
	struct agent_slot_info info;
	struct agent_device dev = { 0 };
	struct agent_persist persist;
	struct agent_actions acts = { 0 };
	char err[256];
	int rc = 1;

	A.argv = argv;
	if (!parse_args(argc, argv, &A.o)) {
		usage(stderr);
		return 2;
	}
	if (A.o.config_path == NULL) {
		snprintf(config_default, sizeof(config_default), "%s/config.json", A.o.dir);
		A.o.config_path = config_default;
	}
	signal(SIGINT, on_stop);
	signal(SIGTERM, on_stop);
	signal(SIGPIPE, SIG_IGN);
	srand((unsigned)getpid());
	mosquitto_lib_init();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (slots_file_open(&A.slot, A.o.dir, A.o.initial_version, A.o.initial_security_version,
			    err, sizeof(err)) != 0 ||
	    !agent_trust_load_file(&A.trust, A.o.trust_path, err, sizeof(err))) {
		logf_("startup_failed", "%s", err);
		goto out;
	}
	A.config = json_load_file(A.o.config_path, 0, NULL);
	if (!json_is_object(A.config)) {
		json_decref(A.config);
		A.config = json_object();
	}
	if (A.slot.ops->boot(A.slot.ctx, &info) != 0) {
		logf_("boot_failed", "cannot update the boot state in %s", A.o.dir);
		goto out;
	}
	load_state(&persist);
	snprintf(dev.thing, sizeof(dev.thing), "%s", A.o.thing);
	snprintf(dev.hardware_type, sizeof(dev.hardware_type), "%s", A.o.hardware_type);
	snprintf(dev.version, sizeof(dev.version), "%s", info.version);
	dev.security_version = info.security_version;
	dev.running_slot = info.slot;
	dev.is_trial_boot = info.is_trial;
	dev.boot_count = info.boot_count;
	logf_("boot", "slot %c version %s%s, boot %" PRIu32, info.slot ? 'B' : 'A', info.version,
	      info.is_trial ? " (trial)" : "", info.boot_count);
	agent_options_default(&A.fopt);
	A.fopt.confirm_delay_ms = A.o.confirm_delay_ms;
	A.fopt.protocols = A.o.protocols;
	A.fopt.prefer_mqtt = A.o.prefer_mqtt;
	agent_stream_policy_default(&A.stream_policy);
	A.stream_policy.timeout_ms = A.o.stream_timeout_ms;
	A.stream_policy.rate_bps = A.o.download_rate;
	A.stream_fd = -1;
	A.fsm.persist = persist;
	save_state(true);
	agent_fsm_boot(&A.fsm, &A.fopt, &dev, &persist, now_ms(), &acts);
	A.started_ms = now_ms();
	A.health_at_ms = A.started_ms + 5000;
	A.multi = curl_multi_init();
	A.mosq = mosquitto_new(A.o.thing, true, NULL);
	if (A.multi == NULL || A.mosq == NULL)
		goto out;
	mosquitto_int_option(A.mosq, MOSQ_OPT_TCP_NODELAY, 1);
	mosquitto_connect_callback_set(A.mosq, on_connect);
	mosquitto_message_callback_set(A.mosq, on_message);
	run_actions(&acts);
	agent_actions_clear(&acts);
	if (mosquitto_connect(A.mosq, A.o.host, A.o.port, 60) != MOSQ_ERR_SUCCESS)
		link_lost(now_ms());
	while (!A.is_stopping) {
		struct curl_waitfd wfd = { .fd = mosquitto_socket(A.mosq),
					   .events = CURL_WAIT_POLLIN };
		int64_t now;
		int running, nfds = 0;

		if (wfd.fd >= 0 && mosquitto_want_write(A.mosq))
			wfd.events |= CURL_WAIT_POLLOUT;
		/* finer steps while pacing a download or streaming blocks */
		curl_multi_poll(A.multi, &wfd, wfd.fd >= 0 ? 1 : 0,
				A.is_paused || A.is_streaming ? 50 : 200, &nfds);
		now = now_ms();
		if (A.is_paused && A.easy != NULL && now >= A.resume_at_ms) {
			A.is_paused = false;
			curl_easy_pause(A.easy, CURLPAUSE_CONT);
		}
		curl_multi_perform(A.multi, &running);
		check_multi();
		stream_tick(now);
		if (wfd.fd >= 0) {
			int mrc = MOSQ_ERR_SUCCESS;

			if (wfd.revents & (CURL_WAIT_POLLIN | CURL_WAIT_POLLPRI))
				mrc = mosquitto_loop_read(A.mosq, 1);
			if (mrc == MOSQ_ERR_SUCCESS && mosquitto_want_write(A.mosq))
				mrc = mosquitto_loop_write(A.mosq, 1);
			if (mrc == MOSQ_ERR_SUCCESS)
				mrc = mosquitto_loop_misc(A.mosq);
			if (mrc != MOSQ_ERR_SUCCESS)
				link_lost(now);
		} else if (A.reconnect_at_ms != 0 && now >= A.reconnect_at_ms) {
			A.reconnect_at_ms = 0;
			if (mosquitto_reconnect(A.mosq) != MOSQ_ERR_SUCCESS)
				link_lost(now);
		}
		if (A.fsm.wake_ms != 0 && now >= A.fsm.wake_ms) {
			struct agent_event ev = { .type = AGENT_EV_TICK, .now_ms = now };

			feed(&ev);
		}
		if (now >= A.health_at_ms) {
			A.health_at_ms = now + A.o.health_interval_ms;
			publish_health(now);
		}
		if (A.is_reboot_due)
			reboot();
		if (A.o.is_exit_after_job && A.is_job_done && !A.fsm.has_report &&
		    A.fsm.state == AGENT_IDLE)
			break;
	}
	rc = 0;
out:
	download_stop();
	stream_stop(false);
	if (A.mosq != NULL) {
		if (A.is_connected) {
			int64_t until = now_ms() + 1000;

			while (mosquitto_want_write(A.mosq) && now_ms() < until)
				mosquitto_loop(A.mosq, 50, 1);
			mosquitto_disconnect(A.mosq);
		}
		mosquitto_destroy(A.mosq);
	}
	if (rc == 0)
		save_state(false);
	if (A.multi != NULL)
		curl_multi_cleanup(A.multi);
	if (A.slot.ops != NULL)
		A.slot.ops->close(A.slot.ctx);
	agent_trust_cleanup(&A.trust);
	agent_hash_cleanup(&A.hash);
	agent_fsm_cleanup(&A.fsm);
	json_decref(A.config);
	curl_global_cleanup();
	mosquitto_lib_cleanup();
	return rc;
}
