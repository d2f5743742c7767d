/* MQTT file streams of FreeRTOS OTA (spec 9.3): GetStream and DescribeStream requests on
 * $aws/things/{thing}/streams/{stream}/{get|describe}/{json|cbor}, answered to the requesting
 * client only (data, description or rejected topic of the same encoding), with blocks read
 * by range from the firmware blob store (never the whole file). Streams and their files live
 * in job_streams / job_stream_files (created for OTA jobs). */
#ifndef BW_MQTT_STREAMS_H
#define BW_MQTT_STREAMS_H

#include "core/config.h"
#include "core/errors.h"
#include "mqtt/router.h"

/* Open the blob store (BW_BLOB_DIR) and register the handler for exactly the filter
 * "$aws/things/+/streams/#". Returns BW_OK or an error (logged). The store is released at
 * process exit. */
enum bw_err mqtt_streams_register(struct mqtt_router *router, const struct config *cfg);

#endif
