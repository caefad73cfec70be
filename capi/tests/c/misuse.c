/*
 * Misuse of the C API: invalid UTF-8, oversized and unterminated strings, impossible lengths, wrong
 * sizes, unknown enumeration values, refusals with their distinct codes, outputs left untouched on
 * failure and file errors.
 * Run by capi/tests/c_api.rs with a scratch directory as argv[1]; prints "misuse: all checks passed".
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint64_t T0 = 1795424400000ULL; /* 2026-11-23 09:00 UTC */
static const uint64_t DAY = 86400000ULL;

static int all_bytes(const void *p, size_t n, unsigned char value) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != value) return 0;
    return 1;
}

static hc_consent_grant permit(hc_actor_id patient, hc_actor_id grantee, const char *const *sections,
                               size_t n_sections, const char *const *purposes, size_t n_purposes) {
    hc_consent_grant g;
    memset(&g, 0, sizeof g);
    g.patient = patient;
    g.grantee_kind = HC_GRANTEE_ACTOR;
    g.grantee = grantee;
    g.effect = HC_EFFECT_PERMIT;
    g.sections = sections;
    g.section_count = n_sections;
    g.purposes = purposes;
    g.purpose_count = n_purposes;
    g.actions = HC_ACTION_READ;
    g.not_before = T0;
    g.not_after = T0 + 30 * DAY;
    return g;
}

static void status_texts(void) {
    REQUIRE(hc_version_number() == HC_VERSION_NUMBER);
    REQUIRE(strcmp(hc_version(), HC_VERSION) == 0);
    REQUIRE(hc_format_version() == HC_FORMAT_VERSION);
    REQUIRE(strcmp(hc_status_str(HC_OK), "ok") == 0);
    REQUIRE(strcmp(hc_status_str(HC_ALREADY_HAS_ACCESS), "grantee already has that access") == 0);
    REQUIRE(strcmp(hc_status_str(-12345), "unknown status") == 0);
    REQUIRE(strcmp(hc_role_name(HC_ROLE_AUDITOR), "auditor") == 0);
    REQUIRE(strcmp(hc_role_name(77), "unknown") == 0);
    /* The last error is per call: a failure sets it, the next success clears it. */
    EXPECT(hc_key_generate(NULL), HC_NULL_ARGUMENT);
    REQUIRE(strstr(hc_last_error_message(), "`out`") != NULL);
    hc_key *key = NULL;
    OK(hc_key_generate(&key));
    REQUIRE(hc_last_error_message()[0] == '\0');
    hc_key_free(key);
}

static void keys_and_buffers(void) {
    hc_secret seed;
    memset(&seed, 7, sizeof seed);
    hc_key *a = NULL, *b = NULL;
    OK(hc_key_from_seed(&seed, &a));
    OK(hc_key_from_seed(&seed, &b));
    hc_public_key pa, pb;
    OK(hc_key_public(a, &pa));
    OK(hc_key_public(b, &pb));
    REQUIRE(memcmp(&pa, &pb, sizeof pa) == 0); /* deterministic from the seed */
    hc_secret back;
    OK(hc_key_seed(a, &back));
    REQUIRE(memcmp(&back, &seed, sizeof seed) == 0);
    hc_actor_id from_key, from_public;
    OK(hc_key_actor_id(a, &from_key));
    OK(hc_actor_id_from_public_key(&pa, &from_public));
    REQUIRE(memcmp(&from_key, &from_public, sizeof from_key) == 0);

    /* Invalid public keys: a non-canonical encoding and a small-order point. */
    hc_public_key bad;
    hc_actor_id untouched;
    memset(&bad, 0xFF, sizeof bad);
    memset(&untouched, 0xA5, sizeof untouched);
    EXPECT(hc_actor_id_from_public_key(&bad, &untouched), HC_INVALID_KEY);
    memset(&bad, 0, sizeof bad);
    bad.bytes[0] = 1; /* the identity point: small order */
    EXPECT(hc_actor_id_from_public_key(&bad, &untouched), HC_INVALID_KEY);
    REQUIRE(all_bytes(&untouched, sizeof untouched, 0xA5));

    /* (NULL, 0) is the empty message; a NULL message with a length is refused; so is an impossible length. */
    hc_signature sig;
    OK(hc_key_sign(a, NULL, 0, &sig));
    EXPECT(hc_key_sign(a, NULL, 3, &sig), HC_NULL_ARGUMENT);
    uint8_t small[4] = {1, 2, 3, 4};
    EXPECT(hc_key_sign(a, small, SIZE_MAX, &sig), HC_TOO_LONG);
    hc_hash commitment;
    EXPECT(hc_commitment(&seed, small, (size_t)PTRDIFF_MAX + 1, &commitment), HC_TOO_LONG);
    OK(hc_commitment(&seed, small, sizeof small, &commitment));

    hc_key_free(a);
    hc_key_free(b);
}

static void settings_and_creation(const char *dir) {
    hc_key *authority = NULL;
    OK(hc_key_generate(&authority));
    const hc_key *keys[] = {authority};
    const hc_key *null_keys[] = {NULL};
    hc_ledger *ledger = NULL;
    hc_settings s = {"misuse", 1, 1, HC_DEFAULT_CLOCK_SKEW_MS};

    EXPECT(hc_ledger_create_memory(&s, null_keys, 1, T0, &ledger), HC_NULL_ARGUMENT);
    EXPECT(hc_ledger_create_memory(&s, NULL, 0, T0, &ledger), HC_INVALID_SETTINGS); /* no authority */
    EXPECT(hc_ledger_create_memory(&s, keys, 65, T0, &ledger), HC_TOO_LONG);
    s.seal_threshold = 0;
    EXPECT(hc_ledger_create_memory(&s, keys, 1, T0, &ledger), HC_INVALID_SETTINGS);
    s.seal_threshold = 2;
    EXPECT(hc_ledger_create_memory(&s, keys, 1, T0, &ledger), HC_INVALID_SETTINGS);
    s.seal_threshold = 300;
    EXPECT(hc_ledger_create_memory(&s, keys, 1, T0, &ledger), HC_INVALID_SETTINGS);
    s.seal_threshold = 1;
    s.break_glass_allowed = 2;
    EXPECT(hc_ledger_create_memory(&s, keys, 1, T0, &ledger), HC_INVALID_ARGUMENT);
    s.break_glass_allowed = 1;
    s.name = "";
    EXPECT(hc_ledger_create_memory(&s, keys, 1, T0, &ledger), HC_INVALID_SETTINGS);
    s.name = "caf\xC3\xA9"; /* valid UTF-8, but not printable ASCII */
    EXPECT(hc_ledger_create_memory(&s, keys, 1, T0, &ledger), HC_INVALID_SETTINGS);
    s.name = "bad \xFF\xFE name";
    EXPECT(hc_ledger_create_memory(&s, keys, 1, T0, &ledger), HC_INVALID_UTF8);
    /* An unterminated name: at most 65 bytes are read, then HC_TOO_LONG (ASan/valgrind would see more). */
    char *unterminated = malloc(65);
    REQUIRE(unterminated != NULL);
    memset(unterminated, 'n', 65);
    s.name = unterminated;
    EXPECT(hc_ledger_create_memory(&s, keys, 1, T0, &ledger), HC_TOO_LONG);
    free(unterminated);
    s.name = NULL;
    EXPECT(hc_ledger_create_memory(&s, keys, 1, T0, &ledger), HC_NULL_ARGUMENT);
    REQUIRE(ledger == NULL); /* outputs are written only on success */

    /* Files: missing, existing, not a ledger, locked, unknown flags, oversized path. */
    char path[512], text_path[512];
    snprintf(path, sizeof path, "%s/misuse.ledger", dir);
    snprintf(text_path, sizeof text_path, "%s/not-a-ledger.txt", dir);
    remove(path);
    EXPECT(hc_ledger_open_file(path, 0, T0, &ledger), HC_NOT_FOUND);
    s.name = "misuse";
    OK(hc_ledger_create_file(path, &s, keys, 1, T0, &ledger));
    hc_ledger *second = NULL;
    EXPECT(hc_ledger_create_file(path, &s, keys, 1, T0, &second), HC_LOCKED);
    EXPECT(hc_ledger_open_file(path, 0, T0, &second), HC_LOCKED);
    OK(hc_ledger_open_file(path, HC_OPEN_READ_ONLY, T0, &second)); /* readers need no lock */
    hc_block_info block;
    EXPECT(hc_ledger_seal(second, keys, 1, &block), HC_READ_ONLY);
    hc_actor_id someone;
    hc_key *other = NULL;
    OK(hc_key_generate(&other));
    EXPECT(hc_ledger_register(second, authority, other, HC_ROLE_PROVIDER, &someone), HC_READ_ONLY);
    hc_ledger_info info;
    OK(hc_ledger_get_info(second, &info)); /* queries still work */
    REQUIRE(info.blocks == 1 && info.pending == 0 && info.store_bytes > 0);
    hc_ledger_close(second);
    second = NULL;
    hc_ledger_close(ledger);
    ledger = NULL;
    EXPECT(hc_ledger_create_file(path, &s, keys, 1, T0, &ledger), HC_ALREADY_EXISTS);
    EXPECT(hc_ledger_open_file(path, 8, T0, &ledger), HC_INVALID_ARGUMENT);
    OK(hc_ledger_open_file(path, HC_OPEN_STRICT | HC_OPEN_VERIFY_SIGNATURES, T0, &ledger));
    hc_recovery recovery;
    OK(hc_ledger_recovery(ledger, &recovery));
    REQUIRE(recovery.happened == 0);
    /* State snapshots: the file's writer writes one at will (never with a transaction queued); the file
     * still verifies with it beside. */
    uint64_t snapshot_height = 99;
    EXPECT(hc_ledger_write_snapshot(NULL, &snapshot_height), HC_NULL_ARGUMENT);
    EXPECT(hc_ledger_set_snapshot_interval(NULL, 10), HC_NULL_ARGUMENT);
    OK(hc_ledger_set_snapshot_interval(ledger, 0));
    OK(hc_ledger_write_snapshot(ledger, &snapshot_height));
    REQUIRE(snapshot_height == 0);
    EXPECT(hc_ledger_write_snapshot(ledger, NULL), HC_NULL_ARGUMENT);
    OK(hc_ledger_register(ledger, authority, other, HC_ROLE_PROVIDER, &someone));
    EXPECT(hc_ledger_write_snapshot(ledger, &snapshot_height), HC_SNAPSHOT_UNAVAILABLE);
    hc_ledger_close(ledger);
    ledger = NULL;
    hc_verify_report report;
    OK(hc_verify_file(path, &report));
    REQUIRE(report.valid == 1 && report.blocks == 1 && report.transactions == 1);
    REQUIRE(report.failure_code == HC_OK && report.failure_reason[0] == '\0');

    FILE *f = fopen(text_path, "w");
    REQUIRE(f != NULL);
    fputs("this is a text file, not a ledger, but long enough to hold a ledger header............\n", f);
    fclose(f);
    EXPECT(hc_ledger_open_file(text_path, 0, T0, &ledger), HC_NOT_A_LEDGER);
    EXPECT(hc_verify_file(text_path, &report), HC_NOT_A_LEDGER);

    /* A flipped byte inside the last block: the frame checksum catches it (strict open refuses). */
    f = fopen(path, "r+b");
    REQUIRE(f != NULL);
    REQUIRE(fseek(f, -40, SEEK_END) == 0);
    int c = fgetc(f);
    REQUIRE(fseek(f, -40, SEEK_END) == 0);
    fputc(c ^ 0x01, f);
    fclose(f);
    int32_t rc = hc_ledger_open_file(path, HC_OPEN_STRICT, T0, &ledger);
    REQUIRE(rc == HC_TORN_TAIL || rc == HC_DAMAGED);
    REQUIRE(ledger == NULL);

    /* Invalid settings create no file: duplicate authority keys. */
    char dup_path[512];
    snprintf(dup_path, sizeof dup_path, "%s/duplicate-authorities.ledger", dir);
    remove(dup_path);
    const hc_key *twice[] = {authority, authority};
    EXPECT(hc_ledger_create_file(dup_path, &s, twice, 2, T0, &ledger), HC_INVALID_SETTINGS);
    REQUIRE(fopen(dup_path, "rb") == NULL);
    char nodir_path[512];
    snprintf(nodir_path, sizeof nodir_path, "%s/no-such-directory/a.ledger", dir);
    EXPECT(hc_ledger_create_file(nodir_path, &s, keys, 1, T0, &ledger), HC_NOT_FOUND);

    /* An empty file (an interrupted creation) is no ledger yet, whether opened or verified. */
    char empty_path[512];
    snprintf(empty_path, sizeof empty_path, "%s/empty.ledger", dir);
    f = fopen(empty_path, "wb");
    REQUIRE(f != NULL);
    fclose(f);
    EXPECT(hc_verify_file(empty_path, &report), HC_EMPTY_LEDGER);
    EXPECT(hc_ledger_open_file(empty_path, 0, T0, &ledger), HC_EMPTY_LEDGER);

    /* Paths: exactly HC_MAX_PATH_LEN bytes is accepted as a path (the file system then refuses it);
     * an unterminated buffer of HC_MAX_PATH_LEN + 1 bytes is refused without reading past it. */
    char *max_path = malloc(HC_MAX_PATH_LEN + 1);
    REQUIRE(max_path != NULL);
    memset(max_path, 'p', HC_MAX_PATH_LEN);
    max_path[HC_MAX_PATH_LEN] = '\0';
    rc = hc_ledger_open_file(max_path, 0, T0, &ledger);
    REQUIRE(rc == HC_IO || rc == HC_NOT_FOUND);
    char *unterminated_path = malloc(HC_MAX_PATH_LEN + 1);
    REQUIRE(unterminated_path != NULL);
    memset(unterminated_path, 'p', HC_MAX_PATH_LEN + 1);
    EXPECT(hc_ledger_open_file(unterminated_path, 0, T0, &ledger), HC_TOO_LONG);
    free(unterminated_path);
    free(max_path);

    /* A misaligned pointer is refused, not dereferenced. */
    hc_ledger *mem = NULL;
    OK(hc_ledger_create_memory(&s, keys, 1, T0, &mem));
    _Alignas(8) unsigned char raw[sizeof(hc_ledger_info) + 8];
    hc_ledger_info *misaligned = (hc_ledger_info *)((uintptr_t)raw + 1); /* never dereferenced here */
    EXPECT(hc_ledger_get_info(mem, misaligned), HC_INVALID_ARGUMENT);
    OK(hc_ledger_get_info(mem, &info));
    hc_ledger_close(mem);

    char *long_path = malloc(HC_MAX_PATH_LEN + 2);
    REQUIRE(long_path != NULL);
    memset(long_path, 'p', HC_MAX_PATH_LEN + 1);
    long_path[HC_MAX_PATH_LEN + 1] = '\0';
    EXPECT(hc_ledger_open_file(long_path, 0, T0, &ledger), HC_TOO_LONG);
    free(long_path);

    hc_key_free(other);
    hc_key_free(authority);
}

static void refusals_and_outputs(void) {
    hc_key *authority = NULL, *patient_key = NULL, *doctor_key = NULL, *auditor_key = NULL;
    OK(hc_key_generate(&authority));
    OK(hc_key_generate(&patient_key));
    OK(hc_key_generate(&doctor_key));
    OK(hc_key_generate(&auditor_key));
    const hc_key *keys[] = {authority};
    hc_settings s = {"misuse-refusals", 1, 1, HC_DEFAULT_CLOCK_SKEW_MS};
    hc_ledger *ledger = NULL;
    OK(hc_ledger_create_memory(&s, keys, 1, T0, &ledger));
    hc_actor_id patient, doctor, auditor, authority_id;
    OK(hc_key_actor_id(authority, &authority_id));
    EXPECT(hc_ledger_register(ledger, authority, patient_key, 0, &patient), HC_INVALID_ARGUMENT);
    EXPECT(hc_ledger_register(ledger, authority, patient_key, 7, &patient), HC_INVALID_ARGUMENT);
    OK(hc_ledger_register(ledger, authority, patient_key, HC_ROLE_PATIENT, &patient));
    OK(hc_ledger_register(ledger, authority, doctor_key, HC_ROLE_PROVIDER, &doctor));
    OK(hc_ledger_register(ledger, authority, auditor_key, HC_ROLE_AUDITOR, &auditor));
    EXPECT(hc_ledger_register(ledger, authority, doctor_key, HC_ROLE_PROVIDER, &doctor), HC_KEY_IN_USE);
    hc_key *stranger_key = NULL;
    hc_actor_id stranger;
    OK(hc_key_generate(&stranger_key));
    EXPECT(hc_ledger_register(ledger, doctor_key, stranger_key, HC_ROLE_PROVIDER, &stranger), HC_UNAUTHORIZED);
    EXPECT(hc_ledger_register(ledger, stranger_key, stranger_key, HC_ROLE_PROVIDER, &stranger), HC_UNKNOWN_KEY);
    hc_key_free(stranger_key);
    hc_block_info block;
    OK(hc_ledger_seal(ledger, keys, 1, &block));
    REQUIRE(block.height == 1 && block.tx_count == 3);
    EXPECT(hc_ledger_seal(ledger, keys, 1, &block), HC_NOTHING_TO_SEAL);

    const char *labs[] = {"labs"}, *treat[] = {"TREAT"};
    hc_consent_grant g = permit(patient, doctor, labs, 1, treat, 1);
    hc_granted granted, untouched;
    memset(&untouched, 0xA5, sizeof untouched);

    /* Each grant refusal has its own code, and leaves the output alone. */
    hc_consent_grant unknown_patient = g;
    unknown_patient.patient = doctor;
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &unknown_patient, &untouched), HC_INVALID_PATIENT);
    memset(&unknown_patient.patient, 0x42, sizeof unknown_patient.patient);
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &unknown_patient, &untouched), HC_INVALID_PATIENT);
    hc_consent_grant unknown_grantee = g;
    memset(&unknown_grantee.grantee, 0x42, sizeof unknown_grantee.grantee);
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &unknown_grantee, &untouched), HC_UNKNOWN_GRANTEE);
    hc_consent_grant empty = g;
    empty.not_after = empty.not_before;
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &empty, &untouched), HC_EMPTY_WINDOW);
    EXPECT(hc_ledger_grant_consent(ledger, doctor_key, &g, &untouched), HC_UNAUTHORIZED);
    REQUIRE(all_bytes(&untouched, sizeof untouched, 0xA5));

    /* Malformed grants. */
    hc_consent_grant bad = g;
    bad.grantee_kind = 9;
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &bad, &granted), HC_INVALID_ARGUMENT);
    bad = g;
    bad.effect = 0;
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &bad, &granted), HC_INVALID_ARGUMENT);
    bad = g;
    bad.actions = 4;
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &bad, &granted), HC_INVALID_ARGUMENT);
    bad.actions = 0;
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &bad, &granted), HC_INVALID_ARGUMENT);
    bad = g;
    bad.grantee_kind = HC_GRANTEE_ROLE;
    bad.grantee_role = 0;
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &bad, &granted), HC_INVALID_ARGUMENT);
    bad = g;
    bad.sections = NULL;
    bad.section_count = 0; /* (NULL, 0) is the empty set: refused as a code set */
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &bad, &granted), HC_INVALID_CODE);
    bad.section_count = 1; /* NULL array with a count */
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &bad, &granted), HC_NULL_ARGUMENT);
    const char *with_null[] = {"labs", NULL};
    bad.sections = with_null;
    bad.section_count = 2;
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &bad, &granted), HC_NULL_ARGUMENT);
    const char *spaced[] = {"la bs"};
    bad.sections = spaced;
    bad.section_count = 1;
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &bad, &granted), HC_INVALID_CODE);
    const char *star_and_more[] = {"*", "labs"};
    bad.sections = star_and_more;
    bad.section_count = 2;
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &bad, &granted), HC_INVALID_CODE);
    const char *not_utf8[] = {"l\xC0\xAF"};
    bad.sections = not_utf8;
    bad.section_count = 1;
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &bad, &granted), HC_INVALID_UTF8);
    const char *too_long[] = {"abcdefghijabcdefghijabcdefghijabc"}; /* 33 characters */
    bad.sections = too_long;
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &bad, &granted), HC_TOO_LONG);
    char unterminated[40];
    memset(unterminated, 'a', sizeof unterminated); /* no NUL: only 33 bytes are read */
    const char *unterminated_set[] = {unterminated};
    bad.sections = unterminated_set;
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &bad, &granted), HC_TOO_LONG);
    bad.sections = labs;
    bad.section_count = 65;
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &bad, &granted), HC_TOO_LONG);

    /* Success gives the consent id and the end; the same grant again is HC_ALREADY_HAS_ACCESS, and the
     * covering consent can be named. */
    OK(hc_ledger_grant_consent(ledger, patient_key, &g, &granted));
    REQUIRE(granted.until == g.not_after);
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &g, &untouched), HC_ALREADY_HAS_ACCESS);
    REQUIRE(all_bytes(&untouched, sizeof untouched, 0xA5));
    hc_granted covering;
    OK(hc_ledger_find_covering_consent(ledger, &g, &covering));
    REQUIRE(memcmp(&covering, &granted, sizeof covering) == 0);
    hc_consent_grant wider = g;
    wider.not_after = HC_UNTIL_REVOKED;
    EXPECT(hc_ledger_find_covering_consent(ledger, &wider, &covering), HC_NO_MATCH);

    /* Checks: wrong action value, wildcard request, unknown requester, invalid patient. */
    OK(hc_ledger_set_time(ledger, T0 + 2000)); /* accesses happen at T0 + 1000, before "now" */
    hc_request r;
    memset(&r, 0, sizeof r);
    r.patient = patient;
    r.requester = doctor;
    r.section = "labs";
    r.purpose = "TREAT";
    r.action = HC_ACTION_READ;
    r.at = T0 + 1000;
    hc_decision d;
    OK(hc_ledger_check(ledger, &r, &d));
    REQUIRE(d.outcome == HC_OUTCOME_PERMIT && d.basis == HC_BASIS_CONSENTS && d.rule_count == 1);
    REQUIRE(memcmp(&d.rules[0], &granted.consent, sizeof d.rules[0]) == 0);
    r.action = 3;
    EXPECT(hc_ledger_check(ledger, &r, &d), HC_INVALID_ARGUMENT);
    r.action = HC_ACTION_READ;
    r.section = "*";
    EXPECT(hc_ledger_check(ledger, &r, &d), HC_WILDCARD_IN_REQUEST);
    r.section = NULL;
    EXPECT(hc_ledger_check(ledger, &r, &d), HC_NULL_ARGUMENT);
    REQUIRE(strstr(hc_last_error_message(), "request.section") != NULL);
    r.section = "labs";
    r.patient = doctor;
    EXPECT(hc_ledger_check(ledger, &r, &d), HC_INVALID_PATIENT);
    r.patient = patient;
    memset(&r.requester, 0x42, sizeof r.requester);
    EXPECT(hc_ledger_check(ledger, &r, &d), HC_UNKNOWN_ACTOR);
    r.requester = doctor;
    EXPECT(hc_ledger_check_as_of(ledger, 99, &r, &d), HC_HEIGHT_BEYOND_HEAD);
    OK(hc_ledger_check_as_of(ledger, 1, &r, &d)); /* before the grant was sealed */
    REQUIRE(d.outcome == HC_OUTCOME_DENY && d.basis == HC_BASIS_NO_CONSENT);

    /* Record accesses: a permitted one, a denied one, one that needs break-glass. */
    hc_access_id access, glass;
    OK(hc_ledger_record_access(ledger, doctor_key, &r, &access));
    hc_request denied = r;
    denied.section = "psychiatry";
    EXPECT(hc_ledger_record_access(ledger, doctor_key, &denied, &access), HC_ACCESS_DENIED);
    hc_request emergency = r;
    emergency.section = "medications";
    emergency.purpose = "ETREAT";
    EXPECT(hc_ledger_record_access(ledger, doctor_key, &emergency, &access), HC_BASIS_MISMATCH);
    hc_secret salt;
    hc_hash justification;
    OK(hc_random_salt(&salt));
    const char *why = "unconscious, allergy check";
    OK(hc_commitment(&salt, (const uint8_t *)why, strlen(why), &justification));
    EXPECT(hc_ledger_record_break_glass(ledger, doctor_key, &r, "unconscious", &justification, &glass),
           HC_BASIS_MISMATCH); /* permitted without break-glass */
    EXPECT(hc_ledger_record_break_glass(ledger, doctor_key, &emergency, "*", &justification, &glass),
           HC_WILDCARD_IN_REQUEST);
    OK(hc_ledger_record_break_glass(ledger, doctor_key, &emergency, "unconscious", &justification, &glass));
    hc_tx_id review;
    EXPECT(hc_ledger_review_break_glass(ledger, auditor_key, &glass, 2, &review), HC_INVALID_ARGUMENT);
    EXPECT(hc_ledger_review_break_glass(ledger, doctor_key, &glass, 1, &review), HC_UNAUTHORIZED);
    EXPECT(hc_ledger_review_break_glass(ledger, auditor_key, &access, 1, &review), HC_NOT_BREAK_GLASS);

    /* The pending-review queue and the history iterator; stepping past the end stays HC_DONE. */
    hc_history *queue = NULL;
    hc_access_row row;
    OK(hc_ledger_pending_reviews(ledger, &queue));
    EXPECT(hc_history_step(queue, &row), HC_ROW);
    REQUIRE(memcmp(&row.access, &glass, sizeof glass) == 0 && row.review == HC_REVIEW_PENDING);
    REQUIRE(row.basis == HC_BASIS_BREAK_GLASS && strcmp(row.break_glass_reason.text, "unconscious") == 0);
    REQUIRE(memcmp(&row.justification, &justification, sizeof justification) == 0);
    EXPECT(hc_history_step(queue, &row), HC_DONE);
    hc_history_free(queue);
    OK(hc_ledger_review_break_glass(ledger, auditor_key, &glass, 1, &review));
    EXPECT(hc_ledger_review_break_glass(ledger, auditor_key, &glass, 0, &review), HC_ALREADY_REVIEWED);

    hc_history *history = NULL;
    OK(hc_ledger_access_history(ledger, &patient, &history));
    EXPECT(hc_history_step(history, &row), HC_ROW);
    REQUIRE(memcmp(&row.access, &access, sizeof access) == 0 && row.basis == HC_BASIS_CONSENTS);
    REQUIRE(row.consent_count == 1 && memcmp(&row.consents[0], &granted.consent, sizeof granted.consent) == 0);
    REQUIRE(strcmp(row.section.text, "labs") == 0 && strcmp(row.purpose.text, "TREAT") == 0);
    REQUIRE(row.review == HC_REVIEW_NONE && row.action == HC_ACTION_READ && row.at == r.at);
    EXPECT(hc_history_step(history, &row), HC_ROW);
    REQUIRE(row.review == HC_REVIEW_JUSTIFIED && memcmp(&row.reviewer, &auditor, sizeof auditor) == 0);
    memset(&row, 0xA5, sizeof row);
    EXPECT(hc_history_step(history, &row), HC_DONE);
    EXPECT(hc_history_step(history, &row), HC_DONE);
    REQUIRE(all_bytes(&row, sizeof row, 0xA5));
    hc_history_free(history);

    /* Buffers: the size query, too small, exact. */
    hc_payload *payload = NULL;
    OK(hc_payload_revoke_consent(&granted.consent, &payload));
    hc_tx *tx = NULL;
    OK(hc_ledger_prepare(ledger, &patient, payload, &tx));
    size_t needed = 0;
    EXPECT(hc_tx_signing_bytes(tx, NULL, 0, &needed), HC_BUFFER_TOO_SMALL);
    REQUIRE(needed > 32 && needed < 128);
    uint8_t buf[128];
    size_t got = 0;
    memset(buf, 0xA5, sizeof buf);
    EXPECT(hc_tx_signing_bytes(tx, buf, needed - 1, &got), HC_BUFFER_TOO_SMALL);
    REQUIRE(got == needed && all_bytes(buf, sizeof buf, 0xA5));
    OK(hc_tx_signing_bytes(tx, buf, needed, &got));
    REQUIRE(got == needed);

    /* Submitting without a signature, with a wrong one, then with the right one. */
    hc_tx_id tx_id;
    EXPECT(hc_ledger_submit(ledger, tx, &tx_id), HC_MISUSE);
    hc_signature sig;
    OK(hc_key_sign(doctor_key, buf, got, &sig));
    OK(hc_tx_attach_signature(tx, &sig));
    EXPECT(hc_ledger_submit(ledger, tx, &tx_id), HC_BAD_SIGNATURE);
    OK(hc_key_sign(patient_key, buf, got, &sig));
    OK(hc_tx_attach_signature(tx, &sig));
    OK(hc_ledger_submit(ledger, tx, &tx_id));
    hc_tx_id expected_id;
    OK(hc_tx_get_id(tx, &expected_id));
    REQUIRE(memcmp(&tx_id, &expected_id, sizeof tx_id) == 0);
    EXPECT(hc_ledger_submit(ledger, tx, &tx_id), HC_BAD_SEQUENCE); /* the same transaction again */
    hc_tx_free(tx);
    hc_payload_free(payload);
    EXPECT(hc_ledger_revoke_consent(ledger, patient_key, &granted.consent, &tx_id), HC_CONSENT_ALREADY_REVOKED);

    /* Sealing through a proposal: a wrong seal is refused and nothing is written. */
    hc_proposal *proposal = NULL;
    OK(hc_ledger_propose_block(ledger, &authority_id, &proposal));
    OK(hc_proposal_seal_bytes(proposal, buf, sizeof buf, &got));
    OK(hc_key_sign(doctor_key, buf, got, &sig));
    OK(hc_proposal_add_seal(proposal, &authority_id, &sig));
    EXPECT(hc_ledger_commit_block(ledger, proposal, &block), HC_VERIFY_BAD_SEAL);
    hc_proposal_free(proposal);
    proposal = NULL;
    OK(hc_ledger_propose_block(ledger, &authority_id, &proposal));
    OK(hc_proposal_seal_bytes(proposal, buf, sizeof buf, &got));
    OK(hc_key_sign(authority, buf, got, &sig));
    OK(hc_proposal_add_seal(proposal, &authority_id, &sig));
    OK(hc_ledger_commit_block(ledger, proposal, &block));
    REQUIRE(block.height == 2);
    EXPECT(hc_ledger_commit_block(ledger, proposal, &block), HC_NOTHING_TO_SEAL);
    hc_proposal_free(proposal);

    hc_verify_report report;
    OK(hc_ledger_verify(ledger, &report));
    REQUIRE(report.valid == 1 && report.blocks == 3);

    hc_ledger_close(ledger);
    hc_ledger_close(NULL);
    hc_key_free(auditor_key);
    hc_key_free(doctor_key);
    hc_key_free(patient_key);
    hc_key_free(authority);
}

/* Every operation with valid arguments, typed (in-process key) and described (hc_payload_*), including an
 * actor whose key lives in an "HSM" (only public keys, bytes to sign and signatures cross the API). */
static void lifecycle_and_external_signers(void) {
    hc_key *hospital = NULL, *patient_key = NULL, *guardian_key = NULL, *doctor_key = NULL, *hsm_key = NULL,
           *hsm_next = NULL, *rotated = NULL, *other_patient_key = NULL;
    OK(hc_key_generate(&hospital));
    OK(hc_key_generate(&patient_key));
    OK(hc_key_generate(&guardian_key));
    OK(hc_key_generate(&doctor_key));
    OK(hc_key_generate(&hsm_key));
    OK(hc_key_generate(&hsm_next));
    OK(hc_key_generate(&rotated));
    OK(hc_key_generate(&other_patient_key));
    const hc_key *keys[] = {hospital};
    hc_settings s = {"misuse-lifecycle", 1, 1, HC_DEFAULT_CLOCK_SKEW_MS};
    hc_ledger *ledger = NULL;
    OK(hc_ledger_create_memory(&s, keys, 1, T0, &ledger));
    hc_actor_id patient, guardian, doctor, other_patient, hsm_actor;
    OK(hc_ledger_register(ledger, hospital, patient_key, HC_ROLE_PATIENT, &patient));
    OK(hc_ledger_register(ledger, hospital, guardian_key, HC_ROLE_PATIENT, &guardian));
    OK(hc_ledger_register(ledger, hospital, doctor_key, HC_ROLE_PROVIDER, &doctor));
    OK(hc_ledger_register(ledger, hospital, other_patient_key, HC_ROLE_PATIENT, &other_patient));
    hc_payload *p = NULL;
    hc_tx *tx = NULL;
    hc_tx_id id;
    uint8_t buf[256];
    size_t n = 0;

    /* Registering an HSM-held key: its proof of possession is signed over hc_ledger_possession_bytes. */
    hc_public_key hsm_public, next_public;
    hc_signature proof, sig;
    OK(hc_key_public(hsm_key, &hsm_public));
    OK(hc_key_public(hsm_next, &next_public));
    EXPECT(hc_ledger_possession_bytes(ledger, &hsm_public, NULL, 0, &n), HC_BUFFER_TOO_SMALL);
    REQUIRE(n > 64 && n <= sizeof buf);
    OK(hc_ledger_possession_bytes(ledger, &hsm_public, buf, sizeof buf, &n));
    OK(hc_key_sign(hsm_key, buf, n, &proof));
    OK(hc_payload_register_actor(&next_public, &proof, HC_ROLE_PROVIDER, &p)); /* proof of another key */
    EXPECT(hc_ledger_sign_and_submit(ledger, hospital, p, &id), HC_BAD_PROOF_OF_POSSESSION);
    hc_payload_free(p);
    EXPECT(hc_payload_register_actor(&hsm_public, &proof, 9, &p), HC_INVALID_ARGUMENT);
    OK(hc_payload_register_actor(&hsm_public, &proof, HC_ROLE_PROVIDER, &p));
    EXPECT(hc_ledger_sign_and_submit(ledger, doctor_key, p, &id), HC_UNAUTHORIZED);
    OK(hc_ledger_sign_and_submit(ledger, hospital, p, &id));
    hc_payload_free(p);
    OK(hc_actor_id_from_public_key(&hsm_public, &hsm_actor));
    hc_actor_info actor;
    OK(hc_ledger_actor(ledger, &hsm_actor, &actor));
    REQUIRE(actor.role == HC_ROLE_PROVIDER && actor.active == 1 && actor.key_count == 1);

    /* The HSM actor rotates to its next key: prepare, sign the exact bytes, attach, submit. */
    OK(hc_ledger_possession_bytes(ledger, &next_public, buf, sizeof buf, &n));
    OK(hc_key_sign(hsm_next, buf, n, &proof));
    OK(hc_payload_rotate_key(&hsm_actor, &next_public, &proof, &p));
    OK(hc_ledger_prepare(ledger, &hsm_actor, p, &tx));
    OK(hc_tx_signing_bytes(tx, buf, sizeof buf, &n));
    OK(hc_key_sign(hsm_key, buf, n, &sig));
    OK(hc_tx_attach_signature(tx, &sig));
    OK(hc_ledger_submit(ledger, tx, &id));
    hc_tx_free(tx);
    hc_payload_free(p);
    OK(hc_ledger_actor(ledger, &hsm_actor, &actor));
    REQUIRE(actor.key_count == 2);
    EXPECT(hc_ledger_rotate_key(ledger, hsm_key, &hsm_actor, rotated, &id), HC_KEY_NOT_ACTIVE);
    OK(hc_ledger_rotate_key(ledger, hsm_next, &hsm_actor, rotated, &id));

    /* Delegations: typed and described; the guardian reads and manages consent for the patient. */
    hc_delegation_grant dg = {patient, guardian, HC_SCOPE_MANAGE | HC_SCOPE_READ, T0, HC_UNTIL_REVOKED};
    hc_delegation_grant bad = dg;
    hc_delegation_id delegation;
    bad.scopes = 4;
    EXPECT(hc_ledger_grant_delegation(ledger, patient_key, &bad, &delegation), HC_INVALID_ARGUMENT);
    bad = dg;
    bad.delegate = patient;
    EXPECT(hc_ledger_grant_delegation(ledger, patient_key, &bad, &delegation), HC_SELF_DELEGATION);
    OK(hc_ledger_grant_delegation(ledger, patient_key, &dg, &delegation));
    hc_request r;
    memset(&r, 0, sizeof r);
    r.patient = patient;
    r.requester = guardian;
    r.section = "labs";
    r.purpose = "TREAT";
    r.action = HC_ACTION_READ;
    OK(hc_ledger_now(ledger, &r.at)); /* after the last block: the delegation counts from its own time */
    hc_decision d;
    OK(hc_ledger_check(ledger, &r, &d));
    REQUIRE(d.outcome == HC_OUTCOME_PERMIT && d.basis == HC_BASIS_DELEGATE);
    REQUIRE(memcmp(&d.delegation, &delegation, sizeof delegation) == 0);
    const char *labs[] = {"labs"}, *treat[] = {"TREAT"};
    hc_consent_grant g = permit(patient, doctor, labs, 1, treat, 1);
    OK(hc_payload_grant_consent(&g, &p));
    OK(hc_ledger_sign_and_submit(ledger, guardian_key, p, &id)); /* the guardian manages consent */
    hc_payload_free(p);
    OK(hc_ledger_revoke_delegation(ledger, patient_key, &delegation, &id));
    EXPECT(hc_ledger_revoke_delegation(ledger, patient_key, &delegation, &id), HC_DELEGATION_ALREADY_REVOKED);
    OK(hc_payload_grant_delegation(&dg, &p));
    hc_tx_id second_delegation;
    OK(hc_ledger_sign_and_submit(ledger, patient_key, p, &second_delegation));
    hc_payload_free(p);
    OK(hc_payload_revoke_delegation((const hc_delegation_id *)&second_delegation, &p));
    OK(hc_ledger_sign_and_submit(ledger, patient_key, p, &id));
    hc_payload_free(p);

    /* Accesses described as payloads: a permitted read, a break-glass and its review. */
    r.requester = doctor;
    OK(hc_payload_record_access(ledger, &r, &p));
    OK(hc_ledger_sign_and_submit(ledger, doctor_key, p, &id));
    hc_payload_free(p);
    hc_request er = r;
    er.section = "medications";
    er.purpose = "ETREAT";
    EXPECT(hc_payload_record_access(ledger, &er, &p), HC_BASIS_MISMATCH);
    hc_secret salt;
    hc_hash justification;
    OK(hc_random_salt(&salt));
    OK(hc_commitment(&salt, (const uint8_t *)"unconscious", 11, &justification));
    OK(hc_payload_break_glass(&er, "unconscious", &justification, &p));
    hc_access_id glass;
    OK(hc_ledger_sign_and_submit(ledger, doctor_key, p, (hc_tx_id *)&glass));
    hc_payload_free(p);
    EXPECT(hc_payload_review_break_glass(&glass, 5, &p), HC_INVALID_ARGUMENT);
    OK(hc_payload_review_break_glass(&glass, 0, &p));
    OK(hc_ledger_sign_and_submit(ledger, hospital, p, &id)); /* an authority may review */
    hc_payload_free(p);
    hc_history *history = NULL;
    hc_access_row row;
    OK(hc_ledger_pending_reviews(ledger, &history));
    EXPECT(hc_history_step(history, &row), HC_DONE);
    hc_history_free(history);
    OK(hc_ledger_access_history(ledger, &patient, &history));
    EXPECT(hc_history_step(history, &row), HC_ROW);
    EXPECT(hc_history_step(history, &row), HC_ROW);
    REQUIRE(row.basis == HC_BASIS_BREAK_GLASS && row.review == HC_REVIEW_NOT_JUSTIFIED);
    EXPECT(hc_history_step(history, &row), HC_DONE);
    hc_history_free(history);

    /* Anchors: typed by the custodian; described, refused for a reader, accepted for the custodian. */
    hc_hash version;
    OK(hc_commitment(&salt, (const uint8_t *)"lab result v1", 13, &version));
    OK(hc_ledger_anchor_record(ledger, hospital, &patient, "labs", "TREAT", &version, &id));
    EXPECT(hc_ledger_anchor_record(ledger, hospital, &patient, "labs", "*", &version, &id), HC_WILDCARD_IN_REQUEST);
    OK(hc_payload_anchor_record(&patient, "labs", "TREAT", &version, &p));
    EXPECT(hc_ledger_sign_and_submit(ledger, doctor_key, p, &id), HC_ACCESS_DENIED); /* may read, not write */
    OK(hc_ledger_sign_and_submit(ledger, hospital, p, &id));
    hc_payload_free(p);

    /* A refused call leaves the ledger exactly as it was. */
    hc_ledger_info before, after;
    OK(hc_ledger_get_info(ledger, &before));
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &g, NULL), HC_NULL_ARGUMENT);
    EXPECT(hc_ledger_grant_consent(ledger, doctor_key, &g, (hc_granted *)buf), HC_UNAUTHORIZED);
    EXPECT(hc_ledger_record_access(ledger, doctor_key, &er, (hc_access_id *)buf), HC_BASIS_MISMATCH);
    OK(hc_ledger_get_info(ledger, &after));
    REQUIRE(memcmp(&before, &after, sizeof before) == 0);

    /* Deactivation, typed and described; a deactivated signer is refused. */
    OK(hc_ledger_deactivate(ledger, hospital, &guardian, &id));
    EXPECT(hc_ledger_deactivate(ledger, hospital, &guardian, &id), HC_ALREADY_DEACTIVATED);
    EXPECT(hc_ledger_grant_consent(ledger, guardian_key, &g, (hc_granted *)buf), HC_SIGNER_DEACTIVATED);
    OK(hc_payload_deactivate(&hsm_actor, &p));
    OK(hc_ledger_sign_and_submit(ledger, hospital, p, &id));
    hc_payload_free(p);
    OK(hc_ledger_actor(ledger, &hsm_actor, &actor));
    uint64_t deactivated_at;
    OK(hc_ledger_now(ledger, &deactivated_at));
    REQUIRE(actor.active == 0 && actor.deactivated_time == deactivated_at);

    /* Erasure, typed and described: afterwards every question is denied and every grant refused. */
    OK(hc_ledger_erase_subject(ledger, patient_key, &patient, &id));
    EXPECT(hc_ledger_erase_subject(ledger, patient_key, &patient, &id), HC_ALREADY_ERASED);
    OK(hc_ledger_check(ledger, &r, &d));
    REQUIRE(d.outcome == HC_OUTCOME_DENY && d.basis == HC_BASIS_PATIENT_ERASED);
    hc_consent_grant again = permit(patient, doctor, labs, 1, treat, 1);
    again.not_after = HC_UNTIL_REVOKED;
    EXPECT(hc_ledger_grant_consent(ledger, patient_key, &again, (hc_granted *)buf), HC_PATIENT_ERASED);
    OK(hc_payload_erase_subject(&other_patient, &p));
    OK(hc_ledger_sign_and_submit(ledger, hospital, p, &id));
    hc_payload_free(p);

    hc_block_info block;
    OK(hc_ledger_seal(ledger, keys, 1, &block));
    hc_verify_report report;
    OK(hc_ledger_verify(ledger, &report));
    REQUIRE(report.valid == 1 && report.blocks == 2);

    /* Freeing does not clear the last error: free first, then log. */
    EXPECT(hc_ledger_erase_subject(ledger, patient_key, &patient, &id), HC_ALREADY_ERASED);
    hc_payload_free(NULL);
    hc_tx_free(NULL);
    REQUIRE(strstr(hc_last_error_message(), "already erased") != NULL);

    hc_ledger_close(ledger);
    hc_key *all[] = {hospital, patient_key, guardian_key, doctor_key, hsm_key, hsm_next, rotated, other_patient_key};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) hc_key_free(all[i]);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: misuse SCRATCH_DIR\n");
        return 2;
    }
    status_texts();
    keys_and_buffers();
    settings_and_creation(argv[1]);
    refusals_and_outputs();
    lifecycle_and_external_signers();
    printf("misuse: all checks passed (%d checks)\n", checks);
    return 0;
}
