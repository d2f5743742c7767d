#include "retry.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static void slot_free(struct sim_request *q)
{
	free(q->topic);
	free(q->payload);
	memset(q, 0, sizeof(*q));
}

static void update_next(struct sim_retry *r)
{
	size_t i;

	r->next_retry_ms = 0;
	for (i = 0; i < SIM_RETRY_SLOTS; i++) {
		int64_t t = r->slots[i].retry_at_ms;

		if (r->slots[i].token[0] != '\0' && t != 0 &&
		    (r->next_retry_ms == 0 || t < r->next_retry_ms))
			r->next_retry_ms = t;
	}
}

bool sim_retry_add(struct sim_retry *r, const char *token, const char *topic, const char *payload,
		   int qos, int64_t now_ms)
{
	struct sim_request *q = NULL;
	size_t i;

	if (token[0] == '\0' || strlen(token) > SIM_RETRY_TOKEN_MAX)
		return false;
	for (i = 0; i < SIM_RETRY_SLOTS && q == NULL; i++) {
		/* the same request again (the agent repeats it), or a newer one on the same topic:
		 * it supersedes the older (a newer progress report, a new query) */
		if (strcmp(r->slots[i].token, token) == 0 ||
		    (r->slots[i].token[0] != '\0' && strcmp(r->slots[i].topic, topic) == 0))
			q = &r->slots[i];
	}
	for (i = 0; i < SIM_RETRY_SLOTS; i++) {
		struct sim_request *s = &r->slots[i];

		if (s->token[0] != '\0' && s->retry_at_ms == 0 &&
		    now_ms - s->sent_ms >= SIM_RETRY_KEEP_MS)
			slot_free(s); /* nobody throttled it: answered */
	}
	/* else a free slot, else the oldest request */
	for (i = 0; i < SIM_RETRY_SLOTS && q == NULL; i++) {
		if (r->slots[i].token[0] == '\0')
			q = &r->slots[i];
	}
	if (q == NULL) {
		q = &r->slots[0];
		for (i = 1; i < SIM_RETRY_SLOTS; i++) {
			if (r->slots[i].sent_ms < q->sent_ms)
				q = &r->slots[i];
		}
	}
	slot_free(q);
	q->topic = strdup(topic);
	q->payload = strdup(payload);
	if (q->topic == NULL || q->payload == NULL) {
		slot_free(q);
		update_next(r);
		return false;
	}
	memcpy(q->token, token, strlen(token) + 1);
	q->qos = qos;
	q->sent_ms = now_ms;
	update_next(r);
	return true;
}

int64_t sim_retry_backoff_ms(unsigned attempts, uint64_t rnd)
{
	int64_t d = SIM_RETRY_BASE_MS;
	unsigned i;

	for (i = 1; i < attempts && d < SIM_RETRY_CAP_MS; i++)
		d *= 2;
	if (d > SIM_RETRY_CAP_MS)
		d = SIM_RETRY_CAP_MS;
	return d / 2 + (int64_t)(rnd % (uint64_t)(d / 2 + 1));
}

bool sim_retry_throttled(struct sim_retry *r, const char *token, uint64_t rnd, int64_t now_ms)
{
	size_t i;

	if (token[0] == '\0')
		return false;
	for (i = 0; i < SIM_RETRY_SLOTS; i++) {
		struct sim_request *q = &r->slots[i];

		if (q->token[0] == '\0' || strcmp(q->token, token) != 0)
			continue;
		q->attempts++;
		q->retry_at_ms = now_ms + sim_retry_backoff_ms(q->attempts, rnd);
		update_next(r);
		return true;
	}
	return false;
}

bool sim_retry_defer(struct sim_retry *r, const char *token, int64_t at_ms)
{
	size_t i;

	for (i = 0; i < SIM_RETRY_SLOTS; i++) {
		struct sim_request *q = &r->slots[i];

		if (q->token[0] != '\0' && strcmp(q->token, token) == 0) {
			q->retry_at_ms = at_ms;
			update_next(r);
			return true;
		}
	}
	return false;
}

const struct sim_request *sim_retry_due(struct sim_retry *r, int64_t now_ms)
{
	size_t i;

	if (r->next_retry_ms == 0 || now_ms < r->next_retry_ms)
		return NULL;
	for (i = 0; i < SIM_RETRY_SLOTS; i++) {
		struct sim_request *q = &r->slots[i];

		if (q->token[0] != '\0' && q->retry_at_ms != 0 && now_ms >= q->retry_at_ms) {
			q->retry_at_ms = 0;
			q->sent_ms = now_ms;
			update_next(r);
			return q;
		}
	}
	update_next(r);
	return NULL;
}

void sim_retry_clear(struct sim_retry *r)
{
	size_t i;

	for (i = 0; i < SIM_RETRY_SLOTS; i++)
		slot_free(&r->slots[i]);
	r->next_retry_ms = 0;
}

char *sim_retry_with_token(const char *payload, const char *fresh, char *token, size_t cap)
{
	json_t *root = json_loads(payload, 0, NULL), *tok;
	char *out = NULL;

	if (!json_is_object(root))
		goto out;
	tok = json_object_get(root, "clientToken");
	if (json_is_string(tok) && json_string_length(tok) < cap) {
		memcpy(token, json_string_value(tok), json_string_length(tok) + 1);
		out = strdup(payload);
		goto out;
	}
	if (strlen(fresh) >= cap ||
	    json_object_set_new(root, "clientToken", json_string(fresh)) != 0)
		goto out;
	memcpy(token, fresh, strlen(fresh) + 1);
	out = json_dumps(root, JSON_COMPACT);
out:
	json_decref(root);
	return out;
}

bool sim_retry_is_throttled(const char *topic, const void *payload, size_t len, char *token,
			    size_t cap)
{
	static const char suffix[] = "/rejected";
	size_t tl = strlen(topic), sl = sizeof(suffix) - 1;
	json_t *root, *code, *tok;
	bool is_throttled;

	token[0] = '\0';
	if (tl < sl || strcmp(topic + tl - sl, suffix) != 0)
		return false;
	root = json_loadb(payload, len, 0, NULL);
	code = json_object_get(root, "code");
	is_throttled =
		(json_is_integer(code) && json_integer_value(code) == 429) ||
		(json_is_string(code) && strcmp(json_string_value(code), "RequestThrottled") == 0);
	tok = json_object_get(root, "clientToken");
	if (is_throttled && json_is_string(tok) && json_string_length(tok) < cap)
		memcpy(token, json_string_value(tok), json_string_length(tok) + 1);
	json_decref(root);
	return is_throttled;
}
