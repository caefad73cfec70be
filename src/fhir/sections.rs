//! Which sections of the ledger's record a FHIR code denotes: the mapping that turns a provision's
//! `class`/`resourceType`/`documentType`, `code` and `securityLabel` into the ledger's section codes.
//!
//! An entry says that the data a code denotes is **exactly** the data of those sections (the EHR files its
//! data that way), so that a permit is not wider and a deny not narrower than the FHIR rule. Codes without
//! an entry are refused by the importer, never dropped. The defaults ([`SectionMap::defaults`]) follow the
//! sections that `healthchain::workload` and the examples use; an EHR with other sections replaces them.

use crate::codes::Code;
use std::collections::BTreeMap;

/// FHIR resource types (R4 `provision.class`, R5 `provision.resourceType`).
pub const RESOURCE_TYPES: &str = "http://hl7.org/fhir/resource-types";
/// HL7 v3 ActCode, whose sensitivity codes (PSY, ETH, HIV, SDV, …) label data.
pub const V3_ACT_CODE: &str = "http://terminology.hl7.org/CodeSystem/v3-ActCode";

/// A mapping from (code system, code) to the ledger's sections. No `Default`: [`SectionMap::empty`] is empty,
/// [`SectionMap::defaults`] holds the defaults.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SectionMap {
    /// By system, then code.
    entries: BTreeMap<String, BTreeMap<String, Vec<Code>>>,
}

impl SectionMap {
    /// An empty mapping (every code refused).
    pub fn empty() -> Self {
        Self { entries: BTreeMap::new() }
    }

    /// The defaults:
    /// - resource types: the medication resources → `medications`; AllergyIntolerance → `allergies`;
    ///   Immunization, ImmunizationRecommendation → `immunizations`; ImagingStudy → `imaging`; Observation →
    ///   `labs`, `vitals`; DiagnosticReport → `labs`, `imaging`; Specimen → `labs`; DocumentReference,
    ///   Composition → `notes`;
    /// - v3 ActCode sensitivity labels: PSY (psychiatry) → `mental-health`; ETH (substance abuse) →
    ///   `substance-use`; HIV → `hiv`; SDV (sexual and domestic violence) → `sdv`; GDIS (genetic disease) →
    ///   `genetics`; STD (sexually transmitted disease) → `sti`.
    pub fn defaults() -> Self {
        let mut map = Self::empty();
        let types: [(&str, &[&str]); 14] = [
            ("MedicationRequest", &["medications"]),
            ("MedicationStatement", &["medications"]),
            ("MedicationAdministration", &["medications"]),
            ("MedicationDispense", &["medications"]),
            ("Medication", &["medications"]),
            ("AllergyIntolerance", &["allergies"]),
            ("Immunization", &["immunizations"]),
            ("ImmunizationRecommendation", &["immunizations"]),
            ("ImagingStudy", &["imaging"]),
            ("Observation", &["labs", "vitals"]),
            ("DiagnosticReport", &["labs", "imaging"]),
            ("Specimen", &["labs"]),
            ("DocumentReference", &["notes"]),
            ("Composition", &["notes"]),
        ];
        let labels: [(&str, &[&str]); 6] = [
            ("PSY", &["mental-health"]),
            ("ETH", &["substance-use"]),
            ("HIV", &["hiv"]),
            ("SDV", &["sdv"]),
            ("GDIS", &["genetics"]),
            ("STD", &["sti"]),
        ];
        for (system, entries) in [(RESOURCE_TYPES, &types[..]), (V3_ACT_CODE, &labels[..])] {
            for (code, sections) in entries {
                map.insert(system, code, sections.iter().filter_map(|s| Code::new(s).ok()).collect());
            }
        }
        map
    }

    /// Maps `code` of `system` to `sections` (replacing an earlier entry). A section `*` would mean every
    /// section to the ledger; the importer refuses a provision that maps to it.
    pub fn insert(&mut self, system: &str, code: &str, sections: Vec<Code>) {
        self.entries.entry(system.to_owned()).or_default().insert(code.to_owned(), sections);
    }

    /// The sections `code` of `system` denotes, if mapped.
    pub fn sections(&self, system: &str, code: &str) -> Option<&[Code]> {
        self.entries.get(system)?.get(code).map(Vec::as_slice)
    }

    /// Every entry: (system, code, sections).
    pub fn entries(&self) -> impl Iterator<Item = (&str, &str, &[Code])> {
        self.entries.iter().flat_map(|(system, codes)| {
            codes.iter().map(move |(code, sections)| (system.as_str(), code.as_str(), sections.as_slice()))
        })
    }
}
