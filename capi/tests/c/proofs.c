/*
 * Proofs, checkpoints, receipts and where a ledger stands against a checkpoint, through the C API:
 * inclusion and consistency proofs made from a ledger and checked with nothing of it (and every mutation
 * refused), checkpoints published, carried, cosigned by a witness and verified against a policy, receipts
 * checked offline (and every changed byte refused), and a ledger file cut, forked or swapped after a
 * checkpoint was published caught by the checkpoint's holder and refused at open.
 * Run by capi/tests/c_api.rs with a scratch directory as argv[1]; prints "proofs: all checks passed".
 */
#define _POSIX_C_SOURCE 200809L
#include "check.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Any refusal: a status other than HC_OK (which one depends on where a change lands). */
#define REFUSED(call)                                                                              \
    do {                                                                                           \
        int32_t rc_ = (call);                                                                      \
        if (rc_ == HC_OK || rc_ == HC_PANIC) {                                                     \
            fprintf(stderr, "%s:%d: %s\n  gave %d (%s), expected a refusal\n", __FILE__, __LINE__, \
                    #call, rc_, hc_status_str(rc_));                                               \
            exit(1);                                                                               \
        }                                                                                          \
        checks++;                                                                                  \
    } while (0)

static const uint64_t T0 = 1795424400000ULL; /* 2026-11-23 09:00 UTC */
static const uint64_t DAY = 86400000ULL;
static const uint64_t COSIGNED_AT = 1795428000ULL; /* seconds */
static const char *WITNESS = "auditor.example/w1";

#define MAX_TXS 64
#define MAX_BLOCKS 16

static int all_bytes(const void *p, size_t n, unsigned char value) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i] != value) return 0;
    return 1;
}

static int is_zero(const void *p, size_t n) { return all_bytes(p, n, 0); }

/* ---- files ---- */

static char *path_in(const char *dir, const char *name) {
    size_t n = strlen(dir) + strlen(name) + 2;
    char *path = malloc(n);
    REQUIRE(path != NULL);
    snprintf(path, n, "%s/%s", dir, name);
    return path;
}

static char *with_suffix(const char *path, const char *suffix) {
    size_t n = strlen(path) + strlen(suffix) + 1;
    char *out = malloc(n);
    REQUIRE(out != NULL);
    snprintf(out, n, "%s%s", path, suffix);
    return out;
}

static unsigned char *read_file(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    REQUIRE(f != NULL);
    REQUIRE(fseek(f, 0, SEEK_END) == 0);
    long size = ftell(f);
    REQUIRE(size >= 0);
    REQUIRE(fseek(f, 0, SEEK_SET) == 0);
    unsigned char *bytes = malloc((size_t)size + 1);
    REQUIRE(bytes != NULL);
    REQUIRE(fread(bytes, 1, (size_t)size, f) == (size_t)size);
    fclose(f);
    *len = (size_t)size;
    return bytes;
}

static void write_file(const char *path, const void *bytes, size_t len) {
    FILE *f = fopen(path, "wb");
    REQUIRE(f != NULL);
    REQUIRE(fwrite(bytes, 1, len, f) == len);
    REQUIRE(fclose(f) == 0);
}

/* Writes the first `len` bytes of `from` to `to`. */
static void copy_prefix(const char *from, const char *to, size_t len) {
    size_t size = 0;
    unsigned char *bytes = read_file(from, &size);
    REQUIRE(len <= size);
    write_file(to, bytes, len);
    free(bytes);
}

static void copy_file(const char *from, const char *to) {
    size_t size = 0;
    unsigned char *bytes = read_file(from, &size);
    write_file(to, bytes, size);
    free(bytes);
}

/* Appends bytes [start, end) of `from` to `to`. */
static void append_range(const char *from, size_t start, size_t end, const char *to) {
    size_t size = 0;
    unsigned char *bytes = read_file(from, &size);
    REQUIRE(start <= end && end <= size);
    FILE *f = fopen(to, "ab");
    REQUIRE(f != NULL);
    REQUIRE(fwrite(bytes + start, 1, end - start, f) == end - start);
    REQUIRE(fclose(f) == 0);
    free(bytes);
}

/* ---- a ledger of anchors ---- */

/* A file ledger and what the test knows of it: the tx id at each leaf index, and the file's size and the
 * tree's size after each block. */
typedef struct {
    hc_ledger *ledger;
    hc_chain_id chain;
    hc_actor_id patient;
    hc_tx_id ids[MAX_TXS];
    int known[MAX_TXS];
    uint64_t tree_size;
    uint64_t file_size[MAX_BLOCKS];
    uint64_t tree_at[MAX_BLOCKS];
    uint64_t blocks;
} book;

static void seal(book *b, const hc_key *authority) {
    const hc_key *keys[] = {authority};
    hc_block_info block;
    OK(hc_ledger_seal(b->ledger, keys, 1, &block));
    hc_ledger_info info;
    OK(hc_ledger_get_info(b->ledger, &info));
    REQUIRE(block.height == b->blocks && b->blocks < MAX_BLOCKS);
    b->file_size[b->blocks] = info.store_bytes;
    b->tree_at[b->blocks] = info.tree_size;
    b->tree_size = info.tree_size;
    b->blocks++;
}

/* Anchors `count` record versions (transactions whose ids the test keeps) and seals them in one block. */
static void anchor_block(book *b, hc_key *authority, int count, const char *tag) {
    hc_secret salt;
    memset(&salt, 0x33, sizeof salt);
    for (int i = 0; i < count; i++) {
        char record[64];
        snprintf(record, sizeof record, "%s record %d", tag, i);
        hc_hash version;
        OK(hc_commitment(&salt, (const uint8_t *)record, strlen(record), &version));
        hc_tx_id id;
        OK(hc_ledger_anchor_record(b->ledger, authority, &b->patient, "labs", "TREAT", &version, &id));
        uint64_t position = 0;
        EXPECT(hc_ledger_position(b->ledger, &id, &position), HC_NOT_SEALED); /* not sealed yet */
        uint64_t index = b->tree_size + (uint64_t)i;
        REQUIRE(index < MAX_TXS);
        b->ids[index] = id;
        b->known[index] = 1;
    }
    seal(b, authority);
}

/* A file ledger at `path`: genesis, then a block registering the patient with two anchors, then the
 * blocks of `sizes` anchors each. */
static void make_book(book *b, const char *path, hc_key *authority, hc_key *patient_key, const char *name,
                      const int *sizes, int n_sizes) {
    memset(b, 0, sizeof *b);
    const hc_key *keys[] = {authority};
    hc_settings settings = {name, 1, 1, HC_DEFAULT_CLOCK_SKEW_MS};
    remove(path);
    OK(hc_ledger_create_file(path, &settings, keys, 1, T0, &b->ledger));
    hc_ledger_info info;
    OK(hc_ledger_get_info(b->ledger, &info));
    b->chain = info.chain;
    b->file_size[0] = info.store_bytes;
    b->tree_at[0] = info.tree_size;
    b->tree_size = info.tree_size;
    b->blocks = 1;
    REQUIRE(b->tree_size == 1);
    OK(hc_ledger_register(b->ledger, authority, patient_key, HC_ROLE_PATIENT, &b->patient));
    b->tree_size = 1; /* the registration takes leaf 1, which the test does not track by id */
    /* Anchor two records in the registration's block: leaf 1 is the registration. */
    hc_secret salt;
    memset(&salt, 0x44, sizeof salt);
    for (int i = 0; i < 2; i++) {
        char record[32];
        snprintf(record, sizeof record, "%s first %d", name, i);
        hc_hash version;
        OK(hc_commitment(&salt, (const uint8_t *)record, strlen(record), &version));
        OK(hc_ledger_anchor_record(b->ledger, authority, &b->patient, "labs", "TREAT", &version, &b->ids[2 + i]));
        b->known[2 + i] = 1;
    }
    seal(b, authority);
    REQUIRE(b->tree_size == 4);
    for (int i = 0; i < n_sizes; i++) anchor_block(b, authority, sizes[i], name);
}

/* ---- verifier keys and policies ---- */

static char *authority_vkey(const hc_chain_id *chain, const hc_key *key) {
    hc_public_key public_key;
    OK(hc_key_public(key, &public_key));
    size_t needed = 0;
    EXPECT(hc_authority_verifier_key(chain, &public_key, NULL, 0, &needed), HC_BUFFER_TOO_SMALL);
    REQUIRE(needed > 64 && needed <= HC_MAX_VERIFIER_KEY_LEN + 1);
    char *vkey = malloc(needed);
    REQUIRE(vkey != NULL);
    size_t got = 0;
    OK(hc_authority_verifier_key(chain, &public_key, vkey, needed, &got));
    REQUIRE(got == needed && strlen(vkey) + 1 == needed);
    REQUIRE(strncmp(vkey, "healthchain/", 12) == 0);
    return vkey;
}

static char *witness_vkey(const char *name, const hc_key *key) {
    hc_public_key public_key;
    OK(hc_key_public(key, &public_key));
    char buf[HC_MAX_VERIFIER_KEY_LEN + 1];
    size_t got = 0;
    OK(hc_witness_verifier_key(name, &public_key, buf, sizeof buf, &got));
    REQUIRE(got == strlen(buf) + 1 && strncmp(buf, name, strlen(name)) == 0 && buf[strlen(name)] == '+');
    char *vkey = malloc(got);
    REQUIRE(vkey != NULL);
    memcpy(vkey, buf, got);
    return vkey;
}

/* A note into a fresh heap string, by a size query then the call. */
static char *published(hc_ledger *ledger, const hc_key *authority) {
    const hc_key *keys[] = {authority};
    uint64_t before = 0, after = 0;
    OK(hc_ledger_carried_count(ledger, &before));
    size_t needed = 0;
    EXPECT(hc_ledger_publish_checkpoint(ledger, keys, 1, NULL, 0, &needed), HC_BUFFER_TOO_SMALL);
    REQUIRE(needed > 100 && needed <= HC_MAX_NOTE_LEN + 1);
    char *small = malloc(needed);
    REQUIRE(small != NULL);
    memset(small, 0xA5, needed);
    size_t got = 0;
    EXPECT(hc_ledger_publish_checkpoint(ledger, keys, 1, small, needed - 1, &got), HC_BUFFER_TOO_SMALL);
    REQUIRE(got == needed && all_bytes(small, needed, 0xA5));
    OK(hc_ledger_carried_count(ledger, &after));
    REQUIRE(after == before); /* a refused call carries nothing */
    OK(hc_ledger_publish_checkpoint(ledger, keys, 1, small, needed, &got));
    REQUIRE(got == needed && strlen(small) + 1 == needed);
    return small;
}

/* ---- the tests ---- */

static void status_texts(void) {
    const int32_t codes[] = {HC_CARRIED_CHECKPOINTS_DAMAGED, HC_TREE_MISMATCH, HC_INDEX_BEYOND_SIZE, HC_BAD_SIZES,
                             HC_PROOF_WRONG_LENGTH, HC_PROOF_MISMATCH, HC_PROOF_UNAVAILABLE, HC_MALFORMED_NOTE,
                             HC_MALFORMED_CHECKPOINT, HC_BAD_VERIFIER_KEY, HC_BAD_NOTE_SIGNATURE,
                             HC_NO_KNOWN_SIGNATURE, HC_TOO_FEW_SIGNATURES, HC_TOO_FEW_COSIGNATURES,
                             HC_MALFORMED_RECEIPT, HC_RECEIPT_WRONG_LEDGER, HC_NOT_SEALED, HC_FOREIGN_CHECKPOINT,
                             HC_NO_CHECKPOINT, HC_TRUNCATED, HC_FORKED, HC_OTHER_LEDGER, HC_NOT_REACHED};
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++) {
        REQUIRE(strcmp(hc_status_str(codes[i]), "unknown status") != 0);
        for (size_t j = 0; j < i; j++) REQUIRE(codes[i] != codes[j]);
    }
    REQUIRE(strstr(hc_status_str(HC_TRUNCATED), "cut or rolled back") != NULL);
    REQUIRE(strstr(hc_status_str(HC_FORKED), "forked") != NULL);
}

/* Every inclusion proof of every sealed transaction at every size, and every consistency proof, checked
 * with nothing of the ledger; then every mutation of them refused. */
static void proofs(const book *b) {
    hc_ledger *ledger = b->ledger;
    const uint64_t size = b->tree_size;
    uint8_t path[HC_MAX_PROOF_BYTES], changed[HC_MAX_PROOF_BYTES + 64];
    uint8_t leaf[HC_MAX_TX_LEN];
    hc_hash roots[MAX_TXS + 1];
    size_t path_len = 0, leaf_len = 0;

    for (uint64_t n = 0; n <= size; n++) OK(hc_ledger_root_at(ledger, n, &roots[n]));
    hc_ledger_info info;
    OK(hc_ledger_get_info(ledger, &info));
    REQUIRE(memcmp(&roots[size], &info.tree_root, sizeof info.tree_root) == 0);
    hc_hash untouched;
    memset(&untouched, 0xA5, sizeof untouched);
    EXPECT(hc_ledger_root_at(ledger, size + 1, &untouched), HC_BAD_SIZES);
    REQUIRE(all_bytes(&untouched, sizeof untouched, 0xA5));

    /* Positions of the transactions the test made. */
    for (uint64_t i = 0; i < size; i++) {
        if (!b->known[i]) continue;
        uint64_t index = 0;
        OK(hc_ledger_position(ledger, &b->ids[i], &index));
        REQUIRE(index == i);
    }
    hc_tx_id stranger;
    memset(&stranger, 0x42, sizeof stranger);
    uint64_t index = 77;
    EXPECT(hc_ledger_position(ledger, &stranger, &index), HC_NOT_SEALED);
    REQUIRE(index == 77);

    /* Transaction bytes: the size query, too small, exact; beyond the tree. */
    EXPECT(hc_ledger_transaction_bytes(ledger, 3, NULL, 0, &leaf_len), HC_BUFFER_TOO_SMALL);
    REQUIRE(leaf_len > 64 && leaf_len <= HC_MAX_TX_LEN);
    size_t got = 0;
    memset(leaf, 0xA5, leaf_len);
    EXPECT(hc_ledger_transaction_bytes(ledger, 3, leaf, leaf_len - 1, &got), HC_BUFFER_TOO_SMALL);
    REQUIRE(got == leaf_len && all_bytes(leaf, leaf_len, 0xA5));
    EXPECT(hc_ledger_transaction_bytes(ledger, size, leaf, sizeof leaf, &got), HC_INDEX_BEYOND_SIZE);

    for (uint64_t n = 1; n <= size; n++) {
        for (uint64_t m = 0; m < n; m++) {
            OK(hc_ledger_transaction_bytes(ledger, m, leaf, sizeof leaf, &leaf_len));
            OK(hc_ledger_prove_inclusion(ledger, m, n, path, sizeof path, &path_len));
            REQUIRE(path_len % HC_HASH_LEN == 0 && path_len <= HC_MAX_PROOF_BYTES);
            REQUIRE((n == 1) == (path_len == 0));
            OK(hc_verify_inclusion(leaf, leaf_len, m, n, path, path_len, &roots[n]));

            /* Every element, one bit flipped per byte; the leaf changed; index and size moved; the path cut,
             * extended, or not whole hashes; another root. */
            for (size_t at = 0; at < path_len; at++) {
                memcpy(changed, path, path_len);
                changed[at] ^= (uint8_t)(1u << (at % 8));
                EXPECT(hc_verify_inclusion(leaf, leaf_len, m, n, changed, path_len, &roots[n]), HC_PROOF_MISMATCH);
            }
            leaf[leaf_len / 2] ^= 0x10;
            EXPECT(hc_verify_inclusion(leaf, leaf_len, m, n, path, path_len, &roots[n]), HC_PROOF_MISMATCH);
            leaf[leaf_len / 2] ^= 0x10;
            REFUSED(hc_verify_inclusion(leaf, leaf_len, m + 1, n, path, path_len, &roots[n]));
            if (m > 0) REFUSED(hc_verify_inclusion(leaf, leaf_len, m - 1, n, path, path_len, &roots[n]));
            /* Another size, checked against that size's root (against this one's, a path whose steps are the
             * same for both sizes would lead to it: the size is vouched for by the checkpoint with the root). */
            if (n + 1 <= size) REFUSED(hc_verify_inclusion(leaf, leaf_len, m, n + 1, path, path_len, &roots[n + 1]));
            if (2 * n <= size) REFUSED(hc_verify_inclusion(leaf, leaf_len, m, 2 * n, path, path_len, &roots[2 * n]));
            if (n > m + 1) REFUSED(hc_verify_inclusion(leaf, leaf_len, m, n - 1, path, path_len, &roots[n - 1]));
            if (path_len > 0) {
                EXPECT(hc_verify_inclusion(leaf, leaf_len, m, n, path, path_len - HC_HASH_LEN, &roots[n]),
                       HC_PROOF_WRONG_LENGTH);
                EXPECT(hc_verify_inclusion(leaf, leaf_len, m, n, NULL, 0, &roots[n]), HC_PROOF_WRONG_LENGTH);
                EXPECT(hc_verify_inclusion(leaf, leaf_len, m, n, path, path_len - 1, &roots[n]),
                       HC_INVALID_ARGUMENT);
                EXPECT(hc_verify_inclusion(leaf, leaf_len, m, n, path, path_len, &roots[n - 1]),
                       HC_PROOF_MISMATCH);
            }
            memcpy(changed, path, path_len);
            memset(changed + path_len, 0, HC_HASH_LEN);
            EXPECT(hc_verify_inclusion(leaf, leaf_len, m, n, changed, path_len + HC_HASH_LEN, &roots[n]),
                   HC_PROOF_WRONG_LENGTH);
            /* Leading garbage: a hash in front. */
            memset(changed, 0x5A, HC_HASH_LEN);
            memcpy(changed + HC_HASH_LEN, path, path_len);
            EXPECT(hc_verify_inclusion(leaf, leaf_len, m, n, changed, path_len + HC_HASH_LEN, &roots[n]),
                   HC_PROOF_WRONG_LENGTH);
        }
        for (uint64_t m = 1; m <= n; m++) {
            OK(hc_ledger_prove_consistency(ledger, m, n, path, sizeof path, &path_len));
            REQUIRE(path_len % HC_HASH_LEN == 0 && (m == n) == (path_len == 0));
            OK(hc_verify_consistency(m, n, path, path_len, &roots[m], &roots[n]));
            for (size_t at = 0; at < path_len; at++) {
                memcpy(changed, path, path_len);
                changed[at] ^= (uint8_t)(1u << (at % 8));
                REFUSED(hc_verify_consistency(m, n, changed, path_len, &roots[m], &roots[n]));
            }
            if (m < n) {
                EXPECT(hc_verify_consistency(m, n, path, path_len, &roots[n], &roots[m]), HC_PROOF_MISMATCH);
                EXPECT(hc_verify_consistency(m, n, path, path_len - HC_HASH_LEN, &roots[m], &roots[n]),
                       HC_PROOF_WRONG_LENGTH);
                EXPECT(hc_verify_consistency(m, n, path, path_len + 1, &roots[m], &roots[n]), HC_INVALID_ARGUMENT);
                /* Roots of other sizes than the ones claimed. */
                EXPECT(hc_verify_consistency(m, n, path, path_len, &roots[m + 1], &roots[n]), HC_PROOF_MISMATCH);
                EXPECT(hc_verify_consistency(m, n, path, path_len, &roots[m], &roots[n - 1]), HC_PROOF_MISMATCH);
                if (m > 1)
                    EXPECT(hc_verify_consistency(m, n, path, path_len, &roots[m - 1], &roots[n]), HC_PROOF_MISMATCH);
            }
            memcpy(changed, path, path_len);
            memset(changed + path_len, 0, HC_HASH_LEN);
            EXPECT(hc_verify_consistency(m, n, changed, path_len + HC_HASH_LEN, &roots[m], &roots[n]),
                   HC_PROOF_WRONG_LENGTH);
        }
    }

    /* Refusals of the ledger, with the size query and buffers. */
    EXPECT(hc_ledger_prove_inclusion(ledger, size, size, path, sizeof path, &path_len), HC_INDEX_BEYOND_SIZE);
    EXPECT(hc_ledger_prove_inclusion(ledger, 0, size + 1, path, sizeof path, &path_len), HC_BAD_SIZES);
    EXPECT(hc_ledger_prove_consistency(ledger, 0, size, path, sizeof path, &path_len), HC_BAD_SIZES);
    EXPECT(hc_ledger_prove_consistency(ledger, 3, 2, path, sizeof path, &path_len), HC_BAD_SIZES);
    EXPECT(hc_ledger_prove_consistency(ledger, 1, size + 1, path, sizeof path, &path_len), HC_BAD_SIZES);
    size_t needed = 0;
    EXPECT(hc_ledger_prove_inclusion(ledger, 2, size, NULL, 0, &needed), HC_BUFFER_TOO_SMALL);
    REQUIRE(needed >= HC_HASH_LEN);
    memset(path, 0xA5, sizeof path);
    EXPECT(hc_ledger_prove_inclusion(ledger, 2, size, path, needed - 1, &got), HC_BUFFER_TOO_SMALL);
    REQUIRE(got == needed && all_bytes(path, sizeof path, 0xA5));
    EXPECT(hc_ledger_prove_consistency(ledger, 3, size, NULL, 0, &needed), HC_BUFFER_TOO_SMALL);
    OK(hc_ledger_prove_inclusion(ledger, 0, 1, NULL, 0, &needed)); /* a tree of one leaf: an empty path */
    REQUIRE(needed == 0);
    OK(hc_ledger_prove_consistency(ledger, size, size, NULL, 0, &needed));
    REQUIRE(needed == 0);

    /* Stand-alone verification's own argument checks. */
    OK(hc_ledger_transaction_bytes(ledger, 0, leaf, sizeof leaf, &leaf_len));
    OK(hc_ledger_prove_inclusion(ledger, 0, size, path, sizeof path, &path_len));
    EXPECT(hc_verify_inclusion(leaf, leaf_len, 0, size, NULL, path_len, &roots[size]), HC_NULL_ARGUMENT);
    EXPECT(hc_verify_inclusion(NULL, leaf_len, 0, size, path, path_len, &roots[size]), HC_NULL_ARGUMENT);
    EXPECT(hc_verify_inclusion(leaf, leaf_len, 0, size, path, path_len, NULL), HC_NULL_ARGUMENT);
    EXPECT(hc_verify_inclusion(NULL, 0, 0, size, path, path_len, &roots[size]), HC_PROOF_MISMATCH); /* empty leaf */
    EXPECT(hc_verify_inclusion(leaf, leaf_len, size, size, path, path_len, &roots[size]), HC_INDEX_BEYOND_SIZE);
    EXPECT(hc_verify_inclusion(leaf, leaf_len, 0, 0, NULL, 0, &roots[0]), HC_INDEX_BEYOND_SIZE);
    EXPECT(hc_verify_inclusion(leaf, leaf_len, 0, size, changed, HC_MAX_PROOF_BYTES + HC_HASH_LEN, &roots[size]),
           HC_TOO_LONG);
    EXPECT(hc_verify_consistency(0, size, NULL, 0, &roots[0], &roots[size]), HC_BAD_SIZES);
    EXPECT(hc_verify_consistency(size, 1, NULL, 0, &roots[size], &roots[1]), HC_BAD_SIZES);
    EXPECT(hc_verify_consistency(1, size, path, path_len, NULL, &roots[size]), HC_NULL_ARGUMENT);
    EXPECT(hc_verify_consistency(1, size, NULL, HC_HASH_LEN, &roots[1], &roots[size]), HC_NULL_ARGUMENT);
}

/* Verifier keys, signing, publishing, carrying, cosigning and verifying notes. Returns the cosigned note. */
static char *checkpoints(book *b, hc_key *authority, hc_key *witness, hc_key *stranger, const char *avk,
                         const char *wvk) {
    hc_ledger *ledger = b->ledger;
    hc_public_key bad_key;
    memset(&bad_key, 0xFF, sizeof bad_key);
    char buf[HC_MAX_VERIFIER_KEY_LEN + 1];
    size_t got = 0;
    EXPECT(hc_authority_verifier_key(&b->chain, &bad_key, buf, sizeof buf, &got), HC_INVALID_KEY);
    hc_public_key witness_public;
    OK(hc_key_public(witness, &witness_public));
    EXPECT(hc_witness_verifier_key("two words", &witness_public, buf, sizeof buf, &got), HC_INVALID_ARGUMENT);
    EXPECT(hc_witness_verifier_key("a+b", &witness_public, buf, sizeof buf, &got), HC_INVALID_ARGUMENT);
    EXPECT(hc_witness_verifier_key("", &witness_public, buf, sizeof buf, &got), HC_INVALID_ARGUMENT);
    EXPECT(hc_witness_verifier_key("caf\xC3", &witness_public, buf, sizeof buf, &got), HC_INVALID_UTF8);
    EXPECT(hc_witness_verifier_key(WITNESS, &witness_public, buf, 10, &got), HC_BUFFER_TOO_SMALL);
    REQUIRE(got == strlen(wvk) + 1);

    /* Signing: only active authorities, at least the threshold. */
    const hc_key *strangers[] = {stranger};
    char note_buf[HC_MAX_NOTE_LEN + 1];
    EXPECT(hc_ledger_sign_checkpoint(ledger, strangers, 1, note_buf, sizeof note_buf, &got), HC_UNKNOWN_KEY);
    EXPECT(hc_ledger_sign_checkpoint(ledger, NULL, 0, note_buf, sizeof note_buf, &got), HC_NOT_ENOUGH_SEALERS);
    const hc_key *keys[] = {authority};
    OK(hc_ledger_sign_checkpoint(ledger, keys, 1, note_buf, sizeof note_buf, &got));
    uint64_t carried = 9;
    OK(hc_ledger_carried_count(ledger, &carried));
    REQUIRE(carried == 0); /* signing alone carries nothing */

    char *note = published(ledger, authority);
    REQUIRE(strcmp(note, note_buf) == 0); /* the same note: deterministic signatures */
    OK(hc_ledger_carried_count(ledger, &carried));
    REQUIRE(carried == 1);

    /* Verified against the authorities' policy: it vouches for the ledger's tree. */
    const char *authorities[] = {avk};
    const char *witnesses[] = {wvk};
    hc_checkpoint_policy policy = {authorities, 1, 1, NULL, 0, 0};
    hc_checkpoint_policy witnessed = {authorities, 1, 1, witnesses, 1, 1};
    hc_checkpoint_info cp, untouched;
    OK(hc_checkpoint_verify(note, &policy, &cp));
    hc_ledger_info info;
    OK(hc_ledger_get_info(ledger, &info));
    REQUIRE(cp.size == info.tree_size && memcmp(&cp.root, &info.tree_root, sizeof cp.root) == 0);
    REQUIRE(memcmp(&cp.chain, &b->chain, sizeof cp.chain) == 0);
    REQUIRE(cp.authorities == 1 && cp.cosignatures == 0 && cp.newest_cosignature == 0);
    memset(&untouched, 0xA5, sizeof untouched);
    EXPECT(hc_checkpoint_verify(note, &witnessed, &untouched), HC_TOO_FEW_COSIGNATURES);
    REQUIRE(all_bytes(&untouched, sizeof untouched, 0xA5));

    /* Cosigned by the witness: accepted by the policy that wants its cosignature. */
    size_t needed = 0;
    EXPECT(hc_checkpoint_cosign(note, WITNESS, witness, COSIGNED_AT, NULL, 0, &needed), HC_BUFFER_TOO_SMALL);
    REQUIRE(needed > strlen(note) + 1);
    char *cosigned = malloc(needed);
    REQUIRE(cosigned != NULL);
    OK(hc_checkpoint_cosign(note, WITNESS, witness, COSIGNED_AT, cosigned, needed, &got));
    REQUIRE(got == needed && strncmp(cosigned, note, strlen(note)) == 0);
    OK(hc_checkpoint_verify(cosigned, &witnessed, &cp));
    REQUIRE(cp.authorities == 1 && cp.cosignatures == 1 && cp.newest_cosignature == COSIGNED_AT);
    OK(hc_checkpoint_verify(cosigned, &policy, &cp)); /* a cosignature the policy does not ask for is ignored */
    REQUIRE(cp.cosignatures == 0);
    EXPECT(hc_checkpoint_cosign(note, WITNESS, witness, (uint64_t)HC_MAX_COSIGNATURE_TIME + 1, buf, sizeof buf, &got),
           HC_INVALID_ARGUMENT);
    EXPECT(hc_checkpoint_cosign(note, "no spaces please", witness, COSIGNED_AT, buf, sizeof buf, &got),
           HC_INVALID_ARGUMENT);
    EXPECT(hc_checkpoint_cosign("not a note", WITNESS, witness, COSIGNED_AT, buf, sizeof buf, &got),
           HC_MALFORMED_NOTE);
    /* A cosignature by another key under the witness's name does not verify: the note is refused. */
    char *forged = malloc(needed);
    REQUIRE(forged != NULL);
    OK(hc_checkpoint_cosign(note, WITNESS, stranger, COSIGNED_AT, forged, needed, &got));
    EXPECT(hc_checkpoint_verify(forged, &witnessed, &cp), HC_TOO_FEW_COSIGNATURES); /* another key id: unknown */
    free(forged);

    /* Policies: wrong key types, bad keys, thresholds out of range, NULL arrays, too many keys. */
    hc_checkpoint_policy bad = policy;
    bad.authorities = witnesses; /* a witness's key (0x04) as an authority's */
    EXPECT(hc_checkpoint_verify(note, &bad, &cp), HC_BAD_VERIFIER_KEY);
    bad = witnessed;
    bad.witnesses = authorities;
    EXPECT(hc_checkpoint_verify(cosigned, &bad, &cp), HC_BAD_VERIFIER_KEY);
    const char *garbage[] = {"healthchain/00+00000000+AAAA"};
    bad = policy;
    bad.authorities = garbage;
    EXPECT(hc_checkpoint_verify(note, &bad, &cp), HC_BAD_VERIFIER_KEY);
    bad = policy;
    bad.authority_threshold = 2;
    EXPECT(hc_checkpoint_verify(note, &bad, &cp), HC_INVALID_ARGUMENT);
    bad.authority_threshold = 0;
    EXPECT(hc_checkpoint_verify(note, &bad, &cp), HC_INVALID_ARGUMENT);
    bad = witnessed;
    bad.witness_threshold = 2;
    EXPECT(hc_checkpoint_verify(cosigned, &bad, &cp), HC_INVALID_ARGUMENT);
    bad = policy;
    bad.authorities = NULL;
    EXPECT(hc_checkpoint_verify(note, &bad, &cp), HC_NULL_ARGUMENT);
    REQUIRE(strstr(hc_last_error_message(), "policy.authorities") != NULL);
    const char *with_null[] = {avk, NULL};
    bad.authorities = with_null;
    bad.authority_count = 2;
    EXPECT(hc_checkpoint_verify(note, &bad, &cp), HC_NULL_ARGUMENT);
    bad.authorities = authorities;
    bad.authority_count = HC_MAX_POLICY_KEYS + 1;
    EXPECT(hc_checkpoint_verify(note, &bad, &cp), HC_TOO_LONG);
    bad = policy;
    bad.authorities = NULL;
    bad.authority_count = 0;
    EXPECT(hc_checkpoint_verify(note, &bad, &cp), HC_INVALID_ARGUMENT); /* no authority at all */

    /* The wrong keys, a changed note, malformed notes. */
    hc_public_key stranger_public;
    OK(hc_key_public(stranger, &stranger_public));
    char stranger_vkey[HC_MAX_VERIFIER_KEY_LEN + 1];
    OK(hc_authority_verifier_key(&b->chain, &stranger_public, stranger_vkey, sizeof stranger_vkey, &got));
    const char *stranger_keys[] = {stranger_vkey};
    hc_checkpoint_policy strangers_policy = {stranger_keys, 1, 1, NULL, 0, 0};
    EXPECT(hc_checkpoint_verify(note, &strangers_policy, &cp), HC_NO_KNOWN_SIGNATURE);
    const char *both[] = {avk, stranger_vkey};
    hc_checkpoint_policy two = {both, 2, 2, NULL, 0, 0};
    EXPECT(hc_checkpoint_verify(note, &two, &cp), HC_TOO_FEW_SIGNATURES);
    char *changed = malloc(strlen(note) + 1);
    REQUIRE(changed != NULL);
    strcpy(changed, note);
    char *size_line = strchr(changed, '\n') + 1; /* the tree size: one more */
    size_line[0] = size_line[0] == '9' ? '8' : (char)(size_line[0] + 1);
    EXPECT(hc_checkpoint_verify(changed, &policy, &cp), HC_BAD_NOTE_SIGNATURE);
    free(changed);
    EXPECT(hc_checkpoint_verify("", &policy, &cp), HC_MALFORMED_NOTE);
    EXPECT(hc_checkpoint_verify("hello\n", &policy, &cp), HC_MALFORMED_NOTE);
    EXPECT(hc_checkpoint_verify("bad \xFF utf-8\n\n", &policy, &cp), HC_INVALID_UTF8);
    EXPECT(hc_checkpoint_verify("not a checkpoint\n\n\xE2\x80\x94 x "
                                "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n",
                                &policy, &cp),
           HC_MALFORMED_CHECKPOINT);
    char *huge = malloc(HC_MAX_NOTE_LEN + 2);
    REQUIRE(huge != NULL);
    memset(huge, 'n', HC_MAX_NOTE_LEN + 2); /* unterminated: at most HC_MAX_NOTE_LEN + 1 bytes are read */
    EXPECT(hc_checkpoint_verify(huge, &policy, &cp), HC_TOO_LONG);
    EXPECT(hc_ledger_carry_checkpoint(ledger, huge), HC_TOO_LONG);
    free(huge);

    /* Carrying: the cosigned note replaces the one of its size; malformed or unsigned notes are refused. */
    OK(hc_ledger_carry_checkpoint(ledger, cosigned));
    OK(hc_ledger_carried_count(ledger, &carried));
    REQUIRE(carried == 1);
    EXPECT(hc_ledger_carried_checkpoint(ledger, 0, NULL, 0, &needed), HC_BUFFER_TOO_SMALL);
    REQUIRE(needed == strlen(cosigned) + 1);
    OK(hc_ledger_carried_checkpoint(ledger, 0, note_buf, sizeof note_buf, &got));
    REQUIRE(strcmp(note_buf, cosigned) == 0);
    EXPECT(hc_ledger_carried_checkpoint(ledger, 1, note_buf, sizeof note_buf, &got), HC_NO_CHECKPOINT);
    EXPECT(hc_ledger_carried_checkpoint(ledger, UINT64_MAX, note_buf, sizeof note_buf, &got), HC_NO_CHECKPOINT);
    EXPECT(hc_ledger_carry_checkpoint(ledger, "garbage"), HC_MALFORMED_NOTE);
    OK(hc_checkpoint_cosign(note, WITNESS, witness, COSIGNED_AT + 1, note_buf, sizeof note_buf, &got));
    OK(hc_ledger_carry_checkpoint(ledger, note_buf)); /* cosigned again later: replaces it */
    OK(hc_ledger_carry_checkpoint(ledger, cosigned)); /* and back */

    free(note);
    return cosigned;
}

/* Receipts for every tracked transaction, verified offline; every changed byte refused. */
static void receipts(const book *b, const char *cosigned, const char *avk, const char *wvk) {
    hc_ledger *ledger = b->ledger;
    const char *authorities[] = {avk};
    const char *witnesses[] = {wvk};
    hc_checkpoint_policy policy = {authorities, 1, 1, NULL, 0, 0};
    hc_checkpoint_policy witnessed = {authorities, 1, 1, witnesses, 1, 1};
    hc_checkpoint_info cp;
    OK(hc_checkpoint_verify(cosigned, &witnessed, &cp));
    char *receipt = malloc(HC_MAX_RECEIPT_LEN + 1);
    REQUIRE(receipt != NULL);
    size_t got = 0, needed = 0;
    int made = 0;
    for (uint64_t i = 0; i < b->tree_size; i++) {
        if (!b->known[i]) continue;
        if (i >= cp.size) {
            EXPECT(hc_ledger_receipt(ledger, &b->ids[i], receipt, HC_MAX_RECEIPT_LEN + 1, &got), HC_NO_CHECKPOINT);
            EXPECT(hc_ledger_receipt_at(ledger, &b->ids[i], cosigned, receipt, HC_MAX_RECEIPT_LEN + 1, &got),
                   HC_INDEX_BEYOND_SIZE);
            continue;
        }
        EXPECT(hc_ledger_receipt(ledger, &b->ids[i], NULL, 0, &needed), HC_BUFFER_TOO_SMALL);
        OK(hc_ledger_receipt(ledger, &b->ids[i], receipt, HC_MAX_RECEIPT_LEN + 1, &got));
        REQUIRE(got == needed && strlen(receipt) + 1 == got);
        REQUIRE(strncmp(receipt, "healthchain-receipt v1\n", 23) == 0);
        hc_receipt_info r;
        OK(hc_receipt_verify(receipt, &witnessed, &r));
        REQUIRE(r.index == i && memcmp(&r.tx, &b->ids[i], sizeof r.tx) == 0);
        REQUIRE(r.checkpoint.size == cp.size && memcmp(&r.checkpoint.root, &cp.root, sizeof cp.root) == 0);
        REQUIRE(memcmp(&r.checkpoint.chain, &b->chain, sizeof b->chain) == 0);
        REQUIRE(r.checkpoint.cosignatures == 1 && r.checkpoint.newest_cosignature == COSIGNED_AT);
        REQUIRE(r.time >= T0);
        made++;
    }
    REQUIRE(made >= 5);

    /* The receipt of leaf 3: against the note as given; and every single changed byte refused. */
    OK(hc_ledger_receipt_at(ledger, &b->ids[3], cosigned, receipt, HC_MAX_RECEIPT_LEN + 1, &got));
    hc_receipt_info r, untouched;
    OK(hc_receipt_verify(receipt, &witnessed, &r));
    REQUIRE(r.index == 3);
    size_t len = strlen(receipt);
    for (size_t at = 0; at < len; at++) {
        receipt[at] ^= 0x01;
        REFUSED(hc_receipt_verify(receipt, &witnessed, &r));
        receipt[at] ^= 0x01;
    }
    OK(hc_receipt_verify(receipt, &witnessed, &r));

    /* Malformed and cut receipts; the witness the policy wants missing; NULL arguments; outputs untouched. */
    memset(&untouched, 0xA5, sizeof untouched);
    EXPECT(hc_receipt_verify("hello", &policy, &untouched), HC_MALFORMED_RECEIPT);
    EXPECT(hc_receipt_verify("healthchain-receipt v2\nindex 0\n\n", &policy, &untouched), HC_MALFORMED_RECEIPT);
    char *cut = malloc(len + 1);
    REQUIRE(cut != NULL);
    memcpy(cut, receipt, len / 3);
    cut[len / 3] = '\0';
    EXPECT(hc_receipt_verify(cut, &policy, &untouched), HC_MALFORMED_RECEIPT);
    free(cut);
    char *index_line = strstr(receipt, "index 3\n");
    REQUIRE(index_line != NULL);
    index_line[6] = '2'; /* another leaf index: the proof no longer leads to the root */
    REFUSED(hc_receipt_verify(receipt, &policy, &untouched));
    index_line[6] = '3';
    REQUIRE(all_bytes(&untouched, sizeof untouched, 0xA5));
    OK(hc_receipt_verify(receipt, &policy, &r)); /* the authorities alone, without asking for the witness */
    EXPECT(hc_receipt_verify(receipt, NULL, &r), HC_NULL_ARGUMENT);
    EXPECT(hc_receipt_verify(NULL, &policy, &r), HC_NULL_ARGUMENT);
    EXPECT(hc_receipt_verify(receipt, &policy, NULL), HC_NULL_ARGUMENT);

    /* Receipts the ledger cannot give. */
    hc_tx_id stranger;
    memset(&stranger, 0x42, sizeof stranger);
    EXPECT(hc_ledger_receipt(ledger, &stranger, receipt, HC_MAX_RECEIPT_LEN + 1, &got), HC_NOT_SEALED);
    EXPECT(hc_ledger_receipt_at(ledger, &b->ids[3], "garbage", receipt, HC_MAX_RECEIPT_LEN + 1, &got),
           HC_MALFORMED_NOTE);
    char small[8];
    memset(small, 0xA5, sizeof small);
    EXPECT(hc_ledger_receipt(ledger, &b->ids[3], small, sizeof small, &got), HC_BUFFER_TOO_SMALL);
    REQUIRE(got > sizeof small && all_bytes(small, sizeof small, 0xA5));
    char *unterminated = malloc(HC_MAX_RECEIPT_LEN + 1);
    REQUIRE(unterminated != NULL);
    memset(unterminated, 'r', HC_MAX_RECEIPT_LEN + 1);
    EXPECT(hc_receipt_verify(unterminated, &policy, &r), HC_TOO_LONG);
    free(unterminated);
    free(receipt);
}

/* A ledger in memory: no receipt before a checkpoint, then one; a note of another ledger is foreign. */
static void memory_ledger(hc_key *authority, const char *other_note, const hc_tx_id *other_id) {
    const hc_key *keys[] = {authority};
    hc_settings settings = {"proofs-memory", 1, 1, HC_DEFAULT_CLOCK_SKEW_MS};
    hc_ledger *ledger = NULL;
    OK(hc_ledger_create_memory(&settings, keys, 1, T0, &ledger));
    hc_key *patient_key = NULL;
    OK(hc_key_generate(&patient_key));
    hc_actor_id patient;
    OK(hc_ledger_register(ledger, authority, patient_key, HC_ROLE_PATIENT, &patient));
    hc_hash version;
    hc_secret salt;
    memset(&salt, 1, sizeof salt);
    OK(hc_commitment(&salt, (const uint8_t *)"v1", 2, &version));
    hc_tx_id id;
    OK(hc_ledger_anchor_record(ledger, authority, &patient, "labs", "TREAT", &version, &id));
    char receipt[4096];
    size_t got = 0;
    EXPECT(hc_ledger_receipt(ledger, &id, receipt, sizeof receipt, &got), HC_NOT_SEALED);
    hc_block_info block;
    OK(hc_ledger_seal(ledger, keys, 1, &block));
    EXPECT(hc_ledger_receipt(ledger, &id, receipt, sizeof receipt, &got), HC_NO_CHECKPOINT);
    EXPECT(hc_ledger_receipt(ledger, other_id, receipt, sizeof receipt, &got), HC_NOT_SEALED);
    EXPECT(hc_ledger_receipt_at(ledger, &id, other_note, receipt, sizeof receipt, &got), HC_FOREIGN_CHECKPOINT);
    EXPECT(hc_ledger_carry_checkpoint(ledger, other_note), HC_NO_KNOWN_SIGNATURE);
    char *note = published(ledger, authority);
    OK(hc_ledger_receipt(ledger, &id, receipt, sizeof receipt, &got));
    hc_ledger_info info;
    OK(hc_ledger_get_info(ledger, &info));
    char avk[HC_MAX_VERIFIER_KEY_LEN + 1];
    hc_public_key public_key;
    OK(hc_key_public(authority, &public_key));
    OK(hc_authority_verifier_key(&info.chain, &public_key, avk, sizeof avk, &got));
    const char *authorities[] = {avk};
    hc_checkpoint_policy policy = {authorities, 1, 1, NULL, 0, 0};
    hc_receipt_info r;
    OK(hc_receipt_verify(receipt, &policy, &r));
    REQUIRE(r.index == 2 && memcmp(&r.tx, &id, sizeof id) == 0);
    hc_standing standing;
    OK(hc_ledger_standing(ledger, note, &policy, &standing));
    REQUIRE(standing.status == HC_OK && standing.checkpoint_size == 3 && standing.ledger_size == 3);
    free(note);
    hc_ledger_close(ledger);
    hc_key_free(patient_key);
}

/* The checkpoint's holder catches a cut, forked or swapped file; a file that carries it refuses to open. */
static void standing(const char *dir, book *a, hc_key *authority, hc_key *patient_key, const char *note,
                     const char *avk, const char *path) {
    const char *authorities[] = {avk};
    hc_checkpoint_policy policy = {authorities, 1, 1, NULL, 0, 0};
    hc_checkpoint_info cp;
    OK(hc_checkpoint_verify(note, &policy, &cp));
    const uint64_t checkpoint_size = cp.size;
    REQUIRE(checkpoint_size < a->tree_size); /* the ledger grew since */

    /* The ledger as it is: it keeps the checkpoint, open and on file. */
    hc_standing s;
    OK(hc_ledger_standing(a->ledger, note, &policy, &s));
    REQUIRE(s.status == HC_OK && s.checkpoint_size == checkpoint_size && s.ledger_size == a->tree_size);
    REQUIRE(memcmp(&s.ledger_root, &s.checkpoint_root, sizeof s.ledger_root) == 0);
    REQUIRE(memcmp(&s.checkpoint_root, &cp.root, sizeof cp.root) == 0 && s.fork_height == 0);
    hc_ledger_close(a->ledger);
    a->ledger = NULL;
    hc_verify_against_report report;
    OK(hc_verify_file_against(path, note, &policy, &report));
    REQUIRE(report.report.valid == 1 && report.report.failure_code == HC_OK);
    REQUIRE(report.standing.status == HC_OK && report.standing.ledger_size == a->tree_size);
    hc_ledger *ledger = NULL;
    OK(hc_ledger_open_file(path, HC_OPEN_VERIFY_SIGNATURES, T0 + DAY, &ledger));
    hc_ledger_close(ledger);
    ledger = NULL;

    char *checkpoints_file = with_suffix(path, ".checkpoints");
    char *cut = path_in(dir, "cut.ledger");
    char *cut_checkpoints = with_suffix(cut, ".checkpoints");

    /* Cut to every whole number of blocks below the checkpoint: a valid chain, but truncated. */
    uint64_t tried = 0;
    for (uint64_t blocks = 1; blocks < a->blocks; blocks++) {
        if (a->tree_at[blocks - 1] >= checkpoint_size) break;
        copy_prefix(path, cut, a->file_size[blocks - 1]);
        remove(cut_checkpoints);
        hc_verify_report plain;
        OK(hc_verify_file(cut, &plain));
        REQUIRE(plain.valid == 1 && plain.blocks == blocks); /* nothing wrong with the chain itself */
        OK(hc_verify_file_against(cut, note, &policy, &report));
        REQUIRE(report.report.valid == 1 && report.report.blocks == blocks);
        REQUIRE(report.standing.status == HC_TRUNCATED);
        REQUIRE(report.standing.checkpoint_size == checkpoint_size);
        REQUIRE(report.standing.ledger_size == a->tree_at[blocks - 1]);
        REQUIRE(is_zero(&report.standing.ledger_root, sizeof report.standing.ledger_root));
        /* Opened without its carried checkpoints, it is a ledger that knows nothing of them... */
        OK(hc_ledger_open_file(cut, HC_OPEN_READ_ONLY, T0 + DAY, &ledger));
        OK(hc_ledger_standing(ledger, note, &policy, &s));
        REQUIRE(s.status == HC_TRUNCATED && s.ledger_size == a->tree_at[blocks - 1]);
        hc_ledger_close(ledger);
        ledger = NULL;
        /* ...with them, it refuses to open, for writing or reading. */
        copy_file(checkpoints_file, cut_checkpoints);
        EXPECT(hc_ledger_open_file(cut, 0, T0 + DAY, &ledger), HC_TRUNCATED);
        REQUIRE(ledger == NULL);
        REQUIRE(strstr(hc_last_error_message(), "cut or rolled back") != NULL);
        EXPECT(hc_ledger_open_file(cut, HC_OPEN_READ_ONLY | HC_OPEN_STRICT, T0 + DAY, &ledger), HC_TRUNCATED);
        tried++;
    }
    REQUIRE(tried >= 2);

    /* A damaged carried-checkpoints file: the ledger does not open. */
    copy_file(path, cut);
    write_file(cut_checkpoints, "healthchain-checkpoints v1\nnonsense\n", 36);
    EXPECT(hc_ledger_open_file(cut, 0, T0 + DAY, &ledger), HC_CARRIED_CHECKPOINTS_DAMAGED);
    remove(cut_checkpoints);

    /* Forked: the same first two blocks, then another history past the checkpoint's size. */
    char *fork = path_in(dir, "fork.ledger");
    char *fork_checkpoints = with_suffix(fork, ".checkpoints");
    remove(fork_checkpoints);
    copy_prefix(path, fork, a->file_size[1]);
    book f;
    memset(&f, 0, sizeof f);
    OK(hc_ledger_open_file(fork, 0, T0 + DAY, &f.ledger));
    f.patient = a->patient;
    f.tree_size = a->tree_at[1];
    f.blocks = 2;
    while (f.tree_size <= checkpoint_size) anchor_block(&f, authority, 2, "fork");
    hc_hash fork_root;
    OK(hc_ledger_root_at(f.ledger, checkpoint_size, &fork_root));
    REQUIRE(memcmp(&fork_root, &cp.root, sizeof fork_root) != 0);
    OK(hc_ledger_standing(f.ledger, note, &policy, &s));
    REQUIRE(s.status == HC_FORKED && memcmp(&s.ledger_root, &fork_root, sizeof fork_root) == 0);
    REQUIRE(s.fork_height >= 2 && !is_zero(&s.fork_block_hash, sizeof s.fork_block_hash));
    hc_ledger_close(f.ledger);
    OK(hc_verify_file_against(fork, note, &policy, &report));
    REQUIRE(report.report.valid == 1); /* a valid chain, sealed by the right authority */
    REQUIRE(report.standing.status == HC_FORKED);
    REQUIRE(report.standing.checkpoint_size == checkpoint_size);
    REQUIRE(memcmp(&report.standing.checkpoint_root, &cp.root, sizeof cp.root) == 0);
    REQUIRE(memcmp(&report.standing.ledger_root, &fork_root, sizeof fork_root) == 0);
    REQUIRE(report.standing.fork_height == s.fork_height);
    REQUIRE(memcmp(&report.standing.fork_block_hash, &s.fork_block_hash, sizeof s.fork_block_hash) == 0);
    copy_file(checkpoints_file, fork_checkpoints);
    EXPECT(hc_ledger_open_file(fork, 0, T0 + DAY, &ledger), HC_FORKED);
    REQUIRE(strstr(hc_last_error_message(), "forked") != NULL);

    /* Another ledger altogether; the checkpoint's holder sees it is not the ledger it vouches for. */
    char *other = path_in(dir, "other.ledger");
    char *other_checkpoints = with_suffix(other, ".checkpoints");
    remove(other_checkpoints);
    book o;
    const int sizes[] = {3};
    make_book(&o, other, authority, patient_key, "proofs-other", sizes, 1);
    OK(hc_ledger_standing(o.ledger, note, &policy, &s));
    REQUIRE(s.status == HC_OTHER_LEDGER && s.ledger_size == o.tree_size);
    hc_ledger_close(o.ledger);
    OK(hc_verify_file_against(other, note, &policy, &report));
    REQUIRE(report.report.valid == 1 && report.standing.status == HC_OTHER_LEDGER);
    /* A file whose carried checkpoints are another ledger's does not open either. */
    copy_file(checkpoints_file, other_checkpoints);
    EXPECT(hc_ledger_open_file(other, 0, T0 + DAY, &ledger), HC_OTHER_LEDGER);

    /* Not reached: the first block of ours, then the other ledger's block 1 in its place (a frame whose
     * checksums hold, but whose block does not follow ours): verification fails before the checkpoint. */
    copy_prefix(path, cut, a->file_size[0]);
    append_range(other, o.file_size[0], o.file_size[1], cut);
    OK(hc_verify_file_against(cut, note, &policy, &report));
    REQUIRE(report.report.valid == 0 && report.report.failure_height == 1);
    REQUIRE(report.standing.status == HC_NOT_REACHED && report.standing.ledger_size == 1);
    REQUIRE(report.standing.checkpoint_size == checkpoint_size);

    /* A torn tail after the checkpoint: not valid as it is, but the blocks keep the checkpoint. */
    copy_prefix(path, cut, a->file_size[a->blocks - 1] - 10);
    OK(hc_verify_file_against(cut, note, &policy, &report));
    REQUIRE(report.report.valid == 0 && report.report.failure_code == HC_TORN_TAIL);
    REQUIRE(report.standing.status == HC_OK || report.standing.status == HC_TRUNCATED);

    /* Refusals of the call itself. */
    EXPECT(hc_verify_file_against(path, "garbage", &policy, &report), HC_MALFORMED_NOTE);
    char *missing = path_in(dir, "missing.ledger");
    remove(missing);
    EXPECT(hc_verify_file_against(missing, note, &policy, &report), HC_NOT_FOUND);
    hc_checkpoint_policy wrong = policy;
    wrong.authority_threshold = 5;
    EXPECT(hc_verify_file_against(path, note, &wrong, &report), HC_INVALID_ARGUMENT);
    EXPECT(hc_verify_file_against(path, note, NULL, &report), HC_NULL_ARGUMENT);
    EXPECT(hc_verify_file_against(path, NULL, &policy, &report), HC_NULL_ARGUMENT);

    /* A read-only ledger publishes and carries nothing. */
    OK(hc_ledger_open_file(path, HC_OPEN_READ_ONLY, T0 + DAY, &ledger));
    const hc_key *keys[] = {authority};
    char buf[HC_MAX_NOTE_LEN + 1];
    size_t got = 0;
    EXPECT(hc_ledger_publish_checkpoint(ledger, keys, 1, buf, sizeof buf, &got), HC_READ_ONLY);
    EXPECT(hc_ledger_carry_checkpoint(ledger, note), HC_READ_ONLY);
    OK(hc_ledger_sign_checkpoint(ledger, keys, 1, buf, sizeof buf, &got)); /* signing writes nothing */
    uint64_t carried = 0;
    OK(hc_ledger_carried_count(ledger, &carried));
    REQUIRE(carried == 1);
    hc_ledger_close(ledger);

    free(missing);
    free(other_checkpoints);
    free(other);
    free(fork_checkpoints);
    free(fork);
    free(cut_checkpoints);
    free(cut);
    free(checkpoints_file);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: proofs SCRATCH_DIR\n");
        return 2;
    }
    const char *dir = argv[1];
    hc_secret seed;
    hc_key *authority = NULL, *patient_key = NULL, *witness = NULL, *stranger = NULL;
    memset(&seed, 1, sizeof seed);
    OK(hc_key_from_seed(&seed, &authority));
    memset(&seed, 2, sizeof seed);
    OK(hc_key_from_seed(&seed, &patient_key));
    memset(&seed, 9, sizeof seed);
    OK(hc_key_from_seed(&seed, &witness));
    OK(hc_key_generate(&stranger));

    status_texts();

    /* The ledger: 4 + 3 + 3 + 2 transactions in four blocks after genesis; a checkpoint at 10. */
    char *path = path_in(dir, "proofs.ledger");
    char *path_checkpoints = with_suffix(path, ".checkpoints");
    remove(path_checkpoints);
    book a;
    const int sizes[] = {3, 3};
    make_book(&a, path, authority, patient_key, "proofs", sizes, 2);
    REQUIRE(a.tree_size == 10 && a.blocks == 4);
    proofs(&a);

    char *avk = authority_vkey(&a.chain, authority);
    char *wvk = witness_vkey(WITNESS, witness);
    char *cosigned = checkpoints(&a, authority, witness, stranger, avk, wvk);
    anchor_block(&a, authority, 2, "after"); /* grown since the checkpoint */
    REQUIRE(a.tree_size == 12);
    proofs(&a);
    receipts(&a, cosigned, avk, wvk);
    memory_ledger(authority, cosigned, &a.ids[3]);
    standing(dir, &a, authority, patient_key, cosigned, avk, path);

    free(cosigned);
    free(wvk);
    free(avk);
    free(path_checkpoints);
    free(path);
    hc_key_free(stranger);
    hc_key_free(witness);
    hc_key_free(patient_key);
    hc_key_free(authority);
    printf("proofs: all checks passed (%d checks)\n", checks);
    return 0;
}
