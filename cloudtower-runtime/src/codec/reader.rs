//! The JSON tokenizer under [`super::Decoder`]: a pull parser over one byte slice.
//!
//! Hand-written rather than a general-purpose parser crate because the decoder's time goes into
//! short object keys and short strings: this one finds a string's end eight bytes at a time,
//! hands back keys and strings without escapes as slices of the document, checks UTF-8 only
//! when a string has non-ASCII bytes, and has no layer of its own between the generated
//! `Decode` impls and the bytes. It checks the whole JSON grammar (RFC 8259), including inside
//! the values it skips, and bounds its recursion by the caller's depth limit.

/// What the next value is, from its first byte.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Peek {
    Null,
    True,
    False,
    String,
    Number,
    Array,
    Object,
}

/// Invalid JSON: what is wrong and the byte offset where it was found.
#[derive(Debug)]
pub(super) struct SyntaxError {
    pub message: &'static str,
    pub offset: usize,
}

type Result<T> = std::result::Result<T, SyntaxError>;

const EOF_IN_OBJECT: &str = "EOF while parsing an object";
const EOF_IN_ARRAY: &str = "EOF while parsing a list";

/// The error for arrays and objects nested deeper than the decoder allows.
pub(super) const TOO_DEEP: &str = "nested too deeply (DecodeOptions::max_depth)";

/// Where a string's contents are, as [`Reader::scan_string`] found them.
#[derive(Clone, Copy)]
struct Scanned {
    start: usize,
    end: usize,
    escaped: bool,
    ascii: bool,
}

pub(super) struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    // Strings with escapes are unescaped here.
    scratch: Vec<u8>,
    // A `\u` escape of a lone surrogate becomes U+FFFD instead of an error.
    replace_lone_surrogates: bool,
}

const HIGH_BITS: u64 = 0x8080_8080_8080_8080;
const ONES: u64 = 0x0101_0101_0101_0101;

/// A word with the high bit set in each byte of `word` that ends a plain run of string
/// characters (`"`, `\` or a control character); exact for the lowest such byte, which is
/// all the caller reads.
#[inline(always)]
fn string_stops(word: u64) -> u64 {
    let quote = word ^ (ONES * u64::from(b'"'));
    let backslash = word ^ (ONES * u64::from(b'\\'));
    let zero_byte = |v: u64| v.wrapping_sub(ONES) & !v;
    let control = word.wrapping_sub(ONES * 0x20) & !word;
    (zero_byte(quote) | zero_byte(backslash) | control) & HIGH_BITS
}

impl<'a> Reader<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Reader {
            data,
            pos: 0,
            scratch: Vec::new(),
            replace_lone_surrogates: false,
        }
    }

    /// Reads a `\u` escape of a lone surrogate as U+FFFD (the replacement character) instead
    /// of refusing it.
    pub fn replace_lone_surrogates(mut self, replace: bool) -> Self {
        self.replace_lone_surrogates = replace;
        self
    }

    pub fn index(&self) -> usize {
        self.pos
    }

    pub fn slice_from(&self, start: usize) -> &'a [u8] {
        &self.data[start..self.pos]
    }

    #[cold]
    fn error<T>(&self, message: &'static str, offset: usize) -> Result<T> {
        Err(SyntaxError { message, offset })
    }

    /// The next byte that is not whitespace, without consuming it.
    #[inline(always)]
    fn next_token(&mut self) -> Option<u8> {
        while let Some(&byte) = self.data.get(self.pos) {
            match byte {
                b' ' | b'\n' | b'\r' | b'\t' => self.pos += 1,
                _ => return Some(byte),
            }
        }
        None
    }

    #[inline]
    pub fn peek(&mut self) -> Result<Peek> {
        match self.next_token() {
            Some(b'"') => Ok(Peek::String),
            Some(b'{') => Ok(Peek::Object),
            Some(b'[') => Ok(Peek::Array),
            Some(b'-' | b'0'..=b'9') => Ok(Peek::Number),
            Some(b'n') => Ok(Peek::Null),
            Some(b't') => Ok(Peek::True),
            Some(b'f') => Ok(Peek::False),
            Some(_) => self.error("expected value", self.pos),
            None => self.error("EOF while parsing a value", self.pos),
        }
    }

    /// Consumes `literal` (`null`, `true`, `false`), whose first byte was peeked.
    fn literal(&mut self, literal: &'static [u8]) -> Result<()> {
        if self.data[self.pos..].starts_with(literal) {
            self.pos += literal.len();
            Ok(())
        } else if literal.starts_with(&self.data[self.pos..]) {
            self.error("EOF while parsing a value", self.data.len())
        } else {
            self.error("expected value", self.pos)
        }
    }

    /// After [`Peek::Null`].
    pub fn null(&mut self) -> Result<()> {
        self.literal(b"null")
    }

    /// After [`Peek::True`] or [`Peek::False`].
    pub fn bool(&mut self, peek: Peek) -> Result<bool> {
        if peek == Peek::True {
            self.literal(b"true").map(|()| true)
        } else {
            self.literal(b"false").map(|()| false)
        }
    }

    /// After [`Peek::Object`]: enters it and reads its first key, `None` for `{}`.
    #[inline]
    pub fn object_first(&mut self) -> Result<Option<&str>> {
        self.pos += 1;
        match self.next_token() {
            Some(b'"') => self.key().map(Some),
            Some(b'}') => {
                self.pos += 1;
                Ok(None)
            }
            Some(_) => self.error("key must be a string", self.pos),
            None => self.error(EOF_IN_OBJECT, self.pos),
        }
    }

    /// The next key of the current object, `None` (the object consumed) at its end.
    #[inline]
    pub fn object_next(&mut self) -> Result<Option<&str>> {
        if !self.separator(b'}', "expected `,` or `}`", EOF_IN_OBJECT)? {
            return Ok(None);
        }
        match self.next_token() {
            Some(b'"') => self.key().map(Some),
            Some(b'}') => self.error("trailing comma", self.pos),
            Some(_) => self.error("key must be a string", self.pos),
            None => self.error(EOF_IN_OBJECT, self.pos),
        }
    }

    /// Moves past what follows an object member or array element: `true` past a comma (another
    /// comes), `false` past the closing bracket `close`.
    #[inline(always)]
    fn separator(&mut self, close: u8, expected: &'static str, eof: &'static str) -> Result<bool> {
        match self.next_token() {
            Some(b',') => {
                self.pos += 1;
                Ok(true)
            }
            Some(byte) if byte == close => {
                self.pos += 1;
                Ok(false)
            }
            Some(_) => self.error(expected, self.pos),
            None => self.error(eof, self.pos),
        }
    }

    /// A key and the colon after it; positioned on the key's opening quote.
    #[inline]
    fn key(&mut self) -> Result<&str> {
        let string = self.scan_string()?;
        match self.next_token() {
            Some(b':') => self.pos += 1,
            Some(_) => return self.error("expected `:`", self.pos),
            None => return self.error(EOF_IN_OBJECT, self.pos),
        }
        self.string_at(string)
    }

    /// After [`Peek::Array`]: enters it; `true` when it has a first element.
    #[inline]
    pub fn array_first(&mut self) -> Result<bool> {
        self.pos += 1;
        match self.next_token() {
            Some(b']') => {
                self.pos += 1;
                Ok(false)
            }
            Some(_) => Ok(true),
            None => self.error(EOF_IN_ARRAY, self.pos),
        }
    }

    /// Moves past the element just read: `true` when another follows, `false` (the array
    /// consumed) at its end.
    #[inline]
    pub fn array_next(&mut self) -> Result<bool> {
        if !self.separator(b']', "expected `,` or `]`", EOF_IN_ARRAY)? {
            return Ok(false);
        }
        match self.next_token() {
            Some(b']') => self.error("trailing comma", self.pos),
            Some(_) => Ok(true),
            None => self.error(EOF_IN_ARRAY, self.pos),
        }
    }

    /// After [`Peek::String`]: the string, unescaped.
    #[inline]
    pub fn string(&mut self) -> Result<&str> {
        let string = self.scan_string()?;
        self.string_at(string)
    }

    /// The text of a string scanned by [`Self::scan_string`]: a slice of the document when it
    /// has no escapes, else unescaped into the scratch buffer.
    #[inline]
    fn string_at(&mut self, string: Scanned) -> Result<&str> {
        let Scanned {
            start,
            end,
            escaped,
            ascii,
        } = string;
        if !escaped && ascii {
            let bytes = &self.data[start..end];
            debug_assert!(bytes.is_ascii());
            // SAFETY: `scan_string` saw no byte above 0x7F in `start..end`, and ASCII is UTF-8.
            // Checking UTF-8 again took a sixth of the decoder's time.
            return Ok(unsafe { std::str::from_utf8_unchecked(bytes) });
        }
        let bytes = if escaped {
            self.unescape(start, end)?;
            &self.scratch[..]
        } else {
            &self.data[start..end]
        };
        match std::str::from_utf8(bytes) {
            Ok(text) => Ok(text),
            Err(_) if escaped => self.error("invalid UTF-8 in a string", start),
            Err(e) => self.error("invalid UTF-8 in a string", start + e.valid_up_to()),
        }
    }

    /// Moves past the string whose opening quote is at the current position, checking its
    /// escapes and that it has no control characters.
    #[inline]
    fn scan_string(&mut self) -> Result<Scanned> {
        let start = self.pos + 1;
        let mut pos = start;
        let mut escaped = false;
        // The high bits of every byte passed over, or-ed together.
        let mut high_bits = 0u64;
        loop {
            // Eight bytes at a time while there are eight.
            while let Some(chunk) = self.data.get(pos..pos + 8) {
                let word = u64::from_le_bytes(chunk.try_into().unwrap_or_default());
                let stops = string_stops(word);
                if stops != 0 {
                    let before_stop = (stops.trailing_zeros() / 8) as usize;
                    // The bytes before the stop (none when it is the first).
                    high_bits |= word & ((1u64 << (8 * before_stop)) - 1);
                    pos += before_stop;
                    break;
                }
                high_bits |= word;
                pos += 8;
            }
            // Byte by byte on the stop found above, or on the last few bytes.
            loop {
                match self.data.get(pos) {
                    Some(b'"') => {
                        self.pos = pos + 1;
                        return Ok(Scanned {
                            start,
                            end: pos,
                            escaped,
                            ascii: high_bits & HIGH_BITS == 0,
                        });
                    }
                    Some(b'\\') => {
                        escaped = true;
                        pos = self.escape_end(pos)?;
                        break;
                    }
                    Some(0..=0x1f) => {
                        return self.error(
                            "control character (\\u0000-\\u001F) found while parsing a string",
                            pos,
                        )
                    }
                    Some(&byte) => {
                        high_bits |= u64::from(byte);
                        pos += 1;
                    }
                    None => return self.error("EOF while parsing a string", self.data.len()),
                }
            }
        }
    }

    /// Where the escape sequence starting at the backslash at `pos` ends, if it is valid.
    fn escape_end(&self, pos: usize) -> Result<usize> {
        match self.data.get(pos + 1) {
            Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => Ok(pos + 2),
            Some(b'u') => self.hex4(pos + 2).map(|_| pos + 6),
            Some(_) => self.error("invalid escape", pos + 1),
            None => self.error("EOF while parsing a string", self.data.len()),
        }
    }

    fn hex4(&self, pos: usize) -> Result<u16> {
        let Some(digits) = self.data.get(pos..pos + 4) else {
            return self.error("EOF while parsing a string", self.data.len());
        };
        let mut value = 0u16;
        for (i, &digit) in digits.iter().enumerate() {
            let Some(nibble) = (digit as char).to_digit(16) else {
                return self.error("invalid escape", pos + i);
            };
            value = value << 4 | nibble as u16;
        }
        Ok(value)
    }

    /// Unescapes the string contents `start..end` (escapes already checked) into `scratch`.
    fn unescape(&mut self, start: usize, end: usize) -> Result<()> {
        self.scratch.clear();
        let mut pos = start;
        while pos < end {
            let Some(offset) = self.data[pos..end].iter().position(|&b| b == b'\\') else {
                self.scratch.extend_from_slice(&self.data[pos..end]);
                break;
            };
            self.scratch
                .extend_from_slice(&self.data[pos..pos + offset]);
            pos += offset;
            let unescaped = match self.data[pos + 1] {
                b'b' => b'\x08',
                b'f' => b'\x0c',
                b'n' => b'\n',
                b'r' => b'\r',
                b't' => b'\t',
                b'u' => {
                    let (c, next) = self.unicode_escape(pos, end)?;
                    let mut utf8 = [0; 4];
                    self.scratch
                        .extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
                    pos = next;
                    continue;
                }
                other => other, // `"`, `\` and `/` stand for themselves
            };
            self.scratch.push(unescaped);
            pos += 2;
        }
        Ok(())
    }

    /// The character of the `\u` escape at `pos` (joining a surrogate pair), and where it ends.
    fn unicode_escape(&self, pos: usize, end: usize) -> Result<(char, usize)> {
        let unit = self.hex4(pos + 2)?;
        let code = match unit {
            0xD800..=0xDBFF => {
                if end < pos + 12 || &self.data[pos + 6..pos + 8] != b"\\u" {
                    return self.lone_surrogate("lone leading surrogate in hex escape", pos);
                }
                let low = self.hex4(pos + 8)?;
                if !(0xDC00..=0xDFFF).contains(&low) {
                    // The escape after it is read on its own.
                    return self.lone_surrogate("lone leading surrogate in hex escape", pos);
                }
                let code = 0x10000 + ((u32::from(unit) - 0xD800) << 10) + (u32::from(low) - 0xDC00);
                return match char::from_u32(code) {
                    Some(c) => Ok((c, pos + 12)),
                    None => self.error("invalid unicode code point", pos),
                };
            }
            0xDC00..=0xDFFF => {
                return self.lone_surrogate("lone trailing surrogate in hex escape", pos)
            }
            other => u32::from(other),
        };
        match char::from_u32(code) {
            Some(c) => Ok((c, pos + 6)),
            None => self.error("invalid unicode code point", pos),
        }
    }

    /// The lone surrogate escape at `pos`: U+FFFD when asked to replace it, else an error.
    fn lone_surrogate(&self, message: &'static str, pos: usize) -> Result<(char, usize)> {
        if self.replace_lone_surrogates {
            Ok((char::REPLACEMENT_CHARACTER, pos + 6))
        } else {
            self.error(message, pos)
        }
    }

    /// After [`Peek::Number`]: the number's text, checked against JSON's grammar.
    #[inline]
    pub fn number(&mut self) -> Result<&'a [u8]> {
        let start = self.pos;
        let mut pos = start;
        if self.data.get(pos) == Some(&b'-') {
            pos += 1;
        }
        match self.data.get(pos) {
            Some(b'0') => pos += 1,
            Some(b'1'..=b'9') => pos = self.digits_end(pos + 1),
            Some(_) => return self.error("invalid number", pos),
            None => return self.error("EOF while parsing a value", pos),
        }
        if self.data.get(pos) == Some(&b'.') {
            let end = self.digits_end(pos + 1);
            if end == pos + 1 {
                return self.error("invalid number", end);
            }
            pos = end;
        }
        if let Some(b'e' | b'E') = self.data.get(pos) {
            pos += 1;
            if let Some(b'+' | b'-') = self.data.get(pos) {
                pos += 1;
            }
            let end = self.digits_end(pos);
            if end == pos {
                return self.error("invalid number", end);
            }
            pos = end;
        }
        self.pos = pos;
        Ok(&self.data[start..pos])
    }

    #[inline]
    fn digits_end(&self, mut pos: usize) -> usize {
        while let Some(b'0'..=b'9') = self.data.get(pos) {
            pos += 1;
        }
        pos
    }

    /// Skips the next value, checking its syntax; arrays and objects in it may nest
    /// `depth_left` levels deep.
    pub fn skip(&mut self, depth_left: u32) -> Result<()> {
        match self.peek()? {
            Peek::String => {
                let string = self.scan_string()?;
                if string.escaped || !string.ascii {
                    self.string_at(string)?;
                }
            }
            Peek::Number => {
                self.number()?;
            }
            Peek::Null => self.null()?,
            peek @ (Peek::True | Peek::False) => {
                self.bool(peek)?;
            }
            Peek::Array | Peek::Object if depth_left == 0 => {
                return self.error(TOO_DEEP, self.pos);
            }
            Peek::Array => {
                let mut more = self.array_first()?;
                while more {
                    self.skip(depth_left - 1)?;
                    more = self.array_next()?;
                }
            }
            Peek::Object => {
                let mut more = self.object_first()?.is_some();
                while more {
                    self.skip(depth_left - 1)?;
                    more = self.object_next()?.is_some();
                }
            }
        }
        Ok(())
    }

    /// The document must end here (whitespace aside).
    pub fn finish(&mut self) -> Result<()> {
        match self.next_token() {
            None => Ok(()),
            Some(_) => self.error("trailing characters", self.pos),
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::codec::{decode, decode_strict, Related};
    use serde_json::Value;

    /// What serde_json makes of `doc`; `None` when it refuses it (numbers beyond `f64` aside,
    /// which the codec keeps as text on purpose).
    fn serde_reading(doc: &[u8]) -> Option<Result<Value, ()>> {
        match serde_json::from_slice::<Value>(doc) {
            Ok(value) => Some(Ok(value)),
            Err(e) if e.to_string().contains("number out of range") => None,
            Err(_) => Some(Err(())),
        }
    }

    /// The codec reads `doc` as serde_json does: the same value, or an error for both. Read
    /// once into free-form JSON and once skipped whole (as a value of an unknown key is).
    /// Strictly: lenient decoding reads a lone surrogate escape as U+FFFD, where serde_json
    /// refuses it.
    fn agrees_with_serde_json(doc: &[u8]) {
        let Some(expected) = serde_reading(doc) else {
            return;
        };
        let shown = String::from_utf8_lossy(doc);
        let read = decode_strict::<Value>(doc).map_err(|_| ());
        match (&read, &expected) {
            (Ok(read), Ok(expected)) => assert!(same_json(read, expected), "{read} vs {expected}"),
            _ => assert_eq!(read, expected, "read as free-form JSON: {shown}"),
        }
        let skipped = decode_strict::<Related<()>>(doc)
            .map(|_| ())
            .map_err(|_| ());
        assert_eq!(skipped, expected.map(|_| ()), "skipped: {shown}");
    }

    /// Equal, but for how a number is held and rounded: serde_json reads `-0` as a float and
    /// rounds some decimals one unit off without its `float_roundtrip` feature.
    fn same_json(a: &Value, b: &Value) -> bool {
        match (a, b) {
            (Value::Number(a), Value::Number(b)) => {
                let (a, b) = (a.as_f64().unwrap(), b.as_f64().unwrap());
                a == b || (a - b).abs() <= a.abs().max(b.abs()) * 1e-15
            }
            (Value::Array(a), Value::Array(b)) => {
                a.len() == b.len() && a.iter().zip(b).all(|(a, b)| same_json(a, b))
            }
            (Value::Object(a), Value::Object(b)) => {
                a.len() == b.len()
                    && a.iter()
                        .all(|(k, v)| b.get(k).is_some_and(|w| same_json(v, w)))
            }
            _ => a == b,
        }
    }

    const VALID: &[&str] = &[
        "{}",
        " [ ] ",
        "[1, -0, 0.5, 1e5, 1E-5, -1.25e+3, 12345678901234567, -922337203685477580]",
        r#"{"a":{"b":[true,false,null]},"c":""}"#,
        r#"["a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00 tail"]"#,
        "[\"h\u{e9}llo \u{1f600} \u{4e2d}\u{6587} padded past eight bytes\"]",
        r#"{"k\u0065y":1,"key":2}"#,
        "\t\r\n[\"x\"]\n",
    ];

    const INVALID: &[&[u8]] = &[
        b"",
        b"[01]",
        b"[1.]",
        b"[.5]",
        b"[1e]",
        b"[1e+]",
        b"[-]",
        b"[+1]",
        b"[\"\x01\"]",
        b"[\"a\\u12\"]",
        b"[\"\\ud800\"]",
        b"[\"\\ud800\\u0041\"]",
        b"[\"\\udc00\"]",
        b"[\"\\x\"]",
        b"[1,]",
        b"{\"a\":1,}",
        b"{\"a\" 1}",
        b"{1:2}",
        b"[tru]",
        b"[nul]",
        b"nulls",
        b"[1 2]",
        b"[\"\xff\"]",
        b"[\"padding to a word \xc3\"]",
        b"\"abc",
        b"[",
        b"{\"a\":",
        b"{\"a\"",
        b"[\"abcdefghijklmnop",
    ];

    #[test]
    fn reads_what_serde_json_reads() {
        for doc in VALID {
            assert!(serde_reading(doc.as_bytes()).unwrap().is_ok(), "{doc}");
            agrees_with_serde_json(doc.as_bytes());
        }
        for doc in INVALID {
            assert_eq!(serde_reading(doc), Some(Err(())), "{doc:?}");
            agrees_with_serde_json(doc);
        }
    }

    /// Random edits of a document with every kind of token: the codec accepts and refuses
    /// exactly what serde_json does.
    #[test]
    fn mutated_documents_are_read_as_serde_json_reads_them() {
        let seed = "{\"id\":\"cl0a1b2c3d4e5f6g7h8i9j0k\",\"n\":[0,-12,3.5e-2,1E3,true,false,null],\
             \"s\":\"caf\u{e9} \\\"q\\\" \\u00e9\\ud83d\\ude00 \\n\",\"o\":{\"k\":{},\"l\":[]}}";
        let interesting = b"\"\\{}[],:-+.eE0123456789tfnu \x00\x1f\x7f\x80\xc3\xa9\xff";
        let mut rng = fastrand::Rng::with_seed(13);
        for _ in 0..20_000 {
            let mut doc = seed.as_bytes().to_vec();
            for _ in 0..rng.usize(1..4) {
                let at = rng.usize(0..doc.len());
                match rng.u8(0..3) {
                    0 => {
                        doc.remove(at);
                    }
                    1 => doc.insert(at, interesting[rng.usize(0..interesting.len())]),
                    _ => doc[at] = interesting[rng.usize(0..interesting.len())],
                }
            }
            agrees_with_serde_json(&doc);
        }
    }

    #[test]
    fn skipping_honours_the_depth_limit() {
        let deep = format!("{}{}", "[".repeat(200), "]".repeat(200));
        let doc = format!(r#"{{"task_id":"t","unknown":{deep},"data":[1]}}"#);
        let error = decode::<crate::codec::WithTask<Vec<i32>>>(doc.as_bytes()).unwrap_err();
        assert!(error.message().contains("nested too deeply"), "{error}");
        let shallow = format!(r#"{{"unknown":{},"data":[1]}}"#, "[[[]]]");
        assert!(decode::<crate::codec::WithTask<Vec<i32>>>(shallow.as_bytes()).is_ok());
    }
}
