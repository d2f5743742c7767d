/* GET /healthz, /readyz, /metrics. */
#include "api/handlers.h"

#include <stdlib.h>

#include "core/buf.h"
#include "core/metrics.h"
#include "db/db.h"
#include "mqtt/client.h"

void api_health_healthz(const struct request *req, struct reply *rep)
{
	(void)req;
	reply_json(rep, 200, json_pack("{s:s}", "status", "ok"));
}

void api_health_readyz(const struct request *req, struct reply *rep)
{
	bool pg = db_ping();
	bool mq = mqtt_client_is_connected();
	(void)req;
	reply_json(rep, pg && mq ? 200 : 503,
		   json_pack("{s:s, s:{s:s, s:s}}", "status", pg && mq ? "ready" : "not_ready",
			     "checks", "postgres", pg ? "ok" : "fail", "mqtt", mq ? "ok" : "fail"));
	if (!(pg && mq))
		reply_header(rep, "Retry-After", "1");
}

void api_health_metrics(const struct request *req, struct reply *rep)
{
	struct buf b;
	(void)req;
	buf_init(&b);
	metrics_render(&b);
	if (b.is_oom) {
		buf_cleanup(&b);
		reply_error(rep, BW_ERR_INTERNAL, NULL, "out of memory");
		return;
	}
	reply_raw(rep, 200, "text/plain; version=0.0.4; charset=utf-8", b.data ? b.data : "",
		  b.len);
	buf_cleanup(&b);
}
