#!/usr/bin/env bash
# A third party verifies Bellwether's firmware signatures with the openssl CLI alone (plus sed):
# signed manifests (ECDSA P-256 and Ed25519), artifact hashes, FreeRTOS `sig-sha256-ecdsa`
# artifact signatures and key ids; tampering is detected. Also checks `bellwetherd
# verify-manifest` against the same files. The setup (keys, release, upload, publish) uses the
# API with curl; the verification steps are exactly what docs/FIRMWARE.md tells device makers.
# Needs test.env (tests/harness/stack.sh up); exits 77 without it. Ends with "N passed, M failed".
set -uo pipefail

if [ -z "${BW_TEST_URL:-}" ] && [ -n "${BW_TEST_ENV_FILE:-}" ] && [ -f "$BW_TEST_ENV_FILE" ]; then
	# shellcheck source=/dev/null
	. "$BW_TEST_ENV_FILE"
fi
if [ -z "${BW_TEST_URL:-}" ] || [ -z "${BW_TEST_ADMIN_TOKEN:-}" ]; then
	echo "test_fw_openssl_verify: no running bellwetherd (BW_TEST_URL unset); skipped"
	exit 77
fi
for tool in openssl curl sed; do
	command -v "$tool" >/dev/null || { echo "test_fw_openssl_verify: $tool missing"; exit 77; }
done

U="$BW_TEST_URL"
AUTH="Authorization: Bearer $BW_TEST_ADMIN_TOKEN"
W="$(mktemp -d /tmp/bw-fw-openssl.XXXXXX)"
trap 'rm -rf "$W"' EXIT
pass=0
fail=0
uniq="$(date +%s)$$"

ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
check() { # check NAME COMMAND...: passes when the command succeeds
	local name="$1"
	shift
	if "$@" >"$W/out" 2>&1; then ok "$name"; else bad "$name: $(head -c 300 "$W/out")"; fi
}
check_fails() { # check_fails NAME COMMAND...: passes when the command fails
	local name="$1"
	shift
	if "$@" >"$W/out" 2>&1; then bad "$name: unexpectedly succeeded"; else ok "$name"; fi
}
# field NAME FILE: value of the first "NAME":"value" string member in FILE (our JSON is compact)
field() {
	sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" "$2" | head -n 1
}
api() { # api METHOD PATH [JSON] -> body on stdout; fails on HTTP >= 400
	if [ $# -ge 3 ]; then
		curl -sf -X "$1" -H "$AUTH" -H 'Content-Type: application/json' -d "$3" "$U$2"
	else
		curl -sf -X "$1" -H "$AUTH" "$U$2"
	fi
}

# publish_release ALG DIR: a key of ALG, a release with one artifact, published with that key;
# leaves DIR/{fw.bin,release.json,manifest.json,pub.pem,artifact.json,key.json}.
publish_release() {
	local alg="$1" d="$2" kid rid
	mkdir -p "$d"
	head -c 65536 /dev/urandom >"$d/fw.bin"
	api POST /api/v1/firmware/keys "{\"name\":\"ossl-$alg-$uniq\",\"algorithm\":\"$alg\"}" \
		>"$d/key.json" || return 1
	kid="$(field id "$d/key.json")"
	api POST /api/v1/firmware/releases "{\"product\":\"ossl-$alg-$uniq\",\"firmware_version\":\"2.3.4\",\"security_version\":7,\"hardware_types\":[\"esp32\"]}" \
		>"$d/release.json" || return 1
	rid="$(field id "$d/release.json")"
	curl -sf -H "$AUTH" -H "X-Content-SHA256: $(openssl dgst -sha256 -r "$d/fw.bin" | cut -c1-64)" \
		--data-binary @"$d/fw.bin" "$U/api/v1/firmware/releases/$rid/artifacts?name=fw.bin" \
		>/dev/null || return 1
	api POST "/api/v1/firmware/releases/$rid/publish" "{\"key_id\":\"$kid\"}" >/dev/null || return 1
	api GET "/api/v1/firmware/releases/$rid/manifest" >"$d/manifest.json" || return 1
	api GET "/api/v1/firmware/releases/$rid/artifacts/fw.bin" >"$d/artifact.json" || return 1
	api GET "/api/v1/firmware/keys/$kid/public.pem" >"$d/pub.pem" || return 1
	echo "$kid" >"$d/kid"
}

# What a device maker does with manifest.json + pub.pem (docs/FIRMWARE.md):
# the signed bytes are the manifest without its "signature" member (it is canonical JSON, so
# deleting that member gives exactly the signed payload); the signature is base64.
split_manifest() {
	local d="$1"
	sed 's/,"signature":"[^"]*"//' "$d/manifest.json" | tr -d '\n' >"$d/payload.json"
	field signature "$d/manifest.json" | openssl base64 -d -A >"$d/manifest.sig"
}

verify_ecdsa() { openssl dgst -sha256 -verify "$1/pub.pem" -signature "$1/manifest.sig" "$2"; }
verify_ed25519() {
	openssl pkeyutl -verify -pubin -inkey "$1/pub.pem" -rawin -in "$2" -sigfile "$1/manifest.sig"
}
key_id_matches() {
	local d="$1" computed
	computed="$(openssl pkey -pubin -in "$d/pub.pem" -outform DER | openssl dgst -sha256 -r | cut -c1-32)"
	[ "$computed" = "$(cat "$d/kid")" ] && [ "$computed" = "$(field key_id "$d/manifest.json")" ]
}
artifact_hash_listed() {
	local d="$1" sum
	sum="$(openssl dgst -sha256 -r "$d/fw.bin" | cut -c1-64)"
	grep -q "\"sha256\":\"$sum\"" "$d/payload.json"
}
freertos_signature_verifies() {
	local d="$1"
	field signature_sha256_ecdsa "$d/artifact.json" | openssl base64 -d -A >"$d/fw.sig"
	openssl dgst -sha256 -verify "$d/pub.pem" -signature "$d/fw.sig" "$d/fw.bin"
}

for alg in ecdsa-p256 ed25519; do
	d="$W/$alg"
	if ! publish_release "$alg" "$d"; then
		bad "$alg: setup through the API failed"
		continue
	fi
	split_manifest "$d"
	if [ "$alg" = ecdsa-p256 ]; then verify=verify_ecdsa; else verify=verify_ed25519; fi
	check "$alg: manifest signature verifies with openssl" "$verify" "$d" "$d/payload.json"
	check "$alg: key id is SHA-256 of the DER public key" key_id_matches "$d"
	check "$alg: artifact SHA-256 is listed in the signed payload" artifact_hash_listed "$d"
	sed 's/"security_version":7/"security_version":1/' "$d/payload.json" >"$d/tampered.json"
	check_fails "$alg: tampered payload fails openssl verification" \
		"$verify" "$d" "$d/tampered.json"
	head -c 100 /dev/urandom >>"$d/fw.bin.tampered"
	cat "$d/fw.bin" >>"$d/fw.bin.tampered"
	check_fails "$alg: a different image is not listed" \
		grep -q "\"sha256\":\"$(openssl dgst -sha256 -r "$d/fw.bin.tampered" | cut -c1-64)\"" \
		"$d/payload.json"
	if [ "$alg" = ecdsa-p256 ]; then
		check "$alg: FreeRTOS sig-sha256-ecdsa verifies over the image" \
			freertos_signature_verifies "$d"
		cp "$d/fw.bin.tampered" "$d/fw.bin"
		check_fails "$alg: FreeRTOS signature fails for another image" \
			freertos_signature_verifies "$d"
	fi
	if [ -n "${BW_TEST_BIN:-}" ] && [ -x "$BW_TEST_BIN" ]; then
		api GET /api/v1/firmware/trust-list >"$d/trust.json"
		check "$alg: bellwetherd verify-manifest accepts it" \
			"$BW_TEST_BIN" verify-manifest "$d/manifest.json" --key "$d/pub.pem"
		sed 's/"security_version":7/"security_version":1/' "$d/manifest.json" >"$d/bad.json"
		check_fails "$alg: bellwetherd verify-manifest rejects tampering" \
			"$BW_TEST_BIN" verify-manifest "$d/bad.json" --trust-list "$d/trust.json"
	fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
