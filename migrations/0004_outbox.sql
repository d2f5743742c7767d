-- MQTT outbox: device-visible effects (job notifications, shadow delta/documents events) are
-- written here in the same transaction as the change that causes them, and published by the
-- outbox pump after commit, in id order (which is commit order per key), QoS 1, never retained.

CREATE TABLE mqtt_outbox (
	id bigserial PRIMARY KEY,
	topic text NOT NULL CHECK (length(topic) BETWEEN 1 AND 1024),
	payload bytea NOT NULL,
	qos smallint NOT NULL DEFAULT 1 CHECK (qos IN (0, 1)),
	target_client text,
	created_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE mqtt_outbox IS 'MQTT messages committed with their cause and not yet published; the pump deletes a row once the broker client has taken it';
COMMENT ON COLUMN mqtt_outbox.target_client IS 'When set, deliver only to this MQTT client id (through the broker plugin), not to subscribers';

-- Wake the pump at commit time instead of polling; only when the statement inserted rows (a
-- statement trigger also fires for INSERT ... SELECT of nothing).
CREATE FUNCTION bw_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF EXISTS (SELECT 1 FROM new_rows) THEN
		PERFORM pg_notify('bw_outbox', '');
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER mqtt_outbox_notify AFTER INSERT ON mqtt_outbox REFERENCING NEW TABLE AS new_rows
	FOR EACH STATEMENT EXECUTE FUNCTION bw_outbox_notify();
