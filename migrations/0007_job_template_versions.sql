-- Versioned job templates: every change of a template (native PUT /api/v1/job-templates/{id})
-- adds a version; job_templates keeps the latest one, which is what AWS CreateJobTemplate /
-- DescribeJobTemplate and CreateJob with jobTemplateArn see. A job records the version it
-- was created from, so a later template change never alters what an existing job did.

ALTER TABLE job_templates ADD COLUMN version integer NOT NULL DEFAULT 1 CHECK (version >= 1);
ALTER TABLE job_templates ADD COLUMN created_by text;
COMMENT ON COLUMN job_templates.version IS 'Latest version of the template (the row holds its content)';
COMMENT ON COLUMN job_templates.created_by IS 'Who made the latest version (NULL for AWS CreateJobTemplate)';

CREATE TABLE job_template_versions (
	template_pk bigint NOT NULL REFERENCES job_templates (id) ON DELETE CASCADE,
	version integer NOT NULL CHECK (version >= 1),
	description text NOT NULL,
	document text,
	document_source text,
	config jsonb NOT NULL DEFAULT '{}',
	created_by text,
	created_at timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (template_pk, version)
);
COMMENT ON TABLE job_template_versions IS 'Every version of every job template, immutable; the latest is also in job_templates';

INSERT INTO job_template_versions (template_pk, version, description, document, document_source,
	config, created_at)
SELECT id, version, description, document, document_source, config, created_at FROM job_templates;

-- A template created by any path (AWS CreateJobTemplate, native PUT) gets its version row here,
-- and a version row can never change afterwards.
CREATE FUNCTION job_templates_record_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	INSERT INTO job_template_versions (template_pk, version, description, document,
		document_source, config, created_by, created_at)
	VALUES (NEW.id, NEW.version, NEW.description, NEW.document, NEW.document_source, NEW.config,
		NEW.created_by, NEW.last_updated_at)
	ON CONFLICT (template_pk, version) DO NOTHING;
	RETURN NEW;
END $$;
CREATE TRIGGER job_templates_record_version AFTER INSERT OR UPDATE OF version ON job_templates
	FOR EACH ROW EXECUTE FUNCTION job_templates_record_version();

CREATE FUNCTION job_template_versions_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
	RAISE EXCEPTION 'job template versions are immutable' USING ERRCODE = 'check_violation';
END $$;
CREATE TRIGGER job_template_versions_immutable BEFORE UPDATE ON job_template_versions
	FOR EACH ROW EXECUTE FUNCTION job_template_versions_immutable();

ALTER TABLE jobs ADD COLUMN template_version integer;
COMMENT ON COLUMN jobs.template_version IS 'Version of template_id the job was created from (NULL: no template)';
-- jobs created from a template before versions existed came from its only version
UPDATE jobs SET template_version = 1 WHERE template_id IS NOT NULL;
