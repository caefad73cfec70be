//! The purpose-of-use hierarchy of HL7 v3 ActReason: a question for emergency treatment (`ETREAT`) *is* a
//! question for treatment (`TREAT`), so a provision about `TREAT` applies to it (the code system's
//! `hierarchyMeaning` is `is-a`).
//!
//! Source: HL7 Terminology (THO), `input/sourceOfTruth/v3/codeSystems/v3-ActReason.xml` in HL7/UTG at commit
//! 0f80415d0b4b4722333c05f23966963c1b4d7e8c (2026-03-08, code system version 4.0.0): each code's
//! `subsumedBy` parent, under the abstract `PurposeOfUse`. Every version of the file since 2019 gives these
//! parents.

/// (code, parent) for every code under `PurposeOfUse`.
const PARENTS: [(&str, &str); 62] = [
    ("HMARKT", "PurposeOfUse"),
    ("HOPERAT", "PurposeOfUse"),
    ("HPAYMT", "PurposeOfUse"),
    ("HRESCH", "PurposeOfUse"),
    ("PATRQT", "PurposeOfUse"),
    ("PUBHLTH", "PurposeOfUse"),
    ("TREAT", "PurposeOfUse"),
    ("CAREMGT", "HOPERAT"),
    ("DONAT", "HOPERAT"),
    ("FRAUD", "HOPERAT"),
    ("GOV", "HOPERAT"),
    ("HACCRED", "HOPERAT"),
    ("HCOMPL", "HOPERAT"),
    ("HDECD", "HOPERAT"),
    ("HDIRECT", "HOPERAT"),
    ("HDM", "HOPERAT"),
    ("HLEGAL", "HOPERAT"),
    ("HOUTCOMS", "HOPERAT"),
    ("HPRGRP", "HOPERAT"),
    ("HQUALIMP", "HOPERAT"),
    ("HSYSADMIN", "HOPERAT"),
    ("MEMADMIN", "HOPERAT"),
    ("MILCDM", "HOPERAT"),
    ("PATADMIN", "HOPERAT"),
    ("PATSFTY", "HOPERAT"),
    ("PERFMSR", "HOPERAT"),
    ("RECORDMGT", "HOPERAT"),
    ("SYSDEV", "HOPERAT"),
    ("TRAIN", "HOPERAT"),
    ("MLTRAINING", "HOPERAT"),
    ("LABELING", "HSYSADMIN"),
    ("METAMGT", "HSYSADMIN"),
    ("HTEST", "SYSDEV"),
    ("CLMATTCH", "HPAYMT"),
    ("COVAUTH", "HPAYMT"),
    ("COVERAGE", "HPAYMT"),
    ("REMITADV", "HPAYMT"),
    ("PMTDS", "HPAYMT"),
    ("ELIGDTRM", "COVERAGE"),
    ("ELIGVER", "COVERAGE"),
    ("ENROLLM", "COVERAGE"),
    ("MILDCRG", "COVERAGE"),
    ("BIORCH", "HRESCH"),
    ("CLINTRCH", "HRESCH"),
    ("DSRCH", "HRESCH"),
    ("POARCH", "HRESCH"),
    ("TRANSRCH", "HRESCH"),
    ("CLINTRCHNPC", "CLINTRCH"),
    ("CLINTRCHPC", "CLINTRCH"),
    ("PRECLINTRCH", "CLINTRCH"),
    ("FAMRQT", "PATRQT"),
    ("PWATRNY", "PATRQT"),
    ("SUPNWK", "PATRQT"),
    ("DISASTER", "PUBHLTH"),
    ("THREAT", "PUBHLTH"),
    ("CLINTRL", "TREAT"),
    ("COC", "TREAT"),
    ("ETREAT", "TREAT"),
    ("POPHLTH", "TREAT"),
    ("TREATDS", "TREAT"),
    ("BTG", "ETREAT"),
    ("ERTREAT", "ETREAT"),
];

/// `code` and every purpose it subsumes (its descendants), e.g. `TREAT` → `TREAT`, `CLINTRL`, `COC`, `ETREAT`,
/// `BTG`, `ERTREAT`, `POPHLTH`, `TREATDS`. A code outside the hierarchy is only itself.
pub fn with_descendants(code: &str) -> Vec<&str> {
    let mut all = vec![code];
    let mut next = 0;
    while let Some(&parent) = all.get(next) {
        all.extend(PARENTS.iter().filter(|(_, p)| *p == parent).map(|(child, _)| *child));
        next += 1;
    }
    all
}

/// Whether `code` is in the PurposeOfUse tree (`PurposeOfUse` itself or one of its descendants).
pub fn is_purpose_of_use(code: &str) -> bool {
    code == "PurposeOfUse" || PARENTS.iter().any(|(child, _)| *child == code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tree_is_the_code_systems() {
        let mut treat = with_descendants("TREAT");
        treat.sort_unstable();
        assert_eq!(treat, ["BTG", "CLINTRL", "COC", "ERTREAT", "ETREAT", "POPHLTH", "TREAT", "TREATDS"]);
        assert_eq!(with_descendants("ETREAT"), ["ETREAT", "BTG", "ERTREAT"]);
        assert_eq!(with_descendants("HMARKT"), ["HMARKT"]);
        assert_eq!(with_descendants("LOCAL"), ["LOCAL"]);
        // Every code under PurposeOfUse once: a tree (one parent each), 62 codes with the root.
        let mut all = with_descendants("PurposeOfUse");
        let count = all.len();
        all.sort_unstable();
        all.dedup();
        assert_eq!((count, all.len()), (63, 63));
        assert!(all.iter().all(|code| is_purpose_of_use(code)));
        assert!(!is_purpose_of_use("LOCAL") && !is_purpose_of_use("treat"));
    }
}
