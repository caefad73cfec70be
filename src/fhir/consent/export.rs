//! A patient's consent rules out as one FHIR Consent, R4 or R5 (docs/FHIR.md, "Export").
//!
//! A Consent decides every question, so a patient's rules go out together: base deny; each permit rule a
//! provision (its `id` the rule's consent id); under each permit, every deny rule (deny overrides every
//! permit, and a nested provision applies only where its parent does, which is all that matters to a deny);
//! under each deny, its exceptions. R4 has one root provision: policyRule OPTIN with a root that has no
//! conditions reads the same (the root an exception to the base, so a deny, as [`R4Root::Exception`] reads
//! it; R4 permits no `type` on the root); without permits, policyRule OPTOUT alone.
//! Where FHIR's standard codes cannot say a rule exactly, the ledger's own code systems do
//! ([`SECTION_SYSTEM`], [`PURPOSE_SYSTEM`], [`ACTION_SYSTEM`]), which [`compile`] reads exactly: importing
//! an export gives the same decisions.
//!
//! [`R4Root::Exception`]: super::R4Root::Exception
//! [`compile`]: super::compile

use super::policy::{ACT_REASON, CONSENT_ACTION, Directory, PARTICIPATION_TYPE};
use crate::codes::{Actions, Code, CodeSet};
use crate::fhir::{ACTION_SYSTEM, CONSENT_ID_SYSTEM, FhirError, FhirVersion, PURPOSE_SYSTEM, SECTION_SYSTEM};
use crate::fhir::{datetime, purposes};
use crate::hash::to_hex;
use crate::ids::{ActorId, ConsentId};
use crate::state::View;
use crate::tx::{ConsentGrant, Effect, Exception, Grantee, Window};
use serde_json::{Map, Value, json};
use std::collections::BTreeSet;

/// Where the ledger's own identifiers of a resource's origin go: `meta.source` is
/// `urn:healthchain:chain:<chain id hex>:height:<height>`.
const SOURCE_PREFIX: &str = "urn:healthchain:chain:";

/// `patient`'s consent rules as `view` sees them (use [`crate::Ledger::view_as_of`] for a sealed height), as one
/// Consent resource in `version`'s JSON. Every rule granted is written with the window in which it is in
/// force: from its grant on (never before) until its revocation or the patient's erasure, if `view` sees
/// one. References come from
/// `directory` ([`Directory::reference`]: the patient, and each grantee, an actor or a role); an unknown one
/// is [`FhirError::Unresolved`]. Refused ([`FhirError::Unsupported`]): an instant beyond year 9999.
pub fn export(
    view: &View<'_>,
    patient: &ActorId,
    version: FhirVersion,
    directory: &dyn Directory,
) -> Result<String, FhirError> {
    let subject = directory
        .reference(&Grantee::Actor(*patient))
        .ok_or_else(|| FhirError::Unresolved { element: subject_element(version).into() })?;
    let mut ids = Vec::new();
    let mut permits = Vec::new();
    let mut denies = Vec::new();
    // After an erasure the ledger denies every question about the patient: no rule is in force then.
    let erased = view.erased(patient).map(|stamp| stamp.time);
    for (consent, revoked) in view.consent_records(patient) {
        ids.push(consent.id);
        let start = consent.grant.window.not_before.max(consent.granted.time);
        let ends = [consent.grant.window.not_after, revoked.map(|r| r.time), erased];
        let end = ends.into_iter().flatten().min();
        let window = Window { not_before: start, not_after: end };
        if window.is_empty() {
            continue; // never in force
        }
        match consent.grant.effect {
            Effect::Permit => permits.push((consent.id, &consent.grant, window)),
            Effect::Deny => denies.push((consent.id, &consent.grant, window)),
        }
    }
    let writer = Writer { version, directory };
    let mut deny_provisions = Vec::new();
    for (_, grant, window) in &denies {
        let mut provision = writer.conditions(grant, *window)?;
        writer.typed(&mut provision, Effect::Deny);
        let nested = grant.exceptions.iter().map(|e| writer.exception(e)).collect::<Result<Vec<_>, _>>()?;
        if !nested.is_empty() {
            provision.insert("provision".into(), Value::Array(nested));
        }
        deny_provisions.push(Value::Object(provision));
    }
    let mut provisions = Vec::new();
    for (id, grant, window) in &permits {
        let mut provision = Map::new();
        provision.insert("id".into(), json!(consent_hex(id)));
        provision.extend(writer.conditions(grant, *window)?);
        writer.typed(&mut provision, Effect::Permit);
        if !deny_provisions.is_empty() {
            provision.insert("provision".into(), Value::Array(deny_provisions.clone()));
        }
        provisions.push(Value::Object(provision));
    }
    let mut resource = Map::new();
    resource.insert("resourceType".into(), json!("Consent"));
    let source = format!("{SOURCE_PREFIX}{}:height:{}", to_hex(view.chain().as_bytes()), view.height());
    resource.insert("meta".into(), json!({ "source": source }));
    if !ids.is_empty() {
        let identifiers: Vec<Value> =
            ids.iter().map(|id| json!({ "system": CONSENT_ID_SYSTEM, "value": consent_hex(id) })).collect();
        resource.insert("identifier".into(), Value::Array(identifiers));
    }
    resource.insert("status".into(), json!("active"));
    match version {
        FhirVersion::R4 => {
            resource.insert(
                "scope".into(),
                json!({ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/consentscope", "code": "patient-privacy" }] }),
            );
            resource.insert(
                "category".into(),
                json!([{ "coding": [{ "system": "http://loinc.org", "code": "59284-0" }] }]),
            );
            resource.insert("patient".into(), json!({ "reference": subject }));
            // With permits: OPTIN, and a root without conditions (R4: `type` is "not permitted in root rule"),
            // which is a deny under the default reading (`R4Root::Exception`), with the permits below it.
            // Without: OPTOUT alone.
            let base = if provisions.is_empty() { "OPTOUT" } else { "OPTIN" };
            resource.insert(
                "policyRule".into(),
                json!({ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": base }] }),
            );
            if !provisions.is_empty() {
                resource.insert("provision".into(), json!({ "provision": provisions }));
            }
        }
        FhirVersion::R5 => {
            resource.insert("subject".into(), json!({ "reference": subject }));
            resource.insert("decision".into(), json!("deny"));
            if !provisions.is_empty() {
                resource.insert("provision".into(), Value::Array(provisions));
            }
        }
    }
    serde_json::to_string_pretty(&Value::Object(resource))
        .map_err(|_| FhirError::Invalid { element: "Consent".into(), problem: "could not be written".into() })
}

fn subject_element(version: FhirVersion) -> &'static str {
    match version {
        FhirVersion::R4 => "Consent.patient",
        FhirVersion::R5 => "Consent.subject",
    }
}

/// A consent id as 64 hex digits.
fn consent_hex(id: &ConsentId) -> String {
    to_hex(id.as_bytes())
}

struct Writer<'a> {
    version: FhirVersion,
    directory: &'a dyn Directory,
}

impl Writer<'_> {
    /// R4 states each provision's effect; R5 reads it from the nesting.
    fn typed(&self, provision: &mut Map<String, Value>, effect: Effect) {
        if self.version == FhirVersion::R4 {
            let text = if effect == Effect::Permit { "permit" } else { "deny" };
            provision.insert("type".into(), json!(text));
        }
    }

    /// A deny rule's exception: a nested permit.
    fn exception(&self, exception: &Exception) -> Result<Value, FhirError> {
        let mut provision = Map::new();
        if let Some(grantee) = exception.grantee {
            provision.insert("actor".into(), json!([self.actor(grantee)?]));
        }
        self.codes(&mut provision, &exception.sections, &exception.purposes, exception.actions);
        if let Some(period) = period(exception.window)? {
            provision.insert("period".into(), period);
        }
        self.typed(&mut provision, Effect::Permit);
        Ok(Value::Object(provision))
    }

    /// A rule's conditions: its grantee, codes, actions and the window in which it is in force.
    fn conditions(&self, grant: &ConsentGrant, window: Window) -> Result<Map<String, Value>, FhirError> {
        let mut provision = Map::new();
        if let Some(period) = period(window)? {
            provision.insert("period".into(), period);
        }
        provision.insert("actor".into(), json!([self.actor(grant.grantee)?]));
        self.codes(&mut provision, &grant.sections, &grant.purposes, grant.actions);
        Ok(provision)
    }

    /// A recipient: by the directory's reference (an actor, or a role's group).
    fn actor(&self, grantee: Grantee) -> Result<Value, FhirError> {
        let reference = self
            .directory
            .reference(&grantee)
            .ok_or_else(|| FhirError::Unresolved { element: "Consent.provision.actor.reference".into() })?;
        let role = json!({ "coding": [{ "system": PARTICIPATION_TYPE, "code": "IRCP" }] });
        Ok(json!({ "role": role, "reference": { "reference": reference } }))
    }

    /// Sections (`code`), purposes and actions; `*` and both actions are written as no condition.
    fn codes(&self, provision: &mut Map<String, Value>, sections: &CodeSet, purposes: &CodeSet, actions: Actions) {
        if actions != Actions::READ_WRITE {
            let (system, code) =
                if actions == Actions::READ { (CONSENT_ACTION, "access") } else { (ACTION_SYSTEM, "write") };
            provision.insert("action".into(), json!([{ "coding": [{ "system": system, "code": code }] }]));
        }
        if !purposes.is_all() {
            let codings: Vec<Value> = purpose_codings(purposes.codes())
                .into_iter()
                .map(|(system, code)| json!({ "system": system, "code": code }))
                .collect();
            provision.insert("purpose".into(), Value::Array(codings));
        }
        if !sections.is_all() {
            let concepts: Vec<Value> = sections
                .codes()
                .iter()
                .map(|code| json!({ "coding": [{ "system": SECTION_SYSTEM, "code": code.as_str() }] }))
                .collect();
            provision.insert("code".into(), Value::Array(concepts));
        }
    }
}

/// Purposes as codings: v3 ActReason codes if the set is exactly what some of its ActReason codes cover
/// with the purposes they subsume (the fewest such codes), else each purpose by the ledger's own code.
fn purpose_codings(codes: &[Code]) -> Vec<(&'static str, String)> {
    let set: BTreeSet<&str> = codes.iter().map(Code::as_str).collect();
    fn covered(code: &str) -> BTreeSet<&str> {
        purposes::with_descendants(code).into_iter().collect()
    }
    let standard = set.iter().all(|code| purposes::is_purpose_of_use(code) && covered(code).is_subset(&set));
    if !standard {
        return set.into_iter().map(|code| (PURPOSE_SYSTEM, code.to_owned())).collect();
    }
    // The fewest codes: those no other code of the set subsumes.
    set.iter()
        .filter(|code| !set.iter().any(|other| other != *code && covered(other).contains(*code)))
        .map(|code| (ACT_REASON, (*code).to_owned()))
        .collect()
}

/// A window as a FHIR `Period` (`None` for one without bounds). `end` is written as the last millisecond
/// inside, which FHIR reads back as ending just after it.
fn period(window: Window) -> Result<Option<Value>, FhirError> {
    let instant = |ms: u64| {
        i64::try_from(ms).ok().and_then(datetime::format_instant).ok_or(FhirError::Unsupported {
            element: "Consent.provision.period".into(),
            reason: "an instant beyond year 9999",
        })
    };
    let mut period = Map::new();
    if window.not_before > 0 {
        period.insert("start".into(), json!(instant(window.not_before)?));
    }
    if let Some(end) = window.not_after {
        period.insert("end".into(), json!(instant(end.saturating_sub(1))?));
    }
    Ok((!period.is_empty()).then_some(Value::Object(period)))
}
