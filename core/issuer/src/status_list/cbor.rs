//! The few CBOR items (RFC 8949) a status list CWT needs, written with
//! definite lengths and the shortest heads (preferred serialization).

/// A CBOR encoder appending to a byte buffer.
#[derive(Debug, Default)]
pub struct Cbor(Vec<u8>);

impl Cbor {
    /// An empty buffer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The encoded bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }

    /// The head of an item of major type `major` with argument `value`.
    fn head(&mut self, major: u8, value: u64) -> &mut Self {
        let m = major << 5;
        if value < 24 {
            self.0.push(m | value as u8);
        } else if let Ok(v) = u8::try_from(value) {
            self.0.extend([m | 24, v]);
        } else if let Ok(v) = u16::try_from(value) {
            self.0.push(m | 25);
            self.0.extend(v.to_be_bytes());
        } else if let Ok(v) = u32::try_from(value) {
            self.0.push(m | 26);
            self.0.extend(v.to_be_bytes());
        } else {
            self.0.push(m | 27);
            self.0.extend(value.to_be_bytes());
        }
        self
    }

    /// An integer (major type 0 or 1).
    pub fn int(&mut self, value: i64) -> &mut Self {
        match u64::try_from(value) {
            Ok(v) => self.head(0, v),
            // -1 - n for n = -1 - value: never overflows.
            Err(_) => self.head(1, (-1 - value) as u64),
        }
    }

    /// A byte string.
    pub fn bytes(&mut self, b: &[u8]) -> &mut Self {
        self.head(2, b.len() as u64);
        self.0.extend_from_slice(b);
        self
    }

    /// A text string.
    pub fn text(&mut self, s: &str) -> &mut Self {
        self.head(3, s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
        self
    }

    /// The head of an array of `len` items (the items follow).
    pub fn array(&mut self, len: usize) -> &mut Self {
        self.head(4, len as u64)
    }

    /// The head of a map of `len` pairs (key, value, key, value… follow).
    pub fn map(&mut self, len: usize) -> &mut Self {
        self.head(5, len as u64)
    }

    /// A tag (the tagged item follows).
    pub fn tag(&mut self, tag: u64) -> &mut Self {
        self.head(6, tag)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, reason = "tests")]
mod tests {
    use ciborium::Value;

    use super::Cbor;

    fn decode(bytes: &[u8]) -> Value {
        ciborium::from_reader(bytes).unwrap()
    }

    /// RFC 8949 Appendix A examples.
    #[test]
    fn heads_are_the_shortest() {
        let cases: [(i64, &[u8]); 9] = [
            (0, &[0x00]),
            (23, &[0x17]),
            (24, &[0x18, 0x18]),
            (1000, &[0x19, 0x03, 0xe8]),
            (1_000_000, &[0x1a, 0x00, 0x0f, 0x42, 0x40]),
            (1 << 40, &[0x1b, 0, 0, 1, 0, 0, 0, 0, 0]),
            (-1, &[0x20]),
            (-7, &[0x26]),
            (-1000, &[0x39, 0x03, 0xe7]),
        ];
        for (value, want) in cases {
            let mut c = Cbor::new();
            c.int(value);
            assert_eq!(c.into_bytes(), want, "{value}");
        }
        let mut c = Cbor::new();
        c.int(i64::MIN);
        assert_eq!(
            c.into_bytes(),
            [0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
    }

    #[test]
    fn an_independent_decoder_reads_what_it_writes() {
        let mut c = Cbor::new();
        c.tag(18).array(3).text("a").bytes(&[1, 2, 3]).map(2);
        c.int(65_533).text("ü").int(-35).bytes(&[0; 300]);
        let Value::Tag(18, inner) = decode(&c.into_bytes()) else {
            panic!("not tag 18")
        };
        let Value::Array(items) = *inner else {
            panic!("not an array")
        };
        assert_eq!(items[0], Value::Text("a".into()));
        assert_eq!(items[1], Value::Bytes(vec![1, 2, 3]));
        let Value::Map(pairs) = &items[2] else {
            panic!("not a map")
        };
        assert_eq!(pairs[0], (Value::Integer(65_533.into()), "ü".into()));
        assert_eq!(
            pairs[1],
            (Value::Integer((-35).into()), Value::Bytes(vec![0; 300]))
        );
    }
}
