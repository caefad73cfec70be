//! The C ABI from C and C++: the examples and the C tests under `tests/c/` are compiled with
//! `-Wall -Wextra -Wpedantic -Werror` against the static and the shared library this `cargo test` built,
//! and run. A generated test passes NULL for every pointer argument of every function in the header.
//!
//! `HEALTHCHAIN_C_MODE` picks how the programs run: unset or `plain`; `valgrind` (memcheck, leaks are
//! errors); `sanitize` (AddressSanitizer + UndefinedBehaviorSanitizer; a canary proves they are linked).
//! `.ci/run` runs all three.

use healthchain::Store;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

const C_FLAGS: &[&str] = &["-std=c11", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-g"];
const CXX_FLAGS: &[&str] = &["-std=c++17", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-g"];
const SANITIZE_FLAGS: &[&str] =
    &["-fsanitize=address,undefined", "-fno-omit-frame-pointer", "-fno-sanitize-recover=all"];
const STATIC_LIBS: &[&str] = &["-lpthread", "-ldl", "-lm"];
/// Valgrind's exit status when it found an error (a leak counts as one).
const VALGRIND_ERROR: i32 = 99;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Mode {
    Plain,
    Valgrind,
    Sanitize,
}

fn mode() -> Mode {
    match std::env::var("HEALTHCHAIN_C_MODE").as_deref() {
        Err(_) | Ok("") | Ok("plain") => Mode::Plain,
        Ok("valgrind") => Mode::Valgrind,
        Ok("sanitize") => Mode::Sanitize,
        Ok(other) => panic!("HEALTHCHAIN_C_MODE={other}: expected plain, valgrind or sanitize"),
    }
}

#[derive(Clone, Copy, Debug)]
enum Link {
    Static,
    Shared,
}

/// The workspace's root: `include/`, `examples/`, README.md.
fn root() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

/// This crate's folder: `tests/c/`.
fn crate_dir() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// This mode's scratch directory under `target/<profile>/c-tests/`.
fn mode_dir() -> PathBuf {
    let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
    deps.parent().unwrap().join("c-tests").join(format!("{:?}", mode()).to_lowercase())
}

/// The libraries this very `cargo test` built (`target/<profile>/deps/libhealthchain_capi.{a,so}`), laid
/// out as installed: `libhealthchain.a`, `libhealthchain.so.0` (the shared library's SONAME) and the
/// `libhealthchain.so` link that `-lhealthchain` finds.
fn lib_dir() -> PathBuf {
    static STAGED: OnceLock<PathBuf> = OnceLock::new();
    STAGED
        .get_or_init(|| {
            let deps = std::env::current_exe().unwrap().parent().unwrap().to_path_buf();
            let lib = mode_dir().join("lib");
            std::fs::create_dir_all(&lib).unwrap();
            for (built, staged) in
                [("libhealthchain_capi.a", "libhealthchain.a"), ("libhealthchain_capi.so", "libhealthchain.so.0")]
            {
                let built = deps.join(built);
                assert!(built.is_file(), "{} missing: cargo test should have built it", built.display());
                let partial = lib.join(format!("{staged}.partial"));
                std::fs::copy(&built, &partial).unwrap();
                std::fs::rename(&partial, lib.join(staged)).unwrap();
            }
            let link = lib.join("libhealthchain.so");
            let _ = std::fs::remove_file(&link);
            std::os::unix::fs::symlink("libhealthchain.so.0", &link).unwrap();
            lib
        })
        .clone()
}

/// A fresh directory for this mode's binaries and files.
fn work_dir(name: &str) -> PathBuf {
    let dir = mode_dir().join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn compiler(cxx: bool) -> String {
    let (var, default) = if cxx { ("CXX", "c++") } else { ("CC", "cc") };
    std::env::var(var).unwrap_or_else(|_| default.to_owned())
}

/// Compiles `sources` into `dir/name`, panicking with the compiler's output on any warning or error.
fn compile(dir: &Path, name: &str, sources: &[PathBuf], cxx: bool, link: Link, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let libs = lib_dir();
    let mut command = Command::new(compiler(cxx));
    command.args(if cxx { CXX_FLAGS } else { C_FLAGS });
    if mode() == Mode::Sanitize {
        command.args(SANITIZE_FLAGS);
    }
    command.arg("-I").arg(root().join("include")).arg("-I").arg(root().join("examples/cpp")).args(extra);
    command.args(sources).arg("-o").arg(&out);
    match link {
        Link::Static => command.arg(libs.join("libhealthchain.a")).args(STATIC_LIBS),
        Link::Shared => command
            .arg(format!("-L{}", libs.display()))
            .arg("-lhealthchain")
            .arg(format!("-Wl,-rpath,{}", libs.display()))
            .arg("-lpthread"),
    };
    let output = command.output().unwrap_or_else(|e| panic!("cannot run {}: {e}", compiler(cxx)));
    assert!(output.status.success(), "compiling {name} failed:\n{}", String::from_utf8_lossy(&output.stderr));
    out
}

/// Runs a program the way the mode asks, with `args`, in `dir`.
fn run(dir: &Path, program: &Path, args: &[&str]) -> Output {
    let mut command = match mode() {
        Mode::Valgrind => {
            let mut c = Command::new("valgrind");
            c.args([
                "--quiet",
                &format!("--error-exitcode={VALGRIND_ERROR}"),
                "--leak-check=full",
                "--show-leak-kinds=definite,indirect,possible",
                "--errors-for-leak-kinds=definite,indirect,possible",
                "--track-origins=yes",
            ])
            .arg(program);
            c
        }
        Mode::Plain | Mode::Sanitize => Command::new(program),
    };
    command.args(args).current_dir(dir);
    if mode() == Mode::Sanitize {
        command.env("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0").env("UBSAN_OPTIONS", "print_stacktrace=1");
    }
    command.output().unwrap()
}

/// Runs a program and asserts it succeeded cleanly under the mode.
fn run_ok(dir: &Path, program: &Path, args: &[&str]) -> String {
    let output = run(dir, program, args);
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "{} failed ({:?}) under {:?}:\n--- stdout\n{stdout}\n--- stderr\n{stderr}",
        program.display(),
        output.status,
        mode()
    );
    for marker in ["ERROR SUMMARY: ", "AddressSanitizer", "LeakSanitizer", "runtime error:"] {
        let clean = marker == "ERROR SUMMARY: " && stderr.contains("ERROR SUMMARY: 0 errors");
        assert!(clean || !stderr.contains(marker), "{} reported {marker}:\n{stderr}", program.display());
    }
    stdout
}

fn example(path: &str) -> PathBuf {
    root().join(path)
}

// ---- the tools are really there and really catch errors ----

/// Proves the mode's checker is active: a program with a heap overflow, a leak or signed overflow must be
/// caught. Without this, a silently missing sanitizer would make every run look clean.
#[test]
fn checker_catches_a_planted_bug() {
    let dir = work_dir("canary");
    let source = dir.join("canary.c");
    std::fs::write(
        &source,
        "#include <stdlib.h>\n#include <limits.h>\nint main(int argc, char **argv) {\n  (void)argv;\n  \
         char *p = malloc(4);\n  p[argc + 3] = 1; /* one past the end */\n  int x = INT_MAX;\n  x += argc; /* \
         signed overflow */\n  return x == 0;\n}\n",
    )
    .unwrap();
    let program = compile(&dir, "canary", &[source], false, Link::Static, &["-Wno-error"]);
    let output = run(&dir, &program, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    match mode() {
        Mode::Plain => {}
        Mode::Valgrind => {
            assert_eq!(output.status.code(), Some(VALGRIND_ERROR), "valgrind missed the overflow:\n{stderr}");
            assert!(stderr.contains("Invalid write"), "{stderr}");
        }
        Mode::Sanitize => {
            assert!(!output.status.success());
            assert!(
                stderr.contains("runtime error: signed integer overflow")
                    || stderr.contains("AddressSanitizer: heap-buffer-overflow"),
                "sanitizers are not linked:\n{stderr}"
            );
        }
    }
}

// ---- examples ----

#[test]
fn c_quickstart_runs_against_the_static_library() {
    let dir = work_dir("c-static");
    let program = compile(&dir, "quickstart", &[example("examples/c/quickstart.c")], false, Link::Static, &[]);
    let out = run_ok(&dir, &program, &[]);
    assert!(out.contains("VALID"), "quickstart did not verify its ledger:\n{out}");
}

#[test]
fn c_quickstart_runs_against_the_shared_library() {
    let dir = work_dir("c-shared");
    let program = compile(&dir, "quickstart", &[example("examples/c/quickstart.c")], false, Link::Shared, &[]);
    let ledger = dir.join("kept.ledger");
    let out = run_ok(&dir, &program, &[ledger.to_str().unwrap()]);
    assert!(out.contains("VALID"), "{out}");
    // The ledger the C program wrote is a ledger the Rust library opens and fully verifies.
    let store =
        healthchain::FileStore::open(&ledger, healthchain::OpenOptions { read_only: true, strict: true }).unwrap();
    let report = healthchain::verify_blocks((0..store.len()).map(|h| store.read(h)));
    assert!(report.is_valid(), "{report:?}");
    assert!(report.transactions >= 12, "{report:?}");
}

#[test]
fn cpp_quickstart_runs_against_both_libraries() {
    let dir = work_dir("cpp");
    let source = [example("examples/cpp/quickstart.cpp")];
    for (name, link) in [("quickstart-static", Link::Static), ("quickstart-shared", Link::Shared)] {
        let program = compile(&dir, name, &source, true, link, &[]);
        let out = run_ok(&dir, &program, &[]);
        assert!(out.to_lowercase().contains("valid"), "{out}");
    }
}

#[test]
fn header_compiles_as_cpp() {
    let dir = work_dir("header-cpp");
    let source = dir.join("include.cpp");
    std::fs::write(
        &source,
        "#include \"healthchain.h\"\n#include <cstdio>\nint main() { std::printf(\"%s\\n\", hc_version()); \
         return hc_version_number() == HC_VERSION_NUMBER ? 0 : 1; }\n",
    )
    .unwrap();
    let program = compile(&dir, "include", &[source], true, Link::Static, &[]);
    assert_eq!(run_ok(&dir, &program, &[]).trim(), env!("CARGO_PKG_VERSION"));
}

#[test]
fn readme_c_example_compiles_and_runs() {
    let readme = std::fs::read_to_string(root().join("README.md")).unwrap();
    let start = readme.find("```c\n").expect("README has a C example") + "```c\n".len();
    let end = start + readme[start..].find("```").unwrap();
    let dir = work_dir("readme");
    let source = dir.join("readme.c");
    std::fs::write(&source, &readme[start..end]).unwrap();
    for (name, link) in [("readme-static", Link::Static), ("readme-shared", Link::Shared)] {
        let program = compile(&dir, name, std::slice::from_ref(&source), false, link, &[]);
        assert_eq!(run_ok(&dir, &program, &[]).trim(), "permit");
    }
}

// ---- misuse ----

#[test]
fn misuse_is_refused_with_the_documented_status() {
    let dir = work_dir("misuse");
    let program = compile(&dir, "misuse", &[crate_dir().join("tests/c/misuse.c")], false, Link::Static, &[]);
    let out = run_ok(&dir, &program, &[dir.to_str().unwrap()]);
    assert!(out.contains("misuse: all checks passed"), "{out}");
}

#[test]
fn proofs_checkpoints_receipts_and_standing_from_c() {
    let dir = work_dir("proofs");
    let program = compile(&dir, "proofs", &[crate_dir().join("tests/c/proofs.c")], false, Link::Static, &[]);
    let out = run_ok(&dir, &program, &[dir.to_str().unwrap()]);
    assert!(out.contains("proofs: all checks passed"), "{out}");
}

#[test]
fn fhir_and_the_accounting_from_c() {
    let dir = work_dir("fhir");
    let program = compile(&dir, "fhir", &[crate_dir().join("tests/c/fhir.c")], false, Link::Static, &[]);
    let out = run_ok(&dir, &program, &[dir.to_str().unwrap()]);
    assert!(out.contains("fhir: all checks passed"), "{out}");
}

#[test]
fn threads_check_while_another_appends() {
    let dir = work_dir("threads");
    let program =
        compile(&dir, "threads", &[crate_dir().join("tests/c/threads.c")], false, Link::Static, &["-pthread"]);
    let out = run_ok(&dir, &program, &[dir.to_str().unwrap()]);
    assert!(out.contains("threads: all checks passed"), "{out}");
}

#[test]
fn null_for_every_pointer_argument_of_every_function() {
    let dir = work_dir("null-arguments");
    let header = std::fs::read_to_string(root().join("include/healthchain.h")).unwrap();
    let functions = parse_functions(&header);
    let (source, calls) = null_test_source(&functions);
    let path = dir.join("null_arguments.c");
    std::fs::write(&path, source).unwrap();
    let program = compile(&dir, "null_arguments", &[path], false, Link::Static, &[]);
    let out = run_ok(&dir, &program, &[]);
    assert!(out.contains(&format!("null arguments: {calls} calls refused")), "{out}");
    assert!(!dir.join("null-argument-test-never-created.ledger").exists(), "a refused call created a file");
    assert!(calls > 150, "only {calls} NULL calls generated");
}

// ---- build tooling for C users ----

#[test]
fn examples_makefile_builds_and_runs_both_quickstarts() {
    if mode() != Mode::Plain {
        return; // the same programs run under the checkers above
    }
    let dir = work_dir("make");
    let make = |args: &[String]| {
        let output = Command::new("make").arg("-C").arg(root().join("examples")).args(args).output().unwrap();
        let log = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
        assert!(output.status.success(), "make {args:?} failed:\n{log}");
        log
    };
    let libdir = format!("LIBDIR={}", lib_dir().display());
    let out = format!("OUT={}", dir.join("build").display());
    for link in ["LINK=static", "LINK=shared"] {
        let log = make(&[libdir.clone(), out.clone(), link.to_owned(), "clean".to_owned(), "run".to_owned()]);
        assert!(log.contains("VALID"), "{link}: the quickstart did not verify its ledger:\n{log}");
    }
}

// ---- the NULL-argument test, generated from the header ----

#[derive(Debug)]
struct Param {
    ty: String,
    name: String,
}

#[derive(Debug)]
struct Function {
    ret: String,
    name: String,
    params: Vec<Param>,
}

/// Every function prototype in the header (cbindgen's regular output: one declaration per `;`).
fn parse_functions(header: &str) -> Vec<Function> {
    let body: String = header
        .lines()
        .filter(|l| !l.trim_start().starts_with("//") && !l.starts_with('#'))
        .collect::<Vec<_>>()
        .join(" ");
    let mut functions = Vec::new();
    for declaration in body.split(';') {
        let declaration = declaration.split_whitespace().collect::<Vec<_>>().join(" ");
        let Some(open) = declaration.find(" hc_").or_else(|| declaration.find("*hc_")) else { continue };
        if !declaration.ends_with(')') || declaration.contains('{') || declaration.contains('}') {
            continue;
        }
        let (ret, rest) = declaration.split_at(open + 1);
        let Some((name, params)) = rest.split_once('(') else { continue };
        let params = params.trim_end_matches(')');
        let params = if params == "void" {
            Vec::new()
        } else {
            params
                .split(',')
                .map(|p| {
                    let p = p.trim();
                    let split = p.rfind([' ', '*']).unwrap() + 1;
                    Param { ty: p[..split].trim().to_owned(), name: p[split..].to_owned() }
                })
                .collect()
        };
        functions.push(Function { ret: ret.trim().to_owned(), name: name.to_owned(), params });
    }
    functions
}

/// A valid argument of type `ty` named `name` (set up by the generated program), or `None` when no such
/// value exists in the table (then the test fails: extend the table for the new type).
fn valid_argument(ty: &str, name: &str) -> Option<String> {
    let handle = |t: &str| format!("h_{t}");
    Some(match ty {
        "struct hc_ledger *" | "const struct hc_ledger *" => "ledger".into(),
        "const struct hc_key *" => "key".into(),
        "const struct hc_key *const *" => "keys".into(),
        "struct hc_history *" => "history".into(),
        "struct hc_tx *" | "const struct hc_tx *" => "tx".into(),
        "struct hc_proposal *" | "const struct hc_proposal *" => "proposal".into(),
        "const struct hc_payload *" => "payload".into(),
        "const struct hc_request *" => "&request".into(),
        "const struct hc_consent_grant *" => "&grant".into(),
        "const struct hc_settings *" => "&settings".into(),
        "const char *" if name == "path" => "\"null-argument-test-never-created.ledger\"".into(),
        "const char *" => "\"labs\"".into(),
        "const uint8_t *" => "bytes".into(),
        "uint8_t *" => "buf".into(),
        "char *" => "(char *)buf".into(),
        "size_t *" => "&o_size".into(),
        "uint64_t *" => "&o_uint64_t".into(),
        "size_t" => "1".into(),
        "uint32_t" if name == "flags" => "0".into(),
        "uint32_t" | "uint64_t" | "int32_t" => "1".into(),
        t if t.starts_with("const struct hc_") && t.ends_with(" *") => {
            format!("&v_{}", &t["const struct ".len()..t.len() - 2])
        }
        t if t.starts_with("struct hc_") && t.ends_with(" **") => handle(&t["struct ".len()..t.len() - 3]),
        t if t.starts_with("struct hc_") && t.ends_with(" *") => format!("&o_{}", &t["struct ".len()..t.len() - 2]),
        _ => return None,
    })
}

/// The generated C program and the number of NULL calls it makes.
fn null_test_source(functions: &[Function]) -> (String, usize) {
    let mut values = std::collections::BTreeSet::new();
    let mut outputs = std::collections::BTreeSet::new();
    let mut handles = std::collections::BTreeSet::new();
    let mut calls = String::new();
    let mut count = 0;
    for f in functions {
        let pointers: Vec<usize> = (0..f.params.len()).filter(|&i| f.params[i].ty.ends_with('*')).collect();
        if f.ret == "void" {
            // Destructors: NULL is a no-op.
            assert_eq!(f.params.len(), 1, "{} is void with several arguments", f.name);
            calls.push_str(&format!("    {}(NULL);\n", f.name));
            continue;
        }
        for &null in &pointers {
            let args: Vec<String> = f
                .params
                .iter()
                .enumerate()
                .map(|(i, p)| {
                    if i == null {
                        return "NULL".to_owned();
                    }
                    let arg = valid_argument(&p.ty, &p.name)
                        .unwrap_or_else(|| panic!("no valid value for `{}` of {}: extend the table", p.ty, f.name));
                    if arg == "&o_size" {
                        // declared by the template
                    } else if let Some(v) = arg.strip_prefix("&v_") {
                        values.insert(v.to_owned());
                    } else if let Some(o) = arg.strip_prefix("&o_") {
                        outputs.insert(o.to_owned());
                    } else if let Some(h) = arg.strip_prefix("h_") {
                        handles.insert(h.to_owned());
                        return format!("&h_{h}");
                    }
                    arg
                })
                .collect();
            calls.push_str(&format!(
                "    expect_null({}({}), \"{}\", \"{}\");\n",
                f.name,
                args.join(", "),
                f.name,
                f.params[null].name
            ));
            count += 1;
        }
    }
    let declare = |prefix: &str, set: &std::collections::BTreeSet<String>, init: &str| -> String {
        set.iter().map(|t| format!("static {t} {prefix}{t}{init};\n")).collect()
    };
    // Outputs are filled with a pattern before each call and must keep it: a failed call writes nothing.
    let fill: String = outputs.iter().map(|t| format!("    memset(&o_{t}, 0xA5, sizeof o_{t});\n")).collect();
    let check: String = outputs
        .iter()
        .map(|t| format!("    if (!untouched(&o_{t}, sizeof o_{t})) fail(fn, param, \"wrote o_{t}\");\n"))
        .chain(handles.iter().map(|t| format!("    if (h_{t} != NULL) fail(fn, param, \"wrote a handle\");\n")))
        .collect();
    let source = format!(
        r#"/* Generated by capi/tests/c_api.rs from include/healthchain.h: NULL for every pointer argument. */
#include "healthchain.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

{values}{outputs}{handles}static size_t o_size;
static int calls;

static void fail(const char *fn, const char *param, const char *what) {{
    fprintf(stderr, "%s(%s = NULL): %s\n", fn, param, what);
    exit(1);
}}

static int untouched(const void *p, size_t n) {{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) if (b[i] != 0xA5) return 0;
    return 1;
}}

static void expect_null(int32_t rc, const char *fn, const char *param) {{
    char expected[128];
    if (rc != HC_NULL_ARGUMENT) {{
        fprintf(stderr, "%s: status %d (%s): %s\n", fn, rc, hc_status_str(rc), hc_last_error_message());
        fail(fn, param, "not HC_NULL_ARGUMENT");
    }}
    snprintf(expected, sizeof expected, "`%s`", param);
    if (strstr(hc_last_error_message(), expected) == NULL) {{
        fprintf(stderr, "message: %s\n", hc_last_error_message());
        fail(fn, param, "message does not name the argument");
    }}
{check}    if (o_size != 0xA5A5) fail(fn, param, "wrote out_len");
    calls++;
    o_size = 0xA5A5;
{fill}}}

#define OK(call) do {{ int32_t rc_ = (call); if (rc_ != HC_OK) {{ \
    fprintf(stderr, "%s: %s: %s\n", #call, hc_status_str(rc_), hc_last_error_message()); exit(1); }} }} while (0)

int main(void) {{
    hc_key *key = NULL, *patient_key = NULL;
    hc_ledger *ledger = NULL;
    hc_history *history = NULL;
    hc_payload *payload = NULL;
    hc_tx *tx = NULL;
    hc_proposal *proposal = NULL;
    hc_actor_id authority, patient;
    uint8_t bytes[64] = {{0}}, buf[256];
    const char *labs[] = {{"labs"}}, *treat[] = {{"TREAT"}};
    hc_settings settings = {{"null-test", 1, 1, HC_DEFAULT_CLOCK_SKEW_MS}};
    hc_request request;
    hc_consent_grant grant;

    OK(hc_key_generate(&key));
    OK(hc_key_generate(&patient_key));
    const hc_key *keys[] = {{key}};
    OK(hc_ledger_create_memory(&settings, keys, 1, 1795424400000ULL, &ledger));
    OK(hc_key_actor_id(key, &authority));
    OK(hc_ledger_register(ledger, key, patient_key, HC_ROLE_PATIENT, &patient));
    memset(&request, 0, sizeof request);
    request.patient = patient; request.requester = patient;
    request.section = "labs"; request.purpose = "TREAT"; request.action = HC_ACTION_READ; request.at = 1795424400000ULL;
    memset(&grant, 0, sizeof grant);
    grant.patient = patient; grant.grantee_kind = HC_GRANTEE_ACTOR; grant.grantee = authority;
    grant.effect = HC_EFFECT_PERMIT; grant.sections = labs; grant.section_count = 1;
    grant.purposes = treat; grant.purpose_count = 1; grant.actions = HC_ACTION_READ;
    grant.not_before = 1795424400000ULL; grant.not_after = HC_UNTIL_REVOKED;
    OK(hc_ledger_access_history(ledger, &patient, &history));
    OK(hc_payload_deactivate(&patient, &payload));
    OK(hc_ledger_prepare(ledger, &authority, payload, &tx));
    OK(hc_ledger_propose_block(ledger, &authority, &proposal));
    o_size = 0xA5A5;
{fill}
{calls}
    hc_proposal_free(proposal);
    hc_tx_free(tx);
    hc_payload_free(payload);
    hc_history_free(history);
    hc_ledger_close(ledger);
    hc_key_free(patient_key);
    hc_key_free(key);
    printf("null arguments: %d calls refused\n", calls);
    return 0;
}}
"#,
        values = declare("v_", &values, ""),
        outputs = declare("o_", &outputs, ""),
        handles = declare("*h_", &handles, " = NULL"),
    );
    (source, count)
}
