#include "mqtt/streams.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/buf.h"
#include "core/log.h"
#include "core/metrics.h"
#include "db/jobs.h"
#include "jobs/streams.h"
#include "jobs/topics.h"
#include "mqtt/client.h"
#include "store/blobs.h"

#define STREAM_FILES_MAX 256

static struct blob_store *store;

static void free_store(void)
{
	blob_store_free(store);
	store = NULL;
}

static void count_request(const char *kind, const char *result)
{
	char labels[96];

	snprintf(labels, sizeof(labels), "kind=\"%s\",result=\"%s\"", kind, result);
	metrics_counter_add("bw_streams_requests_total", labels, 1);
}

/* Reply on topic op of the request's stream, to the requester only. */
static void send(const char *requester, const struct jobs_topic *t, enum jobs_topics_stream_op op,
		 const struct buf *payload, int qos)
{
	char topic[JOBS_TOPICS_MAX];
	int rc;

	if (!jobs_topics_stream(t->thing, t->stream, op, t->enc, topic, sizeof(topic)))
		return;
	rc = mqtt_client_publish_to(requester, topic, payload->data, payload->len, qos);
	if (rc != BW_OK)
		log_debug("streams", "publish_failed", LOG_S("topic", topic), LOG_I("rc", rc),
			  LOG_END);
}

static void reject(const char *requester, const struct jobs_topic *t, enum jobs_streams_err err,
		   const char *msg, const struct jobs_streams_request *r, int qos)
{
	struct buf b;

	buf_init(&b);
	if (jobs_streams_encode_rejected(t->enc, err, msg && *msg ? msg : NULL,
					 r->has_client_token ? r->client_token : NULL, &b))
		send(requester, t, JOBS_TOPICS_OP_REJECTED, &b, qos);
	buf_cleanup(&b);
	count_request(t->kind == JOBS_TOPICS_STREAM_DESCRIBE ? "describe" : "get",
		      jobs_streams_err_code(err));
}

static void serve_get(const char *requester, const struct jobs_topic *t,
		      const struct jobs_streams_request *r, int version,
		      const struct db_stream_file *files, size_t nfiles, int qos)
{
	const struct db_stream_file *f = NULL;
	uint32_t blocks[JOBS_STREAMS_BLOCKS_MAX];
	size_t nblocks = 0;
	enum jobs_streams_err err;
	unsigned char *data = NULL;
	uint64_t size = 0;
	int fd = -1;
	struct buf b;

	buf_init(&b);
	for (size_t i = 0; i < nfiles; i++)
		if (files[i].file_id == r->file_id)
			f = &files[i];
	if (!f) {
		reject(requester, t, JOBS_STREAMS_RESOURCE_NOT_FOUND, "no such file in the stream",
		       r, qos);
		return;
	}
	err = jobs_streams_select(r, f->size_bytes, version, blocks, JOBS_STREAMS_BLOCKS_MAX,
				  &nblocks);
	if (err != JOBS_STREAMS_OK) {
		reject(requester, t, err, NULL, r, qos);
		return;
	}
	if (blob_open(store, f->sha256, &fd, &size) != BLOB_OK || size != f->size_bytes ||
	    !(data = malloc(r->block_size))) {
		log_error("streams", "blob_unreadable", LOG_S("stream", t->stream),
			  LOG_S("sha256", f->sha256), LOG_END);
		reject(requester, t, JOBS_STREAMS_INTERNAL, "the file cannot be read", r, qos);
		goto out;
	}
	for (size_t i = 0; i < nblocks; i++) {
		uint64_t start;
		size_t len, got = 0;
		jobs_streams_block_range(r->block_size, size, blocks[i], &start, &len);
		while (got < len) {
			ssize_t k = pread(fd, data + got, len - got, (off_t)(start + got));
			if (k < 0 && errno == EINTR)
				continue;
			if (k <= 0)
				break;
			got += (size_t)k;
		}
		if (got != len) {
			reject(requester, t, JOBS_STREAMS_INTERNAL, "short read", r, qos);
			goto out;
		}
		b.len = 0;
		if (!jobs_streams_encode_data(t->enc, r->has_client_token ? r->client_token : NULL,
					      r->file_id, blocks[i], data, len, &b)) {
			reject(requester, t, JOBS_STREAMS_INTERNAL, "out of memory", r, qos);
			goto out;
		}
		send(requester, t, JOBS_TOPICS_OP_DATA, &b, qos);
	}
	metrics_counter_add("bw_streams_blocks_sent_total", NULL, (double)nblocks);
	count_request("get", "ok");
out:
	if (fd >= 0)
		close(fd);
	free(data);
	buf_cleanup(&b);
}

static void on_message(const struct mqtt_message *msg, void *arg)
{
	struct jobs_topic t;
	struct jobs_streams_request r;
	struct db_stream_file files[STREAM_FILES_MAX];
	size_t nfiles = 0;
	char *description = NULL, err_msg[160] = "";
	int version = 0, qos = msg->qos > 0 ? 1 : 0;
	enum jobs_streams_err err;
	(void)arg;

	jobs_topics_parse(msg->topic, msg->topic_len, &t);
	if (!jobs_topics_is_stream_request(t.kind) || t.enc == JOBS_TOPICS_ENC_NONE ||
	    t.is_bad_name || !t.thing[0] || !t.stream[0])
		return; /* ours, or no topic to answer on */
	const char *requester = msg->client_id[0] ? msg->client_id : t.thing;
	bool is_describe = t.kind == JOBS_TOPICS_STREAM_DESCRIBE;
	err = jobs_streams_parse(t.enc, is_describe, msg->payload, msg->payload_len, &r, err_msg,
				 sizeof(err_msg));
	if (t.kind == JOBS_TOPICS_STREAM_INVALID) {
		reject(requester, &t, JOBS_STREAMS_INVALID_TOPIC, NULL, &r, qos);
		goto out;
	}
	if (err != JOBS_STREAMS_OK) {
		reject(requester, &t, err, err_msg, &r, qos);
		goto out;
	}
	struct db *db = db_pool_get();
	if (!db) {
		reject(requester, &t, JOBS_STREAMS_INTERNAL, "busy, retry", &r, qos);
		goto out;
	}
	enum db_status st = db_jobs_stream_load(db, t.stream, &version, &description, files,
						STREAM_FILES_MAX, &nfiles);
	db_pool_put(db);
	if (st < 0) {
		reject(requester, &t, JOBS_STREAMS_INTERNAL, "database unavailable", &r, qos);
		goto out;
	}
	if (st == DB_NONE) {
		reject(requester, &t, JOBS_STREAMS_RESOURCE_NOT_FOUND, "no such stream", &r, qos);
		goto out;
	}
	if (is_describe) {
		struct jobs_streams_file df[STREAM_FILES_MAX];
		struct buf b;
		for (size_t i = 0; i < nfiles; i++) {
			df[i].file_id = files[i].file_id;
			df[i].size = files[i].size_bytes;
		}
		buf_init(&b);
		if (jobs_streams_encode_description(t.enc,
						    r.has_client_token ? r.client_token : NULL,
						    version, description, df, nfiles, &b))
			send(requester, &t, JOBS_TOPICS_OP_DESCRIPTION, &b, qos);
		buf_cleanup(&b);
		count_request("describe", "ok");
		goto out;
	}
	serve_get(requester, &t, &r, version, files, nfiles, qos);
out:
	free(description);
	jobs_streams_request_cleanup(&r);
}

enum bw_err mqtt_streams_register(struct mqtt_router *router, const struct config *cfg)
{
	char err[256];
	enum bw_err rc;

	if (!store) {
		store = blob_store_file_new(cfg->blob_dir, err, sizeof(err));
		if (!store) {
			log_error("streams", "blob_store_failed", LOG_S("error", err), LOG_END);
			return BW_ERR_INTERNAL;
		}
		atexit(free_store);
	}
	metrics_describe("bw_streams_requests_total", "counter",
			 "MQTT file-stream requests by kind and result (spec 9.3)");
	metrics_describe("bw_streams_blocks_sent_total", "counter",
			 "MQTT file-stream data blocks published");
	rc = mqtt_router_add(router, JOBS_TOPICS_STREAMS_FILTER, 1, on_message, NULL);
	if (rc != BW_OK)
		log_error("streams", "register_failed", LOG_S("error", bw_err_code(rc)), LOG_END);
	return rc;
}
