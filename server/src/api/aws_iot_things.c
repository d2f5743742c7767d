/* Control plane registry subset (spec 5.1) on the native registry tables (things,
 * thing_groups, thing_group_members), so both APIs see the same data: CreateThing,
 * DescribeThing, ListThings, CreateThingGroup (static), AddThingToThingGroup.
 * thingTypeName is stored as the thing's hardware_type. */
#include "api/jobs_control.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/aws_iot_common.h"
#include "api/common.h"
#include "core/strutil.h"

static bool is_valid_type_name(const char *s)
{
	size_t n = 0;

	for (; s[n]; n++)
		if (n >= 128 || !(strchr(":_-", s[n]) || (s[n] >= 'a' && s[n] <= 'z') ||
				  (s[n] >= 'A' && s[n] <= 'Z') || (s[n] >= '0' && s[n] <= '9')))
			return false;
	return n > 0;
}

/* attributePayload.attributes: object of strings with registry-valid keys and values. */
static bool check_attributes(const json_t *attrs, struct reply *rep)
{
	const char *k;
	json_t *v;

	if (!json_is_object(attrs) || json_object_size(attrs) > 50) {
		aws_iot_error(rep, 400, "InvalidRequestException",
			      "attributes must be an object of at most 50 strings");
		return false;
	}
	json_object_foreach((json_t *)attrs, k, v) {
		if (!strutil_is_valid_attr_key(k) || !json_is_string(v) ||
		    !strutil_is_valid_attr_value(json_string_value(v))) {
			aws_iot_error(rep, 400, "InvalidRequestException", "invalid attribute %s",
				      k);
			return false;
		}
	}
	return true;
}

static const char *path_thing(const struct request *req, struct reply *rep)
{
	const char *t = request_param(req, "thing");

	if (!t || !strutil_is_valid_thing_name(t)) {
		aws_iot_error(rep, 400, "InvalidRequestException",
			      "thingName must be 1..128 characters of a-z A-Z 0-9 : _ -");
		return NULL;
	}
	return t;
}

struct thing_ctx {
	const struct request *req;
	const char *name;
	const char *type;
	const char *attrs; /* JSON text */
	bool is_conflict;
	char id[24];
};

static enum db_status create_thing_tx(struct db *db, void *arg)
{
	struct thing_ctx *c = arg;
	const char *params[] = { c->name, c->type, c->attrs };
	struct db_rows *rows = NULL;
	enum db_status st;

	c->is_conflict = false;
	st = db_exec(db,
		     "WITH ins AS (INSERT INTO things (name, hardware_type, attributes) VALUES ($1,"
		     " $2, $3::jsonb) ON CONFLICT (name) DO NOTHING RETURNING id, true AS is_new)"
		     " SELECT id, is_new FROM ins UNION ALL SELECT id, false FROM things WHERE name"
		     " = $1 AND NOT EXISTS (SELECT 1 FROM ins) AND hardware_type IS NOT DISTINCT"
		     " FROM $2 AND attributes = $3::jsonb",
		     3, params, &rows);
	if (st < 0)
		goto out;
	if (st == DB_NONE) {
		c->is_conflict = true;
		goto out;
	}
	snprintf(c->id, sizeof(c->id), "%s", db_rows_get(rows, 0, 0));
	if (strcmp(db_rows_get(rows, 0, 1), "t") == 0)
		st = api_audit(db, c->req, "thing.create", "thing", c->name, NULL);
out:
	db_rows_free(rows);
	return st;
}

void api_aws_create_thing(const struct request *req, struct reply *rep)
{
	struct thing_ctx c = { .req = req };
	json_t *body, *attrs = NULL, *v;
	char arn[AWS_IOT_ARN_MAX];
	char *attrs_text = NULL;

	if (!(c.name = path_thing(req, rep)) || !(body = aws_iot_body(req, rep)))
		return;
	v = json_object_get(body, "thingTypeName");
	if (v && (!json_is_string(v) || !is_valid_type_name(json_string_value(v)))) {
		aws_iot_error(rep, 400, "InvalidRequestException", "invalid thingTypeName");
		goto out;
	}
	c.type = v ? json_string_value(v) : NULL;
	if (json_object_get(body, "billingGroupName")) {
		aws_iot_error(rep, 400, "InvalidRequestException",
			      "billing groups are not supported");
		goto out;
	}
	v = json_object_get(body, "attributePayload");
	attrs = v ? json_object_get(v, "attributes") : NULL;
	if (attrs && !check_attributes(attrs, rep))
		goto out;
	attrs_text = attrs ? json_dumps(attrs, JSON_COMPACT | JSON_SORT_KEYS) : strdup("{}");
	if (!attrs_text) {
		aws_iot_db_error(rep, DB_HARD);
		goto out;
	}
	c.attrs = attrs_text;
	if (!aws_iot_tx(rep, DB_READ_COMMITTED, create_thing_tx, &c))
		goto out;
	aws_iot_arn(arn, sizeof(arn), "thing", c.name);
	if (c.is_conflict)
		aws_iot_already_exists(rep, c.name, arn,
				       "a thing with this name and another configuration exists");
	else
		reply_json(rep, 200,
			   json_pack("{s:s, s:s, s:s}", "thingName", c.name, "thingArn", arn,
				     "thingId", c.id));
out:
	free(attrs_text);
	json_decref(body);
}

/* AWS thing object from a row (id, name, hardware_type, attributes, version). */
static json_t *thing_json(const struct db_rows *rows, int r, bool describe)
{
	char arn[AWS_IOT_ARN_MAX];
	const char *name = db_rows_get(rows, r, 1);
	json_t *o;

	aws_iot_arn(arn, sizeof(arn), "thing", name);
	o = json_pack("{s:s, s:s, s:o*, s:I}", "thingName", name, "thingArn", arn, "attributes",
		      json_loads(db_rows_get(rows, r, 3), 0, NULL), "version",
		      (json_int_t)strtoll(db_rows_get(rows, r, 4), NULL, 10));
	if (!o)
		return NULL;
	if (db_rows_get(rows, r, 2))
		json_object_set_new(o, "thingTypeName", json_string(db_rows_get(rows, r, 2)));
	if (describe) {
		json_object_set_new(o, "thingId", json_string(db_rows_get(rows, r, 0)));
		json_object_set_new(o, "defaultClientId", json_string(name));
	}
	return o;
}

void api_aws_describe_thing(const struct request *req, struct reply *rep)
{
	const char *name = path_thing(req, rep);
	const char *params[] = { name };
	struct db_rows *rows = NULL;

	if (!name)
		return;
	struct db *db = db_pool_get();
	if (!db) {
		aws_iot_db_error(rep, DB_RETRY);
		return;
	}
	enum db_status st = db_exec(db,
				    "SELECT id, name, hardware_type, attributes::text, version FROM"
				    " things WHERE name = $1",
				    1, params, &rows);
	db_pool_put(db);
	if (st < 0)
		aws_iot_db_error(rep, st);
	else if (st == DB_NONE)
		aws_iot_error(rep, 404, "ResourceNotFoundException", "thing %s does not exist",
			      name);
	else
		reply_json(rep, 200, thing_json(rows, 0, true));
	db_rows_free(rows);
}

void api_aws_list_things(const struct request *req, struct reply *rep)
{
	const char *an = request_query(req, "attributeName");
	const char *av = request_query(req, "attributeValue");
	const char *type = request_query(req, "thingTypeName");
	bool is_prefix;
	int max;
	int64_t after;
	char a[24], l[16], token[32];
	struct db_rows *rows = NULL;

	if (!aws_iot_page(req, rep, 50, &max, &after) ||
	    !aws_iot_query_bool(req, rep, "usePrefixAttributeValue", &is_prefix))
		return;
	if ((av && !an) || (an && !strutil_is_valid_attr_key(an)) ||
	    (type && !is_valid_type_name(type))) {
		aws_iot_error(rep, 400, "InvalidRequestException",
			      "invalid attributeName, attributeValue or thingTypeName");
		return;
	}
	snprintf(a, sizeof(a), "%" PRId64, after);
	snprintf(l, sizeof(l), "%d", max + 1);
	const char *params[] = { a, l, an, av, is_prefix ? "true" : "false", type };
	struct db *db = db_pool_get();
	if (!db) {
		aws_iot_db_error(rep, DB_RETRY);
		return;
	}
	enum db_status st = db_exec(
		db,
		"SELECT id, name, hardware_type, attributes::text, version FROM things WHERE id >"
		" $1::bigint AND ($3::text IS NULL OR (attributes ? $3 AND ($4::text IS NULL OR"
		" CASE WHEN $5::boolean THEN starts_with(attributes->>$3, $4) ELSE attributes->>$3"
		" = $4 END))) AND ($6::text IS NULL OR hardware_type = $6) ORDER BY id LIMIT $2::int",
		6, params, &rows);
	db_pool_put(db);
	if (st < 0) {
		aws_iot_db_error(rep, st);
		return;
	}
	json_t *items = json_array();
	for (int i = 0; items && rows && i < rows->nrows && i < max; i++)
		json_array_append_new(items, thing_json(rows, i, false));
	json_t *body = json_pack("{s:o}", "things", items ? items : json_array());
	if (body && rows && rows->nrows > max) {
		aws_iot_token(strtoll(db_rows_get(rows, max - 1, 0), NULL, 10), token);
		json_object_set_new(body, "nextToken", json_string(token));
	}
	db_rows_free(rows);
	reply_json(rep, 200, body);
}

struct group_ctx {
	const struct request *req;
	const char *name;
	const char *parent;
	const char *description;
	enum { GROUP_OK, GROUP_CONFLICT, GROUP_NO_PARENT } result;
	char id[24];
};

static enum db_status create_group_tx(struct db *db, void *arg)
{
	struct group_ctx *c = arg;
	const char *params[] = { c->name, c->description, c->parent };
	struct db_rows *rows = NULL;
	enum db_status st;

	c->result = GROUP_OK;
	if (c->parent) {
		const char *pp[] = { c->parent };
		st = db_exec(db, "SELECT 1 FROM thing_groups WHERE name = $1 AND type = 'static'",
			     1, pp, NULL);
		if (st <= 0) {
			c->result = GROUP_NO_PARENT;
			return st;
		}
	}
	st = db_exec(db,
		     "WITH ins AS (INSERT INTO thing_groups (name, type, description, parent_id)"
		     " VALUES ($1, 'static', $2, (SELECT id FROM thing_groups WHERE name = $3))"
		     " ON CONFLICT (name) DO NOTHING RETURNING id, true AS is_new)"
		     " SELECT id, is_new FROM ins UNION ALL SELECT g.id, false FROM thing_groups g"
		     " WHERE g.name = $1 AND NOT EXISTS (SELECT 1 FROM ins) AND g.type = 'static'"
		     " AND g.description IS NOT DISTINCT FROM $2 AND g.parent_id IS NOT DISTINCT"
		     " FROM (SELECT id FROM thing_groups WHERE name = $3)",
		     3, params, &rows);
	if (st < 0)
		goto out;
	if (st == DB_NONE) {
		c->result = GROUP_CONFLICT;
		goto out;
	}
	snprintf(c->id, sizeof(c->id), "%s", db_rows_get(rows, 0, 0));
	if (strcmp(db_rows_get(rows, 0, 1), "t") == 0)
		st = api_audit(db, c->req, "group.create", "group", c->name, NULL);
out:
	db_rows_free(rows);
	return st;
}

void api_aws_create_thing_group(const struct request *req, struct reply *rep)
{
	struct group_ctx c = { .req = req };
	json_t *body, *v, *props;
	char arn[AWS_IOT_ARN_MAX];

	c.name = request_param(req, "thingGroupName");
	if (!c.name || !strutil_is_valid_group_name(c.name)) {
		aws_iot_error(rep, 400, "InvalidRequestException",
			      "thingGroupName must be 1..128 characters of a-z A-Z 0-9 : _ -");
		return;
	}
	if (!(body = aws_iot_body(req, rep)))
		return;
	v = json_object_get(body, "parentGroupName");
	if (v && (!json_is_string(v) || !strutil_is_valid_group_name(json_string_value(v)))) {
		aws_iot_error(rep, 400, "InvalidRequestException", "invalid parentGroupName");
		goto out;
	}
	c.parent = v ? json_string_value(v) : NULL;
	props = json_object_get(body, "thingGroupProperties");
	v = props ? json_object_get(props, "thingGroupDescription") : NULL;
	if (v && (!json_is_string(v) || json_string_length(v) > 2028)) {
		aws_iot_error(rep, 400, "InvalidRequestException", "invalid thingGroupDescription");
		goto out;
	}
	c.description = v ? json_string_value(v) : NULL;
	if (!aws_iot_tx(rep, DB_READ_COMMITTED, create_group_tx, &c))
		goto out;
	aws_iot_arn(arn, sizeof(arn), "thinggroup", c.name);
	if (c.result == GROUP_NO_PARENT)
		aws_iot_error(rep, 404, "ResourceNotFoundException",
			      "parent group %s does not exist or is dynamic", c.parent);
	else if (c.result == GROUP_CONFLICT)
		aws_iot_already_exists(
			rep, c.name, arn,
			"a thing group with this name and another configuration exists");
	else
		reply_json(rep, 200,
			   json_pack("{s:s, s:s, s:s}", "thingGroupName", c.name, "thingGroupArn",
				     arn, "thingGroupId", c.id));
out:
	json_decref(body);
}

struct add_ctx {
	const struct request *req;
	char group[STRUTIL_GROUP_NAME_MAX + 1];
	char thing[STRUTIL_THING_NAME_MAX + 1];
	enum { ADD_OK, ADD_NO_GROUP, ADD_NO_THING, ADD_DYNAMIC } result;
};

static enum db_status add_tx(struct db *db, void *arg)
{
	struct add_ctx *c = arg;
	const char *params[] = { c->group, c->thing };
	struct db_rows *rows = NULL;
	enum db_status st;
	char resource[300];

	st = db_exec(
		db,
		"SELECT (SELECT type FROM thing_groups WHERE name = $1), (SELECT id FROM things"
		" WHERE name = $2)",
		2, params, &rows);
	if (st <= 0)
		goto out;
	if (!db_rows_get(rows, 0, 0))
		c->result = ADD_NO_GROUP;
	else if (!db_rows_get(rows, 0, 1))
		c->result = ADD_NO_THING;
	else if (strcmp(db_rows_get(rows, 0, 0), "static") != 0)
		c->result = ADD_DYNAMIC;
	else
		c->result = ADD_OK;
	if (c->result != ADD_OK)
		goto out;
	st = db_exec(db,
		     "INSERT INTO thing_group_members (group_id, thing_id) SELECT g.id, t.id FROM"
		     " thing_groups g, things t WHERE g.name = $1 AND t.name = $2"
		     " ON CONFLICT DO NOTHING",
		     2, params, NULL);
	if (st == DB_ONE) {
		snprintf(resource, sizeof(resource), "%s", c->group);
		json_t *d = json_pack("{s:s}", "thing", c->thing);
		st = api_audit(db, c->req, "group.add_thing", "group", resource, d);
		json_decref(d);
		if (st >= 0)
			st = db_exec(db, "SELECT pg_notify('bw_jobs', 'membership')", 0, NULL,
				     NULL);
	}
out:
	db_rows_free(rows);
	return st;
}

/* name or ARN field pair into out; false with an error set. */
static bool name_or_arn(json_t *body, const char *name_key, const char *arn_key,
			const char *arn_type, char *out, size_t cap, struct reply *rep)
{
	json_t *n = json_object_get(body, name_key), *a = json_object_get(body, arn_key);
	const char *s = NULL;

	if (n && json_is_string(n)) {
		s = json_string_value(n);
	} else if (a && json_is_string(a)) {
		const char *arn = json_string_value(a);
		const char *c = strrchr(arn, ':');
		size_t tl = strlen(arn_type);
		if (c && strncmp(c + 1, arn_type, tl) == 0 && c[1 + tl] == '/')
			s = c + 2 + tl;
	}
	if (!s || strlen(s) >= cap || !strutil_is_valid_thing_name(s)) {
		aws_iot_error(rep, 400, "InvalidRequestException", "give a valid %s or %s",
			      name_key, arn_key);
		return false;
	}
	snprintf(out, cap, "%s", s);
	return true;
}

void api_aws_add_thing_to_thing_group(const struct request *req, struct reply *rep)
{
	struct add_ctx c = { .req = req };
	json_t *body = aws_iot_body(req, rep);

	if (!body)
		return;
	if (!name_or_arn(body, "thingGroupName", "thingGroupArn", "thinggroup", c.group,
			 sizeof(c.group), rep) ||
	    !name_or_arn(body, "thingName", "thingArn", "thing", c.thing, sizeof(c.thing), rep))
		goto out;
	if (!aws_iot_tx(rep, DB_READ_COMMITTED, add_tx, &c))
		goto out;
	switch (c.result) {
	case ADD_OK:
		reply_json(rep, 200, json_object());
		break;
	case ADD_NO_GROUP:
		aws_iot_error(rep, 404, "ResourceNotFoundException",
			      "thing group %s does not exist", c.group);
		break;
	case ADD_NO_THING:
		aws_iot_error(rep, 404, "ResourceNotFoundException", "thing %s does not exist",
			      c.thing);
		break;
	case ADD_DYNAMIC:
		aws_iot_error(rep, 400, "InvalidRequestException",
			      "%s is a dynamic group: its members follow its query", c.group);
		break;
	}
out:
	json_decref(body);
}
