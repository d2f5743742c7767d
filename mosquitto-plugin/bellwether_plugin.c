/* Bellwether's Mosquitto plugin (plugin API v5, Mosquitto 2.0). README.md in this directory is
 * the contract with bellwetherd; bellwether_plugin.h holds its names. The plugin does three
 * things:
 *
 * 1. Directed delivery (spec §2.2): a publish by the server account on
 *    "$bellwether/deliver/<reply topic>" carrying the v5 user property "bw-target" is delivered
 *    on <reply topic> to that one client, whether or not it subscribed, once. The plugin owns
 *    the "$bellwether/" namespace through an ACL callback: only the server account may publish
 *    to $bellwether/deliver/..., and nobody may subscribe to or receive anything under it, so the
 *    internal message itself reaches no one.
 * 2. Requester stamping (spec §1.5): device publishes matching the stamp topic filters get a
 *    user property "bw-client-id" with the publisher's client id.
 * 3. Username quirk (spec §1.5): AWS Device SDK v2 sends "<user>?SDK=..." or "?SDK=...". The
 *    username is cut at the first '?' before the password file sees it; an empty result makes
 *    the client anonymous. The plugin never accepts a login itself.
 *
 * What this relies on in Mosquitto 2.0.11 (read in its source, src/plugin_public.c, loop.c,
 * handle_publish.c, plugin.c, security.c; checked by tests/integration/test_plugin_delivery.c):
 * - mosquitto_broker_publish() with a client id only queues the message. At the start of the
 *   next main-loop pass the broker looks the id up among connected clients and kept sessions and
 *   queues the message for that client alone: no subscription match, no ACL read check, no
 *   retained copy. An id that is not there is dropped without notice. Each queued message
 *   reaches the client once; a client subscribed to the topic gets no second copy because the
 *   internal message never reaches the subscription tree.
 * - MOSQ_EVT_MESSAGE runs after the ACL write check. Returning MOSQ_ERR_ACL_DENIED drops the
 *   message (a v5 sender gets PUBACK "not authorized"), but Debian's 2.0.11 (with the
 *   CVE-2023-28366 fix) then also closes the sender's connection when max_queued_messages is 0,
 *   as in Bellwether's config; any other error disconnects it too. So the server's internal
 *   messages are never refused: they pass on (retain flag cleared) to an empty audience, which
 *   the ACL callback guarantees, and the server sees PUBACK "no matching subscribers".
 *   Properties and the retain flag left in the event travel with the message. The topic and
 *   payload are never replaced here: 2.0.11 leaks the old ones and later releases free them.
 * - MOSQ_EVT_ACL_CHECK callbacks of plugins run before the acl_file check; the first answer
 *   other than MOSQ_ERR_PLUGIN_DEFER decides, and when all defer the access is denied. This
 *   plugin answers only for "$bellwether/" topics and defers the rest, so it needs an acl_file
 *   (or another ACL plugin) beside it, or every other access is denied.
 * - MOSQ_EVT_BASIC_AUTH callbacks of plugins run before the password_file check, and the first
 *   answer other than MOSQ_ERR_PLUGIN_DEFER decides. This plugin always defers, so a client with
 *   a username still needs the password file (or another plugin) to accept it: the server account
 *   keeps needing its password, and without a password file no username is accepted at all.
 *
 * The broker is single-threaded, so the plugin state needs no lock.
 */
#include "bellwether_plugin.h"

#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <mosquitto.h>
#include <mosquitto_broker.h>
#include <mosquitto_plugin.h>
#include <mqtt_protocol.h>

#define LOG_PREFIX "bellwether_plugin: "
#define MAX_STAMP_FILTERS 16
#define MAX_SERVER_USER_BYTES 256
#define WARN_WINDOW_S 10 /* at most WARN_BURST warnings per window, the rest counted */
#define WARN_BURST 20
#define RESERVED_LEN (sizeof(BW_PLUGIN_RESERVED_PREFIX) - 1)
#define DELIVER_LEN (sizeof(BW_PLUGIN_DELIVER_PREFIX) - 1)

struct plugin {
	mosquitto_plugin_id_t *id;
	char *server_user;
	char *stamp_topics; /* copy of the option; stamp_filters point into it */
	const char *stamp_filters[MAX_STAMP_FILTERS];
	int stamp_count;
	bool has_auth_cb;
	bool has_acl_cb;
	bool has_message_cb;
	time_t warn_window_s;
	unsigned warn_count;
	unsigned long warn_suppressed;
};

/* Broker log line at warning level, rate limited: a misbehaving client cannot flood the log. */
__attribute__((format(printf, 2, 3))) static void warn(struct plugin *p, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	time_t now = time(NULL);

	if (now - p->warn_window_s >= WARN_WINDOW_S) {
		if (p->warn_suppressed > 0)
			mosquitto_log_printf(MOSQ_LOG_WARNING, LOG_PREFIX "%lu warnings suppressed",
					     p->warn_suppressed);
		p->warn_window_s = now;
		p->warn_count = 0;
		p->warn_suppressed = 0;
	}
	if (p->warn_count >= WARN_BURST) {
		p->warn_suppressed++;
		return;
	}
	p->warn_count++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	mosquitto_log_printf(MOSQ_LOG_WARNING, LOG_PREFIX "%s", msg);
}

static const char *or_none(const char *s)
{
	return s ? s : "(none)";
}

/* ---- options ---------------------------------------------------------------------------- */

/* Splits p->stamp_topics on blanks into p->stamp_filters; "none" means no stamping. */
static int parse_stamp_topics(struct plugin *p)
{
	char *save = NULL;

	if (strcmp(p->stamp_topics, "none") == 0)
		return MOSQ_ERR_SUCCESS;
	for (char *f = strtok_r(p->stamp_topics, " \t", &save); f;
	     f = strtok_r(NULL, " \t", &save)) {
		if (p->stamp_count == MAX_STAMP_FILTERS) {
			mosquitto_log_printf(MOSQ_LOG_ERR,
					     LOG_PREFIX "plugin_opt_" BW_PLUGIN_OPT_STAMP_TOPICS
							" has more than %d filters",
					     MAX_STAMP_FILTERS);
			return MOSQ_ERR_INVAL;
		}
		if (mosquitto_sub_topic_check(f) != MOSQ_ERR_SUCCESS) {
			mosquitto_log_printf(MOSQ_LOG_ERR,
					     LOG_PREFIX "plugin_opt_" BW_PLUGIN_OPT_STAMP_TOPICS
							": '%s' is not a topic filter",
					     f);
			return MOSQ_ERR_INVAL;
		}
		p->stamp_filters[p->stamp_count++] = f;
	}
	return MOSQ_ERR_SUCCESS;
}

/* Reads the plugin_opt_* lines. Unknown names are errors, so a typo stops the broker at start
 * instead of silently running with defaults. */
static int parse_options(struct plugin *p, const struct mosquitto_opt *opts, int n)
{
	const char *server_user = BW_PLUGIN_DEFAULT_SERVER_USER;
	const char *stamp_topics = BW_PLUGIN_DEFAULT_STAMP_TOPICS;
	size_t len;

	for (int i = 0; i < n; i++) {
		const char *key = opts[i].key, *value = opts[i].value;

		if (!key || !value) {
			mosquitto_log_printf(MOSQ_LOG_ERR, LOG_PREFIX "option without a value");
			return MOSQ_ERR_INVAL;
		}
		if (strcmp(key, BW_PLUGIN_OPT_SERVER_USER) == 0) {
			server_user = value;
		} else if (strcmp(key, BW_PLUGIN_OPT_STAMP_TOPICS) == 0) {
			stamp_topics = value;
		} else {
			mosquitto_log_printf(MOSQ_LOG_ERR,
					     LOG_PREFIX "unknown option plugin_opt_%s", key);
			return MOSQ_ERR_INVAL;
		}
	}
	len = strlen(server_user);
	if (len == 0 || len > MAX_SERVER_USER_BYTES || strchr(server_user, '?')) {
		mosquitto_log_printf(MOSQ_LOG_ERR,
				     LOG_PREFIX "plugin_opt_" BW_PLUGIN_OPT_SERVER_USER
						" must be 1-%d bytes without '?'",
				     MAX_SERVER_USER_BYTES);
		return MOSQ_ERR_INVAL;
	}
	p->server_user = mosquitto_strdup(server_user);
	p->stamp_topics = mosquitto_strdup(stamp_topics);
	if (!p->server_user || !p->stamp_topics)
		return MOSQ_ERR_NOMEM;
	return parse_stamp_topics(p);
}

/* ---- properties ------------------------------------------------------------------------- */

/* Counts the user properties called name in props; when value is not NULL, *value receives a
 * copy of the first one's value (free() it; libmosquitto's readers allocate with calloc), or
 * NULL when there is none. Returns the count, or -1 when out of memory. */
static int user_property_find(const mosquitto_property *props, const char *name, char **value)
{
	int count = 0;

	if (value)
		*value = NULL;
	for (const mosquitto_property *prop = props; prop; prop = mosquitto_property_next(prop)) {
		char *key = NULL;
		bool is_match;

		if (mosquitto_property_identifier(prop) != MQTT_PROP_USER_PROPERTY)
			continue;
		if (!mosquitto_property_read_string_pair(prop, MQTT_PROP_USER_PROPERTY, &key, NULL,
							 false))
			goto nomem;
		is_match = strcmp(key, name) == 0;
		free(key);
		if (!is_match)
			continue;
		if (count == 0 && value &&
		    !mosquitto_property_read_string_pair(prop, MQTT_PROP_USER_PROPERTY, NULL, value,
							 false))
			goto nomem;
		count++;
	}
	return count;
nomem:
	if (value) {
		free(*value);
		*value = NULL;
	}
	return -1;
}

/* ---- events ----------------------------------------------------------------------------- */

static bool is_server(const struct plugin *p, const struct mosquitto *client)
{
	const char *username = mosquitto_client_username(client);

	return username && strcmp(username, p->server_user) == 0;
}

/* Cuts the username at the first '?' ("" -> anonymous), then lets the password file decide. */
static int on_basic_auth(int event, void *event_data, void *userdata)
{
	struct mosquitto_evt_basic_auth *ed = event_data;
	const char *username = mosquitto_client_username(ed->client);
	const char *mark;
	char *kept = NULL;
	size_t len;
	int rc;

	(void)event;
	(void)userdata;
	if (!username)
		return MOSQ_ERR_PLUGIN_DEFER;
	mark = strchr(username, '?');
	len = mark ? (size_t)(mark - username) : strlen(username);
	if (!mark && len > 0)
		return MOSQ_ERR_PLUGIN_DEFER;
	if (len > 0) {
		kept = mosquitto_malloc(len + 1);
		if (!kept)
			return MOSQ_ERR_AUTH;
		memcpy(kept, username, len);
		kept[len] = '\0';
	}
	/* frees the old username (ed->username too); NULL makes the client anonymous */
	rc = mosquitto_set_username(ed->client, kept);
	mosquitto_free(kept);
	return rc == MOSQ_ERR_SUCCESS ? MOSQ_ERR_PLUGIN_DEFER : MOSQ_ERR_AUTH;
}

/* Queues the internal message's payload for the target client on the real topic. The internal
 * message itself goes on, not retained, to nobody (see on_acl_check), delivered or not: refusing
 * it would disconnect the server. */
static int deliver(struct plugin *p, struct mosquitto_evt_message *ed)
{
	const char *topic = ed->topic + DELIVER_LEN;
	char *target = NULL;
	void *payload = NULL;
	int count, rc;

	if (ed->retain) {
		ed->retain = false; /* never stored as a retained message */
		warn(p, "dropped retained %s message", ed->topic);
		goto out;
	}
	if (topic[0] == '\0' || mosquitto_pub_topic_check(topic) != MOSQ_ERR_SUCCESS) {
		warn(p, "dropped %s: no reply topic after the prefix", ed->topic);
		goto out;
	}
	if (ed->payloadlen > INT_MAX) {
		warn(p, "dropped %s: payload too large", ed->topic);
		goto out;
	}
	count = user_property_find(ed->properties, BW_PLUGIN_PROP_TARGET, &target);
	if (count < 0) {
		warn(p, "out of memory reading %s", ed->topic);
		goto out;
	}
	if (count != 1 || target[0] == '\0') {
		warn(p,
		     "dropped %s: needs exactly one non-empty " BW_PLUGIN_PROP_TARGET
		     " user property, got %d",
		     ed->topic, count);
		goto out;
	}
	/* the broker frees it with its own allocator once the message is queued */
	payload = mosquitto_malloc(ed->payloadlen > 0 ? ed->payloadlen : 1);
	if (!payload) {
		warn(p, "out of memory delivering %s", ed->topic);
		goto out;
	}
	if (ed->payloadlen > 0)
		memcpy(payload, ed->payload, ed->payloadlen);
	rc = mosquitto_broker_publish(target, topic, (int)ed->payloadlen, payload,
				      ed->qos > 1 ? 1 : ed->qos, false, NULL);
	if (rc != MOSQ_ERR_SUCCESS) {
		warn(p, "delivery of %s to '%.200s' failed: %s", topic, target,
		     mosquitto_strerror(rc));
		mosquitto_free(payload);
	}
out:
	free(target);
	return MOSQ_ERR_SUCCESS;
}

/* Adds bw-client-id to a device publish on a stamped topic; refuses one that forges it. */
static int stamp(struct plugin *p, struct mosquitto_evt_message *ed)
{
	const char *client_id = mosquitto_client_id(ed->client);
	bool is_stamped = false;
	int count, rc;

	count = ed->properties ? user_property_find(ed->properties, BW_PLUGIN_PROP_CLIENT_ID, NULL)
			       : 0;
	if (count != 0) {
		warn(p, "refused publish on %s from '%.200s': %s", ed->topic, or_none(client_id),
		     count < 0 ? "out of memory" : "it carries " BW_PLUGIN_PROP_CLIENT_ID);
		return MOSQ_ERR_ACL_DENIED;
	}
	for (int i = 0; i < p->stamp_count && !is_stamped; i++) {
		if (mosquitto_topic_matches_sub(p->stamp_filters[i], ed->topic, &is_stamped) !=
		    MOSQ_ERR_SUCCESS)
			is_stamped = false;
	}
	if (!is_stamped || !client_id)
		return MOSQ_ERR_SUCCESS;
	rc = mosquitto_property_add_string_pair(&ed->properties, MQTT_PROP_USER_PROPERTY,
						BW_PLUGIN_PROP_CLIENT_ID, client_id);
	if (rc != MOSQ_ERR_SUCCESS) {
		/* unstamped, the server would answer the wrong client: drop, the device retries */
		warn(p, "refused publish on %s from '%.200s': cannot stamp it: %s", ed->topic,
		     client_id, mosquitto_strerror(rc));
		return MOSQ_ERR_ACL_DENIED;
	}
	return MOSQ_ERR_SUCCESS;
}

/* Owns the reserved namespace: nobody reads or subscribes there, only the server account
 * writes, and only to $bellwether/deliver/. Everything else is left to the acl_file. */
static int on_acl_check(int event, void *event_data, void *userdata)
{
	const struct plugin *p = userdata;
	const struct mosquitto_evt_acl_check *ed = event_data;

	(void)event;
	if (!ed->topic || strncmp(ed->topic, BW_PLUGIN_RESERVED_PREFIX, RESERVED_LEN) != 0)
		return MOSQ_ERR_PLUGIN_DEFER;
	switch (ed->access) {
	case MOSQ_ACL_WRITE:
		return is_server(p, ed->client) && strncmp(ed->topic, BW_PLUGIN_DELIVER_PREFIX,
							   DELIVER_LEN) == 0
			       ? MOSQ_ERR_SUCCESS
			       : MOSQ_ERR_ACL_DENIED;
	case MOSQ_ACL_UNSUBSCRIBE:
		return MOSQ_ERR_PLUGIN_DEFER;
	default: /* read, subscribe */
		return MOSQ_ERR_ACL_DENIED;
	}
}

static int on_message(int event, void *event_data, void *userdata)
{
	struct plugin *p = userdata;
	struct mosquitto_evt_message *ed = event_data;
	bool is_from_server = is_server(p, ed->client);

	(void)event;
	if (strncmp(ed->topic, BW_PLUGIN_RESERVED_PREFIX, RESERVED_LEN) == 0) {
		if (!is_from_server) {
			warn(p, "refused %s from client '%.200s' (user %.200s): reserved for %s",
			     ed->topic, or_none(mosquitto_client_id(ed->client)),
			     or_none(mosquitto_client_username(ed->client)), p->server_user);
			return MOSQ_ERR_ACL_DENIED;
		}
		if (strncmp(ed->topic, BW_PLUGIN_DELIVER_PREFIX, DELIVER_LEN) == 0)
			return deliver(p, ed);
		ed->retain = false;
		warn(p, "dropped %s: unknown reserved topic", ed->topic);
		return MOSQ_ERR_SUCCESS;
	}
	if (is_from_server)
		return MOSQ_ERR_SUCCESS;
	return stamp(p, ed);
}

/* ---- plugin entry points ---------------------------------------------------------------- */

static void plugin_free(struct plugin *p)
{
	if (!p)
		return;
	if (p->has_message_cb)
		mosquitto_callback_unregister(p->id, MOSQ_EVT_MESSAGE, on_message, NULL);
	if (p->has_acl_cb)
		mosquitto_callback_unregister(p->id, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL);
	if (p->has_auth_cb)
		mosquitto_callback_unregister(p->id, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL);
	mosquitto_free(p->server_user);
	mosquitto_free(p->stamp_topics);
	mosquitto_free(p);
}

int mosquitto_plugin_version(int supported_version_count, const int *supported_versions)
{
	for (int i = 0; i < supported_version_count; i++) {
		if (supported_versions[i] == 5)
			return 5;
	}
	return -1;
}

int mosquitto_plugin_init(mosquitto_plugin_id_t *identifier, void **userdata,
			  struct mosquitto_opt *options, int option_count)
{
	struct plugin *p = mosquitto_calloc(1, sizeof(*p));
	int rc;

	if (!p)
		return MOSQ_ERR_NOMEM;
	p->id = identifier;
	rc = parse_options(p, options, option_count);
	if (rc != MOSQ_ERR_SUCCESS)
		goto fail;
	rc = mosquitto_callback_register(identifier, MOSQ_EVT_BASIC_AUTH, on_basic_auth, NULL, p);
	if (rc != MOSQ_ERR_SUCCESS)
		goto fail;
	p->has_auth_cb = true;
	rc = mosquitto_callback_register(identifier, MOSQ_EVT_ACL_CHECK, on_acl_check, NULL, p);
	if (rc != MOSQ_ERR_SUCCESS)
		goto fail;
	p->has_acl_cb = true;
	rc = mosquitto_callback_register(identifier, MOSQ_EVT_MESSAGE, on_message, NULL, p);
	if (rc != MOSQ_ERR_SUCCESS)
		goto fail;
	p->has_message_cb = true;
	mosquitto_log_printf(MOSQ_LOG_INFO,
			     LOG_PREFIX "loaded: server account '%s', %d stamp topic filter(s)",
			     p->server_user, p->stamp_count);
	*userdata = p;
	return MOSQ_ERR_SUCCESS;
fail:
	mosquitto_log_printf(MOSQ_LOG_ERR, LOG_PREFIX "not loaded: %s", mosquitto_strerror(rc));
	plugin_free(p);
	return rc;
}

int mosquitto_plugin_cleanup(void *userdata, struct mosquitto_opt *options, int option_count)
{
	(void)options;
	(void)option_count;
	plugin_free(userdata);
	return MOSQ_ERR_SUCCESS;
}
