-- Device Shadow service (issue 4): AWS IoT compatible shadows, their desired-state history, and
-- the SQL helpers of fleet queries. See docs/SHADOW.md.

CREATE TABLE shadows (
	thing_name text COLLATE "C" NOT NULL CHECK (thing_name ~ '^[a-zA-Z0-9:_-]{1,128}$'),
	shadow_name text COLLATE "C" NOT NULL
		CHECK (shadow_name = '' OR shadow_name ~ '^[a-zA-Z0-9:_$-]{1,64}$'),
	version bigint NOT NULL CHECK (version >= 1),
	document jsonb CHECK (document IS NULL OR jsonb_typeof(document) = 'object'),
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	deleted_at timestamptz,
	PRIMARY KEY (thing_name, shadow_name),
	CHECK ((document IS NULL) = (deleted_at IS NOT NULL))
) WITH (fillfactor = 70);
COMMENT ON TABLE shadows IS 'Device shadows: one row per (thing name, shadow name), for registered and unregistered things alike (BW_SHADOW_REQUIRE_THING); a deleted shadow stays as a tombstone so that a re-created one continues its version numbering';
COMMENT ON COLUMN shadows.thing_name IS 'Thing name as used in the MQTT topics; deliberately no foreign key to things (AWS keeps shadows independent of the registry)';
COMMENT ON COLUMN shadows.shadow_name IS 'Named shadow name; the empty string is the classic (unnamed) shadow, written ~classic in the native API';
COMMENT ON COLUMN shadows.version IS 'Version of the current document, or of the deleted one for a tombstone';
COMMENT ON COLUMN shadows.document IS 'Stored form {"state":{"desired"?,"reported"?},"metadata":{...},"version":N} (shadow_document_new); NULL for a tombstone';
COMMENT ON COLUMN shadows.created_at IS 'When the row was first written (tombstones keep it across re-creation)';
COMMENT ON COLUMN shadows.deleted_at IS 'When the shadow was deleted; NULL while it exists';
-- Fleet queries and listings scan one shadow name in thing order. No index covers document
-- (nor does this one's predicate), so the constant rewrites of a shadow are HOT updates
-- (fillfactor 70 leaves room on the page): no index maintenance on the hot path. Fleet
-- queries therefore filter the documents of one shadow name without an index.
CREATE INDEX shadows_name_thing_idx ON shadows (shadow_name, thing_name) WHERE deleted_at IS NULL;

CREATE TABLE shadow_history (
	id bigserial PRIMARY KEY,
	thing_name text COLLATE "C" NOT NULL,
	shadow_name text COLLATE "C" NOT NULL,
	version bigint NOT NULL,
	kind text NOT NULL CHECK (kind IN ('update', 'delete', 'revert')),
	source text NOT NULL CHECK (source IN ('mqtt', 'iot-data', 'api')),
	actor text NOT NULL,
	actor_token_id bigint,
	request_id text,
	client_token text,
	previous_desired jsonb,
	desired jsonb,
	reverted_to_version bigint,
	at timestamptz NOT NULL DEFAULT now(),
	CHECK ((kind = 'revert') = (reverted_to_version IS NOT NULL))
);
COMMENT ON TABLE shadow_history IS 'Config history: one row per accepted shadow change that changed state.desired (updates, deletes of a shadow that had desired, and every revert), written in the same transaction as the change';
COMMENT ON COLUMN shadow_history.version IS 'Shadow version the change produced; for a delete the version of the deleted document (the delete ends that version: desired as of version N is the desired of the newest row with version < N, or version = N and kind <> delete)';
COMMENT ON COLUMN shadow_history.source IS 'mqtt (device topics), iot-data (AWS HTTP API) or api (native /api/v1)';
COMMENT ON COLUMN shadow_history.actor IS 'Who: the token name (api), aws:<access key id> (iot-data), or mqtt (the broker does not tell which client published; the ACL confines devices to their own thing)';
COMMENT ON COLUMN shadow_history.previous_desired IS 'state.desired before the change (NULL = absent)';
COMMENT ON COLUMN shadow_history.desired IS 'state.desired after the change (NULL = absent): the config as of this version';
COMMENT ON COLUMN shadow_history.reverted_to_version IS 'For kind revert: the version whose desired state was restored';
-- A version has at most one change that produced it and at most one delete that ended it.
CREATE UNIQUE INDEX shadow_history_version_idx
	ON shadow_history (thing_name, shadow_name, version, (kind = 'delete'));
CREATE INDEX shadow_history_list_idx ON shadow_history (thing_name, shadow_name, id DESC);

-- True when the desired value d is not matched by the reported value r under the delta rules of
-- spec 6.5 (docs/SHADOW.md): objects compare key by key over the keys of d only (keys only in r
-- never count), everything else as whole values (jsonb equality: numbers numerically, arrays in
-- order). NULL or JSON null d never differs; a missing r always does (unless d is absent).
CREATE FUNCTION bw_shadow_differs(d jsonb, r jsonb) RETURNS boolean
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
	k text;
	v jsonb;
BEGIN
	IF d IS NULL OR jsonb_typeof(d) = 'null' THEN
		RETURN false;
	END IF;
	IF r IS NULL THEN
		RETURN true;
	END IF;
	IF jsonb_typeof(d) = 'object' AND jsonb_typeof(r) = 'object' THEN
		FOR k, v IN SELECT * FROM jsonb_each(d) LOOP
			IF bw_shadow_differs(v, r -> k) THEN
				RETURN true;
			END IF;
		END LOOP;
		RETURN false;
	END IF;
	RETURN d <> r;
END
$$;
COMMENT ON FUNCTION bw_shadow_differs(jsonb, jsonb) IS 'Delta rule of a shadow (spec 6.5) for one subtree: does desired d differ from reported r?';

-- The hot path of the shadow service (db/shadows.c) runs as two statements per batch of
-- requests: one load, one write. They live in PL/pgSQL functions so that Postgres plans them
-- once per connection (PL/pgSQL caches its statements' plans) instead of on every call.

CREATE FUNCTION bw_shadow_load(keys jsonb)
RETURNS TABLE (i bigint, version bigint, document text, registered boolean)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
	RETURN QUERY
	SELECT k.i, s.version, s.document::text, t.id IS NOT NULL
	FROM jsonb_array_elements(keys) WITH ORDINALITY AS k(v, i)
	LEFT JOIN shadows s ON s.thing_name = k.v ->> 0 AND s.shadow_name = k.v ->> 1
	LEFT JOIN things t ON t.name = k.v ->> 0
	ORDER BY k.i;
END
$$;
COMMENT ON FUNCTION bw_shadow_load(jsonb) IS 'Shadow rows for a batch: keys is [[thing, shadow], ...]; one result row per key, in key order (1-based i), with version/document NULL when there is no row, document NULL for a tombstone, and whether the thing is registered';

CREATE FUNCTION bw_shadow_write(rows jsonb, history jsonb) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
	n_updated bigint;
	n_inserted bigint;
BEGIN
	WITH x AS (
		SELECT e ->> 't' AS t, e ->> 'n' AS n, (e ->> 'v')::bigint AS v,
			(e ->> 'p')::bigint AS p, nullif(e -> 'd', 'null'::jsonb) AS d
		FROM jsonb_array_elements(rows) e)
	UPDATE shadows s SET version = x.v, document = x.d, updated_at = now(),
		deleted_at = CASE WHEN x.d IS NULL THEN coalesce(s.deleted_at, now()) END
	FROM x
	WHERE x.p > 0 AND s.thing_name = x.t AND s.shadow_name = x.n AND s.version = x.p;
	GET DIAGNOSTICS n_updated = ROW_COUNT;
	n_inserted := 0;
	IF n_updated < jsonb_array_length(rows) THEN
		INSERT INTO shadows (thing_name, shadow_name, version, document, deleted_at)
		SELECT e ->> 't', e ->> 'n', (e ->> 'v')::bigint, nullif(e -> 'd', 'null'::jsonb),
			CASE WHEN jsonb_typeof(e -> 'd') = 'null' THEN now() END
		FROM jsonb_array_elements(rows) e
		WHERE (e ->> 'p')::bigint = 0
		ON CONFLICT DO NOTHING;
		GET DIAGNOSTICS n_inserted = ROW_COUNT;
	END IF;
	IF n_updated + n_inserted <> jsonb_array_length(rows) THEN
		-- another writer changed or created one of the rows since it was loaded: the
		-- caller reloads and re-applies the whole batch (SQLSTATE 40001 is retryable)
		RAISE EXCEPTION 'shadow rows changed since they were loaded'
			USING ERRCODE = 'serialization_failure';
	END IF;
	IF jsonb_array_length(history) = 0 THEN
		RETURN;
	END IF;
	INSERT INTO shadow_history (thing_name, shadow_name, version, kind, source, actor,
		actor_token_id, request_id, client_token, previous_desired, desired,
		reverted_to_version)
	SELECT e ->> 't', e ->> 'n', (e ->> 'v')::bigint, e ->> 'k', e ->> 's', e ->> 'a',
		(e ->> 'ti')::bigint, e ->> 'ri', e ->> 'ct', nullif(e -> 'pd', 'null'::jsonb),
		nullif(e -> 'nd', 'null'::jsonb), (e ->> 'rv')::bigint
	FROM jsonb_array_elements(history) e;
END
$$;
COMMENT ON FUNCTION bw_shadow_write(jsonb, jsonb) IS 'Writes a batch of shadow changes atomically: rows [{t, n, v: new version, p: loaded version (0 = no row), d: document or null}] only where the stored version is still p, plus their history rows; raises serialization_failure (40001) when any row changed since it was loaded';
