"""Validates FHIR JSON written by healthchain with an independent implementation: Python's fhir.resources
(6.4.0 models FHIR R4 4.0.1, 8.0.0 models R5 5.0.0; pydantic models generated from HL7's definitions, which
refuse unknown elements, wrong types and missing required elements). The codes of the required bindings this
library writes are checked against the specification's lists, which the models do not check.

Usage: python fhir_validate.py r4|r5 FILE... (.json: one resource or a Bundle; .ndjson: one per line).
"""

import json
import sys

import fhir.resources

# Required bindings of the elements healthchain writes (FHIR R4 and R5 value sets).
CODES = {
    ("Consent", "status"): {"draft", "proposed", "active", "rejected", "inactive", "entered-in-error", "not-done"},
    ("Consent", "decision"): {"deny", "permit"},
    ("provision", "type"): {"deny", "permit"},
    ("AuditEvent", "action"): {"C", "R", "U", "D", "E"},
    ("AuditEvent", "severity"): {"emergency", "alert", "critical", "error", "warning", "notice", "informational", "debug"},
    ("Bundle", "type"): {"document", "message", "transaction", "transaction-response", "batch", "batch-response",
                         "history", "searchset", "collection", "subscription-notification"},
}
R4_OUTCOMES = {"0", "4", "8", "12"}


def model(version, name):
    if version == "r4":
        from fhir.resources import construct_fhir_element

        return lambda data: construct_fhir_element(name, data)
    cls = fhir.resources.get_fhir_model_class(name)
    return cls.model_validate


def check_codes(version, resource, path="resource"):
    kind = resource.get("resourceType")
    for (owner, element), allowed in CODES.items():
        if owner == kind and element in resource and resource[element] not in allowed:
            raise ValueError(f"{path}.{element}: {resource[element]!r} is not in the value set")
    if kind == "AuditEvent" and version == "r4" and resource.get("outcome") not in R4_OUTCOMES:
        raise ValueError(f"{path}.outcome: {resource.get('outcome')!r}")
    if kind == "AuditEvent" and version == "r4":
        for i, entity in enumerate(resource.get("entity", [])):
            if "name" in entity and "query" in entity:
                raise ValueError(f"{path}.entity[{i}]: sev-1, a name or a query, not both")

    def provisions(items, at):
        for i, p in enumerate(items):
            here = f"{at}.provision[{i}]"
            if "type" in p and p["type"] not in CODES[("provision", "type")]:
                raise ValueError(f"{here}.type: {p['type']!r}")
            provisions(p.get("provision", []), here)

    if kind == "Consent":
        root = resource.get("provision", [])
        provisions(root if isinstance(root, list) else [root], path)
    for i, entry in enumerate(resource.get("entry", [])):
        check_codes(version, entry["resource"], f"{path}.entry[{i}].resource")


def validate(version, resource):
    model(version, resource["resourceType"])(resource)
    check_codes(version, resource)


def main():
    version, files = sys.argv[1], sys.argv[2:]
    expected = "4.0.1" if version == "r4" else "5.0.0"
    if fhir.resources.__fhir_version__ != expected:
        sys.exit(f"fhir.resources models FHIR {fhir.resources.__fhir_version__}, not {expected}")
    count = 0
    for name in files:
        with open(name, encoding="utf-8") as handle:
            text = handle.read()
        resources = [json.loads(line) for line in text.splitlines() if line.strip()] if name.endswith(".ndjson") else [json.loads(text)]
        for resource in resources:
            try:
                validate(version, resource)
            except Exception as error:  # noqa: BLE001 - any refusal fails the run, with its message
                sys.exit(f"{name}: {resource.get('resourceType')} refused by fhir.resources {fhir.resources.__version__}:\n{error}")
            count += 1
    print(f"{version}: {count} resources valid (fhir.resources {fhir.resources.__version__}, FHIR {expected})")


if __name__ == "__main__":
    main()
