/* /api/v1/firmware/releases: create, read, edit (draft only), delete (draft only), publish
 * (sign the manifest and the artifacts), deprecate, revoke, manifest, compatibility. */
#include "api/firmware.h"
#include "api/fw_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "core/buf.h"
#include "core/log.h"
#include "core/metrics.h"
#include "core/strutil.h"
#include "crypto/base64.h"
#include "firmware/compat.h"
#include "firmware/manifest.h"
#include "registry/semver.h"

#define MAX_HARDWARE_TYPES 64
#define MAX_NOTES_BYTES 65536
#define MAX_SECURITY_VERSION 4294967295LL

/* A validated release body; strings borrowed from the request JSON. */
struct release_input {
	const char *product;
	const char *firmware_version;
	char sort_key[SEMVER_SORT_KEY_SIZE];
	bool has_security;
	long long security_version;
	bool has_min;
	const char *min_version; /* NULL = none (when has_min) */
	const char *notes;
	char *hardware_types; /* JSON array text, owned; NULL when absent */
};

static void release_input_cleanup(struct release_input *in)
{
	free(in->hardware_types);
	in->hardware_types = NULL;
}

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Parse the fields shared by create and update. */
static bool parse_release(json_t *body, bool is_create, struct release_input *in, struct reply *rep)
{
	static const char *const create_fields[] = { "product",
						     "firmware_version",
						     "security_version",
						     "min_version",
						     "notes",
						     "hardware_types",
						     NULL };
	static const char *const update_fields[] = { "version",
						     "firmware_version",
						     "security_version",
						     "min_version",
						     "notes",
						     "hardware_types",
						     NULL };
	json_t *v, *hws;
	struct semver ver, minv;
	bool is_null;

	memset(in, 0, sizeof(*in));
	if (!api_check_fields(body, is_create ? create_fields : update_fields, "", rep))
		return false;
	if (is_create) {
		v = json_object_get(body, "product");
		if (!json_is_string(v) || !api_fw_is_valid_hw(json_string_value(v))) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/product",
				    "product is 1..128 characters of A-Z a-z 0-9 : _ . -");
			return false;
		}
		in->product = json_string_value(v);
	}
	v = json_object_get(body, "firmware_version");
	if (v || is_create) {
		if (!json_is_string(v) || !semver_parse(json_string_value(v), &ver) ||
		    !semver_sort_key(json_string_value(v), in->sort_key, sizeof(in->sort_key))) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/firmware_version",
				    "firmware_version must be a semantic version such as 1.4.0");
			return false;
		}
		in->firmware_version = json_string_value(v);
	}
	v = json_object_get(body, "security_version");
	if (v) {
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > MAX_SECURITY_VERSION) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/security_version",
				    "security_version is an integer from 0 to 4294967295");
			return false;
		}
		in->has_security = true;
		in->security_version = (long long)json_integer_value(v);
	}
	in->has_min = json_object_get(body, "min_version") != NULL;
	if (!api_opt_string(body, "min_version", "", &in->min_version, &is_null, rep))
		return false;
	if (in->min_version && !semver_parse(in->min_version, &minv)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/min_version",
			    "min_version must be a semantic version or null");
		return false;
	}
	if (in->min_version && in->firmware_version && semver_compare(&minv, &ver) > 0) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/min_version",
			    "min_version must not be newer than firmware_version");
		return false;
	}
	if (!api_opt_string(body, "notes", "", &in->notes, &is_null, rep))
		return false;
	if (is_null || (in->notes && (strlen(in->notes) > MAX_NOTES_BYTES))) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/notes",
			    "notes is a string of at most %d bytes", MAX_NOTES_BYTES);
		return false;
	}
	hws = json_object_get(body, "hardware_types");
	if (hws || is_create) {
		size_t i, n = json_array_size(hws);
		const char *names[MAX_HARDWARE_TYPES];
		json_t *e;
		if (!json_is_array(hws) || n == 0 || n > MAX_HARDWARE_TYPES) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/hardware_types",
				    "hardware_types is an array of 1..%d hardware types",
				    MAX_HARDWARE_TYPES);
			return false;
		}
		json_array_foreach(hws, i, e) {
			char ptr[40];
			snprintf(ptr, sizeof(ptr), "/hardware_types/%zu", i);
			if (!json_is_string(e) || !api_fw_is_valid_hw(json_string_value(e))) {
				reply_error(
					rep, BW_ERR_BAD_REQUEST, ptr,
					"hardware types are 1..128 characters of A-Z a-z 0-9 : _ . -");
				return false;
			}
			names[i] = json_string_value(e);
		}
		qsort(names, n, sizeof(names[0]), cmp_strp);
		for (i = 1; i < n; i++) {
			if (strcmp(names[i], names[i - 1]) == 0) {
				reply_error(rep, BW_ERR_BAD_REQUEST, "/hardware_types",
					    "hardware type '%s' is listed twice", names[i]);
				return false;
			}
		}
		in->hardware_types = json_dumps(hws, JSON_COMPACT);
		if (!in->hardware_types) {
			reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
			return false;
		}
	}
	return true;
}

/* Optional object body (routes whose body may be empty): NULL body -> empty object. */
static json_t *optional_body(const struct request *req, struct reply *rep, bool *ok)
{
	*ok = true;
	if (!req->json)
		return NULL;
	if (!json_is_object(req->json)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "", "the body must be a JSON object");
		*ok = false;
		return NULL;
	}
	return req->json;
}

/* Optional "version" (optimistic concurrency) member into out ("" when absent). */
static bool opt_version(json_t *body, char out[32], bool is_required, struct reply *rep)
{
	json_t *v = json_object_get(body, "version");

	out[0] = '\0';
	if (!v && !is_required)
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 1) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/version",
			    "version (the release's current version number) is required");
		return false;
	}
	snprintf(out, 32, "%lld", (long long)json_integer_value(v));
	return true;
}

/* ---- create ---- */

struct create_ctx {
	const struct request *req;
	struct release_input in;
	json_t *out;
	bool is_duplicate;
};

static enum db_status create_tx(struct db *db, void *arg)
{
	struct create_ctx *c = arg;
	char sec[24];
	enum db_status st;

	json_decref(c->out);
	c->out = NULL;
	c->is_duplicate = false;
	snprintf(sec, sizeof(sec), "%lld", c->in.security_version);
	const char *params[] = { c->in.product,	       c->in.firmware_version,
				 c->in.sort_key,       sec,
				 c->in.min_version,    c->in.notes,
				 c->in.hardware_types, c->req->principal.name };
	st = db_query_json(
		db,
		"INSERT INTO firmware_releases (product, firmware_version,"
		" version_sort_key, security_version, min_version, notes, hardware_types,"
		" created_by) VALUES ($1, $2, $3, $4::bigint, $5, coalesce($6, ''),"
		" ARRAY(SELECT jsonb_array_elements_text($7::jsonb)), $8)"
		" ON CONFLICT (product, version_sort_key) DO NOTHING"
		" RETURNING bw_fw_release_json(firmware_releases)",
		8, params, &c->out);
	if (st == DB_NONE) {
		c->is_duplicate = true;
		return DB_NONE;
	}
	if (st < 0)
		return st;
	json_t *det = json_pack("{s:s, s:s}", "product", c->in.product, "firmware_version",
				c->in.firmware_version);
	st = api_audit(db, c->req, "release.create", "release",
		       json_string_value(json_object_get(c->out, "id")), det);
	json_decref(det);
	return st;
}

void api_fw_releases_create(const struct request *req, struct reply *rep)
{
	struct create_ctx c = { .req = req };
	json_t *body = api_body_object(req, rep);

	if (!body || !parse_release(body, true, &c.in, rep))
		goto out;
	if (!api_tx(rep, DB_READ_COMMITTED, create_tx, &c))
		goto out;
	if (c.is_duplicate)
		reply_error(rep, BW_ERR_ALREADY_EXISTS, "/firmware_version",
			    "product '%s' already has a release with version %s (build metadata "
			    "does not count)",
			    c.in.product, c.in.firmware_version);
	else {
		reply_json(rep, 201, c.out);
		c.out = NULL;
	}
out:
	json_decref(c.out);
	release_input_cleanup(&c.in);
}

/* ---- get / list ---- */

void api_fw_release_get(const struct request *req, struct reply *rep)
{
	char id[FW_ID_TEXT_SIZE];
	json_t *out = NULL;
	struct db *db;
	enum db_status st;

	if (!api_fw_id_param(req, rep, "release", "release", id))
		return;
	db = api_db_get(rep);
	if (!db)
		return;
	const char *params[] = { id };
	st = db_query_json(
		db, "SELECT bw_fw_release_json(r) FROM firmware_releases r WHERE r.id = $1::bigint",
		1, params, &out);
	db_pool_put(db);
	if (st < 0)
		api_reply_db_error(rep, st);
	else if (!out)
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "release '%s' not found", id);
	else
		reply_json(rep, 200, out);
}

static json_t *release_key(json_t *item)
{
	const char *id = json_string_value(json_object_get(item, "id"));
	return json_pack("[I]", (json_int_t)(id ? strtoll(id, NULL, 10) : 0));
}

static bool is_state(const char *s)
{
	return strcmp(s, "draft") == 0 || strcmp(s, "published") == 0 ||
	       strcmp(s, "deprecated") == 0 || strcmp(s, "revoked") == 0;
}

void api_fw_releases_list(const struct request *req, struct reply *rep)
{
	struct api_page page;
	struct api_params p = { 0 };
	struct buf sql;
	json_t *items = NULL;
	char after[32] = "9223372036854775807", limit[16];
	const char *product = request_query(req, "product");
	const char *hw = request_query(req, "hardware_type");
	const char *state = request_query(req, "state");

	buf_init(&sql);
	if (!api_page_parse(req, rep, 1, &page))
		return;
	if (page.after) {
		json_t *k = json_array_get(page.after, 0);
		if (!json_is_integer(k)) {
			reply_error(rep, BW_ERR_INVALID_CURSOR, "/cursor",
				    "the cursor is malformed");
			goto out;
		}
		snprintf(after, sizeof(after), "%lld", (long long)json_integer_value(k));
	}
	if (state && !is_state(state)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/state",
			    "state is one of draft, published, deprecated, revoked");
		goto out;
	}
	snprintf(limit, sizeof(limit), "%d", page.limit + 1);
	buf_printf(&sql,
		   "SELECT coalesce(jsonb_agg(j ORDER BY id DESC), '[]') FROM (SELECT r.id,"
		   " bw_fw_release_json(r) AS j FROM firmware_releases r WHERE r.id < $%d::bigint",
		   api_params_add(&p, after));
	if (product)
		buf_printf(&sql, " AND r.product = $%d", api_params_add(&p, product));
	if (hw)
		buf_printf(&sql, " AND $%d = ANY (r.hardware_types)", api_params_add(&p, hw));
	if (state)
		buf_printf(&sql, " AND r.state = $%d", api_params_add(&p, state));
	buf_printf(&sql, " ORDER BY r.id DESC LIMIT $%d::int) s", api_params_add(&p, limit));
	if (sql.is_oom) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
		goto out;
	}
	if (api_read_json(rep, sql.data, p.n, p.values, &items))
		reply_json(rep, 200, api_page_reply(items, page.limit, release_key));
out:
	buf_cleanup(&sql);
	api_params_cleanup(&p);
	api_page_cleanup(&page);
}

/* ---- shared lookup for state-dependent mutations ---- */

enum lookup { LOOKUP_OK, LOOKUP_MISSING, LOOKUP_STALE, LOOKUP_WRONG_STATE };

/* Lock the release row; check existence, expected version ("" = any) and allowed states
 * (comma-separated list such as "draft" or "published,deprecated"). row_out (may be NULL)
 * receives the release JSON (new reference) when found. */
static enum db_status lock_release(struct db *db, const char *id, const char *version,
				   const char *states, enum lookup *res, char state_out[16],
				   json_t **row_out)
{
	const char *params[] = { id };
	json_t *row = NULL;
	enum db_status st;

	*res = LOOKUP_MISSING;
	state_out[0] = '\0';
	if (row_out)
		*row_out = NULL;
	st = db_query_json(db,
			   "SELECT bw_fw_release_json(r) FROM firmware_releases r"
			   " WHERE r.id = $1::bigint FOR UPDATE",
			   1, params, &row);
	if (st < 0)
		return st;
	if (!row)
		return DB_NONE;
	snprintf(state_out, 16, "%s", json_string_value(json_object_get(row, "state")));
	char cur[32];
	snprintf(cur, sizeof(cur), "%lld",
		 (long long)json_integer_value(json_object_get(row, "version")));
	if (version[0] && strcmp(version, cur) != 0)
		*res = LOOKUP_STALE;
	else {
		/* states is a comma list: match whole words */
		size_t n = strlen(state_out);
		const char *p = states;
		*res = LOOKUP_WRONG_STATE;
		while ((p = strstr(p, state_out))) {
			if ((p == states || p[-1] == ',') && (p[n] == '\0' || p[n] == ','))
				*res = LOOKUP_OK;
			p += n;
		}
	}
	if (row_out)
		*row_out = row;
	else
		json_decref(row);
	return DB_ONE;
}

/* The reply for a failed lookup. */
static void reply_lookup(struct reply *rep, enum lookup res, const char *id, const char *state,
			 const char *what)
{
	if (res == LOOKUP_MISSING)
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "release '%s' not found", id);
	else if (res == LOOKUP_STALE)
		reply_error(rep, BW_ERR_VERSION_CONFLICT, "/version",
			    "release '%s' was changed by someone else (stale version)", id);
	else
		reply_error(rep, BW_ERR_CONFLICT, NULL, "release '%s' is %s: %s", id, state, what);
}

/* ---- update ---- */

struct update_ctx {
	const struct request *req;
	const char *id;
	char version[32];
	struct release_input in;
	json_t *out;
	enum lookup res;
	char state[16];
	bool is_duplicate;
	bool is_bad_min;
};

static enum db_status update_tx(struct db *db, void *arg)
{
	struct update_ctx *c = arg;
	json_t *row = NULL;
	enum db_status st;
	char sec[24];

	json_decref(c->out);
	c->out = NULL;
	c->is_duplicate = c->is_bad_min = false;
	st = lock_release(db, c->id, c->version, "draft", &c->res, c->state, &row);
	if (st <= 0 || c->res != LOOKUP_OK) {
		json_decref(row);
		return st < 0 ? st : DB_NONE;
	}
	/* min_version <= firmware_version must hold for the combination after the update */
	const char *fw = c->in.firmware_version
				 ? c->in.firmware_version
				 : json_string_value(json_object_get(row, "firmware_version"));
	const char *minv = c->in.has_min ? c->in.min_version
					 : json_string_value(json_object_get(row, "min_version"));
	struct semver a, b;
	if (minv && semver_parse(minv, &a) && semver_parse(fw, &b) && semver_compare(&a, &b) > 0) {
		json_decref(row);
		c->is_bad_min = true;
		return DB_NONE;
	}
	json_decref(row);
	snprintf(sec, sizeof(sec), "%lld", c->in.security_version);
	const char *params[] = { c->id,
				 c->in.firmware_version,
				 c->in.firmware_version ? c->in.sort_key : NULL,
				 c->in.has_security ? sec : NULL,
				 c->in.has_min ? "1" : "0",
				 c->in.min_version,
				 c->in.notes,
				 c->in.hardware_types };
	st = db_query_json(db,
			   "UPDATE firmware_releases r SET"
			   " firmware_version = coalesce($2, r.firmware_version),"
			   " version_sort_key = coalesce($3, r.version_sort_key),"
			   " security_version = coalesce($4::bigint, r.security_version),"
			   " min_version = CASE WHEN $5 = '1' THEN $6 ELSE r.min_version END,"
			   " notes = coalesce($7, r.notes),"
			   " hardware_types = CASE WHEN $8::jsonb IS NULL THEN r.hardware_types"
			   "   ELSE ARRAY(SELECT jsonb_array_elements_text($8::jsonb)) END,"
			   " version = r.version + 1, updated_at = now()"
			   " WHERE r.id = $1::bigint RETURNING bw_fw_release_json(r)",
			   8, params, &c->out);
	if (st < 0) {
		c->is_duplicate = db_last_conflict(db) == DB_CONFLICT_UNIQUE;
		return st;
	}
	return api_audit(db, c->req, "release.update", "release", c->id, c->req->json);
}

void api_fw_release_update(const struct request *req, struct reply *rep)
{
	struct update_ctx c = { .req = req };
	char id[FW_ID_TEXT_SIZE];
	json_t *body;
	struct db *db;
	enum db_status st;

	if (!api_fw_id_param(req, rep, "release", "release", id))
		return;
	c.id = id;
	body = api_body_object(req, rep);
	if (!body || !opt_version(body, c.version, true, rep) ||
	    !parse_release(body, false, &c.in, rep))
		goto out;
	db = api_db_get(rep);
	if (!db)
		goto out;
	st = db_tx_run(db, DB_READ_COMMITTED, update_tx, &c);
	db_pool_put(db);
	if (c.is_duplicate)
		reply_error(rep, BW_ERR_ALREADY_EXISTS, "/firmware_version",
			    "the product already has a release with version %s",
			    c.in.firmware_version ? c.in.firmware_version : "?");
	else if (st < 0)
		api_reply_db_error(rep, st);
	else if (c.res != LOOKUP_OK)
		reply_lookup(rep, c.res, id, c.state, "only draft releases can be edited");
	else if (c.is_bad_min)
		reply_error(rep, BW_ERR_BAD_REQUEST, "/min_version",
			    "min_version must not be newer than firmware_version");
	else {
		reply_json(rep, 200, c.out);
		c.out = NULL;
	}
out:
	json_decref(c.out);
	release_input_cleanup(&c.in);
}

/* ---- delete ---- */

struct delete_ctx {
	const struct request *req;
	const char *id;
	char version[32];
	enum lookup res;
	char state[16];
};

static enum db_status delete_tx(struct db *db, void *arg)
{
	struct delete_ctx *c = arg;
	const char *params[] = { c->id };
	enum db_status st;

	st = lock_release(db, c->id, c->version, "draft", &c->res, c->state, NULL);
	if (st <= 0 || c->res != LOOKUP_OK)
		return st < 0 ? st : DB_NONE;
	st = db_exec(db, "DELETE FROM firmware_releases WHERE id = $1::bigint", 1, params, NULL);
	if (st < 0)
		return st;
	return api_audit(db, c->req, "release.delete", "release", c->id, NULL);
}

void api_fw_release_delete(const struct request *req, struct reply *rep)
{
	struct delete_ctx c = { .req = req };
	char id[FW_ID_TEXT_SIZE];
	const char *v = request_query(req, "version");

	if (!api_fw_id_param(req, rep, "release", "release", id))
		return;
	c.id = id;
	if (v) {
		char *end;
		long long n = strtoll(v, &end, 10);
		if (!*v || *end || n < 1) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/version",
				    "version must be a positive integer");
			return;
		}
		snprintf(c.version, sizeof(c.version), "%lld", n);
	}
	if (!api_tx(rep, DB_READ_COMMITTED, delete_tx, &c))
		return;
	if (c.res != LOOKUP_OK)
		reply_lookup(rep, c.res, id, c.state,
			     "only draft releases can be deleted (deprecate or revoke it instead)");
	else
		reply_raw(rep, 204, NULL, "", 0);
}

/* ---- publish ---- */

struct publish_ctx {
	const struct request *req;
	const char *id;
	char version[32];
	const char *key_id; /* requested, or NULL for the newest active key */
	json_t *out;
	enum lookup res;
	char state[16];
	const char *key_problem; /* static text: why no key could sign */
	bool is_empty;
	int signatures;
};

/* Choose the manifest key (requested or newest active with a private part) and the key for
 * FreeRTOS artifact signatures (the manifest key when ECDSA, else the newest active ECDSA key).
 * Either id may come back "" when none exists. */
static enum db_status choose_keys(struct db *db, const char *requested, char manifest_id[40],
				  char artifact_id[40])
{
	struct db_rows *rows = NULL;
	const char *params[] = { requested };
	enum db_status st;

	manifest_id[0] = artifact_id[0] = '\0';
	st = db_exec(
		db,
		"SELECT (SELECT id FROM firmware_keys WHERE ($1::text IS NULL OR id = $1)"
		"  AND status = 'active' AND private_key_sealed IS NOT NULL"
		"  ORDER BY created_at DESC, id LIMIT 1),"
		" (SELECT id FROM firmware_keys WHERE status = 'active'"
		"  AND private_key_sealed IS NOT NULL AND algorithm = 'ecdsa-p256'"
		"  ORDER BY ($1::text IS NOT NULL AND id = $1) DESC, created_at DESC, id LIMIT 1)",
		1, params, &rows);
	if (st < 0)
		return st;
	if (db_rows_get(rows, 0, 0))
		snprintf(manifest_id, 40, "%s", db_rows_get(rows, 0, 0));
	if (db_rows_get(rows, 0, 1))
		snprintf(artifact_id, 40, "%s", db_rows_get(rows, 0, 1));
	db_rows_free(rows);
	return DB_ONE;
}

/* Sign every artifact that has no signature yet (external signatures are kept) with key.
 * Builds one set-based UPDATE. */
static enum db_status sign_artifacts(struct db *db, const char *release_id, json_t *artifacts,
				     const struct sign_key *key, const char *key_id, int *count)
{
	json_t *rows = json_array(), *a;
	char *text = NULL;
	size_t i;
	enum db_status st = DB_HARD;

	*count = 0;
	if (!rows)
		return DB_HARD;
	json_array_foreach(artifacts, i, a) {
		unsigned char digest[DIGEST_SHA256_LEN], *sig = NULL;
		size_t siglen = 0;
		char *b64;
		if (!json_is_null(json_object_get(a, "signature_sha256_ecdsa")))
			continue;
		if (!api_fw_hex_decode(json_string_value(json_object_get(a, "sha256")), digest,
				       sizeof(digest)) ||
		    !sign_digest_sha256(key, digest, &sig, &siglen))
			goto out;
		b64 = base64_encode(sig, siglen);
		free(sig);
		if (!b64 || json_array_append_new(rows, json_pack("{s:O, s:s}", "id",
								  json_object_get(a, "id"), "sig",
								  b64)) != 0) {
			free(b64);
			goto out;
		}
		free(b64);
		(*count)++;
	}
	st = DB_ONE;
	if (*count == 0)
		goto out;
	text = json_dumps(rows, JSON_COMPACT);
	if (!text) {
		st = DB_HARD;
		goto out;
	}
	const char *params[] = { text, key_id, release_id };
	st = db_exec(db,
		     "UPDATE firmware_artifacts a SET signature = x.sig, signature_key_id = $2,"
		     " signature_source = 'server' FROM jsonb_to_recordset($1::jsonb) AS x(id text,"
		     " sig text) WHERE a.id = x.id::bigint AND a.release_id = $3::bigint",
		     3, params, NULL);
out:
	free(text);
	json_decref(rows);
	return st;
}

static enum db_status publish_tx(struct db *db, void *arg)
{
	struct publish_ctx *c = arg;
	json_t *row = NULL, *manifest = NULL;
	struct sign_key *mkey = NULL, *akey = NULL;
	struct db_rows *rows = NULL;
	char manifest_id[40], artifact_id[40], *payload = NULL, *text = NULL, *sig_b64 = NULL;
	unsigned char *sig = NULL;
	size_t plen = 0, siglen = 0;
	enum db_status st;

	json_decref(c->out);
	c->out = NULL;
	c->key_problem = NULL;
	c->is_empty = false;
	c->signatures = 0;
	st = lock_release(db, c->id, c->version, "draft", &c->res, c->state, &row);
	if (st <= 0 || c->res != LOOKUP_OK) {
		st = st < 0 ? st : DB_NONE;
		goto out;
	}
	if (json_array_size(json_object_get(row, "artifacts")) == 0) {
		c->is_empty = true;
		st = DB_NONE;
		goto out;
	}
	/* an external signature made by a key revoked since the upload must not be published */
	const char *pid[] = { c->id };
	st = db_exec(db,
		     "SELECT a.name FROM firmware_artifacts a JOIN firmware_keys k ON"
		     " k.id = a.signature_key_id WHERE a.release_id = $1::bigint AND"
		     " k.status = 'revoked' ORDER BY a.name LIMIT 1",
		     1, pid, &rows);
	if (st < 0)
		goto out;
	if (st == DB_ONE) {
		c->key_problem = "an artifact carries a signature by a key that has been revoked "
				 "since (delete and re-upload it)";
		st = DB_NONE;
		goto out;
	}
	db_rows_free(rows);
	rows = NULL;
	st = choose_keys(db, c->key_id, manifest_id, artifact_id);
	if (st < 0)
		goto out;
	if (!manifest_id[0]) {
		c->key_problem = c->key_id ? "the requested key does not exist, is not active or "
					     "has no private part"
					   : "there is no active signing key with a private part "
					     "(create one with POST /api/v1/firmware/keys)";
		st = DB_NONE;
		goto out;
	}
	st = api_fw_load_signing_key(db, manifest_id, &mkey, &c->key_problem);
	if (st <= 0)
		goto out;
	if (artifact_id[0]) {
		st = strcmp(artifact_id, manifest_id) == 0
			     ? DB_ONE
			     : api_fw_load_signing_key(db, artifact_id, &akey, &c->key_problem);
		if (st <= 0)
			goto out;
		st = sign_artifacts(db, c->id, json_object_get(row, "artifacts"),
				    akey ? akey : mkey, artifact_id, &c->signatures);
		if (st < 0)
			goto out;
	}
	/* the manifest's time is the transaction's, the same instant as published_at */
	st = db_exec(db, "SELECT bw_ts(now())", 0, NULL, &rows);
	if (st < 0)
		goto out;
	manifest = manifest_build(row, manifest_id, sign_alg_name(sign_key_alg(mkey)),
				  db_rows_get(rows, 0, 0));
	payload = manifest ? manifest_canonical(manifest, &plen) : NULL;
	if (!payload || !sign_message(mkey, payload, plen, &sig, &siglen) ||
	    !(sig_b64 = base64_encode(sig, siglen)) ||
	    json_object_set_new(manifest, "signature", json_string(sig_b64)) != 0 ||
	    !(text = manifest_canonical(manifest, NULL))) {
		log_error("firmware", "manifest_sign_failed", LOG_S("release_id", c->id), LOG_END);
		st = DB_HARD;
		goto out;
	}
	const char *params[] = { c->id, text, manifest_id };
	st = db_query_json(db,
			   "UPDATE firmware_releases r SET state = 'published', manifest = $2,"
			   " manifest_key_id = $3, published_at = now(), version = r.version + 1,"
			   " updated_at = now() WHERE r.id = $1::bigint"
			   " RETURNING bw_fw_release_json(r)",
			   3, params, &c->out);
	if (st < 0)
		goto out;
	json_t *det = json_pack("{s:s, s:s?, s:i}", "manifest_key_id", manifest_id,
				"artifact_key_id", artifact_id[0] ? artifact_id : NULL,
				"artifact_signatures", c->signatures);
	st = api_audit(db, c->req, "release.publish", "release", c->id, det);
	json_decref(det);
out:
	db_rows_free(rows);
	json_decref(row);
	json_decref(manifest);
	sign_key_free(mkey);
	sign_key_free(akey);
	free(payload);
	free(text);
	free(sig);
	free(sig_b64);
	return st;
}

void api_fw_release_publish(const struct request *req, struct reply *rep)
{
	static const char *const fields[] = { "version", "key_id", NULL };
	struct publish_ctx c = { .req = req };
	char id[FW_ID_TEXT_SIZE];
	json_t *body;
	bool ok;

	if (!api_fw_id_param(req, rep, "release", "release", id))
		return;
	c.id = id;
	body = optional_body(req, rep, &ok);
	if (!ok)
		return;
	if (body && (!api_check_fields(body, fields, "", rep) ||
		     !opt_version(body, c.version, false, rep) ||
		     !api_opt_string(body, "key_id", "", &c.key_id, NULL, rep)))
		return;
	if (!api_fw_require_master_key(rep, "publishing (signing the manifest)"))
		return;
	if (!api_tx(rep, DB_READ_COMMITTED, publish_tx, &c))
		return;
	if (c.res != LOOKUP_OK)
		reply_lookup(rep, c.res, id, c.state, "only draft releases can be published");
	else if (c.is_empty)
		reply_error(rep, BW_ERR_CONFLICT, NULL,
			    "release '%s' has no artifacts; upload at least one before publishing",
			    id);
	else if (c.key_problem)
		reply_error(rep, BW_ERR_CONFLICT, c.key_id ? "/key_id" : NULL,
			    "cannot sign release '%s': %s", id, c.key_problem);
	else {
		metrics_counter_add("bw_fw_signatures_total", "kind=\"manifest\"", 1);
		if (c.signatures)
			metrics_counter_add("bw_fw_signatures_total", "kind=\"artifact\"",
					    c.signatures);
		log_info("firmware", "release_published", LOG_S("release_id", id),
			 LOG_I("artifact_signatures", c.signatures), LOG_END);
		reply_json(rep, 200, c.out);
		c.out = NULL;
	}
	json_decref(c.out);
}

/* ---- deprecate / revoke ---- */

struct state_ctx {
	const struct request *req;
	const char *id;
	char version[32];
	const char *target; /* deprecated | revoked */
	const char *from;   /* allowed current states */
	const char *reason;
	json_t *out;
	enum lookup res;
	char state[16];
	char *pinned; /* hardware types pinning the release as known-safe (revoke refuses) */
};

static enum db_status state_tx(struct db *db, void *arg)
{
	struct state_ctx *c = arg;
	struct db_rows *rows = NULL;
	enum db_status st;

	json_decref(c->out);
	c->out = NULL;
	free(c->pinned);
	c->pinned = NULL;
	st = lock_release(db, c->id, c->version, c->from, &c->res, c->state, NULL);
	if (st <= 0 || c->res != LOOKUP_OK)
		return st < 0 ? st : DB_NONE;
	const char *params[] = { c->id, c->target, c->reason };
	if (strcmp(c->target, "revoked") == 0) {
		st = db_exec(db,
			     "SELECT string_agg(s.hardware_type || coalesce(' (group ' || g.name ||"
			     " ')', ''), ', ' ORDER BY s.hardware_type) FROM firmware_known_safe s"
			     " LEFT JOIN thing_groups g ON g.id = s.group_id"
			     " WHERE s.release_id = $1::bigint",
			     1, params, &rows);
		if (st < 0)
			return st;
		if (db_rows_get(rows, 0, 0)) {
			c->pinned = strdup(db_rows_get(rows, 0, 0));
			db_rows_free(rows);
			return c->pinned ? DB_NONE : DB_HARD;
		}
		db_rows_free(rows);
	}
	st = db_query_json(
		db,
		"UPDATE firmware_releases r SET state = $2, state_reason = $3,"
		" deprecated_at = CASE WHEN $2 = 'deprecated' THEN now() ELSE"
		"   r.deprecated_at END,"
		" revoked_at = CASE WHEN $2 = 'revoked' THEN now() ELSE r.revoked_at END,"
		" version = r.version + 1, updated_at = now()"
		" WHERE r.id = $1::bigint RETURNING bw_fw_release_json(r)",
		3, params, &c->out);
	if (st < 0)
		return st;
	json_t *det = json_pack("{s:s, s:s?}", "from", c->state, "reason", c->reason);
	st = api_audit(db, c->req,
		       strcmp(c->target, "revoked") == 0 ? "release.revoke" : "release.deprecate",
		       "release", c->id, det);
	json_decref(det);
	return st;
}

static void change_state(const struct request *req, struct reply *rep, const char *target,
			 const char *from)
{
	static const char *const fields[] = { "version", "reason", NULL };
	struct state_ctx c = { .req = req, .target = target, .from = from };
	char id[FW_ID_TEXT_SIZE];
	json_t *body;
	bool ok;

	if (!api_fw_id_param(req, rep, "release", "release", id))
		return;
	c.id = id;
	body = optional_body(req, rep, &ok);
	if (!ok)
		return;
	if (body && (!api_check_fields(body, fields, "", rep) ||
		     !opt_version(body, c.version, false, rep) ||
		     !api_opt_string(body, "reason", "", &c.reason, NULL, rep)))
		return;
	if (c.reason && strlen(c.reason) > 1024) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/reason", "reason is at most 1024 bytes");
		return;
	}
	if (!api_tx(rep, DB_READ_COMMITTED, state_tx, &c))
		return;
	if (c.res != LOOKUP_OK)
		reply_lookup(rep, c.res, id, c.state,
			     strcmp(target, "revoked") == 0
				     ? "only published or deprecated releases can be revoked"
				     : "only published releases can be deprecated");
	else if (c.pinned)
		reply_error(rep, BW_ERR_CONFLICT, NULL,
			    "release '%s' is the known-safe release for %s; pin another release "
			    "first",
			    id, c.pinned);
	else {
		reply_json(rep, 200, c.out);
		c.out = NULL;
	}
	json_decref(c.out);
	free(c.pinned);
}

void api_fw_release_deprecate(const struct request *req, struct reply *rep)
{
	change_state(req, rep, "deprecated", "published");
}

void api_fw_release_revoke(const struct request *req, struct reply *rep)
{
	change_state(req, rep, "revoked", "published,deprecated");
}

/* ---- manifest ---- */

void api_fw_release_manifest(const struct request *req, struct reply *rep)
{
	char id[FW_ID_TEXT_SIZE];
	struct db_rows *rows = NULL;
	struct db *db;
	enum db_status st;

	if (!api_fw_id_param(req, rep, "release", "release", id))
		return;
	db = api_db_get(rep);
	if (!db)
		return;
	const char *params[] = { id };
	st = db_exec(db, "SELECT state, manifest FROM firmware_releases WHERE id = $1::bigint", 1,
		     params, &rows);
	db_pool_put(db);
	if (st < 0)
		api_reply_db_error(rep, st);
	else if (st == DB_NONE)
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "release '%s' not found", id);
	else if (!db_rows_get(rows, 0, 1))
		reply_error(rep, BW_ERR_NOT_FOUND, NULL,
			    "release '%s' is a draft and has no manifest yet", id);
	else {
		/* the stored bytes, verbatim: they are canonical JSON, signature included */
		const char *m = db_rows_get(rows, 0, 1);
		reply_raw(rep, 200, "application/json", m, strlen(m));
		reply_header(rep, "X-Release-State", db_rows_get(rows, 0, 0));
	}
	db_rows_free(rows);
}

/* ---- compatibility ---- */

void api_fw_release_compatibility(const struct request *req, struct reply *rep)
{
	char id[FW_ID_TEXT_SIZE];
	const char *thing = request_query(req, "thing");
	const char *hw = request_query(req, "hardware_type");
	const char *cur = request_query(req, "current_version");
	const char *sec = request_query(req, "current_security_version");
	const char *down = request_query(req, "allow_downgrade");
	json_t *rel = NULL, *th = NULL, *e;
	const char *hws[MAX_HARDWARE_TYPES];
	struct compat_release cr = { 0 };
	struct compat_device cd = { .current_security_version = -1 };
	bool allow_downgrade = false;
	struct db *db;
	enum db_status st;
	size_t i;

	if (!api_fw_id_param(req, rep, "release", "release", id))
		return;
	if (thing && (hw || cur)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/thing",
			    "give either thing or hardware_type/current_version, not both");
		return;
	}
	if (thing && !strutil_is_valid_thing_name(thing)) {
		reply_error(rep, BW_ERR_INVALID_NAME, "/thing", "invalid thing name");
		return;
	}
	if (sec) {
		char *end;
		long long n = strtoll(sec, &end, 10);
		if (!*sec || *end || n < 0 || n > MAX_SECURITY_VERSION) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/current_security_version",
				    "current_security_version is an integer from 0 to 4294967295");
			return;
		}
		cd.current_security_version = n;
	}
	if (down && strcmp(down, "true") != 0 && strcmp(down, "false") != 0) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/allow_downgrade",
			    "allow_downgrade is true or false");
		return;
	}
	allow_downgrade = down && strcmp(down, "true") == 0;
	if (!thing && !hw) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/hardware_type",
			    "hardware_type (or thing) is required");
		return;
	}
	db = api_db_get(rep);
	if (!db)
		return;
	const char *p1[] = { id };
	st = db_query_json(
		db, "SELECT bw_fw_release_json(r) FROM firmware_releases r WHERE r.id = $1::bigint",
		1, p1, &rel);
	if (st >= 0 && rel && thing) {
		const char *p2[] = { thing };
		st = db_query_json(db, "SELECT bw_thing_json(t) FROM things t WHERE t.name = $1", 1,
				   p2, &th);
	}
	db_pool_put(db);
	if (st < 0) {
		api_reply_db_error(rep, st);
		goto out;
	}
	if (!rel) {
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "release '%s' not found", id);
		goto out;
	}
	if (thing && !th) {
		reply_error(rep, BW_ERR_NOT_FOUND, "/thing", "thing '%s' not found", thing);
		goto out;
	}
	if (th) {
		hw = json_string_value(json_object_get(th, "hardware_type"));
		cur = json_string_value(json_object_get(th, "firmware_version"));
	}
	if (cur && !semver_parse(cur, &(struct semver){ 0 })) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/current_version",
			    "current_version must be a semantic version");
		goto out;
	}
	json_array_foreach(json_object_get(rel, "hardware_types"), i, e) {
		if (i < MAX_HARDWARE_TYPES)
			hws[i] = json_string_value(e);
	}
	cr.hardware_types = hws;
	cr.nhardware_types = json_array_size(json_object_get(rel, "hardware_types"));
	if (cr.nhardware_types > MAX_HARDWARE_TYPES)
		cr.nhardware_types = MAX_HARDWARE_TYPES;
	cr.version = json_string_value(json_object_get(rel, "firmware_version"));
	cr.min_version = json_string_value(json_object_get(rel, "min_version"));
	cr.security_version = json_integer_value(json_object_get(rel, "security_version"));
	cd.hardware_type = hw;
	cd.current_version = cur;
	enum compat_result r = compat_check(&cr, &cd, allow_downgrade);
	reply_json(rep, 200,
		   json_pack("{s:b, s:s, s:s, s:s, s:s?, s:s?}", "compatible", r == COMPAT_OK,
			     "result", compat_result_name(r), "message", compat_result_message(r),
			     "release_state", json_string_value(json_object_get(rel, "state")),
			     "hardware_type", hw, "current_version", cur));
out:
	json_decref(rel);
	json_decref(th);
}
