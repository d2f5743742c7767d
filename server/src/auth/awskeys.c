#include "auth/awskeys.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/sigv4.h"
#include "core/strutil.h"

#define AWSKEYS_MAX 256
#define AWSKEYS_MAX_HEADERS 64

struct awskey {
	char id[SIGV4_ACCESS_KEY_MAX + 1];
	char secret[SIGV4_SECRET_MAX + 1];
	enum role role;
};

static struct awskey keys[AWSKEYS_MAX];
static size_t nkeys;
static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;

void awskeys_clear(void)
{
	pthread_rwlock_wrlock(&lock);
	memset(keys, 0, sizeof(keys));
	nkeys = 0;
	pthread_rwlock_unlock(&lock);
}

size_t awskeys_count(void)
{
	return nkeys;
}

bool awskeys_load(const char *path, char *err, size_t errlen)
{
	FILE *f;
	char line[1024];
	int lineno = 0;
	size_t n = 0;
	struct awskey *tmp;

	awskeys_clear();
	if (!path || !*path)
		return true;
	f = fopen(path, "r");
	if (!f) {
		snprintf(err, errlen, "BW_AWS_KEYS_FILE %s: %s", path, strerror(errno));
		return false;
	}
	tmp = calloc(AWSKEYS_MAX, sizeof(*tmp));
	if (!tmp) {
		fclose(f);
		snprintf(err, errlen, "out of memory");
		return false;
	}
	while (fgets(line, sizeof(line), f)) {
		char *id, *secret, *role, *extra, *save = NULL;
		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		id = strtok_r(line, " \t", &save);
		if (!id || *id == '#')
			continue;
		secret = strtok_r(NULL, " \t", &save);
		role = strtok_r(NULL, " \t", &save);
		extra = strtok_r(NULL, " \t", &save);
		if (!secret || extra || strlen(id) > SIGV4_ACCESS_KEY_MAX ||
		    strlen(secret) > SIGV4_SECRET_MAX || n >= AWSKEYS_MAX) {
			snprintf(err, errlen,
				 "BW_AWS_KEYS_FILE %s:%d: expected ACCESS_KEY_ID SECRET [ROLE]%s",
				 path, lineno, n >= AWSKEYS_MAX ? " (too many keys)" : "");
			goto fail;
		}
		tmp[n].role = ROLE_OPERATOR;
		if (role && !role_parse(role, &tmp[n].role)) {
			snprintf(err, errlen, "BW_AWS_KEYS_FILE %s:%d: unknown role '%s'", path,
				 lineno, role);
			goto fail;
		}
		strutil_lcpy(tmp[n].id, id, sizeof(tmp[n].id));
		strutil_lcpy(tmp[n].secret, secret, sizeof(tmp[n].secret));
		n++;
	}
	fclose(f);
	pthread_rwlock_wrlock(&lock);
	memcpy(keys, tmp, n * sizeof(*tmp));
	nkeys = n;
	pthread_rwlock_unlock(&lock);
	memset(tmp, 0, AWSKEYS_MAX * sizeof(*tmp));
	free(tmp);
	return true;
fail:
	fclose(f);
	memset(tmp, 0, AWSKEYS_MAX * sizeof(*tmp));
	free(tmp);
	return false;
}

/* sigv4_secret_fn over the loaded table (called with the read lock held): 1 found, 0 unknown
 * key, -1 internal error. */
static int lookup(void *ctx, const char *access_key_id, char *secret, size_t size)
{
	enum role *role = ctx;
	for (size_t i = 0; i < nkeys; i++) {
		if (strcmp(keys[i].id, access_key_id) == 0) {
			if (strutil_lcpy(secret, keys[i].secret, size) >= size)
				return -1;
			*role = keys[i].role;
			return 1;
		}
	}
	return 0;
}

enum bw_err awskeys_verify(const char *method, const char *raw_path, const char *raw_query,
			   const char *const *header_names, const char *const *header_values,
			   size_t nheaders, const char *body_sha256_hex, struct principal *out,
			   const char **aws_type, char *msg, size_t msglen)
{
	struct sigv4_header hdrs[AWSKEYS_MAX_HEADERS];
	struct sigv4_request req = { 0 };
	struct sigv4_options opt = { 0 };
	struct sigv4_auth auth;
	struct sigv4_error err;
	enum sigv4_err rc;
	enum role role = ROLE_NONE;

	memset(out, 0, sizeof(*out));
	if (nheaders > AWSKEYS_MAX_HEADERS)
		nheaders = AWSKEYS_MAX_HEADERS;
	for (size_t i = 0; i < nheaders; i++) {
		hdrs[i].name = header_names[i];
		hdrs[i].value = header_values[i];
	}
	req.method = method;
	req.path = raw_path;
	req.query = raw_query;
	req.headers = hdrs;
	req.n_headers = nheaders;
	req.payload_sha256_hex = body_sha256_hex;
	pthread_rwlock_rdlock(&lock);
	rc = sigv4_verify_request(&req, (int64_t)time(NULL), &opt, lookup, &role, &auth, &err);
	pthread_rwlock_unlock(&lock);
	if (rc != SIGV4_OK) {
		*aws_type = sigv4_err_aws_type(rc);
		snprintf(msg, msglen, "%s", err.message);
		return rc == SIGV4_ERR_INTERNAL ? BW_ERR_INTERNAL : BW_ERR_FORBIDDEN;
	}
	snprintf(out->name, sizeof(out->name), "aws:%.120s", auth.access_key_id);
	out->role = role;
	snprintf(out->aws_service, sizeof(out->aws_service), "%s", auth.service);
	return BW_OK;
}
