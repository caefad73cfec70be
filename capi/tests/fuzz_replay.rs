//! Replays every input the `c_api` fuzz target keeps (`fuzz/seeds/c_api/`, `fuzz/corpus/c_api/` and
//! `fuzz/regressions/c_api/`) through the harness function the cargo-fuzz target calls
//! (`fuzz/harness/c_api.rs`), on the stable toolchain, in every `cargo test`.

#[path = "../../fuzz/harness/c_api.rs"]
mod c_api;
#[path = "../../fuzz/harness/replay.rs"]
mod replay;

#[test]
fn c_api_inputs() {
    let fuzz_dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz");
    assert!(replay::replay_kept(&fuzz_dir, "c_api", c_api::run) >= 3);
}
