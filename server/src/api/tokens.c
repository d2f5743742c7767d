/* /api/v1/tokens and /api/v1/whoami. */
#include "api/handlers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/common.h"
#include "auth/tokens.h"

static json_t *token_key(json_t *item)
{
	const char *id = json_string_value(json_object_get(item, "id"));
	return json_pack("[I]", (json_int_t)(id ? strtoll(id, NULL, 10) : 0));
}

void api_tokens_list(const struct request *req, struct reply *rep)
{
	struct api_page page;
	json_t *items = NULL;
	char before[32], limit[16];

	if (!api_page_parse(req, rep, 1, &page))
		return;
	if (!api_page_before_id(&page, rep, before))
		goto out;
	snprintf(limit, sizeof(limit), "%d", page.limit + 1);
	const char *params[] = { before, limit };
	if (api_read_json(
		    rep,
		    "SELECT coalesce(jsonb_agg(j ORDER BY id DESC), '[]') FROM"
		    " (SELECT k.id, bw_token_json(k) AS j FROM api_tokens k WHERE k.id < $1::bigint"
		    "  ORDER BY k.id DESC LIMIT $2::int) s",
		    2, params, &items))
		reply_json(rep, 200, api_page_reply(items, page.limit, token_key));
out:
	api_page_cleanup(&page);
}

struct create_ctx {
	const struct request *req;
	const char *name;
	enum role role;
	char token[TOKEN_TEXT_LEN];
	json_t *out;
};

static enum db_status create_tx(struct db *db, void *arg)
{
	struct create_ctx *c = arg;
	int64_t id = 0;
	char idtxt[32];
	enum db_status st;

	json_decref(c->out);
	c->out = NULL;
	st = tokens_create(db, c->name, c->role, c->req->principal.name, c->token, &id);
	if (st < 0)
		return st;
	snprintf(idtxt, sizeof(idtxt), "%lld", (long long)id);
	json_t *det = json_pack("{s:s, s:s}", "name", c->name, "role", role_name(c->role));
	st = api_audit(db, c->req, "token.create", "token", idtxt, det);
	json_decref(det);
	if (st < 0)
		return st;
	const char *params[] = { idtxt };
	return db_query_json(db, "SELECT bw_token_json(k) FROM api_tokens k WHERE id = $1::bigint",
			     1, params, &c->out);
}

void api_tokens_create(const struct request *req, struct reply *rep)
{
	static const char *const fields[] = { "name", "role", NULL };
	struct create_ctx c = { .req = req };
	const char *role = NULL;
	json_t *body = api_body_object(req, rep);

	if (!body || !api_check_fields(body, fields, "", rep) ||
	    !api_opt_string(body, "name", "", &c.name, NULL, rep) ||
	    !api_opt_string(body, "role", "", &role, NULL, rep))
		return;
	if (!c.name || !tokens_is_valid_name(c.name)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/name",
			    "name is required: 1..128 characters of A-Z a-z 0-9 space . _ : -");
		return;
	}
	if (!role || !role_parse(role, &c.role)) {
		reply_error(rep, BW_ERR_BAD_REQUEST, "/role",
			    "role is required: one of viewer, operator, admin");
		return;
	}
	if (!api_tx(rep, DB_READ_COMMITTED, create_tx, &c) || !c.out) {
		if (!rep->err)
			api_reply_db_error(rep, DB_HARD);
		json_decref(c.out);
		return;
	}
	json_object_set_new(c.out, "token", json_string(c.token));
	reply_json(rep, 201, c.out);
	memset(c.token, 0, sizeof(c.token));
}

struct revoke_ctx {
	const struct request *req;
	const char *id;
	bool is_found;
};

static enum db_status revoke_tx(struct db *db, void *arg)
{
	struct revoke_ctx *c = arg;
	const char *params[] = { c->id };
	enum db_status st;

	c->is_found = false;
	st = db_exec(db,
		     "UPDATE api_tokens SET revoked_at = coalesce(revoked_at, now())"
		     " WHERE id = $1::bigint",
		     1, params, NULL);
	if (st <= 0)
		return st;
	c->is_found = true;
	return api_audit(db, c->req, "token.revoke", "token", c->id, NULL);
}

void api_tokens_revoke(const struct request *req, struct reply *rep)
{
	struct revoke_ctx c = { .req = req, .id = request_param(req, "id") };
	char *end;

	if (!c.id || !*c.id || strtoll(c.id, &end, 10) <= 0 || *end || strlen(c.id) > 18) {
		reply_error(rep, BW_ERR_BAD_REQUEST, NULL, "token id must be a positive integer");
		return;
	}
	if (!api_tx(rep, DB_READ_COMMITTED, revoke_tx, &c))
		return;
	if (!c.is_found)
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "token %s not found", c.id);
	else
		reply_json(rep, 204, NULL);
}

void api_whoami(const struct request *req, struct reply *rep)
{
	char id[32];
	snprintf(id, sizeof(id), "%lld", (long long)req->principal.token_id);
	reply_json(rep, 200,
		   json_pack("{s:s, s:s, s:s}", "token_id", id, "name", req->principal.name, "role",
			     role_name(req->principal.role)));
}
