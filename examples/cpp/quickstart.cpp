// quickstart.cpp: a shorter consent flow through the C API, from C++17 with the RAII wrapper in
// healthchain.hpp. An in-memory ledger; a patient, a provider and a privacy officer; grant, check, read,
// revoke (through the external-signer path), break-glass and its review; the patient's access report;
// full verification. Every handle is owned by a unique_ptr, so an exception leaks nothing.
//
// Build (after `cargo build`), from the repository root:
//     g++ -std=c++17 -Wall -Wextra -Wpedantic -Werror -Iinclude -Iexamples/cpp
//         examples/cpp/quickstart.cpp target/debug/libhealthchain.a -lpthread -ldl -lm -o quickstart-cpp
// or with examples/Makefile: `make -C examples LIBDIR=../target/debug run`.
//
// SPDX-License-Identifier: Apache-2.0

#include "healthchain.hpp"

#include <cstdint>
#include <cstring>
#include <ctime>
#include <iostream>
#include <stdexcept>
#include <string>

namespace hc = healthchain;

namespace {

constexpr uint64_t HOUR_MS = 60ull * 60 * 1000;
constexpr uint64_t DAY_MS = 24 * HOUR_MS;

// `YYYY-MM-DD HH:MM` (UTC) of a time in ms since the Unix epoch.
std::string date(uint64_t ms) {
    if (ms == HC_UNTIL_REVOKED) {
        return "revocation";
    }
    const std::time_t secs = static_cast<std::time_t>(ms / 1000);
    std::tm tm{};
    char buf[32];
    if (gmtime_r(&secs, &tm) == nullptr || std::strftime(buf, sizeof buf, "%Y-%m-%d %H:%M", &tm) == 0) {
        return std::to_string(ms) + "ms";
    }
    return buf;
}

// Consent ids as listed inline in a decision or an access row (the first HC_MAX_LISTED_RULES of `count`).
std::string consent_list(const hc_consent_id *ids, uint32_t count) {
    std::string out;
    for (uint32_t i = 0; i < count && i < HC_MAX_LISTED_RULES; i++) {
        out += (i ? "," : "") + hc::hex(ids[i]);
    }
    return out;
}

std::string describe(const hc_decision &d) {
    const std::string rules = consent_list(d.rules, d.rule_count);
    switch (d.basis) {
    case HC_BASIS_OWNER: return "permit (owner)";
    case HC_BASIS_DELEGATE: return "permit (delegation " + hc::hex(d.delegation) + ")";
    case HC_BASIS_CONSENTS: return "permit (consent " + rules + ")";
    case HC_BASIS_BREAK_GLASS: return "break-glass (emergency, to be reviewed)";
    case HC_BASIS_DENY_RULES: return "deny (deny rule " + rules + ")";
    case HC_BASIS_NO_CONSENT: return "deny (no consent)";
    default: return "outcome " + std::to_string(d.outcome) + ", basis " + std::to_string(d.basis);
    }
}

// The story's clock, which drives the ledger's (the ledger never reads the system clock here).
struct story_clock {
    hc_ledger *ledger;
    uint64_t now;

    void advance(uint64_t ms) {
        now += ms;
        hc::check(hc_ledger_set_time(ledger, now), "hc_ledger_set_time");
    }
    void say(const std::string &line) const { std::cout << "[" << date(now) << "] " << line << "\n"; }
};

void expect(bool condition, const char *what) {
    if (!condition) {
        throw std::runtime_error(std::string("unexpected: ") + what);
    }
}

int run() {
    if (hc_version_number() != HC_VERSION_NUMBER) {
        std::cerr << "header " << HC_VERSION << " does not match library " << hc_version() << "\n";
        return 1;
    }

    const uint64_t start = 1795424400000ull;  // 2026-11-23 09:00 UTC
    hc::key_ptr hospital = hc::generate_key();
    hc::key_ptr patient_key = hc::generate_key();
    hc::key_ptr provider_key = hc::generate_key();
    hc::key_ptr officer_key = hc::generate_key();

    const hc_settings settings = hc::default_settings("st-mary-hospital");
    hc::ledger_ptr ledger = hc::create_memory(settings, {hospital.get()}, start);
    story_clock story{ledger.get(), start};

    hc_actor_id patient{}, provider{}, officer{};
    hc::check(hc_ledger_register(ledger.get(), hospital.get(), patient_key.get(), HC_ROLE_PATIENT, &patient),
              "hc_ledger_register");
    hc::check(hc_ledger_register(ledger.get(), hospital.get(), provider_key.get(), HC_ROLE_PROVIDER, &provider),
              "hc_ledger_register");
    hc::check(hc_ledger_register(ledger.get(), hospital.get(), officer_key.get(), HC_ROLE_AUDITOR, &officer),
              "hc_ledger_register");
    hc_block_info block = hc::seal(ledger.get(), hospital.get());
    story.say("in-memory ledger: registered patient, provider, privacy officer (block " +
              std::to_string(block.height) + ")");

    // The patient grants the provider labs for treatment, for 30 days.
    hc::consent_grant labs;
    labs.patient = patient;
    labs.grantee = provider;
    labs.sections = {"labs"};
    labs.purposes = {"TREAT"};
    labs.not_before = story.now;
    labs.not_after = story.now + 30 * DAY_MS;
    const hc_granted granted = hc::grant_consent(ledger.get(), patient_key.get(), labs);
    story.say("provider granted labs for TREAT until " + date(granted.until) + " (consent " +
              hc::hex(granted.consent) + ")");

    // The same grant again: the refusal is a typed error with the exact status.
    try {
        hc::grant_consent(ledger.get(), patient_key.get(), labs);
        throw std::runtime_error("the second identical grant should have been refused");
    } catch (const hc::error &e) {
        if (e.status() != HC_ALREADY_HAS_ACCESS) {
            throw;
        }
        const hc_granted existing = hc::find_covering_consent(ledger.get(), labs);
        story.say("same grant again: caught healthchain::error with status() == HC_ALREADY_HAS_ACCESS (\"" +
                  std::string(hc_status_str(e.status())) + "\"); covered by consent " + hc::hex(existing.consent) +
                  " until " + date(existing.until));
    }
    hc::seal(ledger.get(), hospital.get());

    // An hour later the provider reads labs: check, then record (re-checked atomically by the ledger).
    story.advance(HOUR_MS);
    hc::request read_labs{patient, provider, "labs", "TREAT", story.now, HC_ACTION_READ};
    hc_decision decision = hc::check_access(ledger.get(), read_labs);
    expect(decision.outcome == HC_OUTCOME_PERMIT, "the provider should be permitted");
    story.say("may the provider read labs for TREAT? " + describe(decision));
    const hc_request raw_read = read_labs.raw();
    hc_access_id access{};
    hc::check(hc_ledger_record_access(ledger.get(), provider_key.get(), &raw_read, &access),
              "hc_ledger_record_access");
    story.say("provider read labs: recorded (access " + hc::hex(access) + ")");
    hc::seal(ledger.get(), hospital.get());

    // A day later the patient revokes it, signing with a key held elsewhere (external-signer path;
    // hc_key_sign stands in for the HSM).
    story.advance(DAY_MS);
    hc_payload *raw_payload = nullptr;
    hc::check(hc_payload_revoke_consent(&granted.consent, &raw_payload), "hc_payload_revoke_consent");
    const hc::payload_ptr revoke(raw_payload);
    const hc_tx_id revoked = hc::submit_signed_externally(
        ledger.get(), patient, revoke.get(), [&](const std::vector<uint8_t> &bytes) {
            hc_signature signature{};
            hc::check(hc_key_sign(patient_key.get(), bytes.data(), bytes.size(), &signature), "hc_key_sign");
            return signature;
        });
    hc::seal(ledger.get(), hospital.get());
    read_labs.at = story.now;
    decision = hc::check_access(ledger.get(), read_labs);
    expect(decision.outcome == HC_OUTCOME_DENY, "the provider should be denied after revocation");
    story.say("patient revoked the consent (tx " + hc::hex(revoked) + ", signed externally); now: " +
              describe(decision));

    // Emergency: break-glass, with a salted commitment to the off-ledger justification.
    story.advance(2 * HOUR_MS);
    const hc::request emergency_read{patient, provider, "medications", "ETREAT", story.now, HC_ACTION_READ};
    decision = hc::check_access(ledger.get(), emergency_read);
    expect(decision.outcome == HC_OUTCOME_BREAK_GLASS, "the emergency should need break-glass");
    const char justification_text[] = "unconscious on arrival, allergy check before anaesthesia";
    hc_secret salt{};
    hc_hash justification{};
    hc::check(hc_random_salt(&salt), "hc_random_salt");  // keep it with the text, off the ledger
    hc::check(hc_commitment(&salt, reinterpret_cast<const uint8_t *>(justification_text),
                            std::strlen(justification_text), &justification),
              "hc_commitment");
    const hc_request raw_emergency = emergency_read.raw();
    hc_access_id emergency{};
    hc::check(hc_ledger_record_break_glass(ledger.get(), provider_key.get(), &raw_emergency, "unconscious",
                                           &justification, &emergency),
              "hc_ledger_record_break_glass");
    story.say("provider read medications for ETREAT: " + describe(decision));
    hc::seal(ledger.get(), hospital.get());

    story.advance(DAY_MS);
    hc_tx_id review{};
    hc::check(hc_ledger_review_break_glass(ledger.get(), officer_key.get(), &emergency, 1, &review),
              "hc_ledger_review_break_glass");
    hc::seal(ledger.get(), hospital.get());
    story.say("privacy officer reviewed the break-glass access: justified");

    std::cout << "\naccess report for the patient:\n";
    const hc::history_ptr history = hc::access_history(ledger.get(), patient);
    hc::for_each_row(history.get(), [&](const hc_access_row &row) {
        hc_actor_info who{};
        hc::check(hc_ledger_actor(ledger.get(), &row.accessor, &who), "hc_ledger_actor");
        std::string basis = "basis " + std::to_string(row.basis);
        if (row.basis == HC_BASIS_CONSENTS) {
            basis = "consent " + consent_list(row.consents, row.consent_count);
        } else if (row.basis == HC_BASIS_BREAK_GLASS) {
            basis = "BREAK-GLASS (" + std::string(row.break_glass_reason.text) + ")";
        }
        const char *review_state = row.review == HC_REVIEW_JUSTIFIED       ? ", reviewed: justified"
                                   : row.review == HC_REVIEW_NOT_JUSTIFIED ? ", reviewed: NOT justified"
                                   : row.review == HC_REVIEW_PENDING       ? ", review pending"
                                                                           : "";
        std::cout << "  " << date(row.at) << "  " << hc_role_name(who.role) << " " << hc::hex(row.accessor)
                  << (row.action == HC_ACTION_WRITE ? " write " : " read ") << row.section.text << " for "
                  << row.purpose.text << " on " << basis << review_state << "\n";
    });

    hc_verify_report report{};
    hc::check(hc_ledger_verify(ledger.get(), &report), "hc_ledger_verify");
    std::cout << "\nfull verification: " << (report.valid ? "VALID" : "INVALID") << " (" << report.blocks
              << " blocks, " << report.transactions << " transactions, tree root " << hc::hex(report.tree_root)
              << ")\n";
    if (!report.valid) {
        std::cerr << "block " << report.failure_height << ": " << report.failure_reason << "\n";
        return 1;
    }
    return 0;
}

}  // namespace

int main() {
    try {
        return run();
    } catch (const hc::error &e) {  // a C API call failed: e.status() is its HC_* code
        std::cerr << "quickstart-cpp: " << e.what() << "\n";
    } catch (const std::exception &e) {
        std::cerr << "quickstart-cpp: " << e.what() << "\n";
    }
    return 1;
}
