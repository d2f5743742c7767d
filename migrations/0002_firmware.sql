-- Firmware registry (issue 5): signing keys, releases, artifacts, known-safe pins.
-- Formats (manifest, trust list, presigned URLs) are described in docs/FIRMWARE.md.

CREATE TABLE firmware_keys (
	id text COLLATE "C" PRIMARY KEY CHECK (id ~ '^[0-9a-f]{32}$'),
	name text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._:-]{1,128}$'),
	algorithm text NOT NULL CHECK (algorithm IN ('ecdsa-p256', 'ed25519')),
	public_key_pem text NOT NULL,
	private_key_sealed text,
	status text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'retired', 'revoked')),
	status_reason text,
	created_by text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	retired_at timestamptz,
	revoked_at timestamptz,
	version bigint NOT NULL DEFAULT 1
);
COMMENT ON TABLE firmware_keys IS 'Code-signing keys (ECDSA P-256, Ed25519); public keys form the device trust list';
COMMENT ON COLUMN firmware_keys.id IS 'Key id: hex of the first 16 bytes of SHA-256 over the DER SubjectPublicKeyInfo';
COMMENT ON COLUMN firmware_keys.private_key_sealed IS 'PKCS#8 private key encrypted with AES-256-GCM under a key derived from BW_MASTER_KEY_FILE (AAD = key id); NULL for verification-only keys (external signers). Never returned by the API';
COMMENT ON COLUMN firmware_keys.status IS 'active: signs and verifies; retired: verifies only (rotation); revoked: signatures rejected';

CREATE TABLE firmware_releases (
	id bigserial PRIMARY KEY,
	product text COLLATE "C" NOT NULL CHECK (product ~ '^[A-Za-z0-9._:-]{1,128}$'),
	firmware_version text NOT NULL CHECK (length(firmware_version) <= 256),
	version_sort_key text COLLATE "C" NOT NULL,
	security_version bigint NOT NULL DEFAULT 0 CHECK (security_version BETWEEN 0 AND 4294967295),
	min_version text CHECK (length(min_version) <= 256),
	notes text NOT NULL DEFAULT '' CHECK (length(notes) <= 65536),
	hardware_types text[] NOT NULL CHECK (cardinality(hardware_types) BETWEEN 1 AND 64),
	state text NOT NULL DEFAULT 'draft' CHECK (state IN ('draft', 'published', 'deprecated', 'revoked')),
	state_reason text,
	manifest text,
	manifest_key_id text REFERENCES firmware_keys (id),
	published_at timestamptz,
	deprecated_at timestamptz,
	revoked_at timestamptz,
	download_count bigint NOT NULL DEFAULT 0,
	download_bytes bigint NOT NULL DEFAULT 0,
	created_by text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	updated_at timestamptz NOT NULL DEFAULT now(),
	version bigint NOT NULL DEFAULT 1,
	UNIQUE (product, version_sort_key),
	CHECK ((state = 'draft') = (manifest IS NULL))
);
COMMENT ON TABLE firmware_releases IS 'Firmware releases: draft (editable) -> published (immutable, signed manifest) -> deprecated / revoked';
COMMENT ON COLUMN firmware_releases.version_sort_key IS 'Byte-order sortable semver key of firmware_version (registry/semver.h); unique per product, so 1.0.0+a and 1.0.0+b collide';
COMMENT ON COLUMN firmware_releases.security_version IS 'Monotonic anti-rollback counter: devices refuse releases with a lower value than they run';
COMMENT ON COLUMN firmware_releases.min_version IS 'Devices must run at least this version to install the release (NULL: any)';
COMMENT ON COLUMN firmware_releases.manifest IS 'Canonical signed manifest JSON, set when published (docs/FIRMWARE.md)';
COMMENT ON COLUMN firmware_releases.download_count IS 'Downloads of the release''s artifacts that started at byte 0 (resumed ranges are not counted again)';
COMMENT ON COLUMN firmware_releases.download_bytes IS 'Bytes of artifact content served, ranges included';
COMMENT ON COLUMN firmware_releases.version IS 'Optimistic concurrency counter, incremented by every update';
CREATE INDEX firmware_releases_product_idx ON firmware_releases (product, version_sort_key DESC);
CREATE INDEX firmware_releases_hardware_idx ON firmware_releases USING gin (hardware_types);

CREATE TABLE firmware_artifacts (
	id bigserial PRIMARY KEY,
	release_id bigint NOT NULL REFERENCES firmware_releases (id) ON DELETE CASCADE,
	name text COLLATE "C" NOT NULL CHECK (name ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$'),
	type text NOT NULL CHECK (type ~ '^[a-z0-9_-]{1,32}$'),
	size_bytes bigint NOT NULL CHECK (size_bytes >= 0),
	sha256 text COLLATE "C" NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	signature text,
	signature_key_id text REFERENCES firmware_keys (id),
	signature_source text CHECK (signature_source IN ('external', 'server')),
	download_count bigint NOT NULL DEFAULT 0,
	download_bytes bigint NOT NULL DEFAULT 0,
	created_by text NOT NULL,
	created_at timestamptz NOT NULL DEFAULT now(),
	UNIQUE (release_id, name),
	CHECK ((signature IS NULL) = (signature_key_id IS NULL)),
	CHECK ((signature IS NULL) = (signature_source IS NULL))
);
COMMENT ON TABLE firmware_artifacts IS 'Files of a release; content lives in the blob store under its sha256 (deduplicated across releases)';
COMMENT ON COLUMN firmware_artifacts.signature IS 'FreeRTOS OTA sig-sha256-ecdsa: base64 of the DER ECDSA P-256 signature over SHA-256 of the content';
COMMENT ON COLUMN firmware_artifacts.signature_source IS 'external: uploaded with the image and verified against the trust list; server: made at publish';
CREATE INDEX firmware_artifacts_sha256_idx ON firmware_artifacts (sha256);

CREATE TABLE firmware_known_safe (
	hardware_type text COLLATE "C" NOT NULL CHECK (hardware_type ~ '^[a-zA-Z0-9:_.-]{1,128}$'),
	group_id bigint REFERENCES thing_groups (id) ON DELETE CASCADE,
	release_id bigint NOT NULL REFERENCES firmware_releases (id),
	note text,
	set_by text NOT NULL,
	set_at timestamptz NOT NULL DEFAULT now(),
	version bigint NOT NULL DEFAULT 1
);
COMMENT ON TABLE firmware_known_safe IS 'Current known-safe release per hardware type (group_id NULL) or per hardware type and group; failed rollouts revert to it';
CREATE UNIQUE INDEX firmware_known_safe_key_idx ON firmware_known_safe (hardware_type, coalesce(group_id, 0));

CREATE TABLE firmware_known_safe_history (
	id bigserial PRIMARY KEY,
	hardware_type text COLLATE "C" NOT NULL,
	group_id bigint,
	group_name text,
	release_id bigint REFERENCES firmware_releases (id),
	previous_release_id bigint REFERENCES firmware_releases (id),
	note text,
	set_by text NOT NULL,
	set_at timestamptz NOT NULL DEFAULT now(),
	request_id text
);
COMMENT ON TABLE firmware_known_safe_history IS 'Every change of a known-safe pin, newest last; release_id NULL means the pin was removed';
COMMENT ON COLUMN firmware_known_safe_history.group_name IS 'Group name at the time of the change (kept when the group is deleted later)';
CREATE INDEX firmware_known_safe_history_key_idx ON firmware_known_safe_history (hardware_type, group_id, id DESC);

-- Published releases are immutable: only state changes (to deprecated/revoked), download counters
-- and bookkeeping columns may change once a release left draft; artifacts of such a release may
-- not be added, changed (except their counters) or removed. The API checks this too; the
-- triggers make it hold for every writer.
CREATE FUNCTION bw_fw_release_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		IF OLD.state <> 'draft' THEN
			RAISE EXCEPTION 'release % is % and cannot be deleted', OLD.id, OLD.state
				USING ERRCODE = 'check_violation';
		END IF;
		RETURN OLD;
	END IF;
	IF OLD.state <> 'draft' AND (NEW.product, NEW.firmware_version, NEW.version_sort_key,
			NEW.security_version, NEW.min_version, NEW.notes, NEW.hardware_types, NEW.manifest,
			NEW.manifest_key_id, NEW.published_at)
		IS DISTINCT FROM (OLD.product, OLD.firmware_version, OLD.version_sort_key,
			OLD.security_version, OLD.min_version, OLD.notes, OLD.hardware_types, OLD.manifest,
			OLD.manifest_key_id, OLD.published_at) THEN
		RAISE EXCEPTION 'release % is % and immutable', OLD.id, OLD.state
			USING ERRCODE = 'check_violation';
	END IF;
	IF OLD.state <> 'draft' AND NEW.state = 'draft' THEN
		RAISE EXCEPTION 'release % cannot return to draft', OLD.id USING ERRCODE = 'check_violation';
	END IF;
	IF OLD.state = 'revoked' AND NEW.state <> 'revoked' THEN
		RAISE EXCEPTION 'release % is revoked for good', OLD.id USING ERRCODE = 'check_violation';
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER firmware_releases_guard BEFORE UPDATE OR DELETE ON firmware_releases
	FOR EACH ROW EXECUTE FUNCTION bw_fw_release_guard();

CREATE FUNCTION bw_fw_artifact_guard() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
	st text;
BEGIN
	SELECT state INTO st FROM firmware_releases
		WHERE id = CASE WHEN TG_OP = 'INSERT' THEN NEW.release_id ELSE OLD.release_id END;
	IF st IS NULL OR st = 'draft' THEN -- NULL: the release itself is being deleted (cascade)
		RETURN CASE WHEN TG_OP = 'DELETE' THEN OLD ELSE NEW END;
	END IF;
	IF TG_OP = 'UPDATE' AND (NEW.release_id, NEW.name, NEW.type, NEW.size_bytes, NEW.sha256,
			NEW.signature, NEW.signature_key_id, NEW.signature_source)
		IS NOT DISTINCT FROM (OLD.release_id, OLD.name, OLD.type, OLD.size_bytes, OLD.sha256,
			OLD.signature, OLD.signature_key_id, OLD.signature_source) THEN
		RETURN NEW; -- download counters only
	END IF;
	RAISE EXCEPTION 'artifacts of a % release cannot change', st USING ERRCODE = 'check_violation';
END
$$;
CREATE TRIGGER firmware_artifacts_guard BEFORE INSERT OR UPDATE OR DELETE ON firmware_artifacts
	FOR EACH ROW EXECUTE FUNCTION bw_fw_artifact_guard();

-- JSON renderers (native API shapes).
CREATE FUNCTION bw_fw_artifact_json(a firmware_artifacts) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', a.id::text, 'release_id', a.release_id::text,
		'name', a.name, 'type', a.type, 'size_bytes', a.size_bytes, 'sha256', a.sha256,
		'signature_sha256_ecdsa', a.signature, 'signature_key_id', a.signature_key_id,
		'signature_source', a.signature_source, 'download_count', a.download_count,
		'download_bytes', a.download_bytes, 'created_by', a.created_by,
		'created_at', bw_ts(a.created_at))
$$;

CREATE FUNCTION bw_fw_release_json(r firmware_releases) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', r.id::text, 'product', r.product,
		'firmware_version', r.firmware_version, 'security_version', r.security_version,
		'min_version', r.min_version, 'notes', r.notes,
		'hardware_types', to_jsonb(r.hardware_types), 'state', r.state,
		'state_reason', r.state_reason, 'manifest_key_id', r.manifest_key_id,
		'published_at', bw_ts(r.published_at), 'deprecated_at', bw_ts(r.deprecated_at),
		'revoked_at', bw_ts(r.revoked_at),
		'artifacts', coalesce((SELECT jsonb_agg(bw_fw_artifact_json(a) ORDER BY a.name)
			FROM firmware_artifacts a WHERE a.release_id = r.id), '[]'::jsonb),
		'download_count', r.download_count, 'download_bytes', r.download_bytes,
		'created_by', r.created_by, 'created_at', bw_ts(r.created_at),
		'updated_at', bw_ts(r.updated_at), 'version', r.version)
$$;

CREATE FUNCTION bw_fw_key_json(k firmware_keys) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', k.id, 'name', k.name, 'algorithm', k.algorithm,
		'status', k.status, 'status_reason', k.status_reason,
		'has_private_key', k.private_key_sealed IS NOT NULL,
		'public_key_pem', k.public_key_pem, 'created_by', k.created_by,
		'created_at', bw_ts(k.created_at), 'retired_at', bw_ts(k.retired_at),
		'revoked_at', bw_ts(k.revoked_at), 'version', k.version)
$$;

CREATE FUNCTION bw_fw_known_safe_json(s firmware_known_safe) RETURNS jsonb LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('hardware_type', s.hardware_type,
		'group', (SELECT g.name FROM thing_groups g WHERE g.id = s.group_id),
		'release_id', s.release_id::text,
		'product', r.product, 'firmware_version', r.firmware_version,
		'release_state', r.state, 'note', s.note, 'set_by', s.set_by,
		'set_at', bw_ts(s.set_at), 'version', s.version)
	FROM firmware_releases r WHERE r.id = s.release_id
$$;

CREATE FUNCTION bw_fw_known_safe_history_json(h firmware_known_safe_history) RETURNS jsonb
LANGUAGE sql STABLE AS $$
	SELECT jsonb_build_object('id', h.id::text, 'hardware_type', h.hardware_type,
		'group', h.group_name, 'release_id', h.release_id::text,
		'previous_release_id', h.previous_release_id::text, 'note', h.note,
		'set_by', h.set_by, 'set_at', bw_ts(h.set_at), 'request_id', h.request_id)
$$;
