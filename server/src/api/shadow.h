/* HTTP handlers of the Device Shadow service (issue 4): the AWS iot-data plane (SigV4, AWS
 * paths and error shapes, spec section 7) and the native /api/v1 shadow routes (bearer tokens,
 * native error shape, docs/SHADOW.md). Routes: api/routes_shadow.inc. */
#ifndef BW_API_SHADOW_H
#define BW_API_SHADOW_H

#include "http/request.h"

/* Native spelling of the classic (unnamed) shadow in /api/v1 paths and replies. '~' is not a
 * legal shadow-name character, so it can never clash with a named shadow. */
#define API_SHADOW_CLASSIC "~classic"

#define HANDLER(name) void name(const struct request *req, struct reply *rep)

/* AWS iot-data (api/aws_shadow.c) */
HANDLER(api_aws_get_thing_shadow);	       /* GET /things/{thing}/shadow?name= */
HANDLER(api_aws_update_thing_shadow);	       /* POST /things/{thing}/shadow?name= */
HANDLER(api_aws_delete_thing_shadow);	       /* DELETE /things/{thing}/shadow?name= */
HANDLER(api_aws_list_named_shadows_for_thing); /* GET /api/things/shadow/ListNamed...{thing} */
HANDLER(api_aws_publish);		       /* POST /topics/{topic}?qos=&retain= */

/* Native (api/shadows.c, api/shadows_query.c) */
HANDLER(api_shadows_list);    /* GET /api/v1/things/{thing}/shadows */
HANDLER(api_shadows_get);     /* GET /api/v1/things/{thing}/shadows/{shadow} */
HANDLER(api_shadows_update);  /* PATCH /api/v1/things/{thing}/shadows/{shadow} */
HANDLER(api_shadows_delete);  /* DELETE /api/v1/things/{thing}/shadows/{shadow} */
HANDLER(api_shadows_history); /* GET /api/v1/things/{thing}/shadows/{shadow}/history */
HANDLER(api_shadows_revert);  /* POST /api/v1/things/{thing}/shadows/{shadow}/revert */
HANDLER(api_shadows_query);   /* GET /api/v1/shadows/query */

#undef HANDLER

#endif
