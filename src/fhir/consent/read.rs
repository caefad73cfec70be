//! Reading a Consent's JSON (R4 or R5) into [`ConsentResource`], element by element.

use super::{Coding, Concept, ConsentResource, ConsentStatus, Effect, Period, Provision, ProvisionActor};
use crate::fhir::json::{Json, Object, Path};
use crate::fhir::{FhirError, FhirVersion, datetime};

/// Deepest nesting of provisions read (HL7's examples nest two levels).
pub const MAX_PROVISION_DEPTH: usize = 16;

/// The largest offset from UTC, in minutes (FHIR's: ±14:00).
const MAX_OFFSET_MINUTES: i32 = 840;

/// How dates are read.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReadOptions {
    /// The offset east of UTC, in minutes, at which a date without a time (`2015-01-01`) is read: FHIR gives
    /// such dates no time zone. 0 (UTC) by default.
    pub date_offset_minutes: i32,
}

/// Reads a Consent resource written in `version` from JSON.
///
/// Elements that carry no rule (narrative, identifiers, metadata, who recorded or verified it, the legal
/// basis, R4 `policy` and R5 `grantee`, documentation by the specification's own words) are skipped,
/// though a modifier extension inside them is refused; elements whose rules the ledger cannot express are
/// refused with [`FhirError::Unsupported`]: `implicitRules`, R5 `policyBasis`/`policyText`, a
/// provision's `dataPeriod`, `data` and `expression`, modifier extensions, and any element this reader
/// does not know. Consents of another scope than patient privacy (R4 `scope`) are refused.
pub fn read(bytes: &[u8], version: FhirVersion, options: &ReadOptions) -> Result<ConsentResource, FhirError> {
    if !(-MAX_OFFSET_MINUTES..=MAX_OFFSET_MINUTES).contains(&options.date_offset_minutes) {
        return Err(FhirError::Invalid {
            element: "ReadOptions.date_offset_minutes".into(),
            problem: "an offset from UTC is at most 14 hours (840 minutes)".into(),
        });
    }
    let json = Json::parse(bytes)?;
    let mut root = Object::new(&json, Path::root("Consent"))?;
    match root.required_string("resourceType")? {
        "Consent" => {}
        _ => return Err(root.path().child("resourceType").invalid("expected Consent")),
    }
    let id = root.string("id")?.map(str::to_owned);
    let status = status(&mut root, version)?;
    // The source document is provenance (R4: "the source on which this consent statement is based").
    root.ignore(&["meta", "language", "text", "contained", "identifier", "category", "sourceAttachment"])?;
    root.ignore(&["sourceReference", "verification"])?;
    refuse(&root, "implicitRules", "rules the resource was written under, not known to this reader")?;
    let resource = match version {
        FhirVersion::R4 => read_r4(&mut root, options, id, status)?,
        FhirVersion::R5 => read_r5(&mut root, options, id, status)?,
    };
    root.finish()?;
    Ok(resource)
}

fn read_r4(
    root: &mut Object<'_>,
    options: &ReadOptions,
    id: Option<String>,
    status: ConsentStatus,
) -> Result<ConsentResource, FhirError> {
    // R4 `policy`: "for discoverability / documentation and does not modify or qualify the policy rules".
    root.ignore(&["dateTime", "performer", "organization", "policy"])?;
    let Some(scope) = root.object("scope")? else {
        return Err(root.path().child("scope").invalid("the element is required"));
    };
    let scope = concept(scope)?;
    let privacy = scope.0.iter().any(|c| {
        c.code == "patient-privacy" && c.system.as_deref() == Some("http://terminology.hl7.org/CodeSystem/consentscope")
    });
    if !privacy {
        return Err(root.path().child("scope").unsupported("only patient-privacy consents are rules of access"));
    }
    let patient = reference(root.object("patient")?, root.path().child("patient"))?;
    let base = match root.object("policyRule")? {
        None => None,
        Some(rule) => Some(policy_rule(rule)?),
    };
    let provisions = match root.object("provision")? {
        Some(provision) => vec![read_provision(provision, FhirVersion::R4, options, 1)?],
        None => Vec::new(),
    };
    Ok(ConsentResource { version: FhirVersion::R4, id, status, patient, base, period: None, provisions })
}

fn read_r5(
    root: &mut Object<'_>,
    options: &ReadOptions,
    id: Option<String>,
    status: ConsentStatus,
) -> Result<ConsentResource, FhirError> {
    // R5 `grantee` and `grantor`: "for ease of search only"; the provisions' actors carry the rules.
    root.ignore(&["date", "grantor", "grantee", "manager", "controller", "regulatoryBasis"])?;
    refuse(root, "policyBasis", "the rules of a referenced policy are not machine-readable here")?;
    refuse(root, "policyText", "the rules of a referenced policy are not machine-readable here")?;
    let patient = reference(root.object("subject")?, root.path().child("subject"))?;
    let period = root.object("period")?.map(|p| period(p, options)).transpose()?;
    let base = match root.string("decision")? {
        None => None,
        Some(text) => {
            Some(effect(text).ok_or_else(|| root.path().child("decision").invalid("expected permit or deny"))?)
        }
    };
    let provisions = root
        .objects("provision")?
        .into_iter()
        .map(|p| read_provision(p, FhirVersion::R5, options, 1))
        .collect::<Result<_, _>>()?;
    Ok(ConsentResource { version: FhirVersion::R5, id, status, patient, base, period, provisions })
}

fn refuse(object: &Object<'_>, name: &str, reason: &'static str) -> Result<(), FhirError> {
    if object.has(name) { Err(object.path().child(name).unsupported(reason)) } else { Ok(()) }
}

fn status(root: &mut Object<'_>, version: FhirVersion) -> Result<ConsentStatus, FhirError> {
    use ConsentStatus::*;
    let text = root.required_string("status")?;
    let status = match (text, version) {
        ("draft", _) => Draft,
        ("active", _) => Active,
        ("inactive", _) => Inactive,
        ("entered-in-error", _) => EnteredInError,
        ("proposed", FhirVersion::R4) => Proposed,
        ("rejected", FhirVersion::R4) => Rejected,
        ("not-done", FhirVersion::R5) => NotDone,
        ("unknown", FhirVersion::R5) => Unknown,
        _ => return Err(root.path().child("status").invalid("not a Consent status of this FHIR release")),
    };
    Ok(status)
}

fn effect(text: &str) -> Option<Effect> {
    match text {
        "permit" => Some(Effect::Permit),
        "deny" => Some(Effect::Deny),
        _ => None,
    }
}

/// R4 `policyRule`: the v3 ActCode consent directive codes.
fn policy_rule(rule: Object<'_>) -> Result<Effect, FhirError> {
    let path = rule.path().clone();
    let rule = concept(rule)?;
    let mut effects = rule.0.iter().filter_map(|c| {
        (c.system.as_deref() == Some("http://terminology.hl7.org/CodeSystem/v3-ActCode")).then_some(())?;
        match c.code.as_str() {
            "OPTIN" | "OPTINR" => Some(Effect::Permit),
            "OPTOUT" | "OPTOUTE" => Some(Effect::Deny),
            _ => None,
        }
    });
    let first = effects.next().ok_or_else(|| {
        path.unsupported("only the v3 ActCode rules OPTIN, OPTINR, OPTOUT and OPTOUTE are understood")
    })?;
    if effects.any(|e| e != first) {
        return Err(path.invalid("codings that contradict each other"));
    }
    Ok(first)
}

fn read_provision(
    mut p: Object<'_>,
    version: FhirVersion,
    options: &ReadOptions,
    depth: usize,
) -> Result<Provision, FhirError> {
    if depth > MAX_PROVISION_DEPTH {
        return Err(p.path().unsupported("provisions nested deeper than the reader's limit (MAX_PROVISION_DEPTH)"));
    }
    let element = p.path().text();
    let effect = match version {
        FhirVersion::R4 => match p.string("type")? {
            None => None,
            Some(text) => Some(effect(text).ok_or_else(|| p.path().child("type").invalid("expected permit or deny"))?),
        },
        FhirVersion::R5 => None,
    };
    refuse(&p, "dataPeriod", "the ledger's rules do not know the clinical dates of the data")?;
    refuse(&p, "data", "the ledger's rules name sections of a record, not resources")?;
    if version == FhirVersion::R5 {
        refuse(&p, "expression", "a computable expression is not evaluated here")?;
    }
    let period = p.object("period")?.map(|o| period(o, options)).transpose()?;
    let actors = p.objects("actor")?.into_iter().map(|a| actor(a, version)).collect::<Result<_, _>>()?;
    let actions = p.objects("action")?.into_iter().map(concept).collect::<Result<_, _>>()?;
    let security_labels = p.objects("securityLabel")?.into_iter().map(coding).collect::<Result<_, _>>()?;
    let purposes = p.objects("purpose")?.into_iter().map(coding).collect::<Result<_, _>>()?;
    let class = if version == FhirVersion::R4 { "class" } else { "resourceType" };
    let resource_types = p.objects(class)?.into_iter().map(coding).collect::<Result<_, _>>()?;
    let document_types = match version {
        FhirVersion::R4 => Vec::new(),
        FhirVersion::R5 => p.objects("documentType")?.into_iter().map(coding).collect::<Result<_, _>>()?,
    };
    let codes = p.objects("code")?.into_iter().map(concept).collect::<Result<_, _>>()?;
    let provisions = p
        .objects("provision")?
        .into_iter()
        .map(|n| read_provision(n, version, options, depth + 1))
        .collect::<Result<_, _>>()?;
    p.finish()?;
    Ok(Provision {
        element,
        effect,
        period,
        actors,
        actions,
        security_labels,
        purposes,
        resource_types,
        document_types,
        codes,
        provisions,
    })
}

fn actor(mut a: Object<'_>, version: FhirVersion) -> Result<ProvisionActor, FhirError> {
    let role = a.object("role")?.map(concept).transpose()?;
    if role.is_none() && version == FhirVersion::R4 {
        return Err(a.path().child("role").invalid("the element is required"));
    }
    let path = a.path().child("reference");
    if version == FhirVersion::R4 && !a.has("reference") {
        return Err(path.invalid("the element is required"));
    }
    let reference = reference(a.object("reference")?, path)?;
    a.finish()?;
    Ok(ProvisionActor { role, reference })
}

/// A `Reference`'s literal reference (`Practitioner/f204`); one given only by identifier or display cannot
/// be resolved to an actor.
fn reference(object: Option<Object<'_>>, path: Path) -> Result<String, FhirError> {
    let Some(mut r) = object else {
        return Err(path.unsupported("a party must be named by a reference"));
    };
    r.ignore(&["display", "type", "identifier"])?;
    let Some(text) = r.string("reference")? else {
        return Err(path
            .child("reference")
            .unsupported("a reference given only by identifier or display cannot be resolved"));
    };
    let text = text.to_owned();
    r.finish()?;
    Ok(text)
}

fn period(mut o: Object<'_>, options: &ReadOptions) -> Result<Period, FhirError> {
    let mut bound = |name: &str| -> Result<Option<datetime::Span>, FhirError> {
        let Some(text) = o.string(name)? else { return Ok(None) };
        datetime::parse(text, options.date_offset_minutes)
            .map(Some)
            .ok_or_else(|| o.path().child(name).invalid("not a FHIR dateTime"))
    };
    let (start, end) = (bound("start")?, bound("end")?);
    // FHIR: "start SHALL have a lower or equal value than end" (compared where each begins).
    if let (Some(start), Some(end)) = (start, end)
        && end.start < start.start
    {
        return Err(o.path().invalid("the period ends before it starts"));
    }
    let period = Period { start: start.map(|s| s.start), end: end.map(|s| s.end) };
    o.finish()?;
    Ok(period)
}

fn coding(mut c: Object<'_>) -> Result<Coding, FhirError> {
    c.ignore(&["version", "display", "userSelected"])?;
    let system = c.string("system")?.map(str::to_owned);
    let Some(code) = c.string("code")? else {
        return Err(c.path().child("code").unsupported("a coding without a code cannot be matched"));
    };
    let code = code.to_owned();
    c.finish()?;
    Ok(Coding { system, code })
}

fn concept(mut c: Object<'_>) -> Result<Concept, FhirError> {
    c.ignore(&["text"])?;
    let codings: Vec<Coding> = c.objects("coding")?.into_iter().map(coding).collect::<Result<_, _>>()?;
    if codings.is_empty() {
        return Err(c.path().child("coding").unsupported("a concept given only by text cannot be matched"));
    }
    c.finish()?;
    Ok(Concept(codings))
}
