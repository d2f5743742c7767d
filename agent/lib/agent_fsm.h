/*
 * The device side of a firmware job as a PURE state machine: events in, actions out, time as a
 * parameter, no I/O. bellwether-agent and bellwether-sim feed it the same events (MQTT
 * messages parsed by agent_proto, download/verify/install results, boots, ticks) and carry out
 * the actions it returns; everything it says to the server uses the AWS topics of spec 2, 6, 9.
 *
 *   idle --execution, checks pass--> downloading --> verifying --> installing
 *     ^   (checks fail: REJECTED + reason)   (retry with Range resume, backoff)
 *     |                                                                  |
 *     |                       rebooting <--pending + self_test "ready"--+
 *     |  after boot: new slot on trial -> testing --pass--> confirming --delay--> SUCCEEDED
 *     |              old slot (bootloader fell back) -> FAILED "did not boot"
 *     +------------- self-test failed -> rollback + reboot -> FAILED "self-test failed"
 *
 * Terminal reports are kept until the server answers them (accepted or rejected) and are
 * repeated on every reconnect, so a broker or server restart loses none. A throttled answer
 * (Jobs RequestThrottled, Shadow 429) is not an answer: the request goes out again after a
 * growing jittered backoff, never later than the regular repeat.
 */
#ifndef BW_AGENT_FSM_H
#define BW_AGENT_FSM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "agent_doc.h"

#define AGENT_THING_MAX 128
#define AGENT_REASON_MAX 200
#define AGENT_TOPIC_MAX 300
#define AGENT_ACTIONS_MAX 8

/* What the device is and runs (given at boot; version/slot change after a confirmed update). */
struct agent_device {
	char thing[AGENT_THING_MAX + 1];
	char hardware_type[AGENT_HW_MAX + 1];
	char version[AGENT_VERSION_MAX + 1]; /* running firmware version (semver) */
	uint32_t security_version;	     /* anti-rollback counter of the running image */
	int running_slot;		     /* 0 = A, 1 = B */
	bool is_trial_boot;		     /* running slot is pending confirmation */
	uint64_t max_image_bytes;	     /* inactive slot capacity, 0 = unlimited */
	uint32_t boot_count;
};

enum agent_pending_stage {
	AGENT_PENDING_NONE = 0,
	AGENT_PENDING_BOOT,	/* new image written and marked pending; rebooting into it */
	AGENT_PENDING_ROLLBACK, /* self-test failed; rebooting into the old slot */
};

/* What must survive a reboot (the driver stores it: a file, or memory in the simulator). */
struct agent_persist {
	enum agent_pending_stage stage;
	char job_id[AGENT_JOB_ID_MAX + 1];
	char target_version[AGENT_VERSION_MAX + 1];
	uint32_t target_security_version;
	char prev_version[AGENT_VERSION_MAX + 1];
	uint32_t prev_security_version;
	int prev_slot;
	int new_slot;
	char reason[AGENT_REASON_MAX + 1]; /* why a rollback happened */
};

enum agent_state {
	AGENT_IDLE,
	AGENT_DOWNLOADING,
	AGENT_VERIFYING,
	AGENT_INSTALLING,
	AGENT_REBOOTING,
	AGENT_TESTING,
	AGENT_CONFIRMING,
	AGENT_REPORTING, /* terminal status sent, waiting for its accepted reply */
};

/* Returns the lower-case name of s ("idle", "downloading", ...). */
const char *agent_state_name(enum agent_state s);

enum agent_event_type {
	AGENT_EV_CONNECTED, /* MQTT session up (after subscribing) */
	AGENT_EV_DISCONNECTED,
	AGENT_EV_EXECUTION,	  /* $next/get/accepted, notify-next, start-next/accepted */
	AGENT_EV_UPDATE_ACCEPTED, /* P/{job}/update/accepted */
	AGENT_EV_UPDATE_REJECTED, /* P/{job}/update/rejected */
	AGENT_EV_QUERY_REJECTED,  /* $next/get/rejected, start-next/rejected (code, token) */
	AGENT_EV_SHADOW_REJECTED, /* shadow/update/rejected, shadow/get/rejected (code, token) */
	AGENT_EV_DOWNLOAD_PROGRESS,
	AGENT_EV_DOWNLOAD_DONE,
	AGENT_EV_VERIFIED,
	AGENT_EV_INSTALLED,
	AGENT_EV_SELF_TEST_DONE,
	AGENT_EV_TICK,
};

/* An execution as the server described it (jobDocument already parsed). */
struct agent_execution {
	bool is_present; /* false: nothing pending */
	char job_id[AGENT_JOB_ID_MAX + 1];
	char status[16]; /* QUEUED, IN_PROGRESS, ... */
	int64_t version_number;
	bool is_doc_valid;    /* doc parsed; otherwise doc_error says why */
	struct agent_doc doc; /* owned by the event; the FSM copies what it keeps */
	char doc_error[AGENT_REASON_MAX + 1];
	bool has_self_test; /* statusDetails.self_test present */
};

struct agent_event {
	enum agent_event_type type;
	int64_t now_ms;
	const struct agent_execution *execution; /* AGENT_EV_EXECUTION */
	char job_id[AGENT_JOB_ID_MAX + 1];	 /* UPDATE_ACCEPTED / UPDATE_REJECTED */
	char code[40];	       /* *_REJECTED: the AWS code (Shadow: the number as text, "429") */
	char client_token[65]; /* UPDATE_*, *_REJECTED: the echoed clientToken */
	bool is_shadow_get;    /* SHADOW_REJECTED: of shadow/get (else shadow/update) */
	uint64_t bytes;	       /* DOWNLOAD_PROGRESS: bytes so far */
	bool is_ok;	       /* *_DONE, VERIFIED, INSTALLED, SELF_TEST_DONE */
	bool is_retryable;     /* DOWNLOAD_DONE failure that may be resumed */
	char reason[AGENT_REASON_MAX + 1]; /* failure text */
};

enum agent_action_type {
	AGENT_ACT_PUBLISH,  /* topic, payload, qos */
	AGENT_ACT_DOWNLOAD, /* start or resume the download of fsm->doc (offset) */
	AGENT_ACT_CANCEL_DOWNLOAD,
	AGENT_ACT_VERIFY,    /* hash + signature of the downloaded image -> VERIFIED */
	AGENT_ACT_INSTALL,   /* write it to the inactive slot, mark pending -> INSTALLED */
	AGENT_ACT_PERSIST,   /* store fsm->persist durably before the next action */
	AGENT_ACT_REBOOT,    /* restart into the pending slot (after publishes are flushed) */
	AGENT_ACT_SELF_TEST, /* run the self-test on the new image -> SELF_TEST_DONE */
	AGENT_ACT_CONFIRM,   /* make the running slot permanent */
	AGENT_ACT_ROLLBACK,  /* switch back to the old slot and reboot */
	AGENT_ACT_JOB_DONE,  /* informational: a job reached a terminal status (status) */
};

struct agent_action {
	enum agent_action_type type;
	char topic[AGENT_TOPIC_MAX];
	char *payload; /* PUBLISH: owned NUL-terminated JSON */
	int qos;
	uint64_t offset; /* DOWNLOAD: resume offset hint (the driver knows what it kept) */
	bool is_mqtt;	 /* DOWNLOAD: over MQTT file streams (doc.stream), else HTTP (doc.url) */
	char status[16]; /* JOB_DONE: SUCCEEDED, FAILED, REJECTED */
	char reason[AGENT_REASON_MAX + 1];
};

struct agent_actions {
	struct agent_action items[AGENT_ACTIONS_MAX];
	size_t count;
	bool is_oom; /* an action could not be built: the driver should log it */
};

/* Download protocols a driver implements (agent_options.protocols). */
#define AGENT_PROTO_HTTP 1u
#define AGENT_PROTO_MQTT 2u

/* Timing and policy knobs (milliseconds). */
struct agent_options {
	unsigned protocols;	/* AGENT_PROTO_* the driver can download with (default HTTP only) */
	bool prefer_mqtt;	/* both offered and supported: use MQTT streams (default HTTP) */
	int64_t query_retry_ms; /* re-ask $next/get when no answer came (default 30000) */
	int64_t progress_every_ms;   /* min gap between progress reports (default 2000) */
	int64_t confirm_delay_ms;    /* healthy time on the new image before SUCCEEDED (10000) */
	int64_t download_backoff_ms; /* first retry delay, doubled up to 60 s (default 1000) */
	int download_attempts;	     /* attempts before FAILED (default 8) */
	int64_t report_retry_ms;     /* repeat an unanswered terminal report (default 30000) */
	int64_t throttle_backoff_ms; /* first resend after a throttled answer (default 2000) */
	int64_t throttle_backoff_max_ms; /* cap of that backoff, doubled per answer (60000) */
};

/*
 * A request the server may answer as throttled (Jobs RequestThrottled, Shadow 429): kept with
 * its clientToken and published again, unchanged, after a growing jittered backoff.
 */
struct agent_kept {
	char *payload; /* NULL = none */
	char token[65];
	unsigned throttled;  /* throttled answers in a row */
	int64_t retry_at_ms; /* resend due (0 = not backing off) */
};

struct agent_fsm {
	struct agent_options opt;
	struct agent_device dev;
	struct agent_persist persist;
	enum agent_state state;
	bool is_connected;
	bool has_job;
	char job_id[AGENT_JOB_ID_MAX + 1];
	struct agent_doc doc; /* of the current job (owned) */
	uint64_t bytes_done;
	bool use_mqtt;		 /* the current download goes over MQTT streams */
	int attempts;		 /* failed download attempts in a row without progress */
	uint64_t attempt_from;	 /* bytes_done when the current attempt started */
	int64_t wake_ms;	 /* next TICK needed at or after this time; 0 = none */
	int64_t retry_at_ms;	 /* download retry due (0 = none) */
	int64_t confirm_at_ms;	 /* CONFIRMING: when the confirmation delay ends */
	bool need_active_report; /* TESTING: tell the server the new image runs */
	int64_t last_progress_ms;
	int64_t query_sent_ms;	   /* 0 = no $next/get outstanding */
	bool need_firmware_report; /* shadow reported.firmware after a boot or a change */
	/* the terminal (or pre-reboot) report kept until answered */
	bool has_report;
	char report_job[AGENT_JOB_ID_MAX + 1];
	char *report_payload;
	char report_token[65];
	int64_t report_sent_ms;
	unsigned report_throttled;    /* RequestThrottled answers to the report in a row */
	int64_t report_retry_at_ms;   /* throttled: resend due (0 = none) */
	unsigned query_throttled;     /* RequestThrottled answers to $next/get in a row */
	int64_t query_retry_at_ms;    /* throttled: ask again then (0 = none) */
	char query_token[65];	      /* clientToken of the last $next/get */
	struct agent_kept fw_report;  /* shadow reported.firmware */
	struct agent_kept cfg_report; /* shadow reported.config (agent_fsm_config_report) */
	struct agent_kept shadow_get; /* shadow/get sent after connecting */
	uint64_t rng;		      /* jitter (xorshift64*, seeded at boot) */
	unsigned token_counter;
};

/* Fills defaults into o. */
void agent_options_default(struct agent_options *o);

/*
 * Starts the machine after a boot: dev describes the running image and slot (from the slot
 * backend), persist what the previous run stored (zeroed when nothing). Decides what the boot
 * means for a pending update (self-test, or failure because the bootloader fell back) and emits
 * the first actions. fsm must be zeroed or cleaned up before.
 */
void agent_fsm_boot(struct agent_fsm *fsm, const struct agent_options *opt,
		    const struct agent_device *dev, const struct agent_persist *persist,
		    int64_t now_ms, struct agent_actions *out);

/* Feeds one event; appends actions to out (which the caller clears with agent_actions_clear). */
void agent_fsm_handle(struct agent_fsm *fsm, const struct agent_event *ev,
		      struct agent_actions *out);

/*
 * Publishes a shadow reported.config update (report: a JSON object, from agent_config_apply)
 * with a clientToken and keeps it, so that a 429 answer makes it go out again after a backoff.
 * A newer report replaces the kept one.
 */
void agent_fsm_config_report(struct agent_fsm *fsm, const char *report, int64_t now_ms,
			     struct agent_actions *out);

/* True if token is the clientToken of a request the machine keeps and resends itself after a
 * throttled answer (terminal report, $next/get, firmware/config report, shadow get). */
bool agent_fsm_owns_token(const struct agent_fsm *fsm, const char *token);

/* The delay before resend number `attempt` (>= 1) after throttled answers: base doubled per
 * attempt up to max, drawn from [d/2, d] with rnd. */
int64_t agent_backoff_ms(int64_t base_ms, int64_t max_ms, unsigned attempt, uint64_t rnd);

/* Frees what fsm owns. */
void agent_fsm_cleanup(struct agent_fsm *fsm);

/* Frees the payloads of out and empties it. */
void agent_actions_clear(struct agent_actions *out);

/*
 * The shadow update reporting the running firmware: {"state":{"reported":{"firmware":{
 * "version","slot":"A"|"B","security_version","hardware_type","boot_count","pending"}}}}.
 * Returns a malloc'd string or NULL on OOM.
 */
char *agent_fsm_firmware_report(const struct agent_fsm *fsm);

#endif
