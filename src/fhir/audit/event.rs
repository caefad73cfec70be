//! One AuditEvent's JSON, R4 or R5 (docs/FHIR.md, "AuditEvent"): the elements each version requires, BALP's
//! codes where a pattern applies (RESTful read, update, create; the patient entity as `audit-entity-type`
//! 1 with `object-role` 1), DICOM's Security Alert and Emergency Override Started for break-glass.

use super::Event;
use crate::codes::{Action, Code};
use crate::fhir::consent::{ACT_REASON, Directory, PARTICIPATION_TYPE};
use crate::fhir::{CONSENT_ID_SYSTEM, FhirVersion, PURPOSE_SYSTEM, SECTION_SYSTEM, datetime, purposes};
use crate::hash::to_hex;
use crate::ids::ActorId;
use crate::state::{Access, Stamp};
use crate::tx::{AccessBasis, Grantee};
use serde_json::{Map, Value, json};

/// Actors the directory does not name, by their pseudonymous id.
pub const ACTOR_SYSTEM: &str = "urn:healthchain:actor";
/// The ledger (its chain id), the observer of every event.
pub const CHAIN_SYSTEM: &str = "urn:healthchain:chain";
/// Delegations named as an access's basis.
pub const DELEGATION_SYSTEM: &str = "urn:healthchain:delegation";
/// The ledger's own event codes (`break-glass-review`) and detail types (`break-glass-reason`).
pub const EVENT_SYSTEM: &str = "urn:healthchain:audit";

const AUDIT_EVENT_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-event-type";
const RESTFUL_INTERACTION: &str = "http://hl7.org/fhir/restful-interaction";
const DICOM: &str = "http://dicom.nema.org/resources/ontology/DCM";
const ENTITY_TYPE: &str = "http://terminology.hl7.org/CodeSystem/audit-entity-type";
const OBJECT_ROLE: &str = "http://terminology.hl7.org/CodeSystem/object-role";
const RESOURCE_TYPES: &str = "http://hl7.org/fhir/resource-types";
const SOURCE_TYPE: &str = "http://terminology.hl7.org/CodeSystem/security-source-type";
const OUTCOME: &str = "http://terminology.hl7.org/CodeSystem/audit-event-outcome";

/// Writes events of one ledger.
pub(super) struct Writer<'a> {
    pub version: FhirVersion,
    pub directory: &'a dyn Directory,
    /// The chain id in hex.
    pub chain: String,
}

/// What an event is, as the version-neutral parts the writer puts in place.
struct Shape {
    /// Transaction id in hex: the event's `id`.
    id: String,
    /// `audit-event-type` / DICOM category, and the interaction or event code.
    category: (&'static str, &'static str),
    code: (&'static str, &'static str),
    action: &'static str,
    recorded: u64,
    occurred: Option<u64>,
    break_glass: bool,
    /// Purposes of use (codings).
    purposes: Vec<Value>,
    outcome_text: Option<&'static str>,
    agent: Map<String, Value>,
    entities: Vec<Value>,
}

fn coding(system: &str, code: &str) -> Value {
    json!({ "system": system, "code": code })
}

fn concept(system: &str, code: &str) -> Value {
    json!({ "coding": [coding(system, code)] })
}

fn instant(ms: u64) -> Value {
    i64::try_from(ms).ok().and_then(datetime::format_instant).map_or(Value::Null, Value::String)
}

/// A purpose of use: v3 ActReason if it is in the PurposeOfUse tree, else the ledger's own code.
fn purpose(code: &Code) -> Value {
    let system = if purposes::is_purpose_of_use(code.as_str()) { ACT_REASON } else { PURPOSE_SYSTEM };
    coding(system, code.as_str())
}

impl Writer<'_> {
    /// The AuditEvent of `event`, about `patient`, recorded at `stamp`.
    pub fn event(&self, patient: &ActorId, stamp: &Stamp, event: &Event<'_>) -> Value {
        let shape = match event {
            Event::Access(access) => self.access(access),
            Event::Review(access) => self.review(access, stamp),
            Event::Grant(consent) => self.consent_change(consent.granted_by, stamp, &consent.id, false),
            Event::Revoke(consent, signer) => self.consent_change(*signer, stamp, &consent.id, true),
        };
        self.write(patient, shape)
    }

    /// An actor: the directory's reference, else its id.
    fn who(&self, actor: &ActorId) -> Value {
        match self.directory.reference(&Grantee::Actor(*actor)) {
            Some(reference) => json!({ "reference": reference }),
            None => json!({ "identifier": { "system": ACTOR_SYSTEM, "value": to_hex(actor.as_bytes()) } }),
        }
    }

    /// An entity that is not the patient: `what`, its R4 type and its role (4: domain resource).
    fn entity(&self, what: Value, r4_type: Value) -> Value {
        match self.version {
            FhirVersion::R4 => json!({ "what": what, "type": r4_type, "role": coding(OBJECT_ROLE, "4") }),
            FhirVersion::R5 => json!({ "what": what, "role": concept(OBJECT_ROLE, "4") }),
        }
    }

    fn consent_entity(&self, hex: String) -> Value {
        let what = json!({ "identifier": { "system": CONSENT_ID_SYSTEM, "value": hex } });
        self.entity(what, coding(RESOURCE_TYPES, "Consent"))
    }

    fn access(&self, access: &Access) -> Shape {
        let record = &access.access;
        let section = json!({ "identifier": { "system": SECTION_SYSTEM, "value": record.section.as_str() } });
        let mut data = self.entity(section, coding(ENTITY_TYPE, "2"));
        let mut entities = Vec::new();
        let mut policies = Vec::new();
        let mut purposes = vec![purpose(&record.purpose)];
        let break_glass = matches!(record.basis, AccessBasis::BreakGlass { .. });
        match &record.basis {
            AccessBasis::Owner => {}
            AccessBasis::Delegate(id) => policies.push(format!("{DELEGATION_SYSTEM}:{}", to_hex(id.as_bytes()))),
            AccessBasis::Consents(ids) => {
                for id in ids {
                    let hex = to_hex(id.as_bytes());
                    policies.push(format!("{CONSENT_ID_SYSTEM}:{hex}"));
                    entities.push(self.consent_entity(hex));
                }
            }
            AccessBasis::BreakGlass { reason, .. } => {
                purposes.push(coding(ACT_REASON, "BTG"));
                let detail = match self.version {
                    FhirVersion::R4 => json!({ "type": "break-glass-reason", "valueString": reason.as_str() }),
                    FhirVersion::R5 => {
                        json!({ "type": concept(EVENT_SYSTEM, "break-glass-reason"), "valueString": reason.as_str() })
                    }
                };
                if let Some(object) = data.as_object_mut() {
                    object.insert("detail".into(), json!([detail]));
                }
            }
        }
        entities.insert(0, data);
        let mut agent = Map::new();
        agent.insert("type".into(), concept(PARTICIPATION_TYPE, "IRCP"));
        agent.insert("who".into(), self.who(&access.accessor));
        agent.insert("requestor".into(), json!(true));
        if !policies.is_empty() {
            agent.insert("policy".into(), json!(policies));
        }
        let (code, action) = match record.action {
            Action::Read => ("read", "R"),
            Action::Write => ("update", "U"),
        };
        Shape {
            id: to_hex(access.id.as_bytes()),
            category: (AUDIT_EVENT_TYPE, "rest"),
            code: (RESTFUL_INTERACTION, code),
            action,
            recorded: access.recorded.time,
            occurred: Some(record.at),
            break_glass,
            purposes,
            outcome_text: None,
            agent,
            entities,
        }
    }

    fn review(&self, access: &Access, stamp: &Stamp) -> Shape {
        let (reviewer, justified) =
            access.review.as_ref().map_or((access.accessor, false), |r| (r.reviewer, r.justified));
        let mut agent = Map::new();
        agent.insert("who".into(), self.who(&reviewer));
        agent.insert("requestor".into(), json!(true));
        let reviewed = json!({ "reference": format!("AuditEvent/{}", to_hex(access.id.as_bytes())) });
        Shape {
            id: to_hex(stamp.tx.as_bytes()),
            category: (DICOM, "110113"),
            code: (EVENT_SYSTEM, "break-glass-review"),
            action: "E",
            recorded: stamp.time,
            occurred: None,
            break_glass: false,
            purposes: Vec::new(),
            outcome_text: Some(if justified { "justified" } else { "not justified" }),
            agent,
            entities: vec![self.entity(reviewed, coding(RESOURCE_TYPES, "AuditEvent"))],
        }
    }

    fn consent_change(&self, signer: ActorId, stamp: &Stamp, consent: &crate::ids::ConsentId, revoked: bool) -> Shape {
        let mut agent = Map::new();
        agent.insert("type".into(), concept(PARTICIPATION_TYPE, "AUT"));
        agent.insert("who".into(), self.who(&signer));
        agent.insert("requestor".into(), json!(true));
        let (code, action) = if revoked { ("update", "U") } else { ("create", "C") };
        Shape {
            id: to_hex(stamp.tx.as_bytes()),
            category: (AUDIT_EVENT_TYPE, "rest"),
            code: (RESTFUL_INTERACTION, code),
            action,
            recorded: stamp.time,
            occurred: None,
            break_glass: false,
            purposes: Vec::new(),
            outcome_text: None,
            agent,
            entities: vec![self.consent_entity(to_hex(consent.as_bytes()))],
        }
    }

    fn write(&self, patient: &ActorId, mut shape: Shape) -> Value {
        let observer = json!({ "identifier": { "system": CHAIN_SYSTEM, "value": self.chain } });
        let patient_who = self.who(patient);
        let mut event = Map::new();
        event.insert("resourceType".into(), json!("AuditEvent"));
        event.insert("id".into(), json!(shape.id));
        let purposes: Vec<Value> = shape.purposes.iter().map(|c| json!({ "coding": [c] })).collect();
        match self.version {
            FhirVersion::R4 => {
                event.insert("type".into(), coding(shape.category.0, shape.category.1));
                let mut subtype = vec![coding(shape.code.0, shape.code.1)];
                if shape.break_glass {
                    subtype.push(coding(DICOM, "110127"));
                }
                event.insert("subtype".into(), json!(subtype));
                event.insert("action".into(), json!(shape.action));
                if let Some(at) = shape.occurred {
                    event.insert("period".into(), json!({ "start": instant(at), "end": instant(at) }));
                }
                event.insert("recorded".into(), instant(shape.recorded));
                event.insert("outcome".into(), json!("0"));
                if let Some(text) = shape.outcome_text {
                    event.insert("outcomeDesc".into(), json!(text));
                }
                if !purposes.is_empty() {
                    event.insert("purposeOfEvent".into(), json!(purposes));
                    shape.agent.insert("purposeOfUse".into(), json!(purposes));
                }
                event.insert("agent".into(), json!([shape.agent]));
                event.insert(
                    "source".into(),
                    json!({ "site": "healthchain", "observer": observer, "type": [coding(SOURCE_TYPE, "4")] }),
                );
                let patient_entity =
                    json!({ "what": patient_who, "type": coding(ENTITY_TYPE, "1"), "role": coding(OBJECT_ROLE, "1") });
                shape.entities.insert(0, patient_entity);
            }
            FhirVersion::R5 => {
                let mut categories = vec![concept(shape.category.0, shape.category.1)];
                if shape.break_glass {
                    categories.push(concept(DICOM, "110113"));
                }
                event.insert("category".into(), json!(categories));
                event.insert("code".into(), concept(shape.code.0, shape.code.1));
                event.insert("action".into(), json!(shape.action));
                let severity =
                    if shape.break_glass || shape.outcome_text.is_some() { "notice" } else { "informational" };
                event.insert("severity".into(), json!(severity));
                if let Some(at) = shape.occurred {
                    event.insert("occurredDateTime".into(), instant(at));
                }
                event.insert("recorded".into(), instant(shape.recorded));
                let mut outcome = Map::new();
                outcome.insert("code".into(), coding(OUTCOME, "0"));
                if let Some(text) = shape.outcome_text {
                    outcome.insert("detail".into(), json!([{ "text": text }]));
                }
                event.insert("outcome".into(), Value::Object(outcome));
                if !purposes.is_empty() {
                    event.insert("authorization".into(), json!(purposes));
                    shape.agent.insert("authorization".into(), json!(purposes));
                }
                event.insert("patient".into(), patient_who.clone());
                event.insert("agent".into(), json!([shape.agent]));
                event.insert("source".into(), json!({ "observer": observer, "type": [concept(SOURCE_TYPE, "4")] }));
                shape.entities.insert(0, json!({ "what": patient_who, "role": concept(OBJECT_ROLE, "1") }));
            }
        }
        event.insert("entity".into(), json!(shape.entities));
        Value::Object(event)
    }
}
