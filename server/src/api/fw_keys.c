/* /api/v1/firmware/keys and /api/v1/firmware/trust-list: code-signing keys. Private keys are
 * generated or imported, sealed with the master key and never leave the server. */
#include "api/firmware.h"
#include "api/fw_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "core/buf.h"
#include "core/log.h"
#include "crypto/keys.h"
#include "firmware/verify.h"

/* ---- create (generate / import) ---- */

struct key_create_ctx {
	const struct request *req;
	const char *name;
	const char *source; /* generated | imported | public_only */
	char id[SIGN_KEY_ID_SIZE];
	const char *algorithm;
	char *public_pem;
	char *sealed; /* NULL for public_only */
	json_t *out;
	bool is_dup_id, is_dup_name;
};

static enum db_status key_create_tx(struct db *db, void *arg)
{
	struct key_create_ctx *c = arg;
	enum db_status st;

	json_decref(c->out);
	c->out = NULL;
	c->is_dup_id = c->is_dup_name = false;
	const char *params[] = { c->id,		c->name,   c->algorithm,
				 c->public_pem, c->sealed, c->req->principal.name };
	st = db_query_json(db,
			   "INSERT INTO firmware_keys (id, name, algorithm, public_key_pem,"
			   " private_key_sealed, created_by) VALUES ($1, $2, $3, $4, $5, $6)"
			   " RETURNING bw_fw_key_json(firmware_keys)",
			   6, params, &c->out);
	if (st < 0) {
		if (db_last_conflict(db) == DB_CONFLICT_UNIQUE) {
			const char *con = db_last_constraint(db);
			c->is_dup_name = con && strstr(con, "name");
			c->is_dup_id = !c->is_dup_name;
		}
		return st;
	}
	json_t *det = json_pack("{s:s, s:s, s:s}", "name", c->name, "algorithm", c->algorithm,
				"source", c->source);
	st = api_audit(db, c->req, "signing_key.create", "signing_key", c->id, det);
	json_decref(det);
	return st;
}

/* Parse a PEM member into a key; false with a 400 naming the field. */
static bool parse_pem_field(json_t *body, const char *field, bool want_private,
			    struct sign_key **out, struct reply *rep)
{
	const char *pem = json_string_value(json_object_get(body, field));
	char ptr[40];
	enum sign_status st;

	snprintf(ptr, sizeof(ptr), "/%s", field);
	if (!pem) {
		reply_error(rep, BW_ERR_BAD_REQUEST, ptr, "%s must be a PEM string", field);
		return false;
	}
	st = sign_key_from_pem(pem, strlen(pem), out);
	if (st == SIGN_ERR_ENCRYPTED)
		reply_error(rep, BW_ERR_BAD_REQUEST, ptr,
			    "the key is passphrase-protected; import it unencrypted (it is "
			    "encrypted at rest with the master key)");
	else if (st == SIGN_ERR_UNSUPPORTED)
		reply_error(rep, BW_ERR_BAD_REQUEST, ptr,
			    "only ECDSA P-256 and Ed25519 keys are supported");
	else if (st != SIGN_OK)
		reply_error(rep, BW_ERR_BAD_REQUEST, ptr, "%s is not a PEM key", field);
	else if (sign_key_has_private(*out) != want_private) {
		reply_error(rep, BW_ERR_BAD_REQUEST, ptr,
			    want_private
				    ? "private_key_pem holds a public key (use public_key_pem)"
				    : "public_key_pem holds a private key (use private_key_pem "
				      "or send only the public part)");
		sign_key_free(*out);
		*out = NULL;
		return false;
	}
	return st == SIGN_OK;
}

void api_fw_keys_create(const struct request *req, struct reply *rep)
{
	static const char *const fields[] = { "name", "algorithm", "private_key_pem",
					      "public_key_pem", NULL };
	struct key_create_ctx c = { .req = req };
	json_t *body = api_body_object(req, rep), *name;
	struct sign_key *key = NULL;
	unsigned char *der = NULL;
	size_t derlen = 0;
	int nsources;
	struct db *db;
	enum db_status st;

	if (!body || !api_check_fields(body, fields, "", rep))
		return;
	name = json_object_get(body, "name");
	if (!json_is_string(name) || !api_fw_is_valid_key_name(json_string_value(name))) {
		reply_error(rep, BW_ERR_INVALID_NAME, "/name",
			    "key names are 1..128 characters of A-Z a-z 0-9 . _ : -");
		return;
	}
	c.name = json_string_value(name);
	nsources = !!json_object_get(body, "algorithm") +
		   !!json_object_get(body, "private_key_pem") +
		   !!json_object_get(body, "public_key_pem");
	if (nsources != 1) {
		reply_error(rep, BW_ERR_BAD_REQUEST, NULL,
			    "give exactly one of algorithm (generate), private_key_pem (import) "
			    "or public_key_pem (verification-only key)");
		return;
	}
	if (json_object_get(body, "algorithm")) {
		enum sign_alg alg;
		if (!sign_alg_parse(json_string_value(json_object_get(body, "algorithm")), &alg)) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/algorithm",
				    "algorithm is ecdsa-p256 or ed25519");
			return;
		}
		if (!api_fw_require_master_key(rep, "creating a signing key"))
			return;
		key = sign_key_generate(alg);
		c.source = "generated";
		if (!key) {
			reply_error(rep, BW_ERR_INTERNAL, NULL, "key generation failed");
			return;
		}
	} else if (json_object_get(body, "private_key_pem")) {
		if (!api_fw_require_master_key(rep, "importing a private key"))
			return;
		if (!parse_pem_field(body, "private_key_pem", true, &key, rep))
			return;
		c.source = "imported";
	} else {
		if (!parse_pem_field(body, "public_key_pem", false, &key, rep))
			return;
		c.source = "public_only";
	}
	c.algorithm = sign_alg_name(sign_key_alg(key));
	c.public_pem = sign_key_public_pem(key);
	if (!c.public_pem || !sign_key_id(key, c.id)) {
		reply_error(rep, BW_ERR_INTERNAL, NULL, "cannot encode the public key");
		goto out;
	}
	if (sign_key_has_private(key)) {
		if (!sign_key_pkcs8(key, &der, &derlen) ||
		    !(c.sealed = keys_seal(der, derlen, c.id))) {
			reply_error(rep, BW_ERR_INTERNAL, NULL, "cannot seal the private key");
			goto out;
		}
	}
	db = api_db_get(rep);
	if (!db)
		goto out;
	st = db_tx_run(db, DB_READ_COMMITTED, key_create_tx, &c);
	db_pool_put(db);
	if (c.is_dup_name)
		reply_error(rep, BW_ERR_ALREADY_EXISTS, "/name", "a key named '%s' already exists",
			    c.name);
	else if (c.is_dup_id)
		reply_error(rep, BW_ERR_ALREADY_EXISTS, NULL,
			    "this key is already registered as %s", c.id);
	else if (st < 0)
		api_reply_db_error(rep, st);
	else {
		log_info("firmware", "signing_key_created", LOG_S("key_id", c.id),
			 LOG_S("algorithm", c.algorithm), LOG_S("source", c.source), LOG_END);
		reply_json(rep, 201, c.out);
		c.out = NULL;
	}
out:
	sign_secure_free(der, derlen);
	sign_key_free(key);
	free(c.public_pem);
	free(c.sealed);
	json_decref(c.out);
}

/* ---- read ---- */

/* The {key} path parameter: 32 lowercase hex characters; else 404. */
static bool key_param(const struct request *req, struct reply *rep, const char **id)
{
	size_t n = 0;

	*id = request_param(req, "key");
	for (; *id && (*id)[n]; n++)
		if (!(((*id)[n] >= '0' && (*id)[n] <= '9') || ((*id)[n] >= 'a' && (*id)[n] <= 'f')))
			break;
	if (!*id || n != SIGN_KEY_ID_LEN || (*id)[n]) {
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "signing key '%.64s' not found",
			    *id ? *id : "");
		return false;
	}
	return true;
}

void api_fw_key_get(const struct request *req, struct reply *rep)
{
	const char *id;
	json_t *out = NULL;
	struct db *db;
	enum db_status st;

	if (!key_param(req, rep, &id))
		return;
	db = api_db_get(rep);
	if (!db)
		return;
	const char *params[] = { id };
	st = db_query_json(db, "SELECT bw_fw_key_json(k) FROM firmware_keys k WHERE k.id = $1", 1,
			   params, &out);
	db_pool_put(db);
	if (st < 0)
		api_reply_db_error(rep, st);
	else if (!out)
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "signing key '%s' not found", id);
	else
		reply_json(rep, 200, out);
}

void api_fw_key_public_pem(const struct request *req, struct reply *rep)
{
	const char *id;
	struct db_rows *rows = NULL;
	struct db *db;
	enum db_status st;

	if (!key_param(req, rep, &id))
		return;
	db = api_db_get(rep);
	if (!db)
		return;
	const char *params[] = { id };
	st = db_exec(db, "SELECT public_key_pem FROM firmware_keys WHERE id = $1", 1, params,
		     &rows);
	db_pool_put(db);
	if (st < 0)
		api_reply_db_error(rep, st);
	else if (st == DB_NONE)
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "signing key '%s' not found", id);
	else
		reply_raw(rep, 200, "application/x-pem-file", db_rows_get(rows, 0, 0),
			  strlen(db_rows_get(rows, 0, 0)));
	db_rows_free(rows);
}

static json_t *key_cursor(json_t *item)
{
	return json_pack("[s]", json_string_value(json_object_get(item, "name")));
}

void api_fw_keys_list(const struct request *req, struct reply *rep)
{
	struct api_page page;
	struct api_params p = { 0 };
	struct buf sql;
	json_t *items = NULL;
	const char *status = request_query(req, "status");
	char limit[16];

	buf_init(&sql);
	if (!api_page_parse(req, rep, 1, &page))
		return;
	if (status && strcmp(status, "active") != 0 && strcmp(status, "retired") != 0 &&
	    strcmp(status, "revoked") != 0) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/status",
			    "status is one of active, retired, revoked");
		goto out;
	}
	snprintf(limit, sizeof(limit), "%d", page.limit + 1);
	buf_printf(&sql, "SELECT coalesce(jsonb_agg(j ORDER BY name), '[]') FROM (SELECT k.name,"
			 " bw_fw_key_json(k) AS j FROM firmware_keys k WHERE true");
	if (page.after) {
		const char *after = json_string_value(json_array_get(page.after, 0));
		if (!after) {
			reply_error(rep, BW_ERR_INVALID_CURSOR, "/cursor",
				    "the cursor is malformed");
			goto out;
		}
		buf_printf(&sql, " AND k.name COLLATE \"C\" > $%d", api_params_add(&p, after));
	}
	if (status)
		buf_printf(&sql, " AND k.status = $%d", api_params_add(&p, status));
	buf_printf(&sql, " ORDER BY k.name COLLATE \"C\" LIMIT $%d::int) s",
		   api_params_add(&p, limit));
	if (api_read_json(rep, sql.data, p.n, p.values, &items))
		reply_json(rep, 200, api_page_reply(items, page.limit, key_cursor));
out:
	buf_cleanup(&sql);
	api_params_cleanup(&p);
	api_page_cleanup(&page);
}

/* ---- retire / revoke ---- */

struct key_state_ctx {
	const struct request *req;
	const char *id;
	const char *target;
	const char *reason;
	char version[32];
	char state[16];
	json_t *out;
	bool is_missing, is_stale, is_wrong_state;
};

static enum db_status key_state_tx(struct db *db, void *arg)
{
	struct key_state_ctx *c = arg;
	struct db_rows *rows = NULL;
	const char *params[] = { c->id, c->target, c->reason };
	enum db_status st;

	json_decref(c->out);
	c->out = NULL;
	c->is_missing = c->is_stale = c->is_wrong_state = false;
	st = db_exec(db, "SELECT status, version FROM firmware_keys WHERE id = $1 FOR UPDATE", 1,
		     params, &rows);
	if (st < 0)
		return st;
	if (st == DB_NONE) {
		db_rows_free(rows);
		c->is_missing = true;
		return DB_NONE;
	}
	snprintf(c->state, sizeof(c->state), "%s", db_rows_get(rows, 0, 0));
	c->is_stale = c->version[0] && strcmp(c->version, db_rows_get(rows, 0, 1)) != 0;
	db_rows_free(rows);
	c->is_wrong_state = strcmp(c->state, "revoked") == 0 ||
			    (strcmp(c->target, "retired") == 0 && strcmp(c->state, "active") != 0);
	if (c->is_stale || c->is_wrong_state)
		return DB_NONE;
	st = db_query_json(
		db,
		"UPDATE firmware_keys k SET status = $2, status_reason = $3,"
		" retired_at = CASE WHEN $2 = 'retired' THEN now() ELSE k.retired_at END,"
		" revoked_at = CASE WHEN $2 = 'revoked' THEN now() ELSE k.revoked_at END,"
		" version = k.version + 1 WHERE k.id = $1 RETURNING bw_fw_key_json(k)",
		3, params, &c->out);
	if (st < 0)
		return st;
	json_t *det = json_pack("{s:s, s:s?}", "from", c->state, "reason", c->reason);
	st = api_audit(db, c->req,
		       strcmp(c->target, "revoked") == 0 ? "signing_key.revoke"
							 : "signing_key.retire",
		       "signing_key", c->id, det);
	json_decref(det);
	return st;
}

static void key_change_state(const struct request *req, struct reply *rep, const char *target)
{
	static const char *const fields[] = { "reason", "version", NULL };
	struct key_state_ctx c = { .req = req, .target = target };
	json_t *body = req->json, *v;

	if (!key_param(req, rep, &c.id))
		return;
	if (body) {
		if (!json_is_object(body)) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "", "the body must be a JSON object");
			return;
		}
		if (!api_check_fields(body, fields, "", rep) ||
		    !api_opt_string(body, "reason", "", &c.reason, NULL, rep))
			return;
		if (c.reason && strlen(c.reason) > 1024) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/reason",
				    "reason is at most 1024 bytes");
			return;
		}
		v = json_object_get(body, "version");
		if (v && (!json_is_integer(v) || json_integer_value(v) < 1)) {
			reply_error(rep, BW_ERR_BAD_REQUEST, "/version",
				    "version is a positive integer");
			return;
		}
		if (v)
			snprintf(c.version, sizeof(c.version), "%lld",
				 (long long)json_integer_value(v));
	}
	if (!api_tx(rep, DB_READ_COMMITTED, key_state_tx, &c))
		return;
	if (c.is_missing)
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "signing key '%s' not found", c.id);
	else if (c.is_stale)
		reply_error(rep, BW_ERR_VERSION_CONFLICT, "/version",
			    "signing key '%s' was changed by someone else (stale version)", c.id);
	else if (c.is_wrong_state)
		reply_error(rep, BW_ERR_CONFLICT, NULL,
			    "signing key '%s' is %s and cannot become %s", c.id, c.state, target);
	else {
		log_info("firmware", "signing_key_state", LOG_S("key_id", c.id),
			 LOG_S("status", target), LOG_END);
		reply_json(rep, 200, c.out);
		c.out = NULL;
	}
	json_decref(c.out);
}

void api_fw_key_retire(const struct request *req, struct reply *rep)
{
	key_change_state(req, rep, "retired");
}

void api_fw_key_revoke(const struct request *req, struct reply *rep)
{
	key_change_state(req, rep, "revoked");
}

/* ---- trust list ---- */

void api_fw_trust_list(const struct request *req, struct reply *rep)
{
	json_t *keys = NULL;
	struct db *db;
	enum db_status st;

	(void)req;
	db = api_db_get(rep);
	if (!db)
		return;
	st = db_query_json(db,
			   "SELECT coalesce(jsonb_agg(jsonb_build_object('key_id', k.id, 'name',"
			   " k.name, 'algorithm', k.algorithm, 'status', k.status,"
			   " 'public_key_pem', k.public_key_pem, 'created_at', bw_ts(k.created_at),"
			   " 'revoked_at', bw_ts(k.revoked_at)) ORDER BY k.id), '[]')"
			   " FROM firmware_keys k",
			   0, NULL, &keys);
	db_pool_put(db);
	if (st < 0) {
		api_reply_db_error(rep, st);
		return;
	}
	reply_json(rep, 200,
		   json_pack("{s:s, s:o}", "format", TRUST_LIST_FORMAT, "keys",
			     keys ? keys : json_array()));
}
