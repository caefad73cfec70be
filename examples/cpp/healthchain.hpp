// healthchain.hpp: a small, header-only C++17 convenience layer over the C API (healthchain.h).
//
// - Owners: std::unique_ptr aliases that free each handle with its matching function (hc_key_free,
//   hc_ledger_close, hc_history_free, hc_payload_free, hc_tx_free), so no path leaks a handle.
// - Errors: check(rc, what) turns a status other than HC_OK into a healthchain::error exception that
//   carries the status code and the library's detail message (hc_last_error_message(), captured at once).
// - Values: request and consent_grant hold their codes as std::string and lend the C structs the
//   pointers only for the duration of a call (the library copies what it keeps).
//
// It adds no behaviour: every call maps to one C function, and the C types stay visible.
//
// SPDX-License-Identifier: Apache-2.0

#ifndef HEALTHCHAIN_HPP
#define HEALTHCHAIN_HPP

#include "healthchain.h"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace healthchain {

// ---- errors ------------------------------------------------------------------------------------------

// A failed call: what was called, the status code (HC_*) and the library's detail message.
class error : public std::runtime_error {
public:
    error(int32_t status, const char *what, const char *detail)
        : std::runtime_error(std::string(what) + ": " + hc_status_str(status) + " (" + std::to_string(status) +
                             ")" + (detail && *detail ? std::string(": ") + detail : std::string())),
          status_(status), detail_(detail ? detail : "") {}

    // The HC_* status the call returned.
    int32_t status() const noexcept { return status_; }
    // hc_last_error_message() as it was right after the failure.
    const std::string &detail() const noexcept { return detail_; }

private:
    int32_t status_;
    std::string detail_;
};

// Throws healthchain::error unless `rc` is HC_OK. The detail message is per thread and only valid until
// the next call, so it is copied here, before anything else can run.
inline void check(int32_t rc, const char *what) {
    if (rc != HC_OK) {
        throw error(rc, what, hc_last_error_message());
    }
}

// ---- owners ------------------------------------------------------------------------------------------

// A deleter calling the C API's free function for the handle type (each accepts NULL).
template <auto Free>
struct deleter {
    template <typename T>
    void operator()(T *handle) const noexcept {
        Free(handle);
    }
};

using key_ptr = std::unique_ptr<hc_key, deleter<hc_key_free>>;
using ledger_ptr = std::unique_ptr<hc_ledger, deleter<hc_ledger_close>>;
using history_ptr = std::unique_ptr<hc_history, deleter<hc_history_free>>;
using payload_ptr = std::unique_ptr<hc_payload, deleter<hc_payload_free>>;
using tx_ptr = std::unique_ptr<hc_tx, deleter<hc_tx_free>>;

// A new key from the operating system's random source.
inline key_ptr generate_key() {
    hc_key *raw = nullptr;
    check(hc_key_generate(&raw), "hc_key_generate");
    return key_ptr(raw);
}

// The settings of a one-network ledger (seal threshold 1, break-glass allowed, default clock skew).
inline hc_settings default_settings(const char *name) {
    hc_settings settings{};
    settings.name = name;
    settings.seal_threshold = 1;
    settings.break_glass_allowed = 1;
    settings.max_clock_skew_ms = HC_DEFAULT_CLOCK_SKEW_MS;
    return settings;
}

// A ledger held in memory, founded by `authorities` (the first is the founder), on a fixed clock.
inline ledger_ptr create_memory(const hc_settings &settings, const std::vector<const hc_key *> &authorities,
                                uint64_t time_ms) {
    hc_ledger *raw = nullptr;
    check(hc_ledger_create_memory(&settings, authorities.data(), authorities.size(), time_ms, &raw),
          "hc_ledger_create_memory");
    return ledger_ptr(raw);
}

// An iterator over who accessed `patient`'s record.
inline history_ptr access_history(const hc_ledger *ledger, const hc_actor_id &patient) {
    hc_history *raw = nullptr;
    check(hc_ledger_access_history(ledger, &patient, &raw), "hc_ledger_access_history");
    return history_ptr(raw);
}

// Steps `history` to the end, calling `visit(const hc_access_row &)` for each row.
template <typename Visit>
void for_each_row(hc_history *history, Visit &&visit) {
    hc_access_row row;
    int32_t rc;
    while ((rc = hc_history_step(history, &row)) == HC_ROW) {
        visit(static_cast<const hc_access_row &>(row));
    }
    if (rc != HC_DONE) {
        check(rc, "hc_history_step");
    }
}

// ---- requests and grants -----------------------------------------------------------------------------

// A consent question (and what hc_ledger_record_access records). raw() lends pointers into this object:
// keep it alive while the hc_request is in use.
struct request {
    hc_actor_id patient{};
    hc_actor_id requester{};
    std::string section;
    std::string purpose;
    uint64_t at = 0;
    uint32_t action = HC_ACTION_READ;

    hc_request raw() const {
        return hc_request{patient, requester, section.c_str(), purpose.c_str(), action, at};
    }
};

// A consent rule for one grantee (HC_GRANTEE_ACTOR). with_raw(f) calls f(const hc_consent_grant &) with
// a C view that is valid for the duration of the call.
struct consent_grant {
    hc_actor_id patient{};
    hc_actor_id grantee{};
    std::vector<std::string> sections;
    std::vector<std::string> purposes;
    uint32_t actions = HC_ACTION_READ;
    uint32_t effect = HC_EFFECT_PERMIT;
    uint64_t not_before = 0;
    uint64_t not_after = HC_UNTIL_REVOKED;

    template <typename F>
    decltype(auto) with_raw(F &&f) const {
        std::vector<const char *> section_ptrs, purpose_ptrs;
        for (const auto &s : sections) {
            section_ptrs.push_back(s.c_str());
        }
        for (const auto &p : purposes) {
            purpose_ptrs.push_back(p.c_str());
        }
        hc_consent_grant raw{};
        raw.patient = patient;
        raw.grantee_kind = HC_GRANTEE_ACTOR;
        raw.grantee = grantee;
        raw.effect = effect;
        raw.sections = section_ptrs.data();
        raw.section_count = section_ptrs.size();
        raw.purposes = purpose_ptrs.data();
        raw.purpose_count = purpose_ptrs.size();
        raw.actions = actions;
        raw.not_before = not_before;
        raw.not_after = not_after;
        return std::forward<F>(f)(static_cast<const hc_consent_grant &>(raw));
    }
};

// Grants `grant`, signed by `signer` (the patient or a delegate with manage scope). Throws
// healthchain::error; status() HC_ALREADY_HAS_ACCESS means an active permit already covers it.
inline hc_granted grant_consent(hc_ledger *ledger, const hc_key *signer, const consent_grant &grant) {
    return grant.with_raw([&](const hc_consent_grant &raw) {
        hc_granted out{};
        check(hc_ledger_grant_consent(ledger, signer, &raw, &out), "hc_ledger_grant_consent");
        return out;
    });
}

// The active permit that already covers `grant` (throws with HC_NO_MATCH if none does).
inline hc_granted find_covering_consent(const hc_ledger *ledger, const consent_grant &grant) {
    return grant.with_raw([&](const hc_consent_grant &raw) {
        hc_granted out{};
        check(hc_ledger_find_covering_consent(ledger, &raw, &out), "hc_ledger_find_covering_consent");
        return out;
    });
}

// Asks the consent engine (latest state). A denial is an answer, not an exception.
inline hc_decision check_access(const hc_ledger *ledger, const request &question) {
    const hc_request raw = question.raw();
    hc_decision out{};
    check(hc_ledger_check(ledger, &raw, &out), "hc_ledger_check");
    return out;
}

// Seals the submitted transactions with one authority's key.
inline hc_block_info seal(hc_ledger *ledger, const hc_key *authority) {
    hc_block_info out{};
    check(hc_ledger_seal(ledger, &authority, 1, &out), "hc_ledger_seal");
    return out;
}

// The external-signer path: prepares `payload` for `signer`, hands the exact signing bytes to
// `sign(const std::vector<uint8_t> &) -> hc_signature` (an HSM, a phone), attaches the signature and
// submits. Returns the transaction id.
template <typename Sign>
hc_tx_id submit_signed_externally(hc_ledger *ledger, const hc_actor_id &signer, const hc_payload *payload,
                                         Sign &&sign) {
    hc_tx *raw = nullptr;
    check(hc_ledger_prepare(ledger, &signer, payload, &raw), "hc_ledger_prepare");
    tx_ptr tx(raw);

    // Size query (buf NULL, len 0): *out_len receives the size, with HC_BUFFER_TOO_SMALL.
    std::size_t needed = 0;
    int32_t rc = hc_tx_signing_bytes(tx.get(), nullptr, 0, &needed);
    if (rc != HC_BUFFER_TOO_SMALL) {
        check(rc, "hc_tx_signing_bytes");
    }
    std::vector<uint8_t> bytes(needed);
    check(hc_tx_signing_bytes(tx.get(), bytes.data(), bytes.size(), &needed), "hc_tx_signing_bytes");
    bytes.resize(needed);

    const hc_signature signature = std::forward<Sign>(sign)(static_cast<const std::vector<uint8_t> &>(bytes));
    check(hc_tx_attach_signature(tx.get(), &signature), "hc_tx_attach_signature");
    hc_tx_id id{};
    check(hc_ledger_submit(ledger, tx.get(), &id), "hc_ledger_submit");
    return id;
}

// ---- formatting --------------------------------------------------------------------------------------

// The first `count` bytes of an id (any of the C API's byte-array structs) as lower-case hex.
template <typename Id>
std::string hex(const Id &id, std::size_t count = 6) {
    static const char digits[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < count && i < sizeof id.bytes; i++) {
        out += digits[id.bytes[i] >> 4];
        out += digits[id.bytes[i] & 0xf];
    }
    return out;
}

}  // namespace healthchain

#endif  // HEALTHCHAIN_HPP
