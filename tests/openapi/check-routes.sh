#!/bin/sh
# Routes-vs-OpenAPI consistency: every route of server/src/api/routes.c is an operation of
# api/openapi.yaml and vice versa, and each operation's x-min-role (and security) matches the
# route's role and auth mode. One check per distinct (method, path) of either side; prints one
# line per mismatch and ends with "N passed, M failed".
#
# routes.c lines have the shape (one route per line):
#	{ "GET", "/api/v1/things/{thing}", api_things_get, ROLE_VIEWER, BODY_NONE, AUTH_BEARER, NULL },
# The YAML is read through the pinned Redocly CLI (`bundle --ext json`), so no YAML parser is
# needed here. ROUTES_C / OPENAPI override the inputs (for testing this script).
set -u

root=$(cd "$(dirname "$0")/../.." && pwd) || exit 2
routes_c=${ROUTES_C:-$root/server/src/api/routes.c}
spec=${OPENAPI:-$root/api/openapi.yaml}
tools="$root/tools"
redocly="$tools/node_modules/.bin/redocly"

fail() {
	echo "check-routes: $*"
	echo "0 passed, 1 failed"
	exit 1
}

[ -f "$routes_c" ] || fail "route table $routes_c not found"
[ -f "$spec" ] || fail "OpenAPI document $spec not found"
command -v python3 >/dev/null 2>&1 || fail "python3 not found"
if [ ! -x "$redocly" ]; then
	command -v npm >/dev/null 2>&1 || fail "npm not found (needed to install tools/)"
	(cd "$tools" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci in tools/ failed"
fi

json=$(mktemp) || fail "mktemp failed"
trap 'rm -f "$json"' EXIT
REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true \
	"$redocly" bundle "$spec" --ext json --config "$tools/redocly.yaml" >"$json" 2>/dev/null ||
	fail "cannot read $spec (run tests/openapi/lint.sh)"

python3 - "$routes_c" "$json" <<'PY'
import json
import os
import re
import sys

routes_path, spec_path = sys.argv[1], sys.argv[2]

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options", "trace")
ROLE_TO_OPENAPI = {
    "ROLE_VIEWER": "viewer",
    "ROLE_OPERATOR": "operator",
    "ROLE_ADMIN": "admin",
}
ROUTE_RE = re.compile(
    r'^\s*\{\s*"(?P<method>[A-Z]+)"\s*,\s*"(?P<pattern>[^"]+)"\s*,\s*(?P<handler>\w+)\s*,'
    r'\s*(?P<role>ROLE_\w+)\s*,\s*(?P<body>BODY_\w+)\s*,\s*(?P<auth>AUTH_\w+)'
    # Further fields (metrics name, stream callbacks ...): NULL, a string or an identifier.
    r'(?:\s*,\s*(?:NULL|"[^"]*"|\w+))*'
    r'\s*\}\s*,?\s*(?://.*|/\*.*\*/\s*)?$'
)
# Route tables may pull in more routes with #include "api/<name>.inc" (same one-line format).
INCLUDE_RE = re.compile(r'^\s*#\s*include\s+"(?P<path>[^"]+\.inc)"')
ROUTE_START_RE = re.compile(r'^\s*\{\s*"[A-Za-z]+"\s*,')


def route_role(role, auth):
    """(x-min-role equivalent, None) for a consistent route line, else (None, reason)."""
    if auth == "AUTH_PUBLIC":
        if role != "ROLE_NONE":
            return None, f"AUTH_PUBLIC with {role} (public routes use ROLE_NONE)"
        return "public", None
    if auth not in ("AUTH_BEARER", "AUTH_SIGV4"):
        return None, f"unknown auth mode {auth}"
    if role == "ROLE_NONE":
        return None, f"ROLE_NONE with {auth} (public routes use AUTH_PUBLIC)"
    if role not in ROLE_TO_OPENAPI:
        return None, f"unknown role {role}"
    return ROLE_TO_OPENAPI[role], None


messages = []
failed = set()  # keys (METHOD, path) whose check failed
unparsed = 0  # route-like lines in the wrong shape: each is a failed check of its own
routes = {}  # (METHOD, pattern) -> (where, role or None)
# Quoted includes resolve like the compiler's: the including file's directory, then -Iserver/src
# (the parent of the directory holding routes.c).
include_root = os.path.dirname(os.path.dirname(os.path.abspath(routes_path)))


def parse_route_file(path, depth=0):
    global unparsed
    name = os.path.basename(path)
    with open(path, encoding="utf-8") as f:
        lines = f.readlines()
    for line_no, line in enumerate(lines, 1):
        where = f"{name}:{line_no}"
        inc = INCLUDE_RE.match(line)
        if inc:
            candidates = [os.path.join(os.path.dirname(path), inc["path"]),
                          os.path.join(include_root, inc["path"])]
            found = next((c for c in candidates if os.path.isfile(c)), None)
            if found is None or depth >= 4:
                messages.append(f"{where}: cannot read included route file {inc['path']}")
                unparsed += 1
            else:
                parse_route_file(found, depth + 1)
            continue
        if not ROUTE_START_RE.match(line):
            continue
        m = ROUTE_RE.match(line)
        if not m:
            messages.append(f"{where}: route line not in the expected shape: {line.strip()}")
            unparsed += 1
            continue
        key = (m["method"], m["pattern"])
        if key in routes:
            messages.append(f"{where}: duplicate route {key[0]} {key[1]} "
                            f"(first at {routes[key][0]})")
            failed.add(key)
            continue
        role, reason = route_role(m["role"], m["auth"])
        if reason:
            messages.append(f"{where}: {key[0]} {key[1]}: {reason}")
            failed.add(key)
        routes[key] = (where, role, m["auth"])


parse_route_file(routes_path)

with open(spec_path, encoding="utf-8") as f:
    spec = json.load(f)
global_security = spec.get("security", [])
operations = {}  # (METHOD, path) -> (operationId, x-min-role, has no security requirement)
for path, item in (spec.get("paths") or {}).items():
    for method in HTTP_METHODS:
        op = item.get(method)
        if op is None:
            continue
        security = op.get("security", global_security)
        schemes = {name for req in security for name in (req or {})}
        operations[(method.upper(), path)] = (op.get("operationId", "?"), op.get("x-min-role"),
                                              security in ([], [{}]), schemes)

keys = sorted(set(routes) | set(operations), key=lambda k: (k[1], k[0]))
for key in keys:
    method, path = key
    route = routes.get(key)
    op = operations.get(key)
    if route is None:
        messages.append(f"missing in routes.c: {method} {path} (openapi operationId {op[0]})")
        failed.add(key)
        continue
    where, role, auth = route
    if op is None:
        messages.append(f"missing in openapi: {method} {path} ({where})")
        failed.add(key)
        continue
    op_id, min_role, is_public, schemes = op
    if min_role not in ("public", "viewer", "operator", "admin"):
        messages.append(f"bad x-min-role: {method} {path} (operationId {op_id}) has "
                        f"{min_role!r}, want public|viewer|operator|admin")
        failed.add(key)
        continue
    if role is not None and min_role != role:
        messages.append(f"role mismatch: {method} {path}: {where} says {role}, "
                        f"openapi x-min-role says {min_role}")
        failed.add(key)
    if (min_role == "public") != is_public:
        want = "security: []" if min_role == "public" else "a security requirement"
        messages.append(f"security mismatch: {method} {path} has x-min-role {min_role} "
                        f"but not {want}")
        failed.add(key)
    # the scheme must match how the route authenticates (bearer token or AWS SigV4)
    want_scheme = {"AUTH_BEARER": "bearerAuth", "AUTH_SIGV4": "awsSigV4"}.get(auth)
    if want_scheme and not is_public and want_scheme not in schemes:
        messages.append(f"security mismatch: {method} {path} is {auth} but its security "
                        f"does not name {want_scheme}")
        failed.add(key)

for msg in messages:
    print(msg)
nfailed = len(failed) + unparsed
print(f"{len(keys) - len(failed)} passed, {nfailed} failed")
sys.exit(1 if nfailed else 0)
PY
rc=$?
# python3 prints the summary line; anything else (e.g. a crash) must still end with one.
[ "$rc" -le 1 ] || fail "checker failed (exit $rc)"
exit "$rc"
