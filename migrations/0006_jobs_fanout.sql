-- Jobs fan-out (docs/JOBS.md "Fan-out"): a job created for many things announces itself with one
-- outbox row per fan-out instead of two fully rendered rows per thing. The row carries the
-- message templates (topic around the thing name, payload, presign flag) and the set of things as
-- a multirange of things.id; the outbox pump expands it in thing id order, in chunks, recording
-- its progress in the row, so a restart resumes where it stopped (at least once per message).

ALTER TABLE mqtt_outbox
	ADD COLUMN fanout_things int8multirange,
	ADD COLUMN fanout_messages jsonb,
	ADD COLUMN fanout_done bigint NOT NULL DEFAULT 0,
	ADD CONSTRAINT mqtt_outbox_fanout_check CHECK ((fanout_things IS NULL) = (fanout_messages IS NULL)
		AND (fanout_messages IS NULL OR jsonb_typeof(fanout_messages) = 'array'));
COMMENT ON COLUMN mqtt_outbox.fanout_things IS 'Fan-out row: the things.id values to publish fanout_messages for, in id order (NULL: an ordinary row with topic and payload)';
COMMENT ON COLUMN mqtt_outbox.fanout_messages IS 'Fan-out row: JSON array of {"topic_prefix","topic_suffix","payload","presign"}; for each thing, in array order, publish payload on topic_prefix || thing name || topic_suffix';
COMMENT ON COLUMN mqtt_outbox.fanout_done IS 'Fan-out row: every thing with id <= fanout_done has been published (the pump advances it per chunk)';

-- Deleting things cascades into job_targets by thing_id, which had no index of its own (its
-- primary key starts with job_pk): each deleted thing scanned the table. Foreign keys stay as
-- they are: referential integrity is not traded for insert speed.
CREATE INDEX job_targets_thing_idx ON job_targets (thing_id);
