/*
 * FHIR and the HIPAA accounting through the C API: a patient's R5 Consent imported as rules (queued all or
 * none, then sealed; the size query for its ids), one the ledger cannot express refused with its element named
 * and nothing queued, an updated Consent in place of the first and then one withdrawn (inactive) ending it,
 * the rules exported as R4 (size query, then the resource), AuditEvents as a Bundle and as NDJSON, the
 * accounting as JSON, CSV and HTML, and bad arguments refused with their status.
 * Run by capi/tests/c_api.rs with a scratch directory as argv[1]; prints "fhir: all checks passed".
 */
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint64_t T0 = 1799053200000ULL; /* 2027-01-04 09:00 UTC */

static hc_key *key_of(unsigned char seed) {
    hc_secret secret;
    memset(&secret, seed, sizeof secret);
    hc_key *key = NULL;
    OK(hc_key_from_seed(&secret, &key));
    return key;
}

static void hex(const hc_actor_id *id, char out[65]) {
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", id->bytes[i]);
}

/* Imports `text` as FHIR `release` in place of `count` consents of `replaces`; the rules' ids go to `ids`
 * (room for 4). */
static int32_t import(hc_ledger *ledger, const hc_key *signer, const char *text, uint32_t release,
                      const char *directory, const hc_consent_id *replaces, size_t count, hc_consent_id ids[4],
                      size_t *rules) {
    return hc_ledger_fhir_import(ledger, signer, (const uint8_t *)text, strlen(text), release, directory, replaces,
                                 count, ids, 4, rules);
}

/* Runs a buffer-filling call twice, the size query and then into a buffer of that size (the call names
 * `buf`, `len` and `out_len`), and leaves the text in `*(text)`, to free. */
#define FILL(text, call_with_buf_len)                       \
    do {                                                    \
        size_t need_ = 0, len = 0, *out_len = &need_;       \
        char *buf = NULL;                                   \
        EXPECT(call_with_buf_len, HC_BUFFER_TOO_SMALL);     \
        REQUIRE(need_ > 1);                                 \
        buf = malloc(need_);                                \
        REQUIRE(buf != NULL);                               \
        len = need_;                                        \
        OK(call_with_buf_len);                              \
        REQUIRE(strlen(buf) + 1 == need_);                  \
        *(text) = buf;                                      \
    } while (0)

int main(void) {
    hc_key *hospital = key_of(1), *jane_key = key_of(2), *house_key = key_of(3);
    const hc_key *sealers[1] = {hospital};
    hc_settings settings = {"fhir-c", 1, 1, HC_DEFAULT_CLOCK_SKEW_MS};
    hc_ledger *ledger = NULL;
    OK(hc_ledger_create_memory(&settings, sealers, 1, T0, &ledger));
    hc_actor_id jane, house;
    OK(hc_ledger_register(ledger, hospital, jane_key, HC_ROLE_PATIENT, &jane));
    OK(hc_ledger_register(ledger, hospital, house_key, HC_ROLE_PROVIDER, &house));
    hc_block_info block;
    OK(hc_ledger_seal(ledger, sealers, 1, &block));

    char jane_hex[65], house_hex[65], directory[512], names[256];
    hex(&jane, jane_hex);
    hex(&house, house_hex);
    snprintf(directory, sizeof directory,
             "{\"Patient/jane\": \"%s\", \"Practitioner/house\": \"%s\", \"Group/insurers\": \"role:insurer\"}",
             jane_hex, house_hex);
    snprintf(names, sizeof names, "{\"%s\": \"Dr. House\"}", house_hex);

    const char *consent =
        "{\"resourceType\": \"Consent\", \"status\": \"active\", \"subject\": {\"reference\": \"Patient/jane\"},"
        " \"decision\": \"deny\", \"provision\": [{"
        "  \"actor\": [{\"reference\": {\"reference\": \"Practitioner/house\"}}],"
        "  \"purpose\": [{\"system\": \"http://terminology.hl7.org/CodeSystem/v3-ActReason\", \"code\": \"TREAT\"}],"
        "  \"provision\": [{\"period\": {\"start\": \"2027-02-01\", \"end\": \"2027-02-28\"}}]}]}";
    const char *inexpressible =
        "{\"resourceType\": \"Consent\", \"status\": \"active\", \"subject\": {\"reference\": \"Patient/jane\"},"
        " \"decision\": \"deny\", \"provision\": [{\"dataPeriod\": {\"start\": \"2020-01-01\"}}]}";

    /* Refusals queue nothing. */
    size_t rules = 99;
    hc_consent_id ids[4], unknown;
    memset(&unknown, 7, sizeof unknown);
    EXPECT(import(ledger, jane_key, inexpressible, 5, directory, NULL, 0, ids, &rules), HC_FHIR_UNSUPPORTED);
    REQUIRE(strstr(hc_last_error_message(), "Consent.provision[0].dataPeriod") != NULL);
    REQUIRE(rules == 99);
    EXPECT(import(ledger, jane_key, "{\"resourceType\"", 5, directory, NULL, 0, ids, &rules), HC_FHIR_SYNTAX);
    EXPECT(import(ledger, jane_key, consent, 3, directory, NULL, 0, ids, &rules), HC_INVALID_ARGUMENT);
    EXPECT(import(ledger, jane_key, consent, 5, "{}", NULL, 0, ids, &rules), HC_FHIR_UNRESOLVED);
    EXPECT(import(ledger, jane_key, consent, 5, "{\"Patient/jane\": \"not an id\"}", NULL, 0, ids, &rules),
           HC_INVALID_ARGUMENT);
    EXPECT(import(ledger, house_key, consent, 5, directory, NULL, 0, ids, &rules),
           HC_UNAUTHORIZED); /* only the patient (or a manage delegate) signs */
    EXPECT(import(ledger, jane_key, consent, 5, directory, &unknown, 1, ids, &rules), HC_UNKNOWN_CONSENT);
    REQUIRE(rules == 99);
    /* The size query, and an array too small: the number of rules, nothing queued. */
    EXPECT(hc_ledger_fhir_import(ledger, jane_key, (const uint8_t *)consent, strlen(consent), 5, directory, NULL, 0,
                                 NULL, 0, &rules),
           HC_BUFFER_TOO_SMALL);
    REQUIRE(rules == 2);
    rules = 99;
    EXPECT(hc_ledger_fhir_import(ledger, jane_key, (const uint8_t *)consent, strlen(consent), 5, directory, NULL, 0,
                                 ids, 1, &rules),
           HC_BUFFER_TOO_SMALL);
    REQUIRE(rules == 2);
    EXPECT(hc_ledger_seal(ledger, sealers, 1, &block), HC_NOTHING_TO_SEAL);

    /* The consent: a permit for Dr House and a deny for February. */
    OK(import(ledger, jane_key, consent, 5, directory, NULL, 0, ids, &rules));
    REQUIRE(rules == 2);
    REQUIRE(memcmp(&ids[0], &ids[1], sizeof ids[0]) != 0);
    hc_consent_id first[2] = {ids[0], ids[1]};
    OK(hc_ledger_seal(ledger, sealers, 1, &block));
    /* Importing it again: Dr House already has that access; nothing is queued. */
    EXPECT(import(ledger, jane_key, consent, 5, directory, NULL, 0, ids, &rules), HC_ALREADY_HAS_ACCESS);

    char *r4 = NULL;
    FILL(&r4, hc_ledger_fhir_export(ledger, &jane, block.height, 4, directory, buf, len, out_len));
    REQUIRE(strstr(r4, "\"resourceType\": \"Consent\"") != NULL);
    REQUIRE(strstr(r4, "\"reference\": \"Practitioner/house\"") != NULL);
    REQUIRE(strstr(r4, "OPTIN") != NULL);
    free(r4);
    size_t need = 0;
    char small[8];
    EXPECT(hc_ledger_fhir_export(ledger, &jane, block.height + 1, 5, directory, small, sizeof small, &need),
           HC_HEIGHT_BEYOND_HEAD);
    EXPECT(hc_ledger_fhir_export(ledger, &jane, block.height, 5, "{}", small, sizeof small, &need),
           HC_FHIR_UNRESOLVED);

    char *events = NULL;
    FILL(&events, hc_ledger_audit_events(ledger, &jane, 0, 0, UINT64_MAX, 5, 0, directory, buf, len, out_len));
    REQUIRE(strstr(events, "\"resourceType\":\"Bundle\"") != NULL);
    REQUIRE(strstr(events, "\"action\":\"C\"") != NULL); /* the grants */
    free(events);
    char *lines = NULL;
    FILL(&lines, hc_ledger_audit_events(ledger, &jane, 1, 0, UINT64_MAX, 4, 1, "{}", buf, len, out_len));
    int count = 0;
    for (const char *p = lines; (p = strchr(p, '\n')) != NULL; p++) count++;
    REQUIRE(count == 2); /* one line per granted rule */
    free(lines);
    EXPECT(hc_ledger_audit_events(ledger, &jane, 2, 0, UINT64_MAX, 5, 0, "{}", small, sizeof small, &need),
           HC_INVALID_ARGUMENT);

    char *csv = NULL;
    FILL(&csv, hc_ledger_disclosures(ledger, &jane, 0, 0, 1, names, "", buf, len, out_len));
    REQUIRE(strncmp(csv, "date,recipient,recipient_id,description,purpose,basis,excluded,access", 69) == 0);
    free(csv);
    char *page = NULL;
    FILL(&page, hc_ledger_disclosures(ledger, &jane, 0, 0, 2, names, "", buf, len, out_len));
    REQUIRE(strncmp(page, "<!DOCTYPE html>", 15) == 0);
    free(page);
    char *report = NULL;
    FILL(&report, hc_ledger_disclosures(ledger, &jane, T0, T0 + 86400000ULL, 0, "{}", "", buf, len, out_len));
    REQUIRE(strstr(report, "\"disclosures\": []") != NULL);
    free(report);
    EXPECT(hc_ledger_disclosures(ledger, &jane, 0, 0, 3, "{}", "", small, sizeof small, &need), HC_INVALID_ARGUMENT);
    EXPECT(hc_ledger_disclosures(ledger, &jane, 0, 0, 0, "{}", "not a note", small, sizeof small, &need),
           HC_MALFORMED_NOTE);

    /* The Consent updated (no February deny), in place of its import: one revocation per earlier rule and
     * the new rule, in one block. The replaced rules cannot be replaced again. Then withdrawn. */
    const char *updated =
        "{\"resourceType\": \"Consent\", \"status\": \"active\", \"subject\": {\"reference\": \"Patient/jane\"},"
        " \"decision\": \"deny\", \"provision\": [{"
        "  \"actor\": [{\"reference\": {\"reference\": \"Practitioner/house\"}}],"
        "  \"purpose\": [{\"system\": \"http://terminology.hl7.org/CodeSystem/v3-ActReason\", \"code\": \"TREAT\"}]}]}";
    OK(import(ledger, jane_key, updated, 5, directory, first, 2, ids, &rules));
    REQUIRE(rules == 1);
    OK(hc_ledger_seal(ledger, sealers, 1, &block));
    REQUIRE(block.tx_count == 3);
    hc_consent_id second = ids[0];
    EXPECT(import(ledger, jane_key, updated, 5, directory, first, 2, ids, &rules), HC_CONSENT_ALREADY_REVOKED);
    const char *withdrawn =
        "{\"resourceType\": \"Consent\", \"status\": \"inactive\", \"subject\": {\"reference\": \"Patient/jane\"},"
        " \"decision\": \"deny\", \"provision\": [{"
        "  \"actor\": [{\"reference\": {\"reference\": \"Practitioner/house\"}}]}]}";
    OK(import(ledger, jane_key, withdrawn, 5, directory, &second, 1, ids, &rules));
    REQUIRE(rules == 0);
    OK(hc_ledger_seal(ledger, sealers, 1, &block));

    hc_ledger_close(ledger);
    hc_key_free(hospital);
    hc_key_free(jane_key);
    hc_key_free(house_key);
    printf("fhir: all checks passed (%d checks)\n", checks);
    return 0;
}
