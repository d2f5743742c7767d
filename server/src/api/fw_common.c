/* Firmware registry: startup, shared validation, signing-key loading and metrics. */
#include "api/firmware.h"
#include "api/fw_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/metrics.h"
#include "crypto/keys.h"

struct api_fw_state api_fw;

bool api_fw_init(const struct config *cfg, char *err, size_t errlen)
{
	api_fw.store = blob_store_file_new(cfg->blob_dir, err, errlen);
	if (!api_fw.store)
		return false;
	api_fw.presign_ttl_s = cfg->presign_ttl_s;
	api_fw.public_url = strdup(cfg->public_url ? cfg->public_url : "");
	if (!api_fw.public_url) {
		snprintf(err, errlen, "out of memory");
		api_fw_shutdown();
		return false;
	}
	if (cfg->master_key_file && *cfg->master_key_file) {
		if (!keys_master_load(cfg->master_key_file, err, errlen)) {
			api_fw_shutdown();
			return false;
		}
	} else {
		log_warn("firmware", "master_key_missing",
			 LOG_S("detail", "BW_MASTER_KEY_FILE is not set: signing keys cannot be "
					 "created, releases cannot be published, URLs cannot be "
					 "presigned"),
			 LOG_END);
	}
	metrics_describe("bw_fw_uploads_total", "counter", "Firmware artifact uploads by result");
	metrics_describe("bw_fw_upload_bytes_total", "counter",
			 "Bytes of firmware artifacts stored by successful uploads");
	metrics_describe(
		"bw_fw_downloads_total", "counter",
		"Firmware artifact download requests by kind (bearer, presigned) and status");
	metrics_describe("bw_fw_download_bytes_total", "counter",
			 "Bytes of firmware artifact content served");
	metrics_describe("bw_fw_presign_rejected_total", "counter",
			 "Presigned download requests rejected, by reason");
	metrics_describe("bw_fw_signatures_total", "counter",
			 "Signatures made by the firmware registry, by kind");
	log_info("firmware", "firmware_ready", LOG_S("blob_dir", cfg->blob_dir),
		 LOG_B("master_key", keys_master_is_loaded()), LOG_END);
	return true;
}

void api_fw_shutdown(void)
{
	blob_store_free(api_fw.store);
	free(api_fw.public_url);
	memset(&api_fw, 0, sizeof(api_fw));
	keys_master_clear();
}

bool api_fw_id_param(const struct request *req, struct reply *rep, const char *name,
		     const char *what, char out[FW_ID_TEXT_SIZE])
{
	const char *v = request_param(req, name);
	size_t n = 0;

	for (; v && v[n]; n++)
		if (v[n] < '0' || v[n] > '9')
			break;
	if (!v || n == 0 || v[n] || n > 18 || v[0] == '0') {
		reply_error(rep, BW_ERR_NOT_FOUND, NULL, "%s '%.64s' not found", what, v ? v : "");
		return false;
	}
	memcpy(out, v, n + 1);
	return true;
}

static bool charset_ok(const char *s, size_t max, const char *extra, bool is_lower_only)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++) {
		char c = s[n];
		if (n >= max)
			return false;
		if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		    (!is_lower_only && c >= 'A' && c <= 'Z') || strchr(extra, c))
			continue;
		return false;
	}
	return n > 0;
}

bool api_fw_is_valid_hw(const char *s)
{
	return charset_ok(s, 128, ":_.-", false);
}

bool api_fw_is_valid_artifact_name(const char *s)
{
	return charset_ok(s, 128, "._-", false) && s[0] != '.' && s[0] != '_' && s[0] != '-';
}

bool api_fw_is_valid_artifact_type(const char *s)
{
	return charset_ok(s, 32, "_-", true);
}

bool api_fw_is_valid_key_name(const char *s)
{
	return charset_ok(s, 128, "._:-", false);
}

bool api_fw_is_sha256_hex(const char *s)
{
	size_t n = 0;

	if (!s)
		return false;
	for (; s[n]; n++)
		if (!((s[n] >= '0' && s[n] <= '9') || (s[n] >= 'a' && s[n] <= 'f') ||
		      (s[n] >= 'A' && s[n] <= 'F')))
			return false;
	return n == 64;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

bool api_fw_hex_decode(const char *hex, unsigned char *out, size_t n)
{
	if (strlen(hex) != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		out[i] = (unsigned char)(hi << 4 | lo);
	}
	return true;
}

void api_fw_reply_status_error(struct reply *rep, unsigned status, const char *code,
			       const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	reply_json(rep, status,
		   json_pack("{s:{s:s, s:s, s:s?}}", "error", "code", code, "message", msg,
			     "request_id", rep->request_id));
	rep->err = BW_ERR_BAD_REQUEST;
}

bool api_fw_require_master_key(struct reply *rep, const char *what)
{
	if (keys_master_is_loaded())
		return true;
	reply_error(rep, BW_ERR_CONFLICT, NULL,
		    "%s needs a master key: configure BW_MASTER_KEY_FILE (a file holding 64 hex "
		    "characters, e.g. from `openssl rand -hex 32`)",
		    what);
	return false;
}

enum db_status api_fw_load_signing_key(struct db *db, const char *key_id, struct sign_key **out,
				       const char **why)
{
	struct db_rows *rows = NULL;
	const char *params[] = { key_id };
	unsigned char *der = NULL;
	size_t len = 0;
	enum db_status st;

	*out = NULL;
	*why = NULL;
	st = db_exec(db,
		     "SELECT status, private_key_sealed FROM firmware_keys WHERE id = $1 FOR SHARE",
		     1, params, &rows);
	if (st < 0)
		return st;
	if (st == DB_NONE) {
		*why = "no such key";
	} else if (strcmp(db_rows_get(rows, 0, 0), "active") != 0) {
		*why = "the key is not active (retired or revoked keys do not sign)";
		st = DB_NONE;
	} else if (!db_rows_get(rows, 0, 1)) {
		*why = "the key has no private part (verification only)";
		st = DB_NONE;
	} else if (!keys_open(db_rows_get(rows, 0, 1), key_id, &der, &len) ||
		   !(*out = sign_key_from_pkcs8(der, len))) {
		/* wrong master key or a damaged row: an operator must look, not a retry */
		log_error("firmware", "signing_key_unusable", LOG_S("key_id", key_id), LOG_END);
		*why = "the private key cannot be decrypted with the configured master key";
		st = DB_NONE;
	}
	sign_secure_free(der, len);
	db_rows_free(rows);
	return st;
}

void api_fw_count_upload(const char *result, uint64_t bytes)
{
	char labels[64];

	snprintf(labels, sizeof(labels), "result=\"%s\"", result);
	metrics_counter_add("bw_fw_uploads_total", labels, 1);
	if (bytes)
		metrics_counter_add("bw_fw_upload_bytes_total", NULL, (double)bytes);
}

void api_fw_count_download(const char *kind, unsigned status, uint64_t bytes)
{
	char labels[64];

	snprintf(labels, sizeof(labels), "kind=\"%s\",status=\"%u\"", kind, status);
	metrics_counter_add("bw_fw_downloads_total", labels, 1);
	if (bytes)
		metrics_counter_add("bw_fw_download_bytes_total", NULL, (double)bytes);
}

void api_fw_count_presign_rejected(const char *reason)
{
	char labels[64];

	snprintf(labels, sizeof(labels), "reason=\"%s\"", reason);
	metrics_counter_add("bw_fw_presign_rejected_total", labels, 1);
}
