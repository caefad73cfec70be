//! FHIR JSON read strictly: a size limit, serde_json's nesting limit, and a walker that names the element it
//! refuses (`Consent.provision[0].actor[1].role`) and never echoes a value, which may be health data.

use super::FhirError;
use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use std::collections::HashSet;

/// Largest resource read, in bytes. HL7's example Consents are 2–6 KB; a rule set of thousands of
/// provisions still fits. Larger input is refused before it is parsed.
pub const MAX_RESOURCE_BYTES: usize = 1 << 20;

/// A JSON value, objects in document order with repeated keys kept (and refused when walked: serde_json's
/// own `Value` keeps the last silently). Numbers are not kept: no element read here is a number.
#[derive(Debug)]
pub(crate) enum Json {
    Null,
    Bool,
    Number,
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    /// Parses `bytes`, at most [`MAX_RESOURCE_BYTES`] long.
    pub(crate) fn parse(bytes: &[u8]) -> Result<Json, FhirError> {
        if bytes.len() > MAX_RESOURCE_BYTES {
            return Err(FhirError::TooLarge { size: bytes.len(), limit: MAX_RESOURCE_BYTES });
        }
        serde_json::from_slice(bytes).map_err(|error| FhirError::Syntax { line: error.line(), column: error.column() })
    }

    fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool => "a boolean",
            Json::Number => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Json, E> {
        Ok(Json::Bool)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Json, E> {
        Ok(Json::Number)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Json, E> {
        Ok(Json::Number)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Json, E> {
        Ok(Json::Number)
    }
    fn visit_str<E>(self, text: &str) -> Result<Json, E> {
        Ok(Json::String(text.to_owned()))
    }
    fn visit_string<E>(self, text: String) -> Result<Json, E> {
        Ok(Json::String(text))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut fields = Vec::new();
        while let Some(field) = map.next_entry()? {
            fields.push(field);
        }
        Ok(Json::Object(fields))
    }
}

/// Where an element is, as FHIRPath-like text: `Consent.provision[0].actor[1]`. Built from the schema's
/// names and indices only; an unrecognised name from the input is shown only if it looks like one.
#[derive(Clone, Debug)]
pub(crate) struct Path(String);

impl Path {
    pub(crate) fn root(name: &str) -> Self {
        Path(name.to_owned())
    }
    pub(crate) fn child(&self, name: &str) -> Self {
        Path(format!("{}.{name}", self.0))
    }
    pub(crate) fn index(&self, i: usize) -> Self {
        Path(format!("{}[{i}]", self.0))
    }
    pub(crate) fn text(&self) -> String {
        self.0.clone()
    }
    /// An error about this element.
    pub(crate) fn invalid(&self, problem: impl Into<String>) -> FhirError {
        FhirError::Invalid { element: self.text(), problem: problem.into() }
    }
    /// A refusal of this element, which the ledger's rules cannot express faithfully.
    pub(crate) fn unsupported(&self, reason: &'static str) -> FhirError {
        FhirError::Unsupported { element: self.text(), reason }
    }
}

/// An element name as it may appear in an error: FHIR names are short ASCII identifiers; anything else
/// from the input is not repeated.
fn shown_name(name: &str) -> &str {
    let plausible =
        (1..=64).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if plausible { name } else { "(unrecognised name)" }
}

/// An object being read: every field must be taken or explicitly ignored before [`Object::finish`], so that
/// no element is dropped silently.
pub(crate) struct Object<'a> {
    path: Path,
    fields: &'a [(String, Json)],
    taken: Vec<bool>,
}

impl<'a> Object<'a> {
    /// `value` as an object at `path`; a repeated key is refused.
    pub(crate) fn new(value: &'a Json, path: Path) -> Result<Self, FhirError> {
        let Json::Object(fields) = value else {
            return Err(FhirError::Invalid { element: path.text(), problem: expected("an object", value) });
        };
        let mut seen = HashSet::with_capacity(fields.len());
        for (name, _) in fields {
            if !seen.insert(name.as_str()) {
                return Err(FhirError::Invalid {
                    element: path.child(shown_name(name)).text(),
                    problem: "the element appears twice in its object".into(),
                });
            }
        }
        Ok(Object { path, fields, taken: vec![false; fields.len()] })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn take(&mut self, name: &str) -> Option<&'a Json> {
        let at = self.fields.iter().position(|(key, _)| key == name)?;
        if let Some(taken) = self.taken.get_mut(at) {
            *taken = true;
        }
        self.fields.get(at).map(|(_, value)| value)
    }

    /// Whether the object has the element (without taking it).
    pub(crate) fn has(&self, name: &str) -> bool {
        self.fields.iter().any(|(key, _)| key == name)
    }

    /// A string element, if present.
    pub(crate) fn string(&mut self, name: &str) -> Result<Option<&'a str>, FhirError> {
        match self.take(name) {
            None => Ok(None),
            Some(Json::String(text)) if !text.trim().is_empty() => Ok(Some(text)),
            Some(Json::String(_)) => Err(self.path.child(name).invalid("a string element must not be empty")),
            Some(other) => Err(self.path.child(name).invalid(expected("a string", other))),
        }
    }

    /// A string element that must be present.
    pub(crate) fn required_string(&mut self, name: &str) -> Result<&'a str, FhirError> {
        self.string(name)?.ok_or_else(|| self.path.child(name).invalid("the element is required"))
    }

    /// An object element, if present.
    pub(crate) fn object(&mut self, name: &str) -> Result<Option<Object<'a>>, FhirError> {
        let path = self.path.child(name);
        self.take(name).map(|value| Object::new(value, path)).transpose()
    }

    /// The items of an array element with their paths; absent is empty, `[]` is refused (FHIR JSON never
    /// holds an empty array).
    pub(crate) fn array(&mut self, name: &str) -> Result<Vec<(Path, &'a Json)>, FhirError> {
        let path = self.path.child(name);
        match self.take(name) {
            None => Ok(Vec::new()),
            Some(Json::Array(items)) if items.is_empty() => Err(path.invalid("an array must not be empty")),
            Some(Json::Array(items)) => Ok(items.iter().enumerate().map(|(i, item)| (path.index(i), item)).collect()),
            Some(other) => Err(path.invalid(expected("an array", other))),
        }
    }

    /// The objects of an array element.
    pub(crate) fn objects(&mut self, name: &str) -> Result<Vec<Object<'a>>, FhirError> {
        self.array(name)?.into_iter().map(|(path, value)| Object::new(value, path)).collect()
    }

    /// Takes elements that carry no rule (narrative, metadata, who recorded it) without interpreting them,
    /// but refuses a modifier extension anywhere inside them (it could change what they mean).
    pub(crate) fn ignore(&mut self, names: &[&str]) -> Result<(), FhirError> {
        for name in names {
            if let Some(value) = self.take(name) {
                refuse_modifiers(value, &self.path.child(name))?;
            }
        }
        Ok(())
    }

    /// Refuses the object if it holds an element not taken: an element of the resource that this reader
    /// does not know could change what the resource means. `extension` is ignored (FHIR: a reader may
    /// ignore extensions); `modifierExtension` is refused (FHIR: a reader that does not know one must not
    /// process the resource), also in a primitive's extensions (`_status`).
    pub(crate) fn finish(mut self) -> Result<(), FhirError> {
        if self.has("modifierExtension") {
            return Err(self.path.child("modifierExtension").unsupported(MODIFIER));
        }
        self.ignore(&["id", "extension"])?;
        for ((name, value), taken) in self.fields.iter().zip(&self.taken) {
            if *taken {
                continue;
            }
            let path = self.path.child(shown_name(name));
            if !name.starts_with('_') {
                return Err(path.unsupported("the element is not known to this reader"));
            }
            // A primitive's id and extensions (FHIR JSON's `_element`): one object, or one per item.
            let items: Vec<(Path, &Json)> = match value {
                Json::Array(items) => items.iter().enumerate().map(|(i, item)| (path.index(i), item)).collect(),
                single => vec![(path.clone(), single)],
            };
            for (path, item) in items {
                if !matches!(item, Json::Null) {
                    Object::new(item, path)?.finish()?;
                }
            }
        }
        Ok(())
    }
}

/// Refuses `modifierExtension` anywhere in `value` (serde_json's nesting limit bounds the recursion).
fn refuse_modifiers(value: &Json, path: &Path) -> Result<(), FhirError> {
    match value {
        Json::Object(fields) => fields.iter().try_for_each(|(name, inner)| {
            let path = path.child(shown_name(name));
            if name == "modifierExtension" { Err(path.unsupported(MODIFIER)) } else { refuse_modifiers(inner, &path) }
        }),
        Json::Array(items) => items.iter().enumerate().try_for_each(|(i, item)| refuse_modifiers(item, &path.index(i))),
        Json::Null | Json::Bool | Json::Number | Json::String(_) => Ok(()),
    }
}

const MODIFIER: &str = "a modifier extension changes the meaning of its element and is not understood";

/// "expected a string, found a number".
fn expected(what: &str, found: &Json) -> String {
    format!("expected {what}, found {}", found.kind())
}
