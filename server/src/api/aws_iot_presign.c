/* Presigned-URL placeholders of job documents (spec 3.10) resolved to firmware downloads, and
 * the control plane's settings. */
#include "api/jobs_control.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "api/aws_iot_common.h"
#include "api/aws_iot_docsource.h"
#include "crypto/keys.h"
#include "firmware/presign.h"
#include "http/server.h"
#include "jobs/config.h"
#include "mqtt/jobs.h"
#include "mqtt/outbox_pump.h"

#define ARTIFACT_URL_PREFIX "bellwether:artifact/"

static char listen_host[256] = "127.0.0.1";

void api_jobs_control_init(const struct config *cfg)
{
	const char *colon;
	size_t n;

	snprintf(aws_iot.region, sizeof(aws_iot.region), "%s",
		 cfg->aws_region && *cfg->aws_region ? cfg->aws_region : "us-east-1");
	snprintf(aws_iot.account, sizeof(aws_iot.account), "%s",
		 cfg->aws_account_id && *cfg->aws_account_id ? cfg->aws_account_id
							     : "123456789012");
	n = cfg->public_url ? strlen(cfg->public_url) : 0;
	while (n > 0 && cfg->public_url[n - 1] == '/')
		n--;
	snprintf(aws_iot.public_url, sizeof(aws_iot.public_url), "%.*s", (int)n,
		 n ? cfg->public_url : "");
	/* without BW_PUBLIC_URL: http://<listen host>:<bound port> */
	colon = cfg->http_listen ? strrchr(cfg->http_listen, ':') : NULL;
	if (colon && colon != cfg->http_listen) {
		n = (size_t)(colon - cfg->http_listen);
		snprintf(listen_host, sizeof(listen_host), "%.*s", (int)n, cfg->http_listen);
		if (strcmp(listen_host, "0.0.0.0") == 0 || strcmp(listen_host, "[::]") == 0)
			snprintf(listen_host, sizeof(listen_host), "127.0.0.1");
	}
	/* placeholders are resolved on every delivery (spec 3.10): notify-next through the outbox,
	 * and every reply of the jobs engine (MQTT get / start-next, iot-jobs-data HTTP) */
	outbox_pump_set_presigner(api_jobs_presign, NULL);
	mqtt_jobs_set_presign(api_jobs_presign, NULL);
	aws_iot_docsource_init(cfg->job_document_dir);
}

char *api_jobs_artifact_url(const char *artifact_id, int expires_in_sec)
{
	char *out = NULL;

	if (asprintf(&out, ARTIFACT_URL_PREFIX "%s?expiresInSec=%d", artifact_id, expires_in_sec) <
	    0)
		return NULL;
	return out;
}

char *api_jobs_presign(const char *url, void *arg)
{
	unsigned char key[DIGEST_SHA256_LEN];
	char id[24], sig[PRESIGN_SIG_SIZE];
	const char *p, *q;
	long ttl = JOBS_PRESIGN_DEFAULT_SEC;
	size_t n;
	int64_t exp;
	char *out = NULL;
	bool ok;
	(void)arg;

	if (strncmp(url, ARTIFACT_URL_PREFIX, strlen(ARTIFACT_URL_PREFIX)) != 0)
		return strdup(url); /* an external URL: nothing of ours to sign */
	p = url + strlen(ARTIFACT_URL_PREFIX);
	n = strspn(p, "0123456789");
	if (n == 0 || n >= sizeof(id))
		return NULL;
	memcpy(id, p, n);
	id[n] = '\0';
	q = p + n;
	if (strncmp(q, "?expiresInSec=", 14) == 0) {
		char *end;
		ttl = strtol(q + 14, &end, 10);
		if (*end || ttl < JOBS_PRESIGN_MIN_SEC || ttl > JOBS_PRESIGN_MAX_SEC)
			return NULL;
	} else if (*q) {
		return NULL;
	}
	exp = (int64_t)time(NULL) + ttl;
	ok = keys_presign_key(key) && presign_sign(key, id, exp, NULL, sig);
	memset(key, 0, sizeof(key));
	if (!ok)
		return NULL;
	if (aws_iot.public_url[0])
		ok = asprintf(&out,
			      "%s/api/v1/firmware/download/%s?expires=%" PRId64 "&signature=%s",
			      aws_iot.public_url, id, exp, sig) >= 0;
	else
		ok = asprintf(&out,
			      "http://%s:%d/api/v1/firmware/download/%s?expires=%" PRId64
			      "&signature=%s",
			      listen_host, http_server_port(), id, exp, sig) >= 0;
	return ok ? out : NULL;
}
