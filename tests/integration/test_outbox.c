/* The MQTT outbox end to end: rows committed in a transaction are published by the running
 * server's pump, in commit order, and removed; rows rolled back are never published. Uses the
 * harness stack (test.env): the server, its database and the broker's server account. */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>

#include "db/db.h"
#include "db/outbox.h"

#define N_MSGS 500
#define WAIT_MS 10000

struct sink {
	pthread_mutex_t lock;
	char prefix[128];
	int count;
	int next_expected;
	bool is_out_of_order;
	bool is_connected;
	bool is_subscribed;
};

static struct sink sink = { .lock = PTHREAD_MUTEX_INITIALIZER };
static const char *env(const char *name)
{
	const char *v = getenv(name);
	return v && *v ? v : NULL;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void on_connect(struct mosquitto *m, void *obj, int rc)
{
	(void)obj;
	if (rc == 0) {
		char filter[160];
		snprintf(filter, sizeof(filter), "%s#", sink.prefix);
		mosquitto_subscribe(m, NULL, filter, 1);
		pthread_mutex_lock(&sink.lock);
		sink.is_connected = true;
		pthread_mutex_unlock(&sink.lock);
	}
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted)
{
	(void)m;
	(void)obj;
	(void)mid;
	pthread_mutex_lock(&sink.lock);
	sink.is_subscribed = n == 1 && granted[0] <= 1;
	pthread_mutex_unlock(&sink.lock);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg)
{
	int idx = -1;
	(void)m;
	(void)obj;
	pthread_mutex_lock(&sink.lock);
	if (sscanf(msg->topic + strlen(sink.prefix), "m/%d", &idx) == 1) {
		char want[32];
		snprintf(want, sizeof(want), "payload-%d", idx);
		if (idx != sink.next_expected || msg->payloadlen != (int)strlen(want) ||
		    memcmp(msg->payload, want, strlen(want)) != 0 || msg->retain)
			sink.is_out_of_order = true;
		sink.next_expected = idx + 1;
		sink.count++;
	} else if (strstr(msg->topic, "/rolled-back")) {
		sink.is_out_of_order = true;
	}
	pthread_mutex_unlock(&sink.lock);
}

static bool wait_for(bool (*cond)(void), int ms)
{
	int64_t end = now_ms() + ms;
	while (now_ms() < end) {
		pthread_mutex_lock(&sink.lock);
		bool ok = cond();
		pthread_mutex_unlock(&sink.lock);
		if (ok)
			return true;
		usleep(10000);
	}
	return false;
}

static bool is_ready(void)
{
	return sink.is_connected && sink.is_subscribed;
}

static bool is_all_in(void)
{
	return sink.count >= N_MSGS;
}

static enum db_status rollback_tx(struct db *db, void *arg)
{
	struct outbox_msg m = { .topic = arg, .payload = "x", .payload_len = 1, .qos = 1 };
	enum db_status st = db_outbox_add(db, &m, 1);
	return st < 0 ? st : DB_HARD; /* force a rollback */
}

struct add_ctx {
	struct outbox_msg *msgs;
	size_t n;
};

static enum db_status add_tx(struct db *db, void *arg)
{
	struct add_ctx *c = arg;
	/* two statements in one transaction: order must follow the statements, then the rows */
	enum db_status st = db_outbox_add(db, c->msgs, c->n / 2);
	if (st < 0)
		return st;
	return db_outbox_add(db, c->msgs + c->n / 2, c->n - c->n / 2);
}

START_TEST(committed_rows_are_published_in_order_and_removed)
{
	struct mosquitto *m;
	struct db *db;
	struct outbox_msg *msgs = calloc(N_MSGS, sizeof(*msgs));
	char (*topics)[160] = calloc(N_MSGS, sizeof(*topics));
	char (*payloads)[32] = calloc(N_MSGS, sizeof(*payloads));
	char rolled[200];

	ck_assert_ptr_nonnull(msgs);
	snprintf(sink.prefix, sizeof(sink.prefix), "$aws/things/outbox-test-%d/", (int)getpid());
	mosquitto_lib_init();
	m = mosquitto_new(NULL, true, NULL);
	ck_assert_ptr_nonnull(m);
	mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
	mosquitto_username_pw_set(m, env("BW_TEST_MQTT_SERVER_USER"),
				  env("BW_TEST_MQTT_SERVER_PASSWORD"));
	mosquitto_connect_callback_set(m, on_connect);
	mosquitto_subscribe_callback_set(m, on_subscribe);
	mosquitto_message_callback_set(m, on_message);
	ck_assert_int_eq(mosquitto_connect(m, env("BW_TEST_MQTT_HOST"),
					   atoi(env("BW_TEST_MQTT_PORT")), 30),
			 MOSQ_ERR_SUCCESS);
	mosquitto_loop_start(m);
	ck_assert_msg(wait_for(is_ready, WAIT_MS), "subscriber not ready");

	db = db_connect(env("BW_TEST_PG_DSN"));
	ck_assert_ptr_nonnull(db);
	snprintf(rolled, sizeof(rolled), "%srolled-back", sink.prefix);
	ck_assert_int_eq(db_tx_run(db, DB_READ_COMMITTED, rollback_tx, rolled), DB_HARD);

	for (int i = 0; i < N_MSGS; i++) {
		snprintf(topics[i], sizeof(topics[i]), "%sm/%d", sink.prefix, i);
		snprintf(payloads[i], sizeof(payloads[i]), "payload-%d", i);
		msgs[i].topic = topics[i];
		msgs[i].payload = payloads[i];
		msgs[i].payload_len = strlen(payloads[i]);
		msgs[i].qos = 1;
	}
	struct add_ctx c = { msgs, N_MSGS };
	ck_assert_int_ge(db_tx_run(db, DB_READ_COMMITTED, add_tx, &c), 0);

	ck_assert_msg(wait_for(is_all_in, WAIT_MS), "only %d of %d published", sink.count, N_MSGS);
	pthread_mutex_lock(&sink.lock);
	ck_assert_msg(!sink.is_out_of_order, "messages out of order, altered, retained or leaked");
	ck_assert_int_eq(sink.count, N_MSGS);
	pthread_mutex_unlock(&sink.lock);

	/* the pump deletes what it published */
	char like[200];
	snprintf(like, sizeof(like), "%s%%", sink.prefix);
	const char *params[] = { like };
	int64_t end = now_ms() + WAIT_MS;
	enum db_status st = DB_ONE;
	while (now_ms() < end) {
		st = db_exec(db, "SELECT 1 FROM mqtt_outbox WHERE topic LIKE $1", 1, params, NULL);
		if (st == DB_NONE)
			break;
		usleep(20000);
	}
	ck_assert_int_eq(st, DB_NONE);

	db_close(db);
	mosquitto_disconnect(m);
	mosquitto_loop_stop(m, false);
	mosquitto_destroy(m);
	mosquitto_lib_cleanup();
	free(msgs);
	free(topics);
	free(payloads);
}
END_TEST

int main(void)
{
	Suite *s;
	SRunner *sr;
	int failed;

	if (!env("BW_TEST_URL") || !env("BW_TEST_PG_DSN") || !env("BW_TEST_MQTT_PORT")) {
		printf("skipped: no test.env\n");
		return 77;
	}
	s = suite_create("outbox");
	TCase *tc = tcase_create("pump");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, committed_rows_are_published_in_order_and_removed);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
