//! The documented event catalogue (`docs/events.md`, `docs/events.schema.json`)
//! against [`EventKind`]: a kind added, renamed or removed in one place and
//! not the others fails here.

use std::collections::BTreeSet;

use serde_json::Value;

use super::EventKind;

const DOC: &str = include_str!("../../../../docs/events.md");
const SCHEMA: &str = include_str!("../../../../docs/events.schema.json");

/// The envelope members every delivered event has.
const ENVELOPE: [&str; 6] = ["id", "type", "offerId", "tenant", "occurredAt", "data"];

fn schema() -> Value {
    serde_json::from_str(SCHEMA).expect("docs/events.schema.json is JSON")
}

fn branches(schema: &Value) -> &Vec<Value> {
    schema["oneOf"].as_array().expect("the schema has a oneOf")
}

/// The `type` consts of the schema's branches, in order.
fn schema_kinds(schema: &Value) -> Vec<String> {
    branches(schema)
        .iter()
        .filter_map(|b| b["properties"]["type"]["const"].as_str())
        .map(str::to_owned)
        .collect()
}

/// The kind of each `### `name`` heading of the page.
fn doc_sections() -> Vec<String> {
    DOC.lines()
        .filter_map(|l| l.strip_prefix("### `"))
        .filter_map(|l| l.strip_suffix('`'))
        .map(str::to_owned)
        .collect()
}

/// The JSON examples of the page.
fn doc_examples() -> Vec<Value> {
    DOC.split("```json\n")
        .skip(1)
        .map(|block| {
            let body = block.split("```").next().unwrap_or_default();
            serde_json::from_str(body).unwrap_or_else(|e| {
                panic!("an example of docs/events.md is not JSON ({e}): {body}")
            })
        })
        .collect()
}

#[test]
fn every_kind_has_a_section_and_a_schema_branch() {
    let schema = schema();
    let in_schema = schema_kinds(&schema);
    let sections = doc_sections();
    for kind in EventKind::ALL {
        let name = kind.as_str();
        assert!(
            sections.iter().any(|s| s == name),
            "docs/events.md has no section ### `{name}`"
        );
        assert!(
            in_schema.iter().any(|s| s == name),
            "docs/events.schema.json has no branch with type const \"{name}\""
        );
    }
}

#[test]
fn documents_no_kind_the_code_does_not_know() {
    let schema = schema();
    let in_schema = schema_kinds(&schema);
    for name in &in_schema {
        assert!(
            EventKind::parse(name).is_some(),
            "docs/events.schema.json names kind \"{name}\", which EventKind does not know"
        );
    }
    for name in doc_sections() {
        assert!(
            EventKind::parse(&name).is_some(),
            "docs/events.md has a section for \"{name}\", which EventKind does not know"
        );
    }
    let unique: BTreeSet<&String> = in_schema.iter().collect();
    assert_eq!(
        unique.len(),
        in_schema.len(),
        "a kind has two schema branches"
    );
}

#[test]
fn the_schema_is_version_1_and_open_to_later_kinds_and_members() {
    let schema = schema();
    assert_eq!(
        schema["$schema"],
        "https://json-schema.org/draft/2020-12/schema"
    );
    assert_eq!(schema["$id"], "urn:sigil:events:v1");
    assert!(DOC.starts_with("# Event catalogue, schema version 1\n"));
    let required: Vec<&str> = schema["required"]
        .as_array()
        .expect("the envelope lists its required members")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert_eq!(required, ENVELOPE);
    // Each kind's data accepts members added later.
    for b in branches(&schema)
        .iter()
        .filter(|b| b["properties"]["type"]["const"].is_string())
    {
        assert_eq!(
            b["properties"]["data"]["additionalProperties"], true,
            "the data of {} must allow later members",
            b["properties"]["type"]["const"]
        );
    }
    // The last branch takes any kind not listed, and lists exactly the others.
    let later = branches(&schema)
        .last()
        .and_then(|b| b["properties"]["type"]["not"]["enum"].as_array())
        .expect("the last branch accepts kinds not listed");
    let later: BTreeSet<&str> = later.iter().filter_map(Value::as_str).collect();
    let all: BTreeSet<&str> = EventKind::ALL.iter().map(|k| k.as_str()).collect();
    assert_eq!(
        later, all,
        "the catch-all branch must exclude exactly the known kinds"
    );
}

#[test]
fn the_examples_match_the_schema_members() {
    let schema = schema();
    let examples = doc_examples();
    assert!(
        examples.len() > EventKind::ALL.len(),
        "one example per kind, at least"
    );
    let mut seen = BTreeSet::new();
    for e in &examples {
        let members: BTreeSet<&str> = e
            .as_object()
            .expect("an example is an object")
            .keys()
            .map(String::as_str)
            .collect();
        assert_eq!(members, BTreeSet::from(ENVELOPE), "envelope of {e}");
        assert!(
            e["id"].as_str().is_some_and(|id| id.parse::<u64>().is_ok()),
            "id of {e}"
        );
        let kind = e["type"].as_str().expect("type is a string");
        assert!(EventKind::parse(kind).is_some(), "unknown kind in {e}");
        let branch = branches(&schema)
            .iter()
            .find(|b| b["properties"]["type"]["const"] == kind)
            .expect("a branch per kind");
        let data_schema = &branch["properties"]["data"];
        let data = e["data"].as_object().expect("data is an object");
        for name in data.keys() {
            assert!(
                data_schema["properties"].get(name).is_some(),
                "example of {kind}: member {name} is not in the schema"
            );
        }
        for name in data_schema["required"].as_array().into_iter().flatten() {
            let name = name.as_str().unwrap_or_default();
            assert!(data.contains_key(name), "example of {kind} lacks {name}");
        }
        seen.insert(kind.to_owned());
    }
    for kind in EventKind::ALL {
        assert!(
            seen.contains(kind.as_str()),
            "docs/events.md has no example of {kind}"
        );
    }
}
