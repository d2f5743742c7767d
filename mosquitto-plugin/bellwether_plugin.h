/* The contract between bellwetherd and the Bellwether Mosquitto plugin (bellwether_plugin.c):
 * names only, no Mosquitto types, so the server, the plugin and the tests share one spelling.
 * mosquitto-plugin/README.md explains each item. */
#ifndef BELLWETHER_PLUGIN_H
#define BELLWETHER_PLUGIN_H

/* Topics under this prefix are reserved for the plugin; only the server account may publish
 * there, and nothing published there is ever delivered to a subscriber. */
#define BW_PLUGIN_RESERVED_PREFIX "$bellwether/"

/* Directed delivery: the server publishes PREFIX + real reply topic, with exactly one MQTT v5
 * user property BW_PLUGIN_PROP_TARGET = the client id to deliver to. The plugin delivers the
 * payload on the real topic to that one client, at the publish QoS (2 is sent as 1), never
 * retained; the internal message itself reaches nobody (v5 PUBACK "no matching subscribers"). */
#define BW_PLUGIN_DELIVER_PREFIX "$bellwether/deliver/"
#define BW_PLUGIN_PROP_TARGET "bw-target"

/* Requester stamping: user property the plugin adds to device publishes that match the stamp
 * topic filters, carrying the publishing client's id. Device publishes that already carry it
 * are refused, so the server can trust it. */
#define BW_PLUGIN_PROP_CLIENT_ID "bw-client-id"

/* Plugin options (plugin_opt_<name> in mosquitto.conf) and their defaults. */
#define BW_PLUGIN_OPT_SERVER_USER "server_user"
#define BW_PLUGIN_DEFAULT_SERVER_USER "bellwetherd"
#define BW_PLUGIN_OPT_STAMP_TOPICS "stamp_topics"
#define BW_PLUGIN_DEFAULT_STAMP_TOPICS "$aws/things/+/jobs/#"

#endif
