/* Shared harness of the agent state-machine unit tests (test_agent_fsm.c, test_agent_throttle.c):
 * one state machine with its action list, booted as a device "dev-1", fed events and MQTT
 * messages (through agent_proto, like the drivers do), and lookups in the actions it produced.
 * Included by exactly one test file per binary (static state). */
#ifndef BW_TESTS_AGENT_HARNESS_H
#define BW_TESTS_AGENT_HARNESS_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "agent_fsm.h"
#include "agent_proto.h"

#define THING "dev-1"

static struct agent_fsm fsm;
static struct agent_actions acts;
static struct agent_options opt;

/* (Re)boot the device: version / security version on slot (is_trial: first boot of a new slot)
 * with the persisted state p (NULL: none), default options. */
static inline void harness_boot(const char *version, uint32_t secver, int slot, bool is_trial,
				const struct agent_persist *p, int64_t now)
{
	struct agent_device dev = { 0 };
	struct agent_persist none = { 0 };

	snprintf(dev.thing, sizeof(dev.thing), THING);
	snprintf(dev.hardware_type, sizeof(dev.hardware_type), "esp32");
	snprintf(dev.version, sizeof(dev.version), "%s", version);
	dev.security_version = secver;
	dev.running_slot = slot;
	dev.is_trial_boot = is_trial;
	agent_fsm_cleanup(&fsm);
	agent_actions_clear(&acts);
	agent_options_default(&opt);
	agent_fsm_boot(&fsm, &opt, &dev, p != NULL ? p : &none, now, &acts);
}

/* Check fixtures. */
static inline void harness_init(void)
{
	memset(&fsm, 0, sizeof(fsm));
	memset(&acts, 0, sizeof(acts));
}

static inline void teardown(void)
{
	agent_fsm_cleanup(&fsm);
	agent_actions_clear(&acts);
}

/* One event; acts then holds only its actions. */
static inline void feed_ev(struct agent_event *ev)
{
	agent_actions_clear(&acts);
	agent_fsm_handle(&fsm, ev, &acts);
}

static inline void feed(enum agent_event_type type, int64_t now, bool is_ok)
{
	struct agent_event ev = { .type = type, .now_ms = now, .is_ok = is_ok };

	feed_ev(&ev);
}

/* Feeds an MQTT message ("$aws/things/dev-1/" + topic_rest) through agent_proto. */
static inline void feed_msg(const char *topic_rest, const char *payload, int64_t now)
{
	char topic[AGENT_TOPIC_MAX];
	struct agent_event ev = { 0 };
	struct agent_execution ex;
	json_t *delta = NULL;

	snprintf(topic, sizeof(topic), "$aws/things/" THING "/%s", topic_rest);
	ck_assert_int_eq(
		agent_proto_parse(THING, topic, payload, strlen(payload), &ev, &ex, &delta),
		AGENT_MSG_EVENT);
	ev.now_ms = now;
	feed_ev(&ev);
	agent_doc_cleanup(&ex.doc);
}

/* A notify-next payload with an HTTP afr_ota document, plus ,"bellwether":bw unless bw is "".
 * malloc'd. */
static inline char *execution(const char *job, const char *status, const char *bw)
{
	char *s = NULL;

	ck_assert_int_gt(
		asprintf(
			&s,
			"{\"timestamp\":1,\"execution\":{\"jobId\":\"%s\",\"status\":\"%s\","
			"\"versionNumber\":1,\"executionNumber\":1,\"queuedAt\":1,"
			"\"lastUpdatedAt\":1,\"jobDocument\":{\"afr_ota\":{\"protocols\":[\"HTTP\"],"
			"\"files\":[{\"filesize\":1000,\"fileid\":0,\"update_data_url\":"
			"\"http://x/fw\",\"sig-sha256-ecdsa\":\"AAAA\"}]}%s%s}}}",
			job, status, bw[0] ? ",\"bellwether\":" : "", bw),
		0);
	return s;
}

static inline void feed_execution(const char *job, const char *status, const char *bw, int64_t now)
{
	char *s = execution(job, status, bw);

	feed_msg("jobs/notify-next", s, now);
	free(s);
}

/* The nth action of type t, or NULL. */
static inline const struct agent_action *find(enum agent_action_type t, int nth)
{
	for (size_t i = 0; i < acts.count; i++)
		if (acts.items[i].type == t && nth-- == 0)
			return &acts.items[i];
	return NULL;
}

/* The first publish whose topic ends with suffix, or NULL. */
static inline const struct agent_action *find_pub(const char *suffix)
{
	size_t n = strlen(suffix);

	for (size_t i = 0; i < acts.count; i++) {
		const struct agent_action *a = &acts.items[i];
		size_t t = strlen(a->topic);

		if (a->type == AGENT_ACT_PUBLISH && t >= n && strcmp(a->topic + t - n, suffix) == 0)
			return a;
	}
	return NULL;
}

#endif
