/* Integration tests for the Bellwether broker plugin (mosquitto-plugin/) against the system
 * Mosquitto. Each test generates a broker config with scripts/gen-mosquitto-conf.sh (the one
 * the harness, `make run` and docker-compose use), loads the built plugin, starts a private
 * broker on a free loopback port in a temp dir (killed with the test), and plays the server
 * account and the devices with raw libmosquitto clients. No environment needed; exits 77 when
 * the plugin is not built.
 *
 * Env (all optional): BW_PLUGIN_SO (default <exe>/../../bellwether_plugin.so), BW_REPO_ROOT
 * (default four levels above the executable), BW_MOSQUITTO (broker binary), STACK_PORT_DIR. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <mosquitto.h>
#include <mqtt_protocol.h>

#include "bellwether_plugin.h"

#include "../lib/ports.h"

#define WAIT_MS 5000 /* every wait is bounded by this */
#define MAX_MSGS 64
#define MAX_CLIENTS 16
#define SERVER_USER BW_PLUGIN_DEFAULT_SERVER_USER
#define SERVER_PASSWORD "plugin-test-password"
#define RC_NOT_AUTHORIZED_V5 135 /* MQTT v5 reason code 0x87 */
#define RC_NO_SUBSCRIBERS 16	 /* MQTT v5 PUBACK 0x10: accepted, nobody subscribed */
#define RC_NOT_AUTHORIZED_V311 5 /* MQTT 3.1.1 CONNACK return code */

static char plugin_path[PATH_MAX];		      /* the built plugin */
static char run_dir[] = "/tmp/bw-plugin-test-XXXXXX"; /* holds every broker's dir */
static char gen_script[PATH_MAX];		      /* scripts/gen-mosquitto-conf.sh */

/* snprintf that fails the test instead of truncating. */
__attribute__((format(printf, 3, 4))) static void fmt(char *out, size_t size, const char *f, ...)
{
	va_list ap;
	int n;

	va_start(ap, f);
	n = vsnprintf(out, size, f, ap);
	va_end(ap);
	ck_assert_msg(n >= 0 && (size_t)n < size, "path too long: %s", out);
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static struct timespec deadline_in(int ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

/* A free port for a broker (tests/lib/ports.c). */
static int port_acquire(const char *owner)
{
	int port = test_port_acquire(owner);

	ck_assert_msg(port > 0, "no free port");
	return port;
}

/* ---- a private broker -------------------------------------------------------------------- */

struct broker {
	char dir[64];
	char conf[128];
	char acl[128];
	char log[128]; /* the broker's log file (log_dest file in the generated config) */
	char out[128]; /* its stdout/stderr: start-up errors */
	int port;
	pid_t pid;
};

static struct broker broker;

/* Runs argv with output to out_path; true on exit status 0. */
static bool run(char *const argv[], const char *out_path)
{
	int status;
	pid_t pid = fork();

	if (pid == 0) {
		int fd = open(out_path, O_WRONLY | O_CREAT | O_APPEND, 0600);

		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execvp(argv[0], argv);
		_exit(127);
	}
	return pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	       WEXITSTATUS(status) == 0;
}

static void append_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "a");

	ck_assert_msg(f != NULL, "cannot open %s", path);
	fputs(text, f);
	ck_assert_int_eq(fclose(f), 0);
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	size_t n;
	FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");

	ck_assert_msg(in && out, "cannot copy %s to %s", from, to);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		ck_assert_uint_eq(fwrite(buf, 1, n, out), n);
	ck_assert(!ferror(in));
	fclose(in);
	ck_assert_int_eq(fclose(out), 0);
	chmod(to, 0644);
}

/* As root the broker drops to the mosquitto user: give it the directory (the harness does the
 * same in stack_mqtt_prepare). Without that user it stays root. */
static void give_dir_to_broker_user(const char *dir, const char *conf)
{
	struct passwd *pw;
	struct dirent *e;
	DIR *d;

	if (geteuid() != 0)
		return;
	pw = getpwnam("mosquitto");
	if (!pw) {
		append_file(conf, "user root\n");
		return;
	}
	ck_assert_int_eq(chown(dir, pw->pw_uid, pw->pw_gid), 0);
	d = opendir(dir);
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d))) {
		char path[PATH_MAX];

		if (e->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		ck_assert_int_eq(chown(path, pw->pw_uid, pw->pw_gid), 0);
	}
	closedir(d);
}

static void print_tail(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");

	if (!f)
		return;
	fprintf(stderr, "----- %s -----\n", path);
	while (fgets(line, sizeof(line), f))
		fputs(line, stderr);
	fclose(f);
}

static void broker_cleanup(void);

/* Forks the broker; true once it accepts connections, false when it exited (*status set). */
static bool broker_spawn(struct broker *b, int *status)
{
	const char *exe = getenv("BW_MOSQUITTO");
	pid_t parent = getpid();
	int64_t deadline;

	if (!exe)
		exe = access("/usr/sbin/mosquitto", X_OK) == 0 ? "/usr/sbin/mosquitto"
							       : "mosquitto";
	b->pid = fork();
	ck_assert_int_ge(b->pid, 0);
	if (b->pid == 0) {
		int fd = open(b->out, O_WRONLY | O_CREAT | O_APPEND, 0600);

		prctl(PR_SET_PDEATHSIG, SIGKILL); /* dies with the test, even on a failed assert */
		if (getppid() != parent)
			_exit(1);
		if (fd >= 0) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
		}
		execlp(exe, exe, "-c", b->conf, (char *)NULL);
		_exit(127);
	}
	deadline = now_ms() + WAIT_MS;
	while (now_ms() < deadline) {
		if (waitpid(b->pid, status, WNOHANG) == b->pid) {
			b->pid = 0;
			return false;
		}
		if (test_port_accepts(b->port))
			return true;
		sleep_ms(20);
	}
	return false;
}

/* Generates the config (plus extra_conf / extra_acl lines, may be NULL) in a new temp dir and
 * starts the broker, with the plugin unless with_plugin is false. With expect_start false the
 * broker must refuse to start; returns its exit status then. */
static int broker_start_ex(const char *extra_conf, const char *extra_acl, bool expect_start,
			   bool with_plugin)
{
	struct broker *b = &broker;
	char so[128], port_s[16];
	int status = 0;

	broker_cleanup(); /* a previous test that failed before its teardown */
	memset(b, 0, sizeof(*b));
	fmt(b->dir, sizeof(b->dir), "%s/broker-XXXXXX", run_dir);
	ck_assert_ptr_nonnull(mkdtemp(b->dir));
	fmt(b->conf, sizeof(b->conf), "%s/mosquitto.conf", b->dir);
	fmt(b->acl, sizeof(b->acl), "%s/acl", b->dir);
	fmt(b->log, sizeof(b->log), "%s/mosquitto.log", b->dir);
	fmt(b->out, sizeof(b->out), "%s/mosquitto.out", b->dir);
	fmt(so, sizeof(so), "%s/bellwether_plugin.so", b->dir);
	copy_file(plugin_path, so);
	for (int attempt = 0; attempt < 5; attempt++) {
		char *argv[] = { gen_script,  b->dir,	       port_s,
				 SERVER_USER, SERVER_PASSWORD, with_plugin ? so : NULL,
				 NULL };

		b->port = port_acquire(b->dir);
		snprintf(port_s, sizeof(port_s), "%d", b->port);
		ck_assert_msg(run(argv, b->out), "gen-mosquitto-conf.sh failed (see %s)", b->out);
		if (extra_conf)
			append_file(b->conf, extra_conf);
		if (extra_acl)
			append_file(b->acl, extra_acl);
		give_dir_to_broker_user(b->dir, b->conf);
		if (broker_spawn(b, &status)) {
			ck_assert_msg(expect_start, "broker started despite a bad configuration");
			return 0;
		}
		if (!expect_start && b->pid == 0 && WIFEXITED(status) && WEXITSTATUS(status) != 0) {
			return WEXITSTATUS(status);
		}
		test_port_release(b->dir, b->port); /* lost a port race: try another port */
	}
	print_tail(b->out);
	print_tail(b->log);
	ck_abort_msg("mosquitto did not start (logs above)");
	return -1;
}

static void broker_start(void)
{
	broker_start_ex(NULL, NULL, true, true);
}

/* True when the broker's log holds needle. */
static bool broker_log_has(const char *needle)
{
	char line[1024];
	bool found = false;
	FILE *f = fopen(broker.log, "r");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f))
		found = strstr(line, needle) != NULL;
	fclose(f);
	return found;
}

static void broker_cleanup(void)
{
	struct broker *b = &broker;
	struct dirent *e;
	DIR *d;

	if (!b->dir[0])
		return;
	if (b->pid > 0) {
		kill(b->pid, SIGTERM);
		waitpid(b->pid, NULL, 0);
		b->pid = 0;
	}
	if (b->port > 0)
		test_port_release(b->dir, b->port);
	d = opendir(b->dir);
	while (d && (e = readdir(d))) {
		char path[PATH_MAX];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", b->dir, e->d_name);
		unlink(path);
	}
	if (d)
		closedir(d);
	rmdir(b->dir);
	b->dir[0] = '\0';
}

/* ---- raw clients ------------------------------------------------------------------------- */

struct got {
	char topic[256];
	char payload[256];
	int len;
	int qos;
	bool retain;
	int client_id_props;  /* how many bw-client-id user properties it carried */
	char client_id[128];  /* the first one's value */
	char user_prop_k[64]; /* value of a user property "k", if any */
};

struct cli {
	struct mosquitto *mosq;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool has_connack;
	int connack_rc;
	int subacks;
	int last_granted; /* granted QoS or refusal code of the last SUBACK */
	int pubacks;
	int last_puback_rc;
	int count;
	int overflow;
	struct got msgs[MAX_MSGS];
};

static struct cli *clients[MAX_CLIENTS];

static void on_connect(struct mosquitto *m, void *obj, int rc, int flags,
		       const mosquitto_property *props)
{
	struct cli *c = obj;

	(void)flags;
	(void)props;
	pthread_mutex_lock(&c->lock);
	c->has_connack = true;
	c->connack_rc = rc;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	if (rc != 0)
		mosquitto_disconnect(m); /* refused: no reconnect attempts */
}

static void on_subscribe(struct mosquitto *m, void *obj, int mid, int n, const int *granted,
			 const mosquitto_property *props)
{
	struct cli *c = obj;

	(void)m;
	(void)mid;
	(void)props;
	pthread_mutex_lock(&c->lock);
	c->last_granted = n > 0 ? granted[0] : -1;
	c->subacks++;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void on_publish(struct mosquitto *m, void *obj, int mid, int reason_code,
		       const mosquitto_property *props)
{
	struct cli *c = obj;

	(void)m;
	(void)mid;
	(void)props;
	pthread_mutex_lock(&c->lock);
	c->pubacks++;
	c->last_puback_rc = reason_code;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static void on_message(struct mosquitto *m, void *obj, const struct mosquitto_message *msg,
		       const mosquitto_property *props)
{
	struct cli *c = obj;
	const mosquitto_property *p = props;
	bool skip_first = false;
	char *k = NULL, *v = NULL;
	struct got *g;

	(void)m;
	pthread_mutex_lock(&c->lock);
	if (c->count == MAX_MSGS || msg->payloadlen > (int)sizeof(g->payload)) {
		c->overflow++;
		goto out;
	}
	g = &c->msgs[c->count++];
	memset(g, 0, sizeof(*g));
	snprintf(g->topic, sizeof(g->topic), "%s", msg->topic);
	if (msg->payloadlen > 0)
		memcpy(g->payload, msg->payload, (size_t)msg->payloadlen);
	g->len = msg->payloadlen;
	g->qos = msg->qos;
	g->retain = msg->retain;
	while ((p = mosquitto_property_read_string_pair(p, MQTT_PROP_USER_PROPERTY, &k, &v,
							skip_first))) {
		if (strcmp(k, BW_PLUGIN_PROP_CLIENT_ID) == 0 && g->client_id_props++ == 0)
			snprintf(g->client_id, sizeof(g->client_id), "%s", v);
		if (strcmp(k, "k") == 0)
			snprintf(g->user_prop_k, sizeof(g->user_prop_k), "%s", v);
		free(k);
		free(v);
		skip_first = true;
	}
out:
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

/* Connects a client (protocol MQTT_PROTOCOL_V311 or MQTT_PROTOCOL_V5; user/password may be
 * NULL) and waits for the CONNACK. Returns its code: 0 accepted, else the refusal (the client
 * is then closed by teardown), -1 on no answer. *out receives the client either way. */
static int cli_connect(struct cli **out, const char *id, const char *user, const char *password,
		       int protocol, bool clean)
{
	struct cli *c = calloc(1, sizeof(*c));
	struct timespec deadline = deadline_in(WAIT_MS);
	int slot = 0, rc;

	ck_assert_ptr_nonnull(c);
	while (slot < MAX_CLIENTS && clients[slot])
		slot++;
	ck_assert_int_lt(slot, MAX_CLIENTS);
	clients[slot] = c;
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->cond, NULL);
	c->mosq = mosquitto_new(id, clean, c);
	ck_assert_ptr_nonnull(c->mosq);
	mosquitto_int_option(c->mosq, MOSQ_OPT_PROTOCOL_VERSION, protocol);
	mosquitto_int_option(c->mosq, MOSQ_OPT_TCP_NODELAY, 1);
	if (user)
		ck_assert_int_eq(mosquitto_username_pw_set(c->mosq, user, password), 0);
	mosquitto_connect_v5_callback_set(c->mosq, on_connect);
	mosquitto_subscribe_v5_callback_set(c->mosq, on_subscribe);
	mosquitto_publish_v5_callback_set(c->mosq, on_publish);
	mosquitto_message_v5_callback_set(c->mosq, on_message);
	ck_assert_int_eq(mosquitto_connect(c->mosq, "127.0.0.1", broker.port, 30), 0);
	ck_assert_int_eq(mosquitto_loop_start(c->mosq), 0);
	pthread_mutex_lock(&c->lock);
	while (!c->has_connack &&
	       pthread_cond_timedwait(&c->cond, &c->lock, &deadline) != ETIMEDOUT) {
	}
	rc = c->has_connack ? c->connack_rc : -1;
	pthread_mutex_unlock(&c->lock);
	*out = c;
	return rc;
}

/* A connected client; fails the test when the broker refuses it. */
static struct cli *cli_open(const char *id, const char *user, const char *password, int protocol)
{
	struct cli *c;
	int rc = cli_connect(&c, id, user, password, protocol, true);

	ck_assert_msg(rc == 0, "client %s refused: %d", id, rc);
	return c;
}

static struct cli *server_open(const char *id)
{
	return cli_open(id, SERVER_USER, SERVER_PASSWORD, MQTT_PROTOCOL_V5);
}

static void cli_close(struct cli *c)
{
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i] == c)
			clients[i] = NULL;
	}
	mosquitto_disconnect(c->mosq);
	mosquitto_loop_stop(c->mosq, false);
	mosquitto_destroy(c->mosq);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

/* Subscribes at QoS 1; returns the granted QoS or the broker's refusal code. */
static int cli_subscribe(struct cli *c, const char *filter)
{
	struct timespec deadline = deadline_in(WAIT_MS);
	int want;

	pthread_mutex_lock(&c->lock);
	want = c->subacks + 1;
	pthread_mutex_unlock(&c->lock);
	ck_assert_int_eq(mosquitto_subscribe(c->mosq, NULL, filter, 1), 0);
	pthread_mutex_lock(&c->lock);
	while (c->subacks < want &&
	       pthread_cond_timedwait(&c->cond, &c->lock, &deadline) != ETIMEDOUT) {
	}
	pthread_mutex_unlock(&c->lock);
	ck_assert_msg(c->subacks >= want, "no SUBACK for %s", filter);
	return c->last_granted;
}

/* Publishes with optional user properties (name/value pairs, NULL-terminated list, v5 only).
 * QoS > 0 waits for the broker's acknowledgement and returns its reason code (0 for 3.1.1);
 * QoS 0 returns 0 at once. */
static int cli_publish_props(struct cli *c, const char *topic, const void *payload, int len,
			     int qos, bool retain, const char *const *props)
{
	struct timespec deadline = deadline_in(WAIT_MS);
	mosquitto_property *list = NULL;
	int want, rc;

	for (int i = 0; props && props[i]; i += 2)
		ck_assert_int_eq(mosquitto_property_add_string_pair(&list, MQTT_PROP_USER_PROPERTY,
								    props[i], props[i + 1]),
				 0);
	pthread_mutex_lock(&c->lock);
	want = c->pubacks + 1;
	pthread_mutex_unlock(&c->lock);
	rc = mosquitto_publish_v5(c->mosq, NULL, topic, len, payload, qos, retain, list);
	mosquitto_property_free_all(&list);
	ck_assert_msg(rc == 0, "publish on %s: %s", topic, mosquitto_strerror(rc));
	if (qos == 0)
		return 0;
	pthread_mutex_lock(&c->lock);
	while (c->pubacks < want &&
	       pthread_cond_timedwait(&c->cond, &c->lock, &deadline) != ETIMEDOUT) {
	}
	rc = c->pubacks >= want ? c->last_puback_rc : -1;
	pthread_mutex_unlock(&c->lock);
	ck_assert_msg(rc >= 0, "no acknowledgement for the publish on %s", topic);
	return rc;
}

static int cli_publish(struct cli *c, const char *topic, const char *text, int qos)
{
	return cli_publish_props(c, topic, text, (int)strlen(text), qos, false, NULL);
}

/* The server's directed reply: DELIVER_PREFIX + topic with bw-target = target (NULL: none).
 * Returns the broker's acknowledgement: 0x10 for every internal message, which nobody gets. */
static int deliver(struct cli *server, const char *target, const char *topic, const void *payload,
		   int len, int qos)
{
	char internal[512];
	const char *props[] = { BW_PLUGIN_PROP_TARGET, target, NULL };

	snprintf(internal, sizeof(internal), "%s%s", BW_PLUGIN_DELIVER_PREFIX, topic);
	return cli_publish_props(server, internal, payload, len, qos, false, target ? props : NULL);
}

static int deliver_text(struct cli *server, const char *target, const char *topic, const char *text)
{
	return deliver(server, target, topic, text, (int)strlen(text), 1);
}

/* Waits (bounded) until the client holds at least n messages; returns the count. */
static int cli_wait(struct cli *c, int n)
{
	struct timespec deadline = deadline_in(WAIT_MS);
	int count;

	pthread_mutex_lock(&c->lock);
	while (c->count + c->overflow < n &&
	       pthread_cond_timedwait(&c->cond, &c->lock, &deadline) != ETIMEDOUT) {
	}
	count = c->count + c->overflow;
	pthread_mutex_unlock(&c->lock);
	return count;
}

/* Messages received so far on topic. */
static int cli_count_topic(struct cli *c, const char *topic)
{
	int n = 0;

	pthread_mutex_lock(&c->lock);
	for (int i = 0; i < c->count; i++)
		n += strcmp(c->msgs[i].topic, topic) == 0;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* Waits until a message on topic arrived (bounded); false when none came. */
static bool cli_wait_topic(struct cli *c, const char *topic)
{
	int64_t deadline = now_ms() + WAIT_MS;

	while (cli_count_topic(c, topic) == 0) {
		if (now_ms() >= deadline)
			return false;
		cli_wait(c, c->count + 1);
	}
	return true;
}

/* ---- fixture ----------------------------------------------------------------------------- */

static void setup(void)
{
	memset(clients, 0, sizeof(clients));
	memset(&broker, 0, sizeof(broker));
}

static void teardown(void)
{
	for (int i = 0; i < MAX_CLIENTS; i++) {
		if (clients[i])
			cli_close(clients[i]);
	}
	broker_cleanup();
}

#define T_NEXT_ACCEPTED "$aws/things/T/jobs/$next/get/accepted"
#define T_NOTIFY_NEXT "$aws/things/T/jobs/notify-next"

/* ---- directed delivery ------------------------------------------------------------------- */

START_TEST(requester_subscribed_only_to_notify_next_receives_the_reply)
{
	static const char payload[] = { '{', '"', 'a', '\0', 'b', '"', '}', (char)0xfe };
	struct cli *dev, *srv;

	broker_start();
	/* the FreeRTOS OTA agent: MQTT 3.1.1, subscribed to notify-next only */
	dev = cli_open("T", NULL, NULL, MQTT_PROTOCOL_V311);
	cli_subscribe(dev, T_NOTIFY_NEXT);
	srv = server_open("bellwetherd-test");
	/* the internal message itself reaches nobody */
	ck_assert_int_eq(deliver(srv, "T", T_NEXT_ACCEPTED, payload, sizeof(payload), 1),
			 RC_NO_SUBSCRIBERS);
	ck_assert_int_eq(cli_wait(dev, 1), 1);
	ck_assert_str_eq(dev->msgs[0].topic, T_NEXT_ACCEPTED);
	ck_assert_int_eq(dev->msgs[0].len, sizeof(payload));
	ck_assert_mem_eq(dev->msgs[0].payload, payload, sizeof(payload));
	ck_assert_int_eq(dev->msgs[0].qos, 1);
	ck_assert(!dev->msgs[0].retain);

	/* its subscription still works as usual, and the reply came once */
	ck_assert_int_eq(cli_publish(srv, T_NOTIFY_NEXT, "{}", 1), 0);
	ck_assert(cli_wait_topic(dev, T_NOTIFY_NEXT));
	ck_assert_int_eq(cli_count_topic(dev, T_NEXT_ACCEPTED), 1);
	ck_assert_int_eq(dev->count, 2);
}
END_TEST

START_TEST(requester_subscribed_to_the_reply_topic_gets_exactly_one_copy)
{
	struct cli *dev, *srv;

	broker_start();
	dev = cli_open("T", NULL, NULL, MQTT_PROTOCOL_V5);
	cli_subscribe(dev, "$aws/things/T/jobs/$next/get/+");
	srv = server_open("bellwetherd-test");
	deliver_text(srv, "T", T_NEXT_ACCEPTED, "one");
	ck_assert(cli_wait_topic(dev, T_NEXT_ACCEPTED));
	/* a later ordinary publish on the same subscription: anything queued before it is in */
	ck_assert_int_eq(cli_publish(srv, "$aws/things/T/jobs/$next/get/marker", "m", 1), 0);
	ck_assert(cli_wait_topic(dev, "$aws/things/T/jobs/$next/get/marker"));
	ck_assert_int_eq(cli_count_topic(dev, T_NEXT_ACCEPTED), 1);
	ck_assert_int_eq(dev->count, 2);
	ck_assert_mem_eq(dev->msgs[0].payload, "one", 3);
}
END_TEST

START_TEST(directed_reply_reaches_no_other_client)
{
	struct cli *dev, *dev_slash, *other, *observer, *srv;

	broker_start();
	dev = cli_open("T", NULL, NULL, MQTT_PROTOCOL_V311);
	dev_slash = cli_open("T/x", NULL, NULL, MQTT_PROTOCOL_V5); /* an id T is a prefix of */
	other = cli_open("T2", NULL, NULL, MQTT_PROTOCOL_V311);
	cli_subscribe(other, "$aws/things/T2/#");
	/* the server account reads every topic */
	observer = server_open("observer");
	cli_subscribe(observer, "$aws/things/+/jobs/#");
	cli_subscribe(observer, "#");
	ck_assert_int_eq(cli_subscribe(observer, "$bellwether/#"), RC_NOT_AUTHORIZED_V5);
	ck_assert_int_eq(cli_subscribe(observer, "$share/g/$bellwether/deliver/#"), 1);
	srv = server_open("bellwetherd-test");

	deliver_text(srv, "T", T_NEXT_ACCEPTED, "for-T");
	ck_assert(cli_wait_topic(dev, T_NEXT_ACCEPTED));
	deliver_text(srv, "T/x", "$aws/things/T/jobs/get/accepted", "for-T/x");
	ck_assert(cli_wait_topic(dev_slash, "$aws/things/T/jobs/get/accepted"));

	/* markers published after both deliveries were handled */
	ck_assert_int_eq(cli_publish(srv, "$aws/things/T/jobs/notify", "mark", 1), 0);
	ck_assert_int_eq(cli_publish(srv, "$aws/things/T2/jobs/notify", "mark", 1), 0);
	ck_assert(cli_wait_topic(observer, "$aws/things/T2/jobs/notify"));
	ck_assert(cli_wait_topic(other, "$aws/things/T2/jobs/notify"));
	sleep_ms(100);
	ck_assert_int_eq(cli_count_topic(observer, T_NEXT_ACCEPTED), 0);
	ck_assert_int_eq(cli_count_topic(observer, "$aws/things/T/jobs/get/accepted"), 0);
	ck_assert_int_eq(observer->count, 2); /* the two markers only */
	ck_assert_int_eq(other->count, 1);
	ck_assert_int_eq(dev->count, 1);
	ck_assert_int_eq(dev_slash->count, 1);
	ck_assert_mem_eq(dev->msgs[0].payload, "for-T", 5);
	ck_assert_mem_eq(dev_slash->msgs[0].payload, "for-T/x", 7);
}
END_TEST

START_TEST(any_client_id_can_be_targeted)
{
	static const char *const ids[] = { "dev/with+odd#chars \xc3\xbc", "a?b=c&d", "$aws", "#" };
	struct cli *srv;

	broker_start();
	srv = server_open("bellwetherd-test");
	for (size_t i = 0; i < sizeof(ids) / sizeof(ids[0]); i++) {
		struct cli *dev = cli_open(ids[i], NULL, NULL, MQTT_PROTOCOL_V5);

		deliver_text(srv, ids[i], "$aws/things/X/jobs/get/accepted", ids[i]);
		ck_assert_msg(cli_wait_topic(dev, "$aws/things/X/jobs/get/accepted"),
			      "client id '%s' got nothing", ids[i]);
		ck_assert_int_eq(dev->msgs[0].len, (int)strlen(ids[i]));
		ck_assert_mem_eq(dev->msgs[0].payload, ids[i], strlen(ids[i]));
		cli_close(dev);
	}
}
END_TEST

START_TEST(reply_qos_is_the_qos_of_the_internal_publish)
{
	struct cli *dev, *srv;

	broker_start();
	dev = cli_open("T", NULL, NULL, MQTT_PROTOCOL_V5);
	srv = server_open("bellwetherd-test");
	deliver(srv, "T", "$aws/things/T/jobs/q0/get/accepted", "0", 1, 0);
	ck_assert(cli_wait_topic(dev, "$aws/things/T/jobs/q0/get/accepted"));
	deliver(srv, "T", "$aws/things/T/jobs/q1/get/accepted", "1", 1, 1);
	ck_assert(cli_wait_topic(dev, "$aws/things/T/jobs/q1/get/accepted"));
	deliver(srv, "T", "$aws/things/T/jobs/q2/get/accepted", "2", 1, 2); /* sent as QoS 1 */
	ck_assert(cli_wait_topic(dev, "$aws/things/T/jobs/q2/get/accepted"));
	ck_assert_int_eq(dev->count, 3);
	ck_assert_int_eq(dev->msgs[0].qos, 0);
	ck_assert_int_eq(dev->msgs[1].qos, 1);
	ck_assert_int_eq(dev->msgs[2].qos, 1);
	for (int i = 0; i < 3; i++)
		ck_assert(!dev->msgs[i].retain);
	/* an empty payload is a valid reply too */
	deliver(srv, "T", "$aws/things/T/jobs/empty/get/accepted", NULL, 0, 1);
	ck_assert(cli_wait_topic(dev, "$aws/things/T/jobs/empty/get/accepted"));
	ck_assert_int_eq(dev->msgs[3].len, 0);
}
END_TEST

START_TEST(persistent_session_gets_a_reply_sent_while_offline)
{
	struct cli *dev, *srv;

	broker_start();
	ck_assert_int_eq(cli_connect(&dev, "T", NULL, NULL, MQTT_PROTOCOL_V311, false), 0);
	cli_close(dev);
	srv = server_open("bellwetherd-test");
	deliver_text(srv, "T", T_NEXT_ACCEPTED, "queued");
	sleep_ms(50);
	ck_assert_int_eq(cli_connect(&dev, "T", NULL, NULL, MQTT_PROTOCOL_V311, false), 0);
	ck_assert(cli_wait_topic(dev, T_NEXT_ACCEPTED));
	ck_assert_int_eq(dev->count, 1);
	ck_assert_mem_eq(dev->msgs[0].payload, "queued", 6);
	ck_assert_int_eq(dev->msgs[0].qos, 1);
}
END_TEST

START_TEST(server_probe_tells_whether_the_plugin_is_loaded)
{
	struct cli *srv;

	/* loaded: a reply directed at the server itself arrives without a subscription */
	broker_start();
	srv = server_open("bellwetherd-probe");
	ck_assert_int_eq(deliver_text(srv, "bellwetherd-probe", "bellwether/probe/1", "p"),
			 RC_NO_SUBSCRIBERS);
	ck_assert(cli_wait_topic(srv, "bellwether/probe/1"));
	cli_close(srv);
	broker_cleanup();

	/* not loaded: the generated ACL lets the probe through to nobody; the server stays on */
	broker_start_ex(NULL, NULL, true, false);
	srv = server_open("bellwetherd-probe");
	cli_subscribe(srv, "bellwether/after");
	ck_assert_int_eq(deliver_text(srv, "bellwetherd-probe", "bellwether/probe/2", "p"),
			 RC_NO_SUBSCRIBERS);
	ck_assert_int_eq(cli_publish(srv, "bellwether/after", "a", 1), 0);
	ck_assert(cli_wait_topic(srv, "bellwether/after"));
	ck_assert_int_eq(srv->count, 1);
}
END_TEST

/* ---- refusals ---------------------------------------------------------------------------- */

/* A device publishing on the reserved topics is refused (and, with max_queued_messages 0,
 * disconnected by the broker); the server's valid reply afterwards is all that T receives. */
static void check_device_cannot_deliver(void)
{
	static const char *const to_self[] = { BW_PLUGIN_PROP_TARGET, "T", NULL };
	const char *topic = BW_PLUGIN_DELIVER_PREFIX "$aws/things/T/jobs/x/get/accepted";
	struct cli *dev, *srv;

	dev = cli_open("T", NULL, NULL, MQTT_PROTOCOL_V5);
	ck_assert_int_eq(cli_publish_props(dev, topic, "forged", 6, 1, false, to_self),
			 RC_NOT_AUTHORIZED_V5);
	cli_close(dev);
	dev = cli_open("T", NULL, NULL, MQTT_PROTOCOL_V311);
	ck_assert_int_eq(cli_publish(dev, topic, "forged", 0), 0);
	cli_close(dev);
	dev = cli_open("T", NULL, NULL, MQTT_PROTOCOL_V5);
	ck_assert_int_eq(cli_publish_props(dev, "$bellwether/other", "x", 1, 1, false, NULL),
			 RC_NOT_AUTHORIZED_V5);
	cli_close(dev);

	dev = cli_open("T", NULL, NULL, MQTT_PROTOCOL_V5);
	cli_subscribe(dev, "$aws/things/T/#");
	srv = server_open("bellwetherd-test");
	deliver_text(srv, "T", T_NEXT_ACCEPTED, "real");
	ck_assert(cli_wait_topic(dev, T_NEXT_ACCEPTED));
	sleep_ms(50);
	ck_assert_int_eq(dev->count, 1);
	ck_assert_mem_eq(dev->msgs[0].payload, "real", 4);
}

START_TEST(devices_cannot_publish_on_internal_topics)
{
	broker_start();
	check_device_cannot_deliver();
}
END_TEST

START_TEST(plugin_refuses_internal_topics_even_when_the_acl_allows_them)
{
	struct cli *spy, *srv, *dev;

	broker_start_ex(NULL, "pattern readwrite $bellwether/#\n", true, true);
	check_device_cannot_deliver();

	/* nor can anyone read them */
	spy = cli_open("spy", NULL, NULL, MQTT_PROTOCOL_V5);
	ck_assert_int_eq(cli_subscribe(spy, "$bellwether/#"), RC_NOT_AUTHORIZED_V5);
	ck_assert_int_eq(cli_subscribe(spy, "$share/g/$bellwether/deliver/#"), 1);
	cli_subscribe(spy, "$aws/things/spy/#");
	dev = cli_open("T2", NULL, NULL, MQTT_PROTOCOL_V5);
	srv = server_open("bellwetherd-test-2");
	deliver_text(srv, "T2", "$aws/things/T2/jobs/get/accepted", "secret");
	ck_assert(cli_wait_topic(dev, "$aws/things/T2/jobs/get/accepted"));
	ck_assert_int_eq(cli_publish(srv, "$aws/things/spy/jobs/notify", "mark", 1), 0);
	ck_assert(cli_wait_topic(spy, "$aws/things/spy/jobs/notify"));
	ck_assert_int_eq(spy->count, 1);
}
END_TEST

START_TEST(malformed_internal_messages_are_dropped)
{
	static const char *const two_targets[] = { BW_PLUGIN_PROP_TARGET, "T",
						   BW_PLUGIN_PROP_TARGET, "T", NULL };
	static const char *const empty_target[] = { BW_PLUGIN_PROP_TARGET, "", NULL };
	static const char *const to_t[] = { BW_PLUGIN_PROP_TARGET, "T", NULL };
	const char *internal = BW_PLUGIN_DELIVER_PREFIX T_NEXT_ACCEPTED;
	struct cli *dev, *srv;

	broker_start();
	dev = cli_open("T", NULL, NULL, MQTT_PROTOCOL_V5);
	cli_subscribe(dev, "$aws/things/T/#");
	srv = server_open("bellwetherd-test");
	/* each is accepted from the server (refusing would disconnect it) and goes nowhere */
	ck_assert_int_eq(deliver_text(srv, NULL, T_NEXT_ACCEPTED, "no target"), RC_NO_SUBSCRIBERS);
	ck_assert_int_eq(cli_publish_props(srv, internal, "2", 1, 1, false, two_targets),
			 RC_NO_SUBSCRIBERS);
	ck_assert_int_eq(cli_publish_props(srv, internal, "e", 1, 1, false, empty_target),
			 RC_NO_SUBSCRIBERS);
	ck_assert_int_eq(cli_publish_props(srv, internal, "r", 1, 1, true, to_t),
			 RC_NO_SUBSCRIBERS);
	ck_assert_int_eq(cli_publish_props(srv, BW_PLUGIN_DELIVER_PREFIX, "t", 1, 1, false, to_t),
			 RC_NO_SUBSCRIBERS);
	ck_assert_int_eq(deliver_text(srv, "nobody-connected", T_NEXT_ACCEPTED, "lost"),
			 RC_NO_SUBSCRIBERS);

	/* the server is still connected and the next valid reply is the first thing T sees */
	deliver_text(srv, "T", T_NEXT_ACCEPTED, "valid");
	ck_assert(cli_wait_topic(dev, T_NEXT_ACCEPTED));
	sleep_ms(50);
	ck_assert_int_eq(dev->count, 1);
	ck_assert_mem_eq(dev->msgs[0].payload, "valid", 5);
	ck_assert(broker_log_has("needs exactly one non-empty bw-target user property, got 0"));
	ck_assert(broker_log_has("needs exactly one non-empty bw-target user property, got 2"));
	ck_assert(broker_log_has("dropped retained"));
	/* nothing retained was stored on the reply topic */
	cli_close(dev);
	dev = cli_open("T", NULL, NULL, MQTT_PROTOCOL_V5);
	cli_subscribe(dev, "$aws/things/T/#");
	ck_assert_int_eq(cli_publish(srv, T_NOTIFY_NEXT, "mark", 1), 0);
	ck_assert(cli_wait_topic(dev, T_NOTIFY_NEXT));
	ck_assert_int_eq(dev->count, 1);

	/* other reserved topics are not the server's either: refused (and disconnected) */
	ck_assert_int_eq(cli_publish_props(srv, "$bellwether/other", "o", 1, 1, false, to_t),
			 RC_NOT_AUTHORIZED_V5);
}
END_TEST

/* ---- requester stamping ------------------------------------------------------------------ */

START_TEST(device_requests_carry_the_publishers_client_id)
{
	static const char *const extra[] = { "k", "v", NULL };
	static const char *const forged[] = { BW_PLUGIN_PROP_CLIENT_ID, "victim", NULL };
	struct cli *srv, *t, *t5;

	broker_start();
	srv = server_open("bellwetherd-test");
	cli_subscribe(srv, "$aws/things/+/jobs/#");
	cli_subscribe(srv, "$aws/things/+/shadow/#");
	t = cli_open("T", NULL, NULL, MQTT_PROTOCOL_V311);
	t5 = cli_open("T5", NULL, NULL, MQTT_PROTOCOL_V5);

	ck_assert_int_eq(cli_publish(t, "$aws/things/T/jobs/$next/get", "{}", 1), 0);
	ck_assert(cli_wait_topic(srv, "$aws/things/T/jobs/$next/get"));
	ck_assert_int_eq(srv->msgs[0].client_id_props, 1);
	ck_assert_str_eq(srv->msgs[0].client_id, "T");

	/* the device's own properties stay */
	ck_assert_int_eq(
		cli_publish_props(t5, "$aws/things/T5/jobs/j1/update", "{}", 2, 1, false, extra),
		0);
	ck_assert(cli_wait_topic(srv, "$aws/things/T5/jobs/j1/update"));
	ck_assert_int_eq(srv->msgs[1].client_id_props, 1);
	ck_assert_str_eq(srv->msgs[1].client_id, "T5");
	ck_assert_str_eq(srv->msgs[1].user_prop_k, "v");

	/* a forged id is refused outright, on any topic (the broker also disconnects) */
	ck_assert_int_eq(
		cli_publish_props(t5, "$aws/things/T5/jobs/get", "{}", 2, 1, false, forged),
		RC_NOT_AUTHORIZED_V5);
	cli_close(t5);
	t5 = cli_open("T5", NULL, NULL, MQTT_PROTOCOL_V5);
	ck_assert_int_eq(
		cli_publish_props(t5, "$aws/things/T5/shadow/get", "", 0, 1, false, forged),
		RC_NOT_AUTHORIZED_V5);

	/* topics outside the stamp filters are not stamped; the server's own publishes neither */
	ck_assert_int_eq(cli_publish(t, "$aws/things/T/shadow/get", "", 1), 0);
	ck_assert(cli_wait_topic(srv, "$aws/things/T/shadow/get"));
	ck_assert_int_eq(cli_publish(srv, T_NOTIFY_NEXT, "{}", 1), 0);
	ck_assert(cli_wait_topic(srv, T_NOTIFY_NEXT));
	ck_assert_int_eq(srv->count, 4);
	ck_assert_int_eq(srv->msgs[2].client_id_props, 0);
	ck_assert_int_eq(srv->msgs[3].client_id_props, 0);
	ck_assert_int_eq(cli_count_topic(srv, "$aws/things/T5/jobs/get"), 0);
}
END_TEST

START_TEST(stamp_topics_option_chooses_the_stamped_topics)
{
	struct cli *srv, *t;

	broker_start_ex("plugin_opt_stamp_topics $aws/things/+/streams/# "
			"$aws/things/+/shadow/get\n",
			NULL, true, true);
	srv = server_open("bellwetherd-test");
	cli_subscribe(srv, "$aws/things/T/#");
	t = cli_open("T", NULL, NULL, MQTT_PROTOCOL_V311);
	cli_publish(t, "$aws/things/T/streams/s1/get/json", "{}", 1);
	cli_publish(t, "$aws/things/T/shadow/get", "", 1);
	cli_publish(t, "$aws/things/T/jobs/get", "{}", 1);
	ck_assert(cli_wait_topic(srv, "$aws/things/T/jobs/get"));
	ck_assert_int_eq(srv->count, 3);
	ck_assert_int_eq(srv->msgs[0].client_id_props, 1);
	ck_assert_int_eq(srv->msgs[1].client_id_props, 1);
	ck_assert_int_eq(srv->msgs[2].client_id_props, 0);
}
END_TEST

START_TEST(bad_plugin_options_stop_the_broker)
{
	ck_assert_int_ne(broker_start_ex("plugin_opt_bogus 1\n", NULL, false, true), 0);
	ck_assert(broker_log_has("unknown option plugin_opt_bogus"));
	broker_cleanup();
	ck_assert_int_ne(broker_start_ex("plugin_opt_stamp_topics a/#/b\n", NULL, false, true), 0);
	ck_assert(broker_log_has("'a/#/b' is not a topic filter"));
	broker_cleanup();
	ck_assert_int_ne(broker_start_ex("plugin_opt_server_user a?b\n", NULL, false, true), 0);
	ck_assert(broker_log_has("plugin_opt_server_user must be 1-256 bytes without '?'"));
}
END_TEST

/* ---- usernames --------------------------------------------------------------------------- */

START_TEST(sdk_v2_usernames_connect_as_the_part_before_the_question_mark)
{
	const char *anon = "?SDK=IoTDeviceSDK/JS&Version=1.0.0";
	struct cli *dev, *dev5, *empty, *srv_sdk, *srv;

	broker_start();
	/* no username before '?': an anonymous device, still confined to its own thing */
	dev = cli_open("T", anon, NULL, MQTT_PROTOCOL_V311);
	dev5 = cli_open("U", anon, NULL, MQTT_PROTOCOL_V5);
	empty = cli_open("E", "", NULL, MQTT_PROTOCOL_V5);
	cli_subscribe(dev, "$aws/things/U/jobs/notify-next");
	cli_subscribe(dev, T_NOTIFY_NEXT);
	srv = server_open("bellwetherd-test");
	ck_assert_int_eq(cli_publish(srv, "$aws/things/U/jobs/notify-next", "not-for-T", 1), 0);
	ck_assert_int_eq(cli_publish(srv, T_NOTIFY_NEXT, "for-T", 1), 0);
	ck_assert(cli_wait_topic(dev, T_NOTIFY_NEXT));
	sleep_ms(50);
	ck_assert_int_eq(dev->count, 1);
	ck_assert_int_eq(cli_publish(dev5, "$aws/things/U/jobs/get", "{}", 1), RC_NO_SUBSCRIBERS);
	ck_assert_int_eq(cli_publish(dev5, "$aws/things/T/jobs/get", "{}", 1),
			 RC_NOT_AUTHORIZED_V5);
	(void)empty;

	/* the server account with the SDK suffix and its password: server rights */
	srv_sdk = cli_open("srv-sdk", SERVER_USER "?SDK=IoTDeviceSDK/Python&Version=1.2",
			   SERVER_PASSWORD, MQTT_PROTOCOL_V5);
	deliver_text(srv_sdk, "T", T_NEXT_ACCEPTED, "via-sdk-user");
	ck_assert(cli_wait_topic(dev, T_NEXT_ACCEPTED));

	/* a username not in the password file stays refused, suffix or not */
	ck_assert_int_eq(cli_connect(&dev, "S", "stranger?SDK=x", NULL, MQTT_PROTOCOL_V5, true),
			 RC_NOT_AUTHORIZED_V5);
	ck_assert_int_eq(cli_connect(&dev, "S", "stranger", "pw", MQTT_PROTOCOL_V311, true),
			 RC_NOT_AUTHORIZED_V311);
}
END_TEST

START_TEST(server_account_needs_its_password)
{
	struct cli *c;

	broker_start();
	ck_assert_int_eq(cli_connect(&c, "s1", SERVER_USER, "wrong", MQTT_PROTOCOL_V5, true),
			 RC_NOT_AUTHORIZED_V5);
	ck_assert_int_eq(cli_connect(&c, "s2", SERVER_USER, "wrong", MQTT_PROTOCOL_V311, true),
			 RC_NOT_AUTHORIZED_V311);
	ck_assert_int_eq(cli_connect(&c, "s3", SERVER_USER, NULL, MQTT_PROTOCOL_V5, true),
			 RC_NOT_AUTHORIZED_V5);
	ck_assert_int_eq(
		cli_connect(&c, "s4", SERVER_USER "?SDK=x", "wrong", MQTT_PROTOCOL_V5, true),
		RC_NOT_AUTHORIZED_V5);
	ck_assert_int_eq(
		cli_connect(&c, "s5", SERVER_USER "?SDK=x", NULL, MQTT_PROTOCOL_V311, true),
		RC_NOT_AUTHORIZED_V311);
	ck_assert_int_eq(
		cli_connect(&c, "s6", SERVER_USER, SERVER_PASSWORD, MQTT_PROTOCOL_V311, true), 0);
}
END_TEST

static Suite *plugin_suite(void)
{
	Suite *s = suite_create("plugin_delivery");
	TCase *tc = tcase_create("broker");

	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, requester_subscribed_only_to_notify_next_receives_the_reply);
	tcase_add_test(tc, requester_subscribed_to_the_reply_topic_gets_exactly_one_copy);
	tcase_add_test(tc, directed_reply_reaches_no_other_client);
	tcase_add_test(tc, any_client_id_can_be_targeted);
	tcase_add_test(tc, reply_qos_is_the_qos_of_the_internal_publish);
	tcase_add_test(tc, persistent_session_gets_a_reply_sent_while_offline);
	tcase_add_test(tc, server_probe_tells_whether_the_plugin_is_loaded);
	tcase_add_test(tc, devices_cannot_publish_on_internal_topics);
	tcase_add_test(tc, plugin_refuses_internal_topics_even_when_the_acl_allows_them);
	tcase_add_test(tc, malformed_internal_messages_are_dropped);
	tcase_add_test(tc, device_requests_carry_the_publishers_client_id);
	tcase_add_test(tc, stamp_topics_option_chooses_the_stamped_topics);
	tcase_add_test(tc, bad_plugin_options_stop_the_broker);
	tcase_add_test(tc, sdk_v2_usernames_connect_as_the_part_before_the_question_mark);
	tcase_add_test(tc, server_account_needs_its_password);
	suite_add_tcase(s, tc);
	return s;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st;
	(void)type;
	(void)ftw;
	remove(path);
	return 0;
}

/* Locates the plugin and the config generator. Returns 0, 77 (skip: the plugin is not built) or
 * 1 (error: no config generator where the repository should be). */
static int find_paths(void)
{
	char exe[PATH_MAX], root[PATH_MAX], tmp[PATH_MAX];
	const char *env_so = getenv("BW_PLUGIN_SO"), *env_root = getenv("BW_REPO_ROOT");
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	char *slash;
	int len;

	if (n <= 0 || !(slash = memchr(exe, '/', (size_t)n))) {
		fprintf(stderr, "cannot read /proc/self/exe\n");
		return 1;
	}
	exe[n] = '\0';
	slash = strrchr(exe, '/');
	*slash = '\0'; /* build/<variant>/tests/integration */
	if (env_so && *env_so)
		len = snprintf(tmp, sizeof(tmp), "%s", env_so);
	else
		len = snprintf(tmp, sizeof(tmp), "%s/../../bellwether_plugin.so", exe);
	if (len < 0 || (size_t)len >= sizeof(tmp) || !realpath(tmp, plugin_path)) {
		printf("skipped: plugin not built (%s); run make test-build\n", tmp);
		return 77;
	}
	if (env_root && *env_root)
		len = snprintf(root, sizeof(root), "%s", env_root);
	else
		len = snprintf(root, sizeof(root), "%s/../../../..", exe);
	if (len >= 0 && (size_t)len < sizeof(root))
		len = snprintf(tmp, sizeof(tmp), "%s/scripts/gen-mosquitto-conf.sh", root);
	if (len < 0 || (size_t)len >= sizeof(tmp) || !realpath(tmp, gen_script)) {
		fprintf(stderr, "%s not found (set BW_REPO_ROOT)\n", tmp);
		return 1;
	}
	return 0;
}

int main(void)
{
	SRunner *sr;
	int failed, rc = find_paths();

	if (rc != 0)
		return rc;
	/* every broker dir lives in run_dir: a failed assertion ends a forked test at once, before
	 * its teardown, so whatever it left behind is removed here */
	if (!mkdtemp(run_dir) || chmod(run_dir, 0711) != 0) {
		perror(run_dir);
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	mosquitto_lib_init();
	sr = srunner_create(plugin_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	mosquitto_lib_cleanup();
	nftw(run_dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
