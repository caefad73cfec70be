//! A Consent's meaning as the ledger's own rules (docs/FHIR.md, "Into the ledger's rules"): one rule per
//! provision and requester, over the conditions of the provision's whole path; a deny rule's exceptions
//! are its nested provisions; a base permit is a permit for every role. The rules, evaluated by the
//! ledger's engine (deny overrides permit; no rule, no access), answer every question as
//! [`ConsentPolicy::decide`] does.
//!
//! Why this is exact: a provision decides where its path matches and none of its nested provisions does
//! (there, they decide). FHIR denies where one of these deciding provisions is a deny, and permits where all
//! of them are permits; no rule of a provision that does not match applies. A deny rule applies exactly
//! where its provision decides (its exceptions are its nested provisions, whatever their effect). A permit
//! rule needs no exceptions: wherever one of its nested provisions decides deny, that deny rule applies and
//! overrides it; wherever they decide permit, so does it.

use super::policy::{Conditions, ConsentPolicy, Rule};
use super::{Effect, Period};
use crate::codes::{Actions, Code, CodeSet, Role};
use crate::fhir::FhirError;
use crate::ids::ActorId;
use crate::tx::{ConsentGrant, Exception, Grantee, MAX_EXCEPTIONS, Window};
use std::collections::BTreeSet;

/// The conditions of a provision's path, ANDed: `None` sets hold always.
#[derive(Clone, Debug)]
struct Scope {
    requesters: Option<Vec<Grantee>>,
    sections: Option<BTreeSet<Code>>,
    purposes: Option<BTreeSet<Code>>,
    actions: Actions,
    window: Window,
}

impl ConsentPolicy {
    /// The ledger rules (GrantConsent payloads, for [`Ledger::grant_consents`](crate::Ledger::grant_consents))
    /// that express this consent: together, evaluated alone, they permit exactly the questions
    /// [`ConsentPolicy::decide`] permits, from the instant they are granted on (the ledger never authorises
    /// retroactively). `role_of` gives a registered actor's role, to intersect a provision's actors with
    /// its parent's roles. A provision whose path can match no question (disjoint requesters, sections,
    /// purposes, actions or periods) gives no rule. A permit already covered by another of the list is left
    /// out (the ledger would refuse it as "already has access"). Refused: a deny provision with more nested
    /// provisions (times their requesters) than [`MAX_EXCEPTIONS`].
    pub fn ledger_rules(&self, role_of: &dyn Fn(&ActorId) -> Option<Role>) -> Result<Vec<ConsentGrant>, FhirError> {
        let Some(window) = window_of(self.period) else { return Ok(Vec::new()) };
        let mut rules = Vec::new();
        if self.base == Some(Effect::Permit) {
            for grantee in every_role() {
                rules.push(self.grant(grantee, Effect::Permit, &everything(window), Vec::new())?);
            }
        }
        let top = everything(window);
        for rule in &self.rules {
            self.lower(rule, &top, role_of, &mut rules)?;
        }
        Ok(without_covered(rules))
    }

    fn lower(
        &self,
        rule: &Rule,
        parent: &Scope,
        role_of: &dyn Fn(&ActorId) -> Option<Role>,
        out: &mut Vec<ConsentGrant>,
    ) -> Result<(), FhirError> {
        let Some(scope) = narrow(parent, &rule.when, role_of) else { return Ok(()) };
        let exceptions = match rule.effect {
            Effect::Permit => Vec::new(),
            Effect::Deny => exceptions(rule)?,
        };
        let grantees = scope.requesters.clone().unwrap_or_else(every_role);
        for grantee in grantees {
            out.push(self.grant(grantee, rule.effect, &scope, exceptions.clone())?);
        }
        for nested in &rule.exceptions {
            self.lower(nested, &scope, role_of, out)?;
        }
        Ok(())
    }

    fn grant(
        &self,
        grantee: Grantee,
        effect: Effect,
        scope: &Scope,
        exceptions: Vec<Exception>,
    ) -> Result<ConsentGrant, FhirError> {
        Ok(ConsentGrant {
            patient: self.patient,
            grantee,
            effect,
            sections: code_set(scope.sections.as_ref().map(|set| set.iter()))?,
            purposes: code_set(scope.purposes.as_ref().map(|set| set.iter()))?,
            actions: scope.actions,
            window: scope.window,
            exceptions,
        })
    }
}

/// No condition but `window`.
fn everything(window: Window) -> Scope {
    Scope { requesters: None, sections: None, purposes: None, actions: Actions::READ_WRITE, window }
}

/// A deny rule's exceptions: each nested provision's own conditions (its path's others hold already), one
/// exception per requester it names.
fn exceptions(rule: &Rule) -> Result<Vec<Exception>, FhirError> {
    let mut out = Vec::new();
    for nested in &rule.exceptions {
        let when = &nested.when;
        let Some(window) = window_of(when.period) else { continue };
        let grantees: Vec<Option<Grantee>> = match &when.requesters {
            None => vec![None],
            Some(list) => list.iter().copied().map(Some).collect(),
        };
        for grantee in grantees {
            out.push(Exception {
                grantee,
                sections: code_set(when.sections.as_ref().map(|codes| codes.iter()))?,
                purposes: code_set(when.purposes.as_ref().map(|codes| codes.iter()))?,
                actions: when.actions,
                window,
            });
        }
    }
    if out.len() > MAX_EXCEPTIONS {
        return Err(FhirError::Unsupported {
            element: rule.element.clone(),
            reason: "more nested provisions (times their actors) under a deny than a rule's exceptions hold",
        });
    }
    Ok(out)
}

/// `parent` narrowed by `when`; `None` if no question meets both.
fn narrow(parent: &Scope, when: &Conditions, role_of: &dyn Fn(&ActorId) -> Option<Role>) -> Option<Scope> {
    let requesters = match (&parent.requesters, &when.requesters) {
        (None, None) => None,
        (Some(list), None) | (None, Some(list)) => Some(list.clone()),
        (Some(outer), Some(inner)) => {
            let mut both: Vec<Grantee> = Vec::new();
            for a in outer {
                for b in inner {
                    if let Some(common) = common_grantee(*a, *b, role_of)
                        && !both.contains(&common)
                    {
                        both.push(common);
                    }
                }
            }
            if both.is_empty() {
                return None;
            }
            Some(both)
        }
    };
    let sections = intersect(parent.sections.as_ref(), when.sections.as_deref())?;
    let purposes = intersect(parent.purposes.as_ref(), when.purposes.as_deref())?;
    let actions = if parent.actions.covers(when.actions) {
        when.actions
    } else if when.actions.covers(parent.actions) {
        parent.actions
    } else {
        return None;
    };
    let window = intersect_windows(parent.window, window_of(when.period)?)?;
    Some(Scope { requesters, sections, purposes, actions, window })
}

/// The requesters named by both `a` and `b`.
fn common_grantee(a: Grantee, b: Grantee, role_of: &dyn Fn(&ActorId) -> Option<Role>) -> Option<Grantee> {
    match (a, b) {
        (Grantee::Actor(x), Grantee::Actor(y)) => (x == y).then_some(a),
        (Grantee::Role(r), Grantee::Role(s)) => (r == s).then_some(a),
        (Grantee::Actor(x), Grantee::Role(r)) | (Grantee::Role(r), Grantee::Actor(x)) => {
            (role_of(&x) == Some(r)).then_some(Grantee::Actor(x))
        }
    }
}

/// `Some(None)`: no condition; `Some(Some(set))`: these codes; `None`: no code meets both.
fn intersect(outer: Option<&BTreeSet<Code>>, inner: Option<&[Code]>) -> Option<Option<BTreeSet<Code>>> {
    match (outer, inner) {
        (None, None) => Some(None),
        (Some(set), None) => Some(Some(set.clone())),
        (None, Some(codes)) => Some(Some(codes.iter().copied().collect())),
        (Some(set), Some(codes)) => {
            let both: BTreeSet<Code> = codes.iter().filter(|c| set.contains(c)).copied().collect();
            (!both.is_empty()).then_some(Some(both))
        }
    }
}

/// A FHIR period as a ledger window; `None` if it holds no instant a question can name (ms from 1970 on).
fn window_of(period: Option<Period>) -> Option<Window> {
    let Some(period) = period else { return Some(Window { not_before: 0, not_after: None }) };
    let not_before = period.start.map_or(0, |s| u64::try_from(s).unwrap_or(0));
    let not_after = match period.end {
        None => None,
        Some(end) => Some(u64::try_from(end).ok()?),
    };
    let window = Window { not_before, not_after };
    (!window.is_empty()).then_some(window)
}

fn intersect_windows(a: Window, b: Window) -> Option<Window> {
    let not_after = match (a.not_after, b.not_after) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    };
    let window = Window { not_before: a.not_before.max(b.not_before), not_after };
    (!window.is_empty()).then_some(window)
}

/// A condition's codes as a code set (`*` when there is no condition). A compiled policy's sets are never
/// empty nor over [`crate::codes::MAX_CODES_PER_SET`], and intersections only shrink them; one that is
/// anyway is refused, never widened to `*`.
fn code_set<'a>(codes: Option<impl Iterator<Item = &'a Code>>) -> Result<CodeSet, FhirError> {
    match codes {
        None => Ok(CodeSet::all()),
        Some(codes) => CodeSet::new(codes.copied()).map_err(|_| FhirError::Invalid {
            element: "Consent.provision".into(),
            problem: "a condition's codes do not form a code set".into(),
        }),
    }
}

/// Every role, as grantees.
fn every_role() -> Vec<Grantee> {
    Role::ALL.into_iter().map(Grantee::Role).collect()
}

/// `rules` without the permits that another permit of the list covers (the first of equal ones is kept).
fn without_covered(rules: Vec<ConsentGrant>) -> Vec<ConsentGrant> {
    let mut kept: Vec<ConsentGrant> = Vec::new();
    for (index, rule) in rules.iter().enumerate() {
        let covered = rules
            .iter()
            .enumerate()
            .any(|(other, wide)| other != index && wide.covers(rule) && (other < index || !rule.covers(wide)));
        if !covered {
            kept.push(rule.clone());
        }
    }
    kept
}
