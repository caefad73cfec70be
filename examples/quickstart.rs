//! The whole consent flow on a new ledger file: a hospital, a patient, two providers, an insurer and a
//! privacy officer. Run with `cargo run --example quickstart [PATH]`: without PATH the ledger lives in a
//! temporary file that is removed at the end; with PATH it is kept, and the full ids of the actors are
//! printed at the end so that they can be pasted into the `healthchain` tool (`healthchain actors PATH`,
//! `healthchain access-report PATH PATIENT_ID`).

use healthchain::hash::commitment;
use healthchain::keys::random_salt;
use healthchain::*;
use std::path::PathBuf;

const DAY_MS: u64 = 24 * 60 * 60 * 1000;

fn main() {
    if let Err(error) = run() {
        eprintln!("quickstart failed: {error}");
        std::process::exit(1);
    }
}

fn run() -> Result<(), Box<dyn std::error::Error>> {
    // 2026-11-23 09:00 UTC; the ledger reads time only from this injected clock.
    let clock = ManualClock::new(1_795_424_400_000);
    let hospital = SigningKey::generate()?;
    let (path, keep) = match std::env::args_os().nth(1) {
        Some(path) => (PathBuf::from(path), true),
        None => (std::env::temp_dir().join(format!("healthchain-quickstart-{}.ledger", std::process::id())), false),
    };
    let settings = LedgerSettings::new("st-mary-hospital");
    let mut ledger = Ledger::create_file(&path, Box::new(clock.clone()), &settings, &[&hospital])?;
    say(&clock, &format!("created ledger {} in {}", short(&ledger.chain().to_string()), path.display()));

    let keys: Vec<SigningKey> = (0..5).map(|_| SigningKey::generate()).collect::<Result<_, _>>()?;
    let [patient_key, provider_a_key, provider_b_key, insurer_key, officer_key] = &keys[..] else {
        return Err("five keys expected".into());
    };
    let patient = ledger.register(&hospital, patient_key, Role::Patient)?;
    let provider_a = ledger.register(&hospital, provider_a_key, Role::Provider)?;
    let provider_b = ledger.register(&hospital, provider_b_key, Role::Provider)?;
    let insurer = ledger.register(&hospital, insurer_key, Role::Insurer)?;
    let officer = ledger.register(&hospital, officer_key, Role::Auditor)?;
    let block = ledger.seal(&[&hospital])?;
    say(
        &clock,
        &format!("registered patient, providers A and B, insurer, privacy officer (block {})", block.header.height),
    );

    // The patient grants provider A labs and medications for treatment, for 30 days.
    let now = clock.now_ms();
    let labs_and_meds = ConsentGrant {
        patient,
        grantee: Grantee::Actor(provider_a),
        effect: Effect::Permit,
        sections: CodeSet::parse(["labs", "medications"])?,
        purposes: CodeSet::parse(["TREAT"])?,
        actions: Actions::READ,
        window: Window { not_before: now, not_after: Some(now + 30 * DAY_MS) },
        exceptions: Vec::new(),
    };
    let granted = ledger.grant_consent(patient_key, labs_and_meds.clone())?;
    say(&clock, &format!("provider A granted labs+medications for TREAT until {}", date(granted.until)));

    match ledger.grant_consent(patient_key, labs_and_meds) {
        Err(LedgerError::Tx(TxError::AlreadyHasAccess { existing, until })) => say(
            &clock,
            &format!(
                "same grant again refused: already has access (consent {}, until {})",
                short(&existing.to_string()),
                date(until)
            ),
        ),
        other => return Err(format!("expected already-has-access, got {other:?}").into()),
    }

    let billing = ConsentGrant {
        patient,
        grantee: Grantee::Actor(insurer),
        effect: Effect::Permit,
        sections: CodeSet::parse(["billing"])?,
        purposes: CodeSet::parse(["HPAYMT"])?,
        actions: Actions::READ,
        window: Window { not_before: now, not_after: None },
        exceptions: Vec::new(),
    };
    let insurer_grant = ledger.grant_consent(patient_key, billing)?;
    say(
        &clock,
        &format!(
            "insurer granted billing for HPAYMT only, until revoked ({})",
            short(&insurer_grant.consent.to_string())
        ),
    );
    ledger.seal(&[&hospital])?;

    clock.advance(60 * 60 * 1000);
    let ask = |requester, section: &str, purpose: &str| -> Result<CheckRequest, CodeError> {
        Ok(CheckRequest {
            patient,
            requester,
            section: Code::new(section)?,
            purpose: Code::new(purpose)?,
            action: Action::Read,
            at: clock.now_ms(),
        })
    };
    say(
        &clock,
        &format!(
            "may provider B read labs for TREAT? {}",
            describe(&ledger.check(&ask(provider_b, "labs", "TREAT")?)?)
        ),
    );
    say(
        &clock,
        &format!(
            "may the insurer read billing for HPAYMT? {}",
            describe(&ledger.check(&ask(insurer, "billing", "HPAYMT")?)?)
        ),
    );
    say(
        &clock,
        &format!(
            "may the insurer read labs for HPAYMT? {}",
            describe(&ledger.check(&ask(insurer, "labs", "HPAYMT")?)?)
        ),
    );

    // Provider A reads labs: the access is recorded with the basis the engine gives.
    let request = ask(provider_a, "labs", "TREAT")?;
    let decision = ledger.check(&request)?;
    let basis = decision.access_basis().ok_or("provider A should be permitted")?;
    ledger.record_access(provider_a_key, RecordAccess::for_request(&request, basis))?;
    say(&clock, &format!("provider A read labs, recorded on basis {}", describe(&decision)));
    ledger.seal(&[&hospital])?;

    clock.advance(DAY_MS);
    ledger.revoke_consent(patient_key, granted.consent)?;
    ledger.seal(&[&hospital])?;
    say(
        &clock,
        &format!(
            "patient revoked provider A's consent; now: {}",
            describe(&ledger.check(&ask(provider_a, "labs", "TREAT")?)?)
        ),
    );

    // Emergency: provider B breaks the glass; the justification stays off the ledger, committed by hash.
    clock.advance(2 * 60 * 60 * 1000);
    let request = ask(provider_b, "medications", "ETREAT")?;
    let decision = ledger.check(&request)?;
    let salt = random_salt()?;
    let justification = commitment(&salt, b"unconscious on arrival, allergy check before anaesthesia");
    let basis = AccessBasis::BreakGlass { reason: Code::new("unconscious")?, justification };
    let emergency = ledger.record_access(provider_b_key, RecordAccess::for_request(&request, basis))?;
    say(&clock, &format!("provider B read medications for ETREAT: {}", describe(&decision)));
    ledger.seal(&[&hospital])?;

    clock.advance(DAY_MS);
    ledger.review_break_glass(officer_key, emergency, true)?;
    ledger.seal(&[&hospital])?;
    say(&clock, "privacy officer reviewed the break-glass access: justified");

    println!("\naccess report for the patient (who accessed my record):");
    for entry in ledger.access_history(&patient)? {
        let who = ledger.actor(&entry.accessor).map_or("unknown", |a| a.role.name());
        let basis = match &entry.access.basis {
            AccessBasis::Owner => "owner".to_owned(),
            AccessBasis::Delegate(id) => format!("delegation {}", short(&id.to_string())),
            AccessBasis::Consents(ids) => format!("consent {}", short_ids(ids)),
            AccessBasis::BreakGlass { reason, .. } => format!("BREAK-GLASS ({reason})"),
        };
        let review = match entry.review {
            Some(r) => format!(", reviewed: {}", if r.justified { "justified" } else { "NOT justified" }),
            None if matches!(entry.access.basis, AccessBasis::BreakGlass { .. }) => ", review pending".to_owned(),
            None => String::new(),
        };
        println!(
            "  {}  {} {} {} {} for {} on {}{}",
            date(Some(entry.access.at)),
            who,
            short(&entry.accessor.to_string()),
            entry.access.action.name(),
            entry.access.section,
            entry.access.purpose,
            basis,
            review
        );
    }

    // Every sealed block is durable: close the file, reopen it (fast open: checksums, hash links, rules),
    // then verify everything from genesis, signatures included.
    drop(ledger);
    let ledger = Ledger::open_file(&path, Box::new(clock.clone()), OpenOptions::default())?;
    let report = ledger.verify();
    println!(
        "\nreopened {} ({} bytes); full verification: {} ({} blocks, {} transactions, tree root {})",
        path.display(),
        ledger.store().size(),
        if report.is_valid() { "VALID" } else { "INVALID" },
        report.blocks,
        report.transactions,
        short(&report.tree_root.to_hex())
    );
    drop(ledger);
    if keep {
        let authority = ActorId::from_key(&hospital.public_key());
        print_actor_ids(
            &path,
            patient,
            &[
                ("patient", patient),
                ("provider A", provider_a),
                ("provider B", provider_b),
                ("insurer", insurer),
                ("privacy officer", officer),
                ("authority (hospital)", authority),
            ],
        );
    } else {
        std::fs::remove_file(&path)?;
    }
    if let Some(failure) = report.failure {
        return Err(failure.into());
    }
    Ok(())
}

/// The full ids of the actors on the kept ledger, and the `healthchain` commands to try them with.
fn print_actor_ids(path: &std::path::Path, patient: ActorId, actors: &[(&str, ActorId)]) {
    println!("\nactor ids in {} (the tool takes these, or any unique prefix of 4+ hex digits):", path.display());
    for (name, id) in actors {
        println!("  {name:<20} {id}");
    }
    let shown = path.display();
    println!("try:\n  healthchain actors {shown}\n  healthchain access-report {shown} {patient}");
}

/// A decision with ids cut to 12 hex digits.
fn describe(decision: &Decision) -> String {
    match decision {
        Decision::Permit(PermitBasis::Consents(ids)) => format!("permit (consent {})", short_ids(ids)),
        Decision::Deny(DenyReason::DenyRules(ids)) => format!("deny (deny rule {})", short_ids(ids)),
        other => other.to_string(),
    }
}

fn say(clock: &ManualClock, line: &str) {
    println!("[{}] {line}", date(Some(clock.now_ms())));
}

fn short_ids(ids: &[ConsentId]) -> String {
    ids.iter().map(|i| short(&i.to_string()).to_owned()).collect::<Vec<_>>().join(",")
}

fn short(hex: &str) -> &str {
    hex.get(..12).unwrap_or(hex)
}

/// `YYYY-MM-DD HH:MM` (UTC) of a time in ms since the Unix epoch (Hinnant's civil-from-days).
fn date(ms: Option<u64>) -> String {
    let Some(ms) = ms else { return "revocation".to_owned() };
    let secs = ms / 1000;
    let days = (secs / 86_400) as i64;
    let (hour, minute) = ((secs % 86_400) / 3600, (secs % 3600) / 60);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {hour:02}:{minute:02}")
}
