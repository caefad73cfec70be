/*
 * One hc_ledger shared by four threads: two ask consent questions and read the access history while two
 * others, sharing one authority key and one patient key, register actors, record accesses and seal
 * blocks. Every answer must stay correct, every append must succeed, the last error must stay per thread,
 * and the ledger must verify at the end.
 * Run by capi/tests/c_api.rs with a scratch directory as argv[1]; prints "threads: all checks passed".
 */
#define _POSIX_C_SOURCE 200809L
#include "healthchain.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>

#define ROUNDS 24 /* per appender */
#define CHECKERS 2
#define APPENDERS 2

static const uint64_t T0 = 1795424400000ULL; /* 2026-11-23 09:00 UTC */

static hc_ledger *ledger;
static hc_key *authority, *patient_key;
static hc_actor_id patient, provider;
static atomic_int appending = APPENDERS;
static atomic_long seals;

static void die(const char *what, int32_t rc) {
    fprintf(stderr, "%s: %d (%s): %s\n", what, rc, hc_status_str(rc), hc_last_error_message());
    exit(1);
}

#define OK(call)                            \
    do {                                    \
        int32_t rc_ = (call);               \
        if (rc_ != HC_OK) die(#call, rc_);  \
    } while (0)

struct checker_result {
    long checks;
    long history_reads;
};

static void *checker(void *arg) {
    struct checker_result *result = arg;
    hc_request r;
    memset(&r, 0, sizeof r);
    r.patient = patient;
    r.requester = provider;
    r.section = "labs";
    r.purpose = "TREAT";
    r.action = HC_ACTION_READ;
    r.at = T0 + 1;
    hc_request other = r;
    other.section = "psychiatry";
    /* Keep asking until the appender is done, and a while longer. */
    hc_request wildcard = r;
    wildcard.section = "*";
    for (int tail = 0; tail < 50; tail += !atomic_load(&appending)) {
        hc_decision d;
        OK(hc_ledger_check(ledger, &r, &d));
        if (d.outcome != HC_OUTCOME_PERMIT || d.basis != HC_BASIS_CONSENTS || d.rule_count != 1) {
            fprintf(stderr, "wrong decision while appending: outcome %u basis %u\n", d.outcome, d.basis);
            exit(1);
        }
        OK(hc_ledger_check(ledger, &other, &d));
        if (d.outcome != HC_OUTCOME_DENY || d.basis != HC_BASIS_NO_CONSENT) {
            fprintf(stderr, "psychiatry should be denied\n");
            exit(1);
        }
        OK(hc_ledger_check_as_of(ledger, 1, &r, &d)); /* block 1 is sealed before the threads start */
        if (d.outcome != HC_OUTCOME_PERMIT) {
            fprintf(stderr, "as-of answer changed while appending\n");
            exit(1);
        }
        /* This thread's error message is its own, whatever the other threads do meanwhile. */
        if (hc_ledger_check(ledger, &wildcard, &d) != HC_WILDCARD_IN_REQUEST ||
            strstr(hc_last_error_message(), "not *") == NULL) {
            fprintf(stderr, "wildcard question not refused with its own message\n");
            exit(1);
        }
        result->checks += 4;
        /* Yielding lets the writers progress when threads are serialized (under valgrind). */
        sched_yield();
        if (result->checks % 40 == 0) {
            hc_history *history = NULL;
            hc_access_row row;
            long rows = 0;
            OK(hc_ledger_access_history(ledger, &patient, &history));
            int32_t rc;
            while ((rc = hc_history_step(history, &row)) == HC_ROW) {
                if (strcmp(row.section.text, "labs") != 0) {
                    fprintf(stderr, "history row with section %s\n", row.section.text);
                    exit(1);
                }
                rows++;
            }
            if (rc != HC_DONE) die("hc_history_step", rc);
            hc_history_free(history);
            if (rows > APPENDERS * ROUNDS) {
                fprintf(stderr, "history has %ld rows, at most %d expected\n", rows, APPENDERS * ROUNDS);
                exit(1);
            }
            result->history_reads++;
        }
    }
    return NULL;
}

static void *appender(void *arg) {
    int index = *(const int *)arg;
    const hc_key *sealers[] = {authority};
    for (int i = 0; i < ROUNDS; i++) {
        hc_key *key = NULL;
        hc_actor_id newcomer;
        OK(hc_key_generate(&key));
        OK(hc_ledger_register(ledger, authority, key, HC_ROLE_RESEARCHER, &newcomer));
        hc_key_free(key);
        hc_request r;
        memset(&r, 0, sizeof r);
        r.patient = patient;
        r.requester = patient; /* the patient reads their own labs */
        r.section = "labs";
        r.purpose = "PATRQT";
        r.action = HC_ACTION_READ;
        r.at = T0 + 1000 * (uint64_t)(i + 2) + (uint64_t)index;
        hc_access_id recorded;
        OK(hc_ledger_record_access(ledger, patient_key, &r, &recorded));
        /* The other appender may have sealed our transactions already. */
        hc_block_info block;
        int32_t rc = hc_ledger_seal(ledger, sealers, 1, &block);
        if (rc == HC_OK) {
            atomic_fetch_add(&seals, 1);
        } else if (rc != HC_NOTHING_TO_SEAL) {
            die("hc_ledger_seal", rc);
        }
    }
    atomic_fetch_sub(&appending, 1);
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: threads SCRATCH_DIR\n");
        return 2;
    }
    char path[512];
    snprintf(path, sizeof path, "%s/threads.ledger", argv[1]);
    remove(path);
    hc_key *provider_key = NULL;
    OK(hc_key_generate(&authority));
    OK(hc_key_generate(&patient_key));
    OK(hc_key_generate(&provider_key));
    const hc_key *authorities[] = {authority};
    hc_settings settings = {"threads", 1, 1, HC_DEFAULT_CLOCK_SKEW_MS};
    OK(hc_ledger_create_file(path, &settings, authorities, 1, T0, &ledger));
    OK(hc_ledger_register(ledger, authority, patient_key, HC_ROLE_PATIENT, &patient));
    OK(hc_ledger_register(ledger, authority, provider_key, HC_ROLE_PROVIDER, &provider));
    const char *labs[] = {"labs"}, *treat[] = {"TREAT"};
    hc_consent_grant g;
    memset(&g, 0, sizeof g);
    g.patient = patient;
    g.grantee_kind = HC_GRANTEE_ACTOR;
    g.grantee = provider;
    g.effect = HC_EFFECT_PERMIT;
    g.sections = labs;
    g.section_count = 1;
    g.purposes = treat;
    g.purpose_count = 1;
    g.actions = HC_ACTION_READ;
    g.not_before = T0;
    g.not_after = HC_UNTIL_REVOKED;
    hc_granted granted;
    OK(hc_ledger_grant_consent(ledger, patient_key, &g, &granted));
    hc_block_info block;
    OK(hc_ledger_seal(ledger, authorities, 1, &block));
    OK(hc_ledger_set_time(ledger, T0 + 3600000)); /* every access below lies before "now" */

    /* The main thread's last error must survive the other threads' calls. */
    if (hc_ledger_seal(ledger, authorities, 1, &block) != HC_NOTHING_TO_SEAL) return 1;
    const char *before = hc_last_error_message();
    char main_error[256];
    snprintf(main_error, sizeof main_error, "%s", before);

    pthread_t threads[CHECKERS + APPENDERS];
    struct checker_result results[CHECKERS];
    int indexes[APPENDERS];
    memset(results, 0, sizeof results);
    for (int i = 0; i < CHECKERS; i++)
        if (pthread_create(&threads[i], NULL, checker, &results[i]) != 0) return 1;
    for (int i = 0; i < APPENDERS; i++) {
        indexes[i] = i;
        if (pthread_create(&threads[CHECKERS + i], NULL, appender, &indexes[i]) != 0) return 1;
    }
    for (int i = 0; i < CHECKERS + APPENDERS; i++) pthread_join(threads[i], NULL);
    if (main_error[0] == '\0' || strcmp(hc_last_error_message(), main_error) != 0) {
        fprintf(stderr, "the main thread's last error changed: '%s' -> '%s'\n", main_error, hc_last_error_message());
        return 1;
    }

    hc_ledger_info info;
    OK(hc_ledger_get_info(ledger, &info));
    hc_verify_report report;
    OK(hc_ledger_verify(ledger, &report));
    hc_history *history = NULL;
    hc_access_row row;
    long rows = 0;
    OK(hc_ledger_access_history(ledger, &patient, &history));
    while (hc_history_step(history, &row) == HC_ROW) rows++;
    hc_history_free(history);
    hc_ledger_close(ledger);

    /* Reopened from the file, everything the threads appended is there and verifies. */
    OK(hc_verify_file(path, &report));
    int ok = report.valid == 1 && report.blocks == info.blocks && info.blocks == 2 + (uint64_t)atomic_load(&seals) &&
             rows == APPENDERS * ROUNDS && info.pending == 0;
    for (int i = 0; i < CHECKERS; i++) ok = ok && results[i].checks > 0;
    printf("threads: %llu blocks, %ld accesses, checks %ld + %ld, history reads %ld + %ld\n",
           (unsigned long long)info.blocks, rows, results[0].checks, results[1].checks, results[0].history_reads,
           results[1].history_reads);
    hc_key_free(provider_key);
    hc_key_free(patient_key);
    hc_key_free(authority);
    remove(path);
    if (!ok) {
        fprintf(stderr, "threads: wrong final state (valid %u)\n", report.valid);
        return 1;
    }
    printf("threads: all checks passed\n");
    return 0;
}
