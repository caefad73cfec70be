//! HL7 FHIR: the formats an EHR speaks (issue 12; docs/FHIR.md). Consent resources (R4 4.0.1 and R5 5.0.0
//! JSON) are read strictly into [`consent::ConsentResource`]: every element is either understood, explicitly
//! without effect on access (narrative, metadata), or refused with an error naming it, so that nothing that
//! could change what a consent allows is dropped. [`consent::compile`] then gives their meaning in the
//! ledger's terms, through the caller's directory of references and a [`sections::SectionMap`];
//! [`consent::import`] grants it as the ledger's rules, [`consent::export`] writes a patient's rules back.
//!
//! Nothing read here reaches an error message: errors name elements (`Consent.provision[0].dataPeriod`),
//! never values, which may be health data.

pub mod audit;
pub mod consent;
pub mod datetime;
pub(crate) mod json;
pub mod purposes;
pub mod sections;

pub use json::MAX_RESOURCE_BYTES;

/// The ledger's own section codes as a FHIR code system: a code names exactly that section. Export writes
/// sections this way; import reads it besides the [`sections::SectionMap`].
pub const SECTION_SYSTEM: &str = "urn:healthchain:section";
/// The ledger's own purpose codes: a code names exactly that purpose (no subsumption), for a rule whose
/// purposes v3 ActReason's is-a hierarchy cannot say exactly.
pub const PURPOSE_SYSTEM: &str = "urn:healthchain:purpose";
/// The ledger's own actions, `read` and `write`, for a write-only rule (FHIR's consentaction has no code for
/// write alone).
pub const ACTION_SYSTEM: &str = "urn:healthchain:action";
/// Identifiers of the ledger's consent rules: the GrantConsent transaction id in hex.
pub const CONSENT_ID_SYSTEM: &str = "urn:healthchain:consent";

/// The FHIR release a resource is written in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FhirVersion {
    /// FHIR R4 (4.0.1).
    R4,
    /// FHIR R5 (5.0.0).
    R5,
}

impl FhirVersion {
    /// `"R4"` or `"R5"`.
    pub fn name(self) -> &'static str {
        match self {
            FhirVersion::R4 => "R4",
            FhirVersion::R5 => "R5",
        }
    }
}

/// Why a FHIR resource was refused. Names the element, never its value.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FhirError {
    /// The input is longer than [`MAX_RESOURCE_BYTES`].
    #[error("the resource is {size} bytes long, more than the {limit} read")]
    TooLarge {
        /// Its length.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// Not JSON, or nested deeper than the parser's limit (128 levels).
    #[error("not well-formed JSON (line {line}, column {column})")]
    Syntax {
        /// 1-based line of the error, 0 if unknown.
        line: usize,
        /// 1-based column.
        column: usize,
    },
    /// An element is not valid FHIR here (wrong type, missing, empty, unknown code, repeated key).
    #[error("{element}: {problem}")]
    Invalid {
        /// Where, e.g. `Consent.provision.period.start`.
        element: String,
        /// What is wrong.
        problem: String,
    },
    /// A reference the caller's directory does not resolve.
    #[error("{element}: the reference does not resolve to a party of the ledger")]
    Unresolved {
        /// Where, e.g. `Consent.provision.actor[0].reference`.
        element: String,
    },
    /// Valid FHIR that the ledger cannot express faithfully: refused rather than turned into a looser rule.
    #[error("{element}: not supported: {reason}")]
    Unsupported {
        /// Where.
        element: String,
        /// Why.
        reason: &'static str,
    },
}

impl FhirError {
    /// The element the error is about, if it names one.
    pub fn element(&self) -> Option<&str> {
        match self {
            FhirError::Invalid { element, .. }
            | FhirError::Unsupported { element, .. }
            | FhirError::Unresolved { element } => Some(element),
            FhirError::TooLarge { .. } | FhirError::Syntax { .. } => None,
        }
    }
}
