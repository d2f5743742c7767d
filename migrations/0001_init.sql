-- Foundation: API tokens, audit log, device registry (things, static and dynamic groups).

CREATE TABLE api_tokens (
	id bigserial PRIMARY KEY,
	name text NOT NULL CHECK (length(name) BETWEEN 1 AND 128),
	role text NOT NULL CHECK (role IN ('viewer', 'operator', 'admin')),
	token_hash bytea NOT NULL UNIQUE,
	prefix text NOT NULL,
	created_by text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	revoked_at timestamptz,
	last_used_at timestamptz
);
COMMENT ON TABLE api_tokens IS 'Bearer API tokens; only the SHA-256 of each token is stored';
COMMENT ON COLUMN api_tokens.token_hash IS 'SHA-256 of the full token text (tokens carry 256 random bits, so a fast hash suffices)';
COMMENT ON COLUMN api_tokens.prefix IS 'First characters of the token, shown in listings to tell tokens apart';
COMMENT ON COLUMN api_tokens.last_used_at IS 'Updated at most once a minute per token';

CREATE TABLE audit_log (
	id bigserial PRIMARY KEY,
	at timestamptz NOT NULL DEFAULT now(),
	actor text NOT NULL,
	actor_token_id bigint,
	action text NOT NULL,
	resource_type text NOT NULL,
	resource_id text NOT NULL,
	request_id text,
	details jsonb NOT NULL DEFAULT '{}'
);
COMMENT ON TABLE audit_log IS 'One row per mutating API call, written in the same transaction as the change';
COMMENT ON COLUMN audit_log.actor IS 'Token name (or system actor such as bootstrap/cli) that made the change';
CREATE INDEX audit_log_resource_idx ON audit_log (resource_type, resource_id, id DESC);
CREATE INDEX audit_log_action_idx ON audit_log (action, id DESC);

CREATE TABLE things (
	id bigserial PRIMARY KEY,
	name text NOT NULL UNIQUE CHECK (name ~ '^[a-zA-Z0-9:_-]{1,128}$'),
	hardware_type text,
	firmware_version text,
	firmware_sort_key text COLLATE "C",
	attributes jsonb NOT NULL DEFAULT '{}',
	version bigint NOT NULL DEFAULT 1,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE things IS 'Device registry: one row per thing (device), named like AWS IoT things';
COMMENT ON COLUMN things.firmware_version IS 'Firmware version the device last reported (semver)';
COMMENT ON COLUMN things.firmware_sort_key IS 'Byte-order sortable encoding of firmware_version (semver precedence), for range queries';
COMMENT ON COLUMN things.version IS 'Optimistic concurrency counter, incremented by every update';
ALTER TABLE things ALTER COLUMN name SET DATA TYPE text COLLATE "C";
CREATE INDEX things_hardware_type_idx ON things (hardware_type, name);
CREATE INDEX things_firmware_sort_key_idx ON things (firmware_sort_key);
CREATE INDEX things_attributes_idx ON things USING gin (attributes jsonb_path_ops);

CREATE TABLE thing_groups (
	id bigserial PRIMARY KEY,
	name text COLLATE "C" NOT NULL UNIQUE CHECK (name ~ '^[a-zA-Z0-9:_-]{1,128}$'),
	type text NOT NULL CHECK (type IN ('static', 'dynamic')),
	description text,
	parent_id bigint REFERENCES thing_groups (id) ON DELETE RESTRICT,
	query text,
	version bigint NOT NULL DEFAULT 1,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	CHECK ((type = 'dynamic') = (query IS NOT NULL)),
	CHECK (type = 'static' OR parent_id IS NULL)
);
COMMENT ON TABLE thing_groups IS 'Static groups (explicit members, nested via parent_id) and dynamic groups (a query over thing fields)';
COMMENT ON COLUMN thing_groups.query IS 'Dynamic groups only: expression in the group query language (docs/GROUP_QUERY.md)';
CREATE INDEX thing_groups_parent_idx ON thing_groups (parent_id);

CREATE TABLE thing_group_members (
	group_id bigint NOT NULL REFERENCES thing_groups (id) ON DELETE CASCADE,
	thing_id bigint NOT NULL REFERENCES things (id) ON DELETE CASCADE,
	added_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (group_id, thing_id)
);
COMMENT ON TABLE thing_group_members IS 'Direct membership of things in static groups';
CREATE INDEX thing_group_members_thing_idx ON thing_group_members (thing_id);

-- JSON renderers shared by the API, so every route shows the same shapes.
CREATE FUNCTION bw_ts(t timestamptz) RETURNS text LANGUAGE sql IMMUTABLE AS $$
	SELECT to_char(t AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')
$$;
COMMENT ON FUNCTION bw_ts(timestamptz) IS 'RFC 3339 UTC rendering with milliseconds used by the native API';

CREATE FUNCTION bw_thing_json(t things) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('name', t.name, 'hardware_type', t.hardware_type,
		'firmware_version', t.firmware_version, 'attributes', t.attributes,
		'version', t.version, 'created_at', bw_ts(t.created_at),
		'updated_at', bw_ts(t.updated_at))
$$;

CREATE FUNCTION bw_group_json(g thing_groups) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('name', g.name, 'type', g.type, 'description', g.description,
		'parent', (SELECT p.name FROM thing_groups p WHERE p.id = g.parent_id),
		'query', g.query, 'version', g.version, 'created_at', bw_ts(g.created_at),
		'updated_at', bw_ts(g.updated_at))
$$;

CREATE FUNCTION bw_token_json(k api_tokens) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', k.id::text, 'name', k.name, 'role', k.role,
		'prefix', k.prefix, 'created_by', k.created_by, 'created_at', bw_ts(k.created_at),
		'revoked_at', bw_ts(k.revoked_at), 'last_used_at', bw_ts(k.last_used_at))
$$;

CREATE FUNCTION bw_audit_json(a audit_log) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', a.id::text, 'at', bw_ts(a.at), 'actor', a.actor,
		'actor_token_id', a.actor_token_id::text, 'action', a.action,
		'resource_type', a.resource_type, 'resource_id', a.resource_id,
		'request_id', a.request_id, 'details', a.details)
$$;
