-- Jobs engine, wire-compatible with AWS IoT Jobs (spec sections 2-5). Config objects are stored
-- in their AWS (camelCase) shape exactly as validated by server/src/jobs/config.c.

CREATE TABLE job_templates (
	id bigserial PRIMARY KEY,
	template_id text COLLATE "C" NOT NULL UNIQUE CHECK (template_id ~ '^[a-zA-Z0-9_-]{1,64}$'),
	description text NOT NULL,
	document text,
	document_source text,
	config jsonb NOT NULL DEFAULT '{}',
	request_sha256 text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	last_updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE job_templates IS 'CreateJobTemplate: a document and job configuration that CreateJob can start from';
COMMENT ON COLUMN job_templates.config IS 'AWS-shaped presignedUrlConfig, jobExecutionsRolloutConfig, abortConfig, timeoutConfig, jobExecutionsRetryConfig, maintenanceWindows';
COMMENT ON COLUMN job_templates.request_sha256 IS 'Hash of the normalised create request: the same id with the same body is idempotent, a different body conflicts';

CREATE TABLE jobs (
	id bigserial PRIMARY KEY,
	job_id text COLLATE "C" NOT NULL UNIQUE CHECK (job_id ~ '^[a-zA-Z0-9_-]{1,64}$'),
	status text NOT NULL CHECK (status IN ('SCHEDULED', 'IN_PROGRESS', 'CANCELED', 'COMPLETED',
		'DELETION_IN_PROGRESS')),
	target_selection text NOT NULL DEFAULT 'SNAPSHOT' CHECK (target_selection IN ('SNAPSHOT',
		'CONTINUOUS')),
	targets jsonb NOT NULL,
	document text NOT NULL,
	description text,
	template_id text,
	config jsonb NOT NULL DEFAULT '{}',
	request_sha256 text NOT NULL,
	force_canceled boolean NOT NULL DEFAULT false,
	reason_code text,
	comment text,
	rollout_released bigint NOT NULL DEFAULT 0,
	rollout_tokens double precision NOT NULL DEFAULT 0,
	rollout_refilled_at timestamptz,
	rollout_stopped_at timestamptz,
	created_by text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	last_updated_at timestamptz NOT NULL DEFAULT now(),
	completed_at timestamptz,
	version bigint NOT NULL DEFAULT 1
);
COMMENT ON TABLE jobs IS 'One row per job (CreateJob); executions are created for its targets at the rollout rate';
COMMENT ON COLUMN jobs.targets IS 'JSON array of thing and thing-group ARNs as given at creation';
COMMENT ON COLUMN jobs.document IS 'Job document text with presigned-URL placeholders intact (they are resolved per delivery)';
COMMENT ON COLUMN jobs.config IS 'AWS-shaped jobExecutionsRolloutConfig, abortConfig, timeoutConfig, jobExecutionsRetryConfig, schedulingConfig, presignedUrlConfig';
COMMENT ON COLUMN jobs.rollout_released IS 'Executions released so far (drives the exponential rollout rate)';
COMMENT ON COLUMN jobs.rollout_tokens IS 'Token bucket of the rollout rate: executions that may still be released now';
COMMENT ON COLUMN jobs.rollout_refilled_at IS 'When rollout_tokens was last refilled by the scheduler';
COMMENT ON COLUMN jobs.rollout_stopped_at IS 'schedulingConfig endTime passed with endBehavior STOP_ROLLOUT: no more executions are released';
CREATE INDEX jobs_status_idx ON jobs (status) WHERE status IN ('SCHEDULED', 'IN_PROGRESS');

CREATE TABLE job_targets (
	job_pk bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	thing_id bigint NOT NULL REFERENCES things (id) ON DELETE CASCADE,
	added_at timestamptz NOT NULL DEFAULT now(),
	released_at timestamptz,
	PRIMARY KEY (job_pk, thing_id)
);
COMMENT ON TABLE job_targets IS 'Things a job targets (targets expanded to things); released_at is set when the rollout created the thing''s execution';
CREATE INDEX job_targets_pending_idx ON job_targets (job_pk, added_at) WHERE released_at IS NULL;

CREATE TABLE job_executions (
	job_pk bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	thing_id bigint NOT NULL REFERENCES things (id) ON DELETE CASCADE,
	execution_number bigint NOT NULL DEFAULT 1,
	status text NOT NULL CHECK (status IN ('QUEUED', 'IN_PROGRESS', 'SUCCEEDED', 'FAILED',
		'TIMED_OUT', 'REJECTED', 'REMOVED', 'CANCELED')),
	status_details jsonb NOT NULL DEFAULT '{}',
	version_number bigint NOT NULL DEFAULT 1,
	retry_attempt integer NOT NULL DEFAULT 0,
	retries_by_type jsonb NOT NULL DEFAULT '{}',
	force_canceled boolean NOT NULL DEFAULT false,
	queued_at timestamptz NOT NULL DEFAULT now(),
	started_at timestamptz,
	last_updated_at timestamptz NOT NULL DEFAULT now(),
	in_progress_deadline timestamptz,
	step_deadline timestamptz,
	last_update_request jsonb,
	PRIMARY KEY (job_pk, thing_id)
);
COMMENT ON TABLE job_executions IS 'The latest execution of each job on each thing (earlier executions of retries live in job_execution_history)';
COMMENT ON COLUMN job_executions.retries_by_type IS 'Retries used per failure type, e.g. {"FAILED": 1, "TIMED_OUT": 0}';
COMMENT ON COLUMN job_executions.in_progress_deadline IS 'timeoutConfig deadline, armed when the execution first enters IN_PROGRESS';
COMMENT ON COLUMN job_executions.step_deadline IS 'stepTimeoutInMinutes deadline from the latest start-next/update, never past in_progress_deadline';
COMMENT ON COLUMN job_executions.last_update_request IS 'The last applied device update (status, details, expectedVersion), so a duplicate gets the same accepted answer';
CREATE INDEX job_executions_thing_idx ON job_executions (thing_id, status, queued_at);
CREATE INDEX job_executions_job_status_idx ON job_executions (job_pk, status);
CREATE INDEX job_executions_deadline_idx ON job_executions (least(in_progress_deadline, step_deadline))
	WHERE status = 'IN_PROGRESS';

CREATE TABLE job_execution_history (
	id bigserial PRIMARY KEY,
	job_pk bigint NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
	thing_id bigint NOT NULL REFERENCES things (id) ON DELETE CASCADE,
	execution_number bigint NOT NULL,
	from_status text,
	to_status text NOT NULL,
	status_details jsonb NOT NULL DEFAULT '{}',
	version_number bigint NOT NULL,
	actor text NOT NULL,
	reason text,
	at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE job_execution_history IS 'Every execution transition (device, scheduler or operator), for audit and rollout gates';
COMMENT ON COLUMN job_execution_history.actor IS 'device, scheduler, or the operator token name';
CREATE INDEX job_execution_history_job_idx ON job_execution_history (job_pk, id);
CREATE INDEX job_execution_history_thing_idx ON job_execution_history (thing_id, id);

CREATE TABLE job_thing_events (
	thing_id bigint PRIMARY KEY REFERENCES things (id) ON DELETE CASCADE,
	pending_set text NOT NULL DEFAULT '',
	head text NOT NULL DEFAULT ''
);
COMMENT ON TABLE job_thing_events IS 'Per thing, the pending list (set of jobIds) and head last announced by notify / notify-next (spec 2.10), so events are published only on change';

CREATE TABLE job_streams (
	stream_id text COLLATE "C" PRIMARY KEY CHECK (stream_id ~ '^[a-zA-Z0-9_-]{1,128}$'),
	description text,
	version integer NOT NULL DEFAULT 1 CHECK (version BETWEEN 0 AND 65535),
	job_pk bigint REFERENCES jobs (id) ON DELETE SET NULL,
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE job_streams IS 'MQTT file streams (spec 9.3) served to FreeRTOS OTA devices; created for OTA jobs';
COMMENT ON COLUMN job_streams.job_pk IS 'The OTA job the stream was created for (NULL once that job is deleted)';

CREATE TABLE job_stream_files (
	stream_id text COLLATE "C" NOT NULL REFERENCES job_streams (stream_id) ON DELETE CASCADE,
	file_id integer NOT NULL CHECK (file_id BETWEEN 0 AND 255),
	sha256 text COLLATE "C" NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
	PRIMARY KEY (stream_id, file_id)
);
COMMENT ON TABLE job_stream_files IS 'Files of a stream: fileId -> blob store content (sha256) and size';

-- Control-plane timestamps: epoch seconds with a millisecond fraction (spec 1.3).
CREATE FUNCTION bw_aws_ts(t timestamptz) RETURNS numeric LANGUAGE sql STABLE AS $$
	SELECT round(extract(epoch FROM t)::numeric, 3)
$$;
COMMENT ON FUNCTION bw_aws_ts(timestamptz) IS 'AWS control-plane timestamp: epoch seconds with a fraction';

ALTER TABLE mqtt_outbox ADD COLUMN presign boolean NOT NULL DEFAULT false;
COMMENT ON COLUMN mqtt_outbox.presign IS 'Payload is JSON whose ${aws:iot:s3-presigned-url:...} placeholders the pump replaces with fresh presigned URLs at publish time (spec 3.10)';
