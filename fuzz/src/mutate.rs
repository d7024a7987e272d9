//! Mutators: small structural edits of a valid input, so that generated
//! inputs stay close enough to valid ones to reach deep code, plus byte
//! edits for the parsers in front of it.

use serde_json::{Map, Number, Value};

use crate::Rng;

/// Strings that often break parsers and validators.
pub const NASTY_STRINGS: &[&str] = &[
    "",
    " ",
    "0",
    "-1",
    "null",
    "true",
    "\u{0}",
    "\u{feff}",
    "é",
    "\u{1F600}",
    "\u{202e}",
    "%00",
    "%",
    "%zz",
    "+",
    "&",
    "=",
    "a=b&a=c",
    "..",
    "../../etc/passwd",
    "/",
    "//",
    "\\",
    "\"",
    "'",
    "{",
    "}",
    "[]",
    "{}",
    "\n",
    "\r\n",
    "\t",
    "http://",
    "https://",
    "http://127.0.0.1:1/",
    "https://example.com/",
    "data:,",
    "did:jwk:",
    "did:key:z",
    "did:web:",
    "eyJ",
    "eyJhbGciOiJub25lIn0",
    "eyJhbGciOiJub25lIn0..",
    "a.b.c",
    "...",
    "~",
    "$.a",
    "${env:HOME}",
    "1e999",
    "-0",
    "0x10",
    "9223372036854775808",
    "18446744073709551616",
    "1970-01-01",
    "9999-12-31T23:59:59Z",
    "0000-00-00",
    "2024-02-30",
];

/// Numbers at the edges of what parsers and arithmetic handle.
pub fn nasty_number(rng: &mut Rng) -> Value {
    match rng.below(12) {
        0 => Value::from(0),
        1 => Value::from(-1),
        2 => Value::from(i64::MAX),
        3 => Value::from(i64::MIN),
        4 => Value::from(u64::MAX),
        5 => Number::from_f64(1e308).map_or(Value::Null, Value::Number),
        6 => Number::from_f64(-1e308).map_or(Value::Null, Value::Number),
        7 => Number::from_f64(0.5).map_or(Value::Null, Value::Number),
        8 => Value::from(u32::MAX),
        9 => Value::from(i64::from(i32::MIN)),
        10 => Value::from(rng.below(100) as i64 - 50),
        _ => Value::from(rng.next_u64() as i64),
    }
}

/// A random string: a nasty one, one from `dictionary`, random ASCII,
/// random Unicode, or a long one.
pub fn string(rng: &mut Rng, dictionary: &[&str]) -> String {
    match rng.below(7) {
        0 | 1 if !dictionary.is_empty() => (*rng.pick(dictionary)).to_owned(),
        0..=2 => (*rng.pick(NASTY_STRINGS)).to_owned(),
        3 => (0..rng.below(24))
            .map(|_| (b' ' + rng.below(95) as u8) as char)
            .collect(),
        4 => (0..rng.below(12))
            .filter_map(|_| char::from_u32(rng.below(0x11_0000) as u32))
            .collect(),
        5 => "A".repeat(rng.below(5000)),
        _ => {
            let base = (*rng.pick(NASTY_STRINGS)).to_owned();
            base.repeat(rng.below(4) + 1)
        }
    }
}

/// A random JSON value of random type and bounded depth.
pub fn value(rng: &mut Rng, dictionary: &[&str], depth: usize) -> Value {
    let kinds = if depth == 0 { 4 } else { 6 };
    match rng.below(kinds) {
        0 => Value::Null,
        1 => Value::Bool(rng.one_in(2)),
        2 => nasty_number(rng),
        3 => Value::String(string(rng, dictionary)),
        4 => Value::Array(
            (0..rng.below(4))
                .map(|_| value(rng, dictionary, depth - 1))
                .collect(),
        ),
        _ => Value::Object(
            (0..rng.below(4))
                .map(|_| (string(rng, dictionary), value(rng, dictionary, depth - 1)))
                .collect(),
        ),
    }
}

/// A string edited a little: truncated, extended, a character changed,
/// doubled, or replaced.
pub fn edit_string(rng: &mut Rng, s: &str, dictionary: &[&str]) -> String {
    let chars: Vec<char> = s.chars().collect();
    match rng.below(8) {
        0 => chars[..rng.below(chars.len() + 1)].iter().collect(),
        1 => format!("{s}{}", string(rng, dictionary)),
        2 => format!("{}{s}", string(rng, dictionary)),
        3 if !chars.is_empty() => {
            let mut c = chars;
            let i = rng.below(c.len());
            c[i] = char::from_u32(rng.below(0x80) as u32).unwrap_or('x');
            c.into_iter().collect()
        }
        4 => s.to_uppercase(),
        5 => format!("{s}{s}"),
        6 => format!("{s}/"),
        _ => string(rng, dictionary),
    }
}

/// Apply 1 to `max_edits` structural edits to a copy of `seed`: replace a
/// value (by a random one, an edited string or a number at an edge),
/// remove or add a member, change an array, or wrap a value.
pub fn json(rng: &mut Rng, seed: &Value, dictionary: &[&str], max_edits: usize) -> Value {
    let mut v = seed.clone();
    for _ in 0..=rng.below(max_edits.max(1)) {
        edit_somewhere(rng, &mut v, dictionary);
    }
    v
}

fn edit_somewhere(rng: &mut Rng, v: &mut Value, dictionary: &[&str]) {
    // Walk down a random path; stop at a random depth.
    let descend = rng.below(4) != 0;
    match v {
        Value::Object(map) if descend && !map.is_empty() => {
            let key = map.keys().nth(rng.below(map.len())).cloned();
            if let Some(child) = key.and_then(|k| map.get_mut(&k)) {
                return edit_somewhere(rng, child, dictionary);
            }
        }
        Value::Array(items) if descend && !items.is_empty() => {
            let i = rng.below(items.len());
            return edit_somewhere(rng, &mut items[i], dictionary);
        }
        _ => {}
    }
    edit_here(rng, v, dictionary);
}

fn edit_here(rng: &mut Rng, v: &mut Value, dictionary: &[&str]) {
    match (rng.below(10), &mut *v) {
        (0, Value::Object(map)) if !map.is_empty() => {
            let key = map.keys().nth(rng.below(map.len())).cloned();
            if let Some(k) = key {
                map.remove(&k);
            }
        }
        (1, Value::Object(map)) => {
            let key = string(rng, dictionary);
            map.insert(key, value(rng, dictionary, 2));
        }
        (2, Value::Array(items)) if !items.is_empty() => {
            let i = rng.below(items.len());
            if rng.one_in(2) {
                items.remove(i);
            } else {
                let copy = items[i].clone();
                items.push(copy);
            }
        }
        (3, Value::Array(items)) => items.push(value(rng, dictionary, 2)),
        (4, Value::String(s)) => *s = edit_string(rng, s, dictionary),
        (5, _) => *v = Value::Array(vec![v.take()]),
        (6, _) => *v = nasty_number(rng),
        (7, _) => *v = Value::String(string(rng, dictionary)),
        (8, Value::Object(map)) => {
            // Same members, another type for one of them.
            let key = map.keys().nth(rng.below(map.len().max(1))).cloned();
            if let Some(k) = key {
                map.insert(k, value(rng, dictionary, 1));
            }
        }
        _ => *v = value(rng, dictionary, 2),
    }
}

/// Apply 1 to 4 byte edits to a copy of `seed`: flip bits, set
/// interesting bytes, insert or delete runs, truncate, duplicate a slice,
/// or splice in a dictionary token.
pub fn bytes(rng: &mut Rng, seed: &[u8], dictionary: &[&[u8]]) -> Vec<u8> {
    let mut b = seed.to_vec();
    for _ in 0..=rng.below(4) {
        let at = rng.below(b.len() + 1);
        match rng.below(8) {
            0 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] ^= 1 << rng.below(8);
            }
            1 if !b.is_empty() => {
                let i = rng.below(b.len());
                b[i] = *rng.pick(&[
                    0u8, 0x7f, 0x80, 0xff, b'"', b'\\', b'{', b'}', b'&', b'=', b'%', b'.', 0xc3,
                ]);
            }
            2 => {
                let n = rng.below(16) + 1;
                let noise = rng.bytes(n);
                b.splice(at..at, noise);
            }
            3 if !b.is_empty() => {
                let end = (at + rng.below(16) + 1).min(b.len());
                let start = at.min(end);
                b.drain(start..end);
            }
            4 => b.truncate(at),
            5 if !b.is_empty() => {
                let start = rng.below(b.len());
                let end = (start + rng.below(64) + 1).min(b.len());
                let copy = b[start..end].to_vec();
                b.splice(at..at, copy);
            }
            6 if !dictionary.is_empty() => {
                let token = rng.pick(dictionary).to_vec();
                b.splice(at..at, token);
            }
            _ => {
                let n = rng.below(8);
                let noise = rng.bytes(n);
                b.extend(noise);
            }
        }
    }
    b
}

/// A JSON document from a mutated `seed`: mostly the mutated value
/// serialised, sometimes with byte edits on top (broken JSON), sometimes
/// with a member repeated.
pub fn json_bytes(rng: &mut Rng, seed: &Value, dictionary: &[&str]) -> Vec<u8> {
    let v = if rng.one_in(8) {
        seed.clone()
    } else {
        json(rng, seed, dictionary, 4)
    };
    let text = v.to_string();
    match rng.below(6) {
        0 => {
            let tokens: Vec<&[u8]> = dictionary.iter().map(|s| s.as_bytes()).collect();
            bytes(rng, text.as_bytes(), &tokens)
        }
        1 => repeat_member(rng, &v).unwrap_or(text).into_bytes(),
        _ => text.into_bytes(),
    }
}

/// The object serialised with one of its members written twice (the
/// second time with another value).
fn repeat_member(rng: &mut Rng, v: &Value) -> Option<String> {
    let map: &Map<String, Value> = v.as_object()?;
    let (key, _) = map.iter().nth(rng.below(map.len().max(1)))?;
    let other = value(rng, &[], 1);
    let body = v.to_string();
    let inner = body.strip_prefix('{')?.strip_suffix('}')?;
    let repeated = format!("{}:{}", Value::String(key.clone()), other);
    Some(if inner.is_empty() {
        format!("{{{repeated}}}")
    } else {
        format!("{{{inner},{repeated}}}")
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mutations_change_inputs_and_are_replayable() {
        let seed = json!({"a": 1, "b": ["x", {"c": true}]});
        let mut changed = 0;
        for case in 0..200 {
            let a = json(&mut Rng::for_case(7, case), &seed, &["k"], 3);
            let b = json(&mut Rng::for_case(7, case), &seed, &["k"], 3);
            assert_eq!(a, b, "the same case gives the same input");
            changed += usize::from(a != seed);
            let x = bytes(&mut Rng::for_case(7, case), b"hello", &[b"tok"]);
            assert_eq!(x, bytes(&mut Rng::for_case(7, case), b"hello", &[b"tok"]));
        }
        assert!(changed > 150, "most mutations change the value: {changed}");
    }

    #[test]
    fn repeated_members_are_written_twice() {
        let mut rng = Rng::new(1);
        let text = repeat_member(&mut rng, &json!({"k": 1})).unwrap();
        assert!(text.starts_with("{\"k\":1,\"k\":"), "{text}");
    }
}
