/*
 * quickstart.c: the consent flow of examples/quickstart.rs, through the C API (include/healthchain.h).
 *
 * A hospital runs a ledger file; a patient grants and revokes consent, providers read, an insurer is
 * limited to billing, a provider breaks the glass in an emergency and the privacy officer reviews it.
 * The patient also grants a delegation through the external-signer path (prepare, sign the exact bytes
 * elsewhere, attach, submit), as a key held in an HSM or on a phone would. At the end the file is closed,
 * reopened and verified from genesis.
 *
 * Build (after `cargo build`), from the repository root:
 *     cc -std=c11 -Wall -Wextra -Wpedantic -Werror -Iinclude examples/c/quickstart.c \
 *        target/debug/libhealthchain.a -lpthread -ldl -lm -o quickstart
 * or with examples/Makefile: `make -C examples LIBDIR=../target/debug run`.
 *
 * Run: `./quickstart [PATH]`. Without PATH the ledger lives in a temporary file that is removed at the
 * end; with PATH it is kept (and must not exist yet).
 *
 * SPDX-License-Identifier: Apache-2.0
 */

#define _POSIX_C_SOURCE 200809L /* gmtime_r, getpid */

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "healthchain.h"

#define HOUR_MS (60u * 60u * 1000u)
#define DAY_MS (24u * HOUR_MS)

/* 2026-11-23 09:00 UTC. The ledger reads time only from the clock we give it: `time_ms` at create and
 * open, then hc_ledger_set_time. Consent questions carry their own instant (hc_request.at). */
#define START_MS UINT64_C(1795424400000)

/* Everything the flow owns. Handles start NULL and every hc_*_free / hc_ledger_close accepts NULL, so
 * quickstart_free() can release all of them whatever point the flow reached. */
struct quickstart {
    const char *path;
    uint64_t now; /* the clock we drive the ledger with */
    hc_ledger *ledger;
    hc_key *hospital; /* the authority: registers actors and seals blocks */
    hc_key *patient_key, *provider_a_key, *provider_b_key, *insurer_key, *officer_key, *guardian_key;
    hc_actor_id patient, provider_a, provider_b, insurer, officer, guardian;
    hc_history *history;
    hc_payload *payload;
    hc_tx *tx;
};

/* ---- Error handling ------------------------------------------------------------------------------- */

/* Reports a failed call: the function's name (the text of the call up to its '('), the status code's
 * static text, and the detail of this thread's last failure. */
static bool ok(int32_t rc, const char *call) {
    if (rc == HC_OK) {
        return true;
    }
    const char *detail = hc_last_error_message(); /* valid until the next call into the library */
    fprintf(stderr, "quickstart: %.*s failed: %s (%" PRId32 ")%s%s\n", (int)strcspn(call, "("), call,
            hc_status_str(rc), rc, detail[0] ? ": " : "", detail);
    return false;
}

/* Checks a call that must succeed; on failure reports it and makes the enclosing function return false
 * (its caller then frees whatever was made so far). */
#define CHECK(call)                                                                                        \
    do {                                                                                                   \
        if (!ok((call), #call)) {                                                                          \
            return false;                                                                                  \
        }                                                                                                  \
    } while (0)

/* Runs a step of the flow (a helper returning bool) and stops there if it failed. */
#define TRY(step)                                                                                          \
    do {                                                                                                   \
        if (!(step)) {                                                                                     \
            return false;                                                                                  \
        }                                                                                                  \
    } while (0)

/* A condition the flow expects (not an API failure). */
#define EXPECT(cond, what)                                                                                 \
    do {                                                                                                   \
        if (!(cond)) {                                                                                     \
            fprintf(stderr, "quickstart: unexpected: %s\n", (what));                                       \
            return false;                                                                                  \
        }                                                                                                  \
    } while (0)

/* ---- Formatting ----------------------------------------------------------------------------------- */

/* `YYYY-MM-DD HH:MM` (UTC) of a time in ms since the Unix epoch; HC_UNTIL_REVOKED reads "revocation". */
static const char *date(uint64_t ms, char buf[static 32]) {
    time_t secs = (time_t)(ms / 1000u);
    struct tm tm;
    if (ms == HC_UNTIL_REVOKED) {
        snprintf(buf, 32, "revocation");
    } else if (gmtime_r(&secs, &tm) == NULL || strftime(buf, 32, "%Y-%m-%d %H:%M", &tm) == 0) {
        snprintf(buf, 32, "@%" PRIu64 "ms", ms);
    }
    return buf;
}

/* The first 6 bytes of an id as 12 lower-case hex digits (ids are shown cut like this throughout). */
static const char *short_hex(const uint8_t bytes[32], char buf[static 13]) {
    for (int i = 0; i < 6; i++) {
        snprintf(buf + 2 * i, 3, "%02x", bytes[i]);
    }
    return buf;
}

/* A line of the story, stamped with the ledger clock: "[2026-11-23 09:00] ...". */
#if defined(__GNUC__)
static void say(const struct quickstart *q, const char *format, ...) __attribute__((format(printf, 2, 3)));
#endif
static void say(const struct quickstart *q, const char *format, ...) {
    char when[32];
    va_list args;
    printf("[%s] ", date(q->now, when));
    va_start(args, format);
    vprintf(format, args);
    va_end(args);
    putchar('\n');
}

/* Consent ids listed in a decision or an access row, short and comma-separated (at most
 * HC_MAX_LISTED_RULES are listed inline; `count` may be larger). */
static const char *consent_list(const hc_consent_id *ids, uint32_t count, char *buf, size_t len) {
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < count && i < HC_MAX_LISTED_RULES && used + 14 < len; i++) {
        char hex[13];
        used += (size_t)snprintf(buf + used, len - used, "%s%s", i ? "," : "", short_hex(ids[i].bytes, hex));
    }
    if (count > HC_MAX_LISTED_RULES && used + 5 < len) {
        snprintf(buf + used, len - used, ",...");
    }
    return buf;
}

/* A decision in words, as the Rust quickstart prints it. */
static const char *describe(const hc_decision *d, char *buf, size_t len) {
    char ids[HC_MAX_LISTED_RULES * 13 + 8], hex[13];
    switch (d->basis) {
    case HC_BASIS_OWNER: snprintf(buf, len, "permit (owner)"); break;
    case HC_BASIS_DELEGATE:
        snprintf(buf, len, "permit (delegation %s)", short_hex(d->delegation.bytes, hex));
        break;
    case HC_BASIS_CONSENTS:
        snprintf(buf, len, "permit (consent %s)", consent_list(d->rules, d->rule_count, ids, sizeof ids));
        break;
    case HC_BASIS_BREAK_GLASS: snprintf(buf, len, "break-glass (emergency, to be reviewed)"); break;
    case HC_BASIS_DENY_RULES:
        snprintf(buf, len, "deny (deny rule %s)", consent_list(d->rules, d->rule_count, ids, sizeof ids));
        break;
    case HC_BASIS_NO_CONSENT: snprintf(buf, len, "deny (no consent)"); break;
    case HC_BASIS_PATIENT_ERASED: snprintf(buf, len, "deny (patient erased)"); break;
    case HC_BASIS_REQUESTER_DEACTIVATED: snprintf(buf, len, "deny (requester deactivated)"); break;
    default: snprintf(buf, len, "outcome %" PRIu32 ", basis %" PRIu32, d->outcome, d->basis); break;
    }
    return buf;
}

/* Overwrites a secret; the volatile access keeps the compiler from dropping the stores. */
static void wipe(void *p, size_t n) {
    volatile unsigned char *v = p;
    while (n--) {
        *v++ = 0;
    }
}

/* ---- Small wrappers around the API ---------------------------------------------------------------- */

/* Moves the ledger's clock (and ours) forward. */
static bool advance(struct quickstart *q, uint64_t ms) {
    q->now += ms;
    CHECK(hc_ledger_set_time(q->ledger, q->now));
    return true;
}

/* Seals the submitted transactions into a block signed by the hospital (threshold 1). */
static bool seal(struct quickstart *q, hc_block_info *block) {
    const hc_key *sealers[] = {q->hospital};
    CHECK(hc_ledger_seal(q->ledger, sealers, 1, block));
    return true;
}

/* A read request about the patient's record, at the ledger's now (its clock, but always after the last
 * sealed block: what was granted since then counts from there). The strings are only borrowed for the
 * call: the library copies what it keeps. */
static hc_request ask(const struct quickstart *q, hc_actor_id requester, const char *section,
                      const char *purpose) {
    uint64_t now = q->now;
    if (hc_ledger_now(q->ledger, &now) != HC_OK) {
        fprintf(stderr, "quickstart: hc_ledger_now failed: %s\n", hc_last_error_message());
    }
    hc_request r = {
        .patient = q->patient,
        .requester = requester,
        .section = section,
        .purpose = purpose,
        .action = HC_ACTION_READ,
        .at = now,
    };
    return r;
}

/* Asks the consent engine and prints the question with its answer. */
static bool check_and_say(struct quickstart *q, const char *question, hc_actor_id requester,
                          const char *section, const char *purpose, hc_decision *out) {
    hc_request request = ask(q, requester, section, purpose);
    char words[160];
    CHECK(hc_ledger_check(q->ledger, &request, out));
    say(q, "%s %s", question, describe(out, words, sizeof words));
    return true;
}

/* ---- The flow ------------------------------------------------------------------------------------- */

static bool setup(struct quickstart *q) {
    char hex[13];
    hc_ledger_info info;
    hc_block_info block;

    /* Keys come from the operating system's random source; each is its own handle (free with
     * hc_key_free, which wipes the secret). */
    CHECK(hc_key_generate(&q->hospital));
    CHECK(hc_key_generate(&q->patient_key));
    CHECK(hc_key_generate(&q->provider_a_key));
    CHECK(hc_key_generate(&q->provider_b_key));
    CHECK(hc_key_generate(&q->insurer_key));
    CHECK(hc_key_generate(&q->officer_key));
    CHECK(hc_key_generate(&q->guardian_key));

    /* One authority, which seals every block alone. */
    const hc_settings settings = {
        .name = "st-mary-hospital",
        .seal_threshold = 1,
        .break_glass_allowed = 1,
        .max_clock_skew_ms = HC_DEFAULT_CLOCK_SKEW_MS,
    };
    const hc_key *authorities[] = {q->hospital};
    CHECK(hc_ledger_create_file(q->path, &settings, authorities, 1, q->now, &q->ledger));
    CHECK(hc_ledger_get_info(q->ledger, &info));
    say(q, "created ledger %s in %s", short_hex(info.chain.bytes, hex), q->path);

    /* The hospital registers everyone; each new key proves possession of itself inside the call. */
    CHECK(hc_ledger_register(q->ledger, q->hospital, q->patient_key, HC_ROLE_PATIENT, &q->patient));
    CHECK(hc_ledger_register(q->ledger, q->hospital, q->provider_a_key, HC_ROLE_PROVIDER, &q->provider_a));
    CHECK(hc_ledger_register(q->ledger, q->hospital, q->provider_b_key, HC_ROLE_PROVIDER, &q->provider_b));
    CHECK(hc_ledger_register(q->ledger, q->hospital, q->insurer_key, HC_ROLE_INSURER, &q->insurer));
    CHECK(hc_ledger_register(q->ledger, q->hospital, q->officer_key, HC_ROLE_AUDITOR, &q->officer));
    TRY(seal(q, &block));
    say(q, "registered patient, providers A and B, insurer, privacy officer (block %" PRIu64 ")", block.height);
    return true;
}

static bool consents(struct quickstart *q, hc_granted *provider_a_grant) {
    char when[32], hex[13];
    hc_granted granted, existing;
    hc_block_info block;

    /* The patient grants provider A labs and medications for treatment, for 30 days. Code sets are
     * (pointer, count) pairs of NUL-terminated strings. */
    static const char *const labs_and_meds[] = {"labs", "medications"};
    static const char *const treat[] = {"TREAT"};
    const hc_consent_grant grant = {
        .patient = q->patient,
        .grantee_kind = HC_GRANTEE_ACTOR,
        .grantee = q->provider_a,
        .effect = HC_EFFECT_PERMIT,
        .sections = labs_and_meds,
        .section_count = 2,
        .purposes = treat,
        .purpose_count = 1,
        .actions = HC_ACTION_READ,
        .not_before = q->now,
        .not_after = q->now + 30u * (uint64_t)DAY_MS,
    };
    CHECK(hc_ledger_grant_consent(q->ledger, q->patient_key, &grant, provider_a_grant));
    say(q, "provider A granted labs+medications for TREAT until %s", date(provider_a_grant->until, when));

    /* The same grant again is refused with a precise status, and the ledger names the consent that
     * already covers it. A refusal is an ordinary outcome here, so it is not CHECKed. */
    int32_t rc = hc_ledger_grant_consent(q->ledger, q->patient_key, &grant, &granted);
    if (rc != HC_ALREADY_HAS_ACCESS) {
        fprintf(stderr, "quickstart: expected HC_ALREADY_HAS_ACCESS, got %s (%" PRId32 ")\n", hc_status_str(rc),
                rc);
        return false;
    }
    CHECK(hc_ledger_find_covering_consent(q->ledger, &grant, &existing));
    say(q, "same grant again refused with HC_ALREADY_HAS_ACCESS (%s): consent %s, until %s", hc_status_str(rc),
        short_hex(existing.consent.bytes, hex), date(existing.until, when));

    /* The insurer may read billing for payment, and nothing else, until the patient revokes it. */
    static const char *const billing[] = {"billing"};
    static const char *const payment[] = {"HPAYMT"};
    const hc_consent_grant billing_grant = {
        .patient = q->patient,
        .grantee_kind = HC_GRANTEE_ACTOR,
        .grantee = q->insurer,
        .effect = HC_EFFECT_PERMIT,
        .sections = billing,
        .section_count = 1,
        .purposes = payment,
        .purpose_count = 1,
        .actions = HC_ACTION_READ,
        .not_before = q->now,
        .not_after = HC_UNTIL_REVOKED,
    };
    CHECK(hc_ledger_grant_consent(q->ledger, q->patient_key, &billing_grant, &granted));
    say(q, "insurer granted billing for HPAYMT only, until revoked (%s)", short_hex(granted.consent.bytes, hex));
    TRY(seal(q, &block));
    return true;
}

static bool questions_and_accesses(struct quickstart *q, const hc_granted *provider_a_grant) {
    char words[160];
    hc_decision decision;
    hc_access_id access;
    hc_tx_id tx;
    hc_block_info block;

    TRY(advance(q, HOUR_MS));
    /* A denial is an answer (HC_OK with outcome HC_OUTCOME_DENY), not an error. */
    TRY(check_and_say(q, "may provider B read labs for TREAT?", q->provider_b, "labs", "TREAT", &decision));
    EXPECT(decision.outcome == HC_OUTCOME_DENY, "provider B should be denied");
    TRY(check_and_say(q, "may the insurer read billing for HPAYMT?", q->insurer, "billing", "HPAYMT",
                        &decision));
    EXPECT(decision.outcome == HC_OUTCOME_PERMIT, "the insurer should be permitted billing");
    TRY(check_and_say(q, "may the insurer read labs for HPAYMT?", q->insurer, "labs", "HPAYMT", &decision));
    EXPECT(decision.outcome == HC_OUTCOME_DENY, "the insurer should be denied labs");

    /* Provider A reads labs: the ledger checks the request again and records it, atomically, with the
     * basis the engine gives (here the consent granted above). */
    hc_request request = ask(q, q->provider_a, "labs", "TREAT");
    CHECK(hc_ledger_check(q->ledger, &request, &decision));
    EXPECT(decision.outcome == HC_OUTCOME_PERMIT, "provider A should be permitted");
    CHECK(hc_ledger_record_access(q->ledger, q->provider_a_key, &request, &access));
    say(q, "provider A read labs, recorded on basis %s", describe(&decision, words, sizeof words));
    TRY(seal(q, &block));

    /* A day later the patient revokes provider A's consent. */
    TRY(advance(q, DAY_MS));
    CHECK(hc_ledger_revoke_consent(q->ledger, q->patient_key, &provider_a_grant->consent, &tx));
    TRY(seal(q, &block));
    request = ask(q, q->provider_a, "labs", "TREAT");
    CHECK(hc_ledger_check(q->ledger, &request, &decision));
    EXPECT(decision.outcome == HC_OUTCOME_DENY, "provider A should be denied after revocation");
    say(q, "patient revoked provider A's consent; now: %s", describe(&decision, words, sizeof words));

    /* Emergency: provider B breaks the glass. The free-text justification stays off the ledger; only a
     * salted commitment to it goes on. Keep the salt next to the text (destroying both is erasure). */
    TRY(advance(q, 2u * HOUR_MS));
    request = ask(q, q->provider_b, "medications", "ETREAT");
    CHECK(hc_ledger_check(q->ledger, &request, &decision));
    EXPECT(decision.outcome == HC_OUTCOME_BREAK_GLASS, "provider B should need break-glass");
    static const char justification_text[] = "unconscious on arrival, allergy check before anaesthesia";
    hc_secret salt;
    hc_hash justification;
    CHECK(hc_random_salt(&salt));
    int32_t rc = hc_commitment(&salt, (const uint8_t *)justification_text, strlen(justification_text),
                               &justification);
    wipe(&salt, sizeof salt); /* here we drop it; a real system stores it with the text */
    if (!ok(rc, "hc_commitment")) {
        return false;
    }
    hc_access_id emergency;
    CHECK(hc_ledger_record_break_glass(q->ledger, q->provider_b_key, &request, "unconscious", &justification,
                                       &emergency));
    say(q, "provider B read medications for ETREAT: %s", describe(&decision, words, sizeof words));
    TRY(seal(q, &block));

    /* The privacy officer reviews the emergency access the next day. */
    TRY(advance(q, DAY_MS));
    CHECK(hc_ledger_review_break_glass(q->ledger, q->officer_key, &emergency, 1, &tx));
    TRY(seal(q, &block));
    say(q, "privacy officer reviewed the break-glass access: justified");
    return true;
}

/* The external-signer path: the patient's key is held elsewhere (an HSM, a phone's secure element).
 * The ledger prepares the transaction; the signer signs exactly hc_tx_signing_bytes; the signature is
 * attached and the transaction submitted. hc_key_sign stands in for the HSM here. */
static bool delegate_through_external_signer(struct quickstart *q) {
    char hex[13], words[160];
    hc_delegation_grant grant = {
        .patient = q->patient,
        .scopes = HC_SCOPE_READ | HC_SCOPE_MANAGE,
        .not_before = q->now,
        .not_after = HC_UNTIL_REVOKED,
    };
    hc_tx_id id;
    hc_signature signature;
    hc_block_info block;
    hc_decision decision;
    size_t needed = 0;
    uint8_t *bytes;
    int32_t rc;

    /* The guardian is a person too; the hospital registers them in-process as before. */
    CHECK(hc_ledger_register(q->ledger, q->hospital, q->guardian_key, HC_ROLE_PATIENT, &q->guardian));
    grant.delegate = q->guardian;

    /* 1. Describe the operation, 2. prepare it for the signer (chain, sequence number and time are
     *    filled in; the transaction id is known before signing). */
    CHECK(hc_payload_grant_delegation(&grant, &q->payload));
    CHECK(hc_ledger_prepare(q->ledger, &q->patient, q->payload, &q->tx));

    /* 3. Ask how many bytes to sign (buf NULL, len 0): the answer comes with HC_BUFFER_TOO_SMALL (or
     *    HC_OK if there were nothing to write), and *out_len holds the size either way. */
    rc = hc_tx_signing_bytes(q->tx, NULL, 0, &needed);
    if (rc != HC_BUFFER_TOO_SMALL && !ok(rc, "hc_tx_signing_bytes")) {
        return false;
    }
    bytes = malloc(needed ? needed : 1);
    if (bytes == NULL) {
        fprintf(stderr, "quickstart: out of memory\n");
        return false;
    }
    /* 4. Fetch the bytes and have the "HSM" sign them. */
    rc = hc_tx_signing_bytes(q->tx, bytes, needed, &needed);
    if (rc == HC_OK) {
        rc = hc_key_sign(q->patient_key, bytes, needed, &signature);
        if (rc != HC_OK) {
            ok(rc, "hc_key_sign");
        }
    } else {
        ok(rc, "hc_tx_signing_bytes");
    }
    free(bytes);
    if (rc != HC_OK) {
        return false;
    }

    /* 5. Attach the signature and submit: the ledger verifies it against the patient's active key. The
     *    hc_tx stays ours to free, like the payload. */
    CHECK(hc_tx_attach_signature(q->tx, &signature));
    CHECK(hc_ledger_submit(q->ledger, q->tx, &id));
    hc_tx_free(q->tx);
    q->tx = NULL;
    hc_payload_free(q->payload);
    q->payload = NULL;
    TRY(seal(q, &block));
    say(q, "patient delegated read+manage to a guardian via an external signer: delegation %s (%zu bytes "
           "signed, block %" PRIu64 ")",
        short_hex(id.bytes, hex), needed, block.height);

    hc_request request = ask(q, q->guardian, "labs", "TREAT");
    CHECK(hc_ledger_check(q->ledger, &request, &decision));
    EXPECT(decision.outcome == HC_OUTCOME_PERMIT && decision.basis == HC_BASIS_DELEGATE,
           "the guardian should be permitted as a delegate");
    say(q, "may the guardian read labs for TREAT? %s", describe(&decision, words, sizeof words));
    return true;
}

/* The patient's accounting of disclosures: an iterator stepped like sqlite3_step. */
static bool access_report(struct quickstart *q) {
    hc_access_row row;
    int32_t rc;

    printf("\naccess report for the patient (who accessed my record):\n");
    CHECK(hc_ledger_access_history(q->ledger, &q->patient, &q->history));
    while ((rc = hc_history_step(q->history, &row)) == HC_ROW) {
        char when[32], who[13], ids[HC_MAX_LISTED_RULES * 13 + 8], basis[160], hex[13];
        hc_actor_info accessor;
        const char *review = "";

        CHECK(hc_ledger_actor(q->ledger, &row.accessor, &accessor));
        switch (row.basis) {
        case HC_BASIS_OWNER: snprintf(basis, sizeof basis, "owner"); break;
        case HC_BASIS_DELEGATE:
            snprintf(basis, sizeof basis, "delegation %s", short_hex(row.delegation.bytes, hex));
            break;
        case HC_BASIS_CONSENTS:
            snprintf(basis, sizeof basis, "consent %s",
                     consent_list(row.consents, row.consent_count, ids, sizeof ids));
            break;
        case HC_BASIS_BREAK_GLASS:
            snprintf(basis, sizeof basis, "BREAK-GLASS (%s)", row.break_glass_reason.text);
            break;
        default: snprintf(basis, sizeof basis, "basis %" PRIu32, row.basis); break;
        }
        switch (row.review) {
        case HC_REVIEW_PENDING: review = ", review pending"; break;
        case HC_REVIEW_JUSTIFIED: review = ", reviewed: justified"; break;
        case HC_REVIEW_NOT_JUSTIFIED: review = ", reviewed: NOT justified"; break;
        default: break; /* HC_REVIEW_NONE: not a break-glass access */
        }
        printf("  %s  %s %s %s %s for %s on %s%s\n", date(row.at, when), hc_role_name(accessor.role),
               short_hex(row.accessor.bytes, who), row.action == HC_ACTION_WRITE ? "write" : "read",
               row.section.text, row.purpose.text, basis, review);
    }
    if (rc != HC_DONE && !ok(rc, "hc_history_step")) {
        return false;
    }
    hc_history_free(q->history);
    q->history = NULL;
    return true;
}

/* Every sealed block is durable: close the file, reopen it (checksums, hash links, seals and rules are
 * checked while opening), then verify everything from genesis, signatures included. */
static bool reopen_and_verify(struct quickstart *q) {
    hc_ledger_info info;
    hc_verify_report report;
    char hex[13];

    hc_ledger_close(q->ledger);
    q->ledger = NULL;
    CHECK(hc_ledger_open_file(q->path, 0, q->now, &q->ledger));
    CHECK(hc_ledger_get_info(q->ledger, &info));
    CHECK(hc_ledger_verify(q->ledger, &report)); /* HC_OK whether or not valid: report.valid tells */
    printf("\nreopened %s (%" PRIu64 " bytes); full verification: %s (%" PRIu64 " blocks, %" PRIu64
           " transactions, tree root %s)\n",
           q->path, info.store_bytes, report.valid ? "VALID" : "INVALID", report.blocks, report.transactions,
           short_hex(report.tree_root.bytes, hex));
    if (!report.valid) {
        fprintf(stderr, "quickstart: block %" PRIu64 " does not verify: %s (%s)\n", report.failure_height,
                report.failure_reason, hc_status_str(report.failure_code));
        return false;
    }
    return true;
}

static bool run(struct quickstart *q) {
    hc_granted provider_a_grant;
    return setup(q) && consents(q, &provider_a_grant) && questions_and_accesses(q, &provider_a_grant) &&
           delegate_through_external_signer(q) && access_report(q) && reopen_and_verify(q);
}

/* Releases every handle (NULL ones are no-ops). */
static void quickstart_free(struct quickstart *q) {
    hc_history_free(q->history);
    hc_tx_free(q->tx);
    hc_payload_free(q->payload);
    hc_ledger_close(q->ledger);
    hc_key_free(q->hospital);
    hc_key_free(q->patient_key);
    hc_key_free(q->provider_a_key);
    hc_key_free(q->provider_b_key);
    hc_key_free(q->insurer_key);
    hc_key_free(q->officer_key);
    hc_key_free(q->guardian_key);
}

int main(int argc, char **argv) {
    /* A header and a library from different releases must not be mixed. */
    if (hc_version_number() != HC_VERSION_NUMBER) {
        fprintf(stderr, "quickstart: header %s (%d) does not match library %s (%" PRIu32 ")\n", HC_VERSION,
                HC_VERSION_NUMBER, hc_version(), hc_version_number());
        return 1;
    }

    char temp[HC_MAX_PATH_LEN];
    bool keep = argc > 1;
    if (!keep) {
        const char *dir = getenv("TMPDIR");
        if (dir == NULL || dir[0] == '\0') {
            dir = "/tmp";
        }
        int n = snprintf(temp, sizeof temp, "%s/healthchain-quickstart-c-%ld.ledger", dir, (long)getpid());
        if (n < 0 || (size_t)n >= sizeof temp) {
            fprintf(stderr, "quickstart: temporary path too long\n");
            return 1;
        }
        /* A leftover from an earlier run with the same pid would make create refuse (HC_ALREADY_EXISTS). */
        if (remove(temp) != 0 && errno != ENOENT) {
            perror(temp);
            return 1;
        }
    }

    struct quickstart q = {.path = keep ? argv[1] : temp, .now = START_MS};
    bool success = run(&q);
    quickstart_free(&q); /* closes the ledger (releasing the file lock) before the file is removed */
    if (!keep && remove(temp) != 0 && errno != ENOENT) {
        perror(temp);
        success = false;
    }
    return success ? 0 : 1;
}
