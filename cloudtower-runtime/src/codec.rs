//! The JSON codec behind every generated type.
//!
//! Generated types do not derive `serde` traits: for an API of this size the derived,
//! generic-over-any-format code dominates compile time. Instead each type implements
//! [`Decode`] (a pull parser over the response bytes, on the tokenizer in `codec/reader.rs`)
//! and/or [`Encode`] (writes JSON straight into a buffer), in the direction it is used. Both traits are
//! non-generic over the format, so each type's code is checked and compiled once.

use std::fmt;

mod reader;

use reader::{Peek, Reader, SyntaxError};

/// A request field that can be left out, sent as an explicit `null`, or sent with a value.
///
/// CloudTower's Prisma-style filters give `null` a meaning of its own (`{"name": null}`
/// matches resources whose name is null), and in updates `null` clears a value, so a plain
/// `Option` cannot say everything a request needs to say.
///
/// ```
/// use cloudtower_api::Nullable;
/// let unset: Nullable<String> = Nullable::Absent; // the field is not sent (the default)
/// let null: Nullable<String> = Nullable::Null; // sent as `null`
/// let set: Nullable<String> = "vm-1".to_string().into(); // sent as `"vm-1"`
/// assert_eq!(set.as_option(), Some(&"vm-1".to_string()));
/// assert!(unset.is_absent() && null.is_null());
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub enum Nullable<T> {
    /// Not sent at all.
    #[default]
    Absent,
    /// Sent as JSON `null`.
    Null,
    /// Sent with this value.
    Value(T),
}

impl<T> Nullable<T> {
    pub fn is_absent(&self) -> bool {
        matches!(self, Nullable::Absent)
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Nullable::Null)
    }
    /// The value, if there is one (absent and null alike give `None`).
    pub fn as_option(&self) -> Option<&T> {
        match self {
            Nullable::Value(v) => Some(v),
            _ => None,
        }
    }
    /// The value, if there is one (absent and null alike give `None`).
    pub fn into_option(self) -> Option<T> {
        match self {
            Nullable::Value(v) => Some(v),
            _ => None,
        }
    }
}

impl<T> From<T> for Nullable<T> {
    fn from(value: T) -> Self {
        Nullable::Value(value)
    }
}

/// The generator boxes the filters of the few structs that would otherwise weigh more than
/// 64 KiB (`GraphWhereInput`, …); `.into()` builds those fields as it does any other.
impl<T> From<T> for Nullable<Box<T>> {
    fn from(value: T) -> Self {
        Nullable::Value(Box::new(value))
    }
}

impl From<&str> for Nullable<String> {
    fn from(value: &str) -> Self {
        Nullable::Value(value.to_owned())
    }
}

/// A filter on a related resource inside another filter (`VmWhereInput::cluster`, …), kept as
/// encoded JSON.
///
/// The spec's `*WhereInput` filters all refer to one another. Holding them by value inside each
/// other would make the compiler walk that whole web of types to prove a future holding a
/// filter `Send` (and fail, past its recursion limit); this wrapper is `Send` and `Sync`
/// whatever it holds, and costs one encoding when built.
///
/// ```
/// use cloudtower_api::models::{ClusterWhereInput, VmWhereInput};
/// use cloudtower_api::Related;
/// let on_cluster = VmWhereInput {
///     cluster: Related::new(ClusterWhereInput { id: "c-1".into(), ..Default::default() }).into(),
///     ..Default::default()
/// };
/// assert_eq!(cloudtower_api::codec::encode(&on_cluster), br#"{"cluster":{"id":"c-1"}}"#);
/// ```
pub struct Related<T> {
    json: Box<[u8]>,
    // A non-finite number met while encoding the filter, refused again when it is sent.
    refused: Option<EncodeError>,
    // `fn() -> T`: the type says what the JSON is without holding a `T`.
    filter: std::marker::PhantomData<fn() -> T>,
}

impl<T: Encode> Related<T> {
    pub fn new(filter: T) -> Self {
        let mut encoder = Encoder::default();
        filter.encode(&mut encoder);
        Related {
            json: encoder.buf.into_boxed_slice(),
            refused: encoder.refused,
            filter: std::marker::PhantomData,
        }
    }
}

impl<T: Decode> Related<T> {
    /// The filter, decoded again.
    pub fn decode(&self) -> Result<T, DecodeError> {
        decode(&self.json)
    }
}

impl<T> Related<T> {
    /// The filter as JSON.
    pub fn as_json(&self) -> &[u8] {
        &self.json
    }
}

impl<T: Encode> From<T> for Related<T> {
    fn from(filter: T) -> Self {
        Related::new(filter)
    }
}

impl<T: Encode> From<T> for Nullable<Related<T>> {
    fn from(filter: T) -> Self {
        Nullable::Value(Related::new(filter))
    }
}

impl<T> Clone for Related<T> {
    fn clone(&self) -> Self {
        Related {
            json: self.json.clone(),
            refused: self.refused.clone(),
            filter: std::marker::PhantomData,
        }
    }
}

impl<T> PartialEq for Related<T> {
    fn eq(&self, other: &Self) -> bool {
        self.json == other.json
    }
}

impl<T> Eq for Related<T> {}

/// The empty filter, `{}`.
impl<T> Default for Related<T> {
    fn default() -> Self {
        Related {
            json: Box::from(&b"{}"[..]),
            refused: None,
            filter: std::marker::PhantomData,
        }
    }
}

impl<T> fmt::Debug for Related<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Related")
            .field(&String::from_utf8_lossy(&self.json))
            .finish()
    }
}

/// The result of a mutation: the affected resource (as it was when the request was accepted)
/// and the id of the asynchronous task doing the work, when there is one.
///
/// All 131 `WithTask_X_` schemas of the spec are this one generic type.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct WithTask<T> {
    pub task_id: Option<String>,
    pub data: T,
}

// ---------------------------------------------------------------------------------------------
// Decoding

/// Why a JSON document did not decode into the expected type.
///
/// One pointer wide, so that every `Result` a decoder returns stays small on the hot path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DecodeError(Box<DecodeErrorDetail>);

#[derive(Clone, Debug, PartialEq, Eq)]
struct DecodeErrorDetail {
    path: String,
    message: String,
    offset: usize,
    // Path segments collected innermost first while the error travels outwards.
    segments: Vec<Segment>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Segment {
    Key(&'static str),
    Index(usize),
}

impl DecodeError {
    /// Where in the document it failed, as a JSON pointer (`/0/vm_disks/3/id`; empty for the
    /// document itself).
    pub fn path(&self) -> &str {
        &self.0.path
    }

    /// What went wrong there.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// Byte offset in the document.
    pub fn offset(&self) -> usize {
        self.0.offset
    }

    #[cold]
    fn new(message: impl Into<String>, offset: usize) -> Self {
        DecodeError(Box::new(DecodeErrorDetail {
            path: String::new(),
            message: message.into(),
            offset,
            segments: Vec::new(),
        }))
    }

    #[cold]
    fn within(mut self, segment: Segment) -> Self {
        self.0.segments.push(segment);
        self
    }

    fn finish(mut self) -> Self {
        let mut path = String::new();
        for segment in self.0.segments.iter().rev() {
            match segment {
                Segment::Key(k) => {
                    path.push('/');
                    path.push_str(&k.replace('~', "~0").replace('/', "~1"));
                }
                Segment::Index(i) => {
                    path.push('/');
                    path.push_str(&i.to_string());
                }
            }
        }
        self.0.path = path;
        self
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.0.path.is_empty() {
            "/"
        } else {
            &self.0.path
        };
        write!(f, "at {path} (byte {}): {}", self.0.offset, self.0.message)
    }
}

impl std::error::Error for DecodeError {}

/// How [`decode_with_options`] reads a document.
///
/// ```
/// use cloudtower_api::codec::{self, DecodeOptions};
/// let options = DecodeOptions::default().max_depth(4);
/// assert!(codec::decode_with_options::<serde_json::Value>(b"[[[[1]]]]", &options).is_ok());
/// assert!(codec::decode_with_options::<serde_json::Value>(b"[[[[[1]]]]]", &options).is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DecodeOptions {
    /// A missing or `null` required field is an error (see [`decode_strict`]).
    pub strict: bool,
    /// How deeply arrays and objects may nest; deeper input is a [`DecodeError`].
    ///
    /// The default, 128, is serde_json's; no answer of the CloudTower API nests deeper than
    /// about 10. The decoder recurses once per level; its stack is bounded by
    /// [`max_stack_bytes`](Self::max_stack_bytes), so a higher limit needs a stack budget (and
    /// a thread stack) to match: a level of free-form JSON takes a few hundred bytes
    /// optimised, several KB in a debug build. The limit holds inside skipped values (of keys
    /// a type does not know) too.
    pub max_depth: u32,
    /// How much stack the decoder may use below where it started, in bytes (default 1 MiB).
    ///
    /// Nesting depth alone does not bound the stack: a level of a typed filter
    /// (`VmWhereInput`, hundreds of fields, nested through `AND`/`OR`/`NOT`) takes about
    /// 68 KiB of stack in a debug build (`cloudtower-api-tests/tests/hardening.rs` measures
    /// it), several times less optimised, so 128 levels of it overflow any default thread
    /// stack. The decoder measures the stack it has used at every array and object it enters,
    /// and refuses to go deeper than this with a [`DecodeError`]. The default leaves half of a
    /// tokio worker's (or a spawned thread's) 2 MiB stack to its caller, and lets 14 nested
    /// `NOT`s decode in a debug build (real filters nest two or three). Raise it only on a
    /// thread with a larger stack.
    pub max_stack_bytes: usize,
    /// How many bytes the decoded value may hold per byte of the document, plus 1 MiB (default
    /// 8): every element of a list, entry of a free-form object and boxed value counts its
    /// size.
    ///
    /// Lenient decoding fills what an element leaves out with defaults, so 3 bytes of JSON
    /// (`{},`) can become a struct of kilobytes: 8 MiB of `[{},{},…]` answering `get-vms`
    /// would be millions of 1.6 KB VMs. Real answers hold about one byte per byte of JSON
    /// (10,000 VMs: 22 MB of JSON), so the default leaves them a wide margin while bounding
    /// the client's memory by the body it accepted. A list counts its buffer as it grows
    /// (doubling), and while the buffer moves the old one is held too: the peak is at most
    /// 1.5 times the budget.
    pub max_alloc_ratio: u32,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            strict: false,
            max_depth: DEFAULT_MAX_DEPTH,
            max_stack_bytes: DEFAULT_MAX_STACK_BYTES,
            max_alloc_ratio: DEFAULT_MAX_ALLOC_RATIO,
        }
    }
}

/// serde_json's recursion limit.
const DEFAULT_MAX_DEPTH: u32 = 128;

/// See [`DecodeOptions::max_stack_bytes`].
pub const DEFAULT_MAX_STACK_BYTES: usize = 1024 * 1024;

/// See [`DecodeOptions::max_alloc_ratio`].
pub const DEFAULT_MAX_ALLOC_RATIO: u32 = 16;

/// What any document may decode into, however short (so that `[{}]` is one default element).
const ALLOC_FLOOR: usize = 1 << 20;

/// Where the stack is now, as the address of a local of the caller's frame (only the distance
/// between two positions is used, so the direction the stack grows in does not matter). Not
/// through `black_box`, an optimisation barrier at every array and object the decoder enters:
/// the cast alone gives the local an address.
#[inline(always)]
fn stack_position() -> usize {
    let marker = 0u8;
    std::ptr::addr_of!(marker) as usize
}

impl DecodeOptions {
    /// Sets [`DecodeOptions::strict`].
    pub fn strict(mut self, strict: bool) -> Self {
        self.strict = strict;
        self
    }

    /// Sets [`DecodeOptions::max_depth`].
    pub fn max_depth(mut self, max_depth: u32) -> Self {
        self.max_depth = max_depth;
        self
    }

    /// Sets [`DecodeOptions::max_stack_bytes`].
    pub fn max_stack_bytes(mut self, bytes: usize) -> Self {
        self.max_stack_bytes = bytes;
        self
    }

    /// Sets [`DecodeOptions::max_alloc_ratio`].
    pub fn max_alloc_ratio(mut self, ratio: u32) -> Self {
        self.max_alloc_ratio = ratio;
        self
    }
}

/// Decodes one JSON document into `T`, with the default [`DecodeOptions`].
///
/// Unknown object keys are skipped and unknown enum values are kept (forward compatibility
/// with newer towers). In the default, lenient mode a field that the spec requires but the
/// server left out or sent as `null` keeps its default value (older towers omit fields that
/// newer specs require), and a lone UTF-16 surrogate escape (`"\ud83d"`, which JavaScript
/// writes for a string cut between the two halves of an emoji) becomes U+FFFD;
/// [`decode_strict`] reports both instead. Arrays and objects may nest 128 levels deep
/// ([`DecodeOptions::max_depth`]), within a stack budget
/// ([`DecodeOptions::max_stack_bytes`]), and what the document decodes into is bounded by its
/// size ([`DecodeOptions::max_alloc_ratio`]).
///
/// Numbers: an integer field takes integers within its range (and integral floats), anything
/// else is an error; a float field takes any JSON number as the nearest `f64` (`-0` keeps its
/// sign), and one beyond `f64`'s range (`1e400`) as the largest finite `f64` of its sign, so
/// that the value can be sent back (strict decoding refuses it). In free-form JSON ([`serde_json::Value`]), an integer beyond `i64` and `u64`, or a
/// number beyond `f64`'s range, is kept exactly as sent, as a [`serde_json::Value::String`] of
/// its digits (serde_json's `Number` cannot hold it; its `arbitrary_precision` feature is not
/// used).
pub fn decode<T: Decode>(bytes: &[u8]) -> Result<T, DecodeError> {
    decode_with_options(bytes, &DecodeOptions::default())
}

/// Like [`decode`], but a missing or `null` required field is an error.
pub fn decode_strict<T: Decode>(bytes: &[u8]) -> Result<T, DecodeError> {
    decode_with_options(bytes, &DecodeOptions::default().strict(true))
}

/// Like [`decode`], with the given options.
pub fn decode_with_options<T: Decode>(
    bytes: &[u8],
    options: &DecodeOptions,
) -> Result<T, DecodeError> {
    read_whole(bytes, options, T::decode)
}

/// What `read` makes of the JSON document `bytes`, which must hold nothing after it.
///
/// Generic over the value only where it must be: this is compiled once per decoded type.
fn read_whole<T>(
    bytes: &[u8],
    options: &DecodeOptions,
    read: impl FnOnce(&mut Decoder<'_>) -> Result<T, DecodeError>,
) -> Result<T, DecodeError> {
    let mut decoder = Decoder::new(bytes, options);
    match read(&mut decoder) {
        Ok(value) => match decoder.end_of_document() {
            Ok(()) => Ok(value),
            Err(e) => Err(e),
        },
        Err(e) => Err(e.finish()),
    }
}

/// The text of a number the reader checked (JSON numbers are ASCII).
fn number_str(text: &[u8]) -> &str {
    std::str::from_utf8(text).unwrap_or_default()
}

fn is_integer_text(text: &[u8]) -> bool {
    !text.iter().any(|b| matches!(b, b'.' | b'e' | b'E'))
}

/// A number's text as an `i64`, when it is an integer within range.
#[inline]
fn parse_i64(text: &[u8]) -> Option<i64> {
    let (negative, digits) = match text.split_first() {
        Some((b'-', digits)) => (true, digits),
        _ => (false, text),
    };
    // 18 digits cannot overflow; longer integers take the checked path.
    if digits.len() <= 18 {
        let mut magnitude: i64 = 0;
        for &digit in digits {
            if !digit.is_ascii_digit() {
                return None;
            }
            magnitude = magnitude * 10 + i64::from(digit - b'0');
        }
        return Some(if negative { -magnitude } else { magnitude });
    }
    if !is_integer_text(text) {
        return None;
    }
    number_str(text).parse().ok()
}

/// A number's text as the nearest `f64` (infinite beyond its range).
fn parse_f64(text: &[u8]) -> f64 {
    // The reader checked the grammar, which `f64`'s parser accepts whole.
    number_str(text).parse().unwrap_or(f64::NAN)
}

/// The first `Some` that `found` gives for a top-level key of the JSON object `json`, in
/// document order; `None` when none does, or when `json` is not a valid object.
pub(crate) fn find_top_level_key<T>(
    json: &[u8],
    mut found: impl FnMut(&str) -> Option<T>,
) -> Option<T> {
    let mut decoder = Decoder::new(json, &DecodeOptions::default());
    let mut key = decoder.first_key("object").ok()?;
    while let Some(k) = key {
        if let Some(answer) = found(k) {
            return Some(answer);
        }
        decoder.skip().ok()?;
        key = decoder.next_key().ok()?;
    }
    None
}

/// The integer at `path` (object keys from the top) of the JSON document `json`: `None` when
/// a key of the path is missing or `null`. The rest of the document is checked and skipped.
pub(crate) fn integer_at(
    json: &[u8],
    path: &[&str],
    options: &DecodeOptions,
) -> Result<Option<i64>, DecodeError> {
    read_whole(json, options, |decoder| decoder.integer_at(path))
}

/// Invalid JSON, as the parser reports it (kept out of the hot paths).
#[cold]
#[inline(never)]
fn parse_error(e: SyntaxError) -> DecodeError {
    DecodeError::new(e.message, e.offset)
}

/// A pull parser positioned in a JSON document; generated [`Decode`] impls drive it.
pub struct Decoder<'a> {
    reader: Reader<'a>,
    strict: bool,
    // Arrays and objects that may still be entered (DecodeOptions::max_depth less the open ones).
    depth_left: u32,
    // Bytes that lists, free-form objects and boxes may still add (DecodeOptions::max_alloc_ratio).
    alloc_left: usize,
    // Where the stack was when decoding started, and how far below it decoding may go.
    stack_start: usize,
    max_stack: usize,
}

/// A type that can be read from JSON.
pub trait Decode: Sized {
    /// Whether JSON `null` is a value of this type (true for `Option` and `Nullable`).
    const ACCEPTS_NULL: bool = false;
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError>;
}

impl<'a> Decoder<'a> {
    fn new(bytes: &'a [u8], options: &DecodeOptions) -> Self {
        let ratio = options.max_alloc_ratio as usize;
        Decoder {
            reader: Reader::new(bytes).replace_lone_surrogates(!options.strict),
            strict: options.strict,
            depth_left: options.max_depth,
            alloc_left: bytes
                .len()
                .saturating_mul(ratio)
                .saturating_add(ALLOC_FLOOR),
            stack_start: stack_position(),
            max_stack: options.max_stack_bytes,
        }
    }

    /// After the document's value: nothing but whitespace may follow.
    fn end_of_document(&mut self) -> Result<(), DecodeError> {
        self.reader.finish().map_err(|e| parse_error(e).finish())
    }

    /// Charges a list about to grow from `capacity` items of `item_size` bytes, and says by
    /// how many items to grow it; the error names the list's next index.
    fn charge_list_growth(
        &mut self,
        capacity: usize,
        item_size: usize,
    ) -> Result<usize, DecodeError> {
        // The budget counts what is allocated: the list's buffer, as it doubles.
        let grow = capacity.max(4);
        match self.charge(item_size.saturating_mul(grow)) {
            Ok(()) => Ok(grow),
            Err(e) => Err(e.within(Segment::Index(capacity))),
        }
    }

    /// A `null` where a type without one was expected: an error in strict mode, else the
    /// value is skipped and the field keeps its default.
    #[cold]
    #[inline(never)]
    fn null_for_non_null(&mut self, name: &'static str) -> Result<(), DecodeError> {
        if self.strict {
            return Err(self
                .error("null is not allowed here")
                .within(Segment::Key(name)));
        }
        self.skip()
    }

    /// Counts `bytes` more of the decoded value against [`DecodeOptions::max_alloc_ratio`].
    #[inline]
    fn charge(&mut self, bytes: usize) -> Result<(), DecodeError> {
        match self.alloc_left.checked_sub(bytes) {
            Some(left) => {
                self.alloc_left = left;
                Ok(())
            }
            None => Err(self.error(
                "the document decodes into more memory than its size allows \
                 (DecodeOptions::max_alloc_ratio)",
            )),
        }
    }

    /// See [`integer_at`].
    fn integer_at(&mut self, path: &[&str]) -> Result<Option<i64>, DecodeError> {
        if self.take_null()? {
            return Ok(None);
        }
        let Some((first, rest)) = path.split_first() else {
            return self.integer().map(Some);
        };
        let mut found = None;
        let mut key = self.first_key("object")?;
        while let Some(k) = key {
            if k == *first && found.is_none() {
                found = self.integer_at(rest)?;
            } else {
                self.skip()?;
            }
            key = self.next_key()?;
        }
        Ok(found)
    }

    #[cold]
    fn error(&self, message: impl Into<String>) -> DecodeError {
        DecodeError::new(message, self.reader.index())
    }

    #[inline]
    fn peek(&mut self) -> Result<Peek, DecodeError> {
        self.reader.peek().map_err(parse_error)
    }

    #[cold]
    fn unexpected(&mut self, expected: &str) -> DecodeError {
        let found = match self.reader.peek() {
            Ok(Peek::Null) => "null",
            Ok(Peek::True | Peek::False) => "a boolean",
            Ok(Peek::String) => "a string",
            Ok(Peek::Array) => "an array",
            Ok(Peek::Object) => "an object",
            Ok(Peek::Number) => "a number",
            Err(_) => "invalid JSON",
        };
        self.error(format!("expected {expected}, found {found}"))
    }

    /// Counts one more open array or object against [`DecodeOptions::max_depth`], and checks
    /// the stack used so far against [`DecodeOptions::max_stack_bytes`].
    #[inline]
    fn enter(&mut self) -> Result<(), DecodeError> {
        if self.stack_start.abs_diff(stack_position()) > self.max_stack {
            return Err(self.stack_exhausted());
        }
        match self.depth_left.checked_sub(1) {
            Some(left) => {
                self.depth_left = left;
                Ok(())
            }
            None => Err(self.error(reader::TOO_DEEP)),
        }
    }

    #[cold]
    fn stack_exhausted(&self) -> DecodeError {
        self.error(format!(
            "nested too deeply for the decoder's stack budget of {} bytes \
             (DecodeOptions::max_stack_bytes)",
            self.max_stack
        ))
    }

    /// Starts an object and returns its first key, `None` for `{}`.
    #[inline]
    pub fn first_key(&mut self, type_name: &'static str) -> Result<Option<&str>, DecodeError> {
        if self.peek()? != Peek::Object {
            let expected = format!("an object ({type_name})");
            return Err(self.unexpected(&expected));
        }
        self.enter()?;
        match self.reader.object_first() {
            Ok(Some(key)) => Ok(Some(key)),
            Ok(None) => {
                self.depth_left += 1;
                Ok(None)
            }
            Err(e) => Err(parse_error(e)),
        }
    }

    /// The next key of the current object, `None` at its end.
    #[inline]
    pub fn next_key(&mut self) -> Result<Option<&str>, DecodeError> {
        match self.reader.object_next() {
            Ok(Some(key)) => Ok(Some(key)),
            Ok(None) => {
                self.depth_left += 1;
                Ok(None)
            }
            Err(e) => Err(parse_error(e)),
        }
    }

    /// Decodes the value of object key `name` into `slot`.
    ///
    /// A `null` for a type that has no null keeps the slot's default in lenient mode.
    pub fn field<T: Decode>(
        &mut self,
        slot: &mut T,
        name: &'static str,
    ) -> Result<(), DecodeError> {
        if !T::ACCEPTS_NULL && self.peek()? == Peek::Null {
            return self.null_for_non_null(name);
        }
        match T::decode(self) {
            Ok(value) => {
                *slot = value;
                Ok(())
            }
            Err(e) => Err(e.within(Segment::Key(name))),
        }
    }

    /// Skips the value of a key this type does not know.
    #[inline]
    pub fn skip(&mut self) -> Result<(), DecodeError> {
        self.reader.skip(self.depth_left).map_err(parse_error)
    }

    /// Ends an object: in strict mode, every required field (`seen[i]` for `names[i]`) must
    /// have been present.
    pub fn check_required(
        &self,
        seen: &[bool],
        names: &[&'static str],
        type_name: &'static str,
    ) -> Result<(), DecodeError> {
        if !self.strict {
            return Ok(());
        }
        match seen.iter().position(|s| !s) {
            None => Ok(()),
            Some(i) => Err(self.error(format!(
                "missing required field `{}` of {type_name}",
                names[i]
            ))),
        }
    }

    /// Reads a string value (borrowed from the document or the parser's scratch buffer).
    #[inline]
    pub fn str(&mut self) -> Result<&str, DecodeError> {
        if self.peek()? != Peek::String {
            return Err(self.unexpected("a string"));
        }
        match self.reader.string() {
            Ok(s) => Ok(s),
            Err(e) => Err(parse_error(e)),
        }
    }

    /// The text of the number that comes next.
    #[inline]
    fn number_text(&mut self, expected: &str) -> Result<&'a [u8], DecodeError> {
        if self.peek()? != Peek::Number {
            return Err(self.unexpected(expected));
        }
        self.reader.number().map_err(parse_error)
    }

    #[inline]
    fn integer(&mut self) -> Result<i64, DecodeError> {
        let text = self.number_text("an integer")?;
        if let Some(i) = parse_i64(text) {
            return Ok(i);
        }
        let start = self.reader.index() - text.len();
        let out_of_range = || DecodeError::new("expected an integer within range", start);
        if is_integer_text(text) {
            return Err(out_of_range());
        }
        match parse_f64(text) {
            // Integral floats (`3.0`) are integers; some towers print them that way.
            f if f.fract() == 0.0 && f.abs() < 9.007_199_254_740_992e15 => Ok(f as i64),
            // Older towers send some integer fields as doubles (4.3.0's `DataPoint.t`): lenient
            // decoding keeps the integer part.
            f if !self.strict && f.is_finite() && f.abs() < 9.2e18 => Ok(f.trunc() as i64),
            _ => Err(out_of_range()),
        }
    }

    /// Any JSON number, integers beyond `i64` included, as the nearest `f64`; beyond `f64`'s
    /// range, the largest finite one of its sign (strict decoding refuses it).
    #[inline]
    fn float(&mut self) -> Result<f64, DecodeError> {
        let text = self.number_text("a number")?;
        let value = match parse_i64(text) {
            // `-0` is a float's negative zero.
            Some(0) if text.first() == Some(&b'-') => -0.0,
            // Exact below 2^53, and rounded to nearest above, as parsing the text would.
            Some(i) => i as f64,
            None => parse_f64(text),
        };
        if value.is_finite() {
            return Ok(value);
        }
        self.out_of_range(text, f64::MAX.copysign(value))
    }

    /// `f32`: like [`float`](Self::float), within `f32`'s range.
    #[inline]
    fn float32(&mut self) -> Result<f32, DecodeError> {
        let wide = self.float()?;
        let narrow = wide as f32;
        if narrow.is_finite() {
            return Ok(narrow);
        }
        let start = self.reader.index();
        if self.strict {
            return Err(DecodeError::new(
                "number out of range for a 32-bit float",
                start,
            ));
        }
        Ok(f32::MAX.copysign(narrow))
    }

    /// A number beyond a float's range: `saturated` leniently, an error strictly.
    #[cold]
    fn out_of_range(&self, text: &[u8], saturated: f64) -> Result<f64, DecodeError> {
        if self.strict {
            let start = self.reader.index() - text.len();
            return Err(DecodeError::new(
                "number out of range for a 64-bit float",
                start,
            ));
        }
        Ok(saturated)
    }

    /// A number of free-form JSON: exactly as `serde_json::Number` holds it, else its text.
    fn free_form_number(&mut self) -> Result<serde_json::Value, DecodeError> {
        use serde_json::Value;
        let text = self.number_text("a number")?;
        let number = if is_integer_text(text) {
            match parse_i64(text) {
                Some(i) => Some(serde_json::Number::from(i)),
                None => number_str(text)
                    .parse::<u64>()
                    .ok()
                    .map(serde_json::Number::from),
            }
        } else {
            serde_json::Number::from_f64(parse_f64(text))
        };
        Ok(match number {
            Some(number) => Value::Number(number),
            None => Value::String(number_str(text).to_owned()),
        })
    }

    /// Starts an array: `true` when it has a first element.
    #[inline]
    fn first_element(&mut self) -> Result<bool, DecodeError> {
        if self.peek()? != Peek::Array {
            return Err(self.unexpected("an array"));
        }
        self.enter()?;
        match self.reader.array_first() {
            Ok(true) => Ok(true),
            Ok(false) => {
                self.depth_left += 1;
                Ok(false)
            }
            Err(e) => Err(parse_error(e)),
        }
    }

    #[inline]
    fn next_element(&mut self) -> Result<bool, DecodeError> {
        match self.reader.array_next() {
            Ok(true) => Ok(true),
            Ok(false) => {
                self.depth_left += 1;
                Ok(false)
            }
            Err(e) => Err(parse_error(e)),
        }
    }

    /// Consumes a `null` if one comes next.
    #[inline]
    fn take_null(&mut self) -> Result<bool, DecodeError> {
        if self.peek()? == Peek::Null {
            self.reader.null().map_err(parse_error)?;
            Ok(true)
        } else {
            Ok(false)
        }
    }

    /// The next value, unparsed (its syntax checked).
    fn raw_value(&mut self) -> Result<&'a [u8], DecodeError> {
        self.peek()?;
        let start = self.reader.index();
        self.skip()?;
        Ok(self.reader.slice_from(start))
    }

    /// An error for an unexpected value of a closed set.
    pub fn invalid(&self, message: impl Into<String>) -> DecodeError {
        self.error(message)
    }
}

impl Decode for String {
    #[inline]
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        d.str().map(str::to_owned)
    }
}

impl Decode for bool {
    #[inline]
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        match d.peek()? {
            peek @ (Peek::True | Peek::False) => d.reader.bool(peek).map_err(parse_error),
            _ => Err(d.unexpected("a boolean")),
        }
    }
}

impl Decode for i64 {
    #[inline]
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        d.integer()
    }
}

impl Decode for i32 {
    #[inline]
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let wide = d.integer()?;
        i32::try_from(wide).map_err(|_| d.error(format!("{wide} does not fit in a 32-bit integer")))
    }
}

impl Decode for f64 {
    #[inline]
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        d.float()
    }
}

impl Decode for f32 {
    #[inline]
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        d.float32()
    }
}

impl<T: Decode> Decode for Option<T> {
    const ACCEPTS_NULL: bool = true;
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        if d.take_null()? {
            Ok(None)
        } else {
            T::decode(d).map(Some)
        }
    }
}

impl<T: Decode> Decode for Nullable<T> {
    const ACCEPTS_NULL: bool = true;
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        if d.take_null()? {
            Ok(Nullable::Null)
        } else {
            T::decode(d).map(Nullable::Value)
        }
    }
}

impl<T: Decode> Decode for Box<T> {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        d.charge(std::mem::size_of::<T>())?;
        T::decode(d).map(Box::new)
    }
}

impl<T: Decode> Decode for Vec<T> {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let mut items = Vec::new();
        let mut more = d.first_element()?;
        while more {
            if items.len() == items.capacity() {
                let grow = d.charge_list_growth(items.capacity(), std::mem::size_of::<T>())?;
                items.reserve_exact(grow);
            }
            match T::decode(d) {
                Ok(item) => items.push(item),
                Err(e) => return Err(e.within(Segment::Index(items.len()))),
            }
            more = d.next_element()?;
        }
        Ok(items)
    }
}

impl<T: Decode + Default> Decode for WithTask<T> {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        let mut out = WithTask::default();
        let mut seen_data = false;
        let mut key = d.first_key("WithTask")?;
        while let Some(k) = key {
            match k {
                "task_id" => d.field(&mut out.task_id, "task_id")?,
                "data" => {
                    d.field(&mut out.data, "data")?;
                    seen_data = true;
                }
                _ => d.skip()?,
            }
            key = d.next_key()?;
        }
        d.check_required(&[seen_data], &["data"], "WithTask")?;
        Ok(out)
    }
}

impl<T> Decode for Related<T> {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        Ok(Related {
            json: d.raw_value()?.into(),
            refused: None,
            filter: std::marker::PhantomData,
        })
    }
}

/// Free-form JSON (`{}` schemas and objects without declared properties).
impl Decode for serde_json::Value {
    fn decode(d: &mut Decoder<'_>) -> Result<Self, DecodeError> {
        use serde_json::Value;
        match d.peek()? {
            Peek::Null => {
                d.take_null()?;
                Ok(Value::Null)
            }
            Peek::True | Peek::False => bool::decode(d).map(Value::Bool),
            Peek::String => String::decode(d).map(Value::String),
            Peek::Array => Vec::<Value>::decode(d).map(Value::Array),
            Peek::Object => {
                let mut map = serde_json::Map::new();
                let mut key = d.first_key("object")?.map(str::to_owned);
                while let Some(k) = key {
                    d.charge(std::mem::size_of::<(String, Value)>())?;
                    let value = Value::decode(d)?;
                    map.insert(k, value);
                    key = d.next_key()?.map(str::to_owned);
                }
                Ok(Value::Object(map))
            }
            _ => d.free_form_number(),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding

/// Encodes a value as a JSON document, refusing what JSON cannot say.
///
/// JSON has no NaN or infinity. serde_json writes them as `null`, which in a CloudTower update
/// clears the field (`Nullable::Value(f64::NAN)` would erase a value instead of setting one),
/// so a non-finite `f64`/`f32` anywhere in `value` is an [`EncodeError`]. The client sends no
/// request whose body fails here.
///
/// ```
/// use cloudtower_api::codec;
/// assert_eq!(codec::try_encode(&vec![1.5f64]).unwrap(), b"[1.5]");
/// assert!(codec::try_encode(&vec![f64::NAN]).is_err());
/// ```
pub fn try_encode<T: Encode + ?Sized>(value: &T) -> Result<Vec<u8>, EncodeError> {
    let mut encoder = Encoder::default();
    value.encode(&mut encoder);
    encoder.into_document()
}

/// Encodes a value as a JSON document; a non-finite float is written as `null`.
///
/// For values known to hold only finite numbers (a mock server's answers, filters kept in
/// [`Related`]); requests go through [`try_encode`].
pub fn encode<T: Encode + ?Sized>(value: &T) -> Vec<u8> {
    let mut encoder = Encoder::default();
    value.encode(&mut encoder);
    encoder.buf
}

/// A value that has no JSON form (NaN or an infinity), met by [`try_encode`].
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{value} is not a JSON number (NaN and infinities have no JSON form)")]
pub struct EncodeError {
    /// The first such value.
    pub value: f64,
}

/// Writes JSON into a buffer; generated [`Encode`] impls drive it.
#[derive(Default)]
pub struct Encoder {
    buf: Vec<u8>,
    // No comma is due before the next key or element.
    first: bool,
    // The first value that has no JSON form (written as `null` meanwhile).
    refused: Option<EncodeError>,
}

/// A type that can be written as JSON.
pub trait Encode {
    /// Whether an object field holding this value is left out (`None`, `Nullable::Absent`).
    fn is_absent(&self) -> bool {
        false
    }
    fn encode(&self, e: &mut Encoder);
}

impl Encoder {
    /// What was written, unless a value had no JSON form.
    fn into_document(self) -> Result<Vec<u8>, EncodeError> {
        match self.refused {
            None => Ok(self.buf),
            Some(error) => Err(error),
        }
    }

    pub fn begin_object(&mut self) {
        self.buf.push(b'{');
        self.first = true;
    }

    pub fn end_object(&mut self) {
        self.buf.push(b'}');
        self.first = false;
    }

    fn begin_array(&mut self) {
        self.buf.push(b'[');
        self.first = true;
    }

    fn end_array(&mut self) {
        self.buf.push(b']');
        self.first = false;
    }

    fn separator(&mut self) {
        if !self.first {
            self.buf.push(b',');
        }
        self.first = true;
    }

    fn key(&mut self, name: &str) {
        self.separator();
        self.string(name);
        self.buf.push(b':');
    }

    /// Writes `"name": value`, or nothing when the value is absent.
    pub fn field<T: Encode + ?Sized>(&mut self, name: &str, value: &T) {
        if !value.is_absent() {
            self.key(name);
            value.encode(self);
        }
    }

    /// Writes `"name": value` for a required field; an `Option` that is `None` becomes `null`.
    pub fn required_field<T: Encode + ?Sized>(&mut self, name: &str, value: &T) {
        self.key(name);
        value.encode(self);
    }

    pub fn string(&mut self, s: &str) {
        // Most strings (ids, names, keys) need no escape: one scan without early exit, which
        // the compiler vectorises, then one copy. serde_json escapes the others.
        let plain = s.bytes().fold(true, |plain, b| {
            plain & (b >= 0x20) & (b != b'"') & (b != b'\\')
        });
        if plain {
            self.buf.reserve(s.len() + 2);
            self.buf.push(b'"');
            self.buf.extend_from_slice(s.as_bytes());
            self.buf.push(b'"');
        } else {
            // Writing a str into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut self.buf, s);
        }
        self.first = false;
    }

    fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        self.first = false;
    }

    pub fn null(&mut self) {
        self.raw(b"null");
    }
}

impl Encode for str {
    fn encode(&self, e: &mut Encoder) {
        e.string(self);
    }
}

impl Encode for String {
    fn encode(&self, e: &mut Encoder) {
        e.string(self);
    }
}

impl Encode for bool {
    fn encode(&self, e: &mut Encoder) {
        e.raw(if *self { b"true" } else { b"false" });
    }
}

impl Encode for i64 {
    fn encode(&self, e: &mut Encoder) {
        // serde_json's integer formatting (itoa); writing into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut e.buf, self);
        e.first = false;
    }
}

impl Encode for i32 {
    fn encode(&self, e: &mut Encoder) {
        i64::from(*self).encode(e);
    }
}

impl Encode for f64 {
    fn encode(&self, e: &mut Encoder) {
        if !self.is_finite() && e.refused.is_none() {
            e.refused = Some(EncodeError { value: *self });
        }
        // A non-finite number is written as `null` (serde_json's choice) and refused above.
        let _ = serde_json::to_writer(&mut e.buf, self);
        e.first = false;
    }
}

impl Encode for f32 {
    fn encode(&self, e: &mut Encoder) {
        f64::from(*self).encode(e);
    }
}

impl<T: Encode> Encode for Option<T> {
    fn is_absent(&self) -> bool {
        self.is_none()
    }
    fn encode(&self, e: &mut Encoder) {
        match self {
            Some(v) => v.encode(e),
            None => e.null(),
        }
    }
}

impl<T: Encode> Encode for Nullable<T> {
    fn is_absent(&self) -> bool {
        Nullable::is_absent(self)
    }
    fn encode(&self, e: &mut Encoder) {
        match self {
            Nullable::Value(v) => v.encode(e),
            Nullable::Null | Nullable::Absent => e.null(),
        }
    }
}

impl<T: Encode + ?Sized> Encode for Box<T> {
    fn is_absent(&self) -> bool {
        (**self).is_absent()
    }
    fn encode(&self, e: &mut Encoder) {
        (**self).encode(e);
    }
}

impl<T: Encode> Encode for Vec<T> {
    fn encode(&self, e: &mut Encoder) {
        self.as_slice().encode(e);
    }
}

impl<T: Encode> Encode for [T] {
    fn encode(&self, e: &mut Encoder) {
        e.begin_array();
        for item in self {
            e.separator();
            item.encode(e);
        }
        e.end_array();
    }
}

/// A JSON object of one field, `{"name": value}`, or `{}` when the value is absent: a body
/// whose other fields are all unset, sent without building it (a count request's filter).
///
/// ```
/// use cloudtower_api::codec::{self, SingleField};
/// use cloudtower_api::Nullable;
/// assert_eq!(codec::encode(&SingleField("where", &Nullable::Value(1))), br#"{"where":1}"#);
/// assert_eq!(codec::encode(&SingleField("where", &Nullable::<i32>::Absent)), b"{}");
/// assert_eq!(codec::encode(&SingleField("where", &Nullable::<i32>::Null)), br#"{"where":null}"#);
/// ```
pub struct SingleField<'a, T: ?Sized>(pub &'static str, pub &'a T);

impl<T: Encode + ?Sized> Encode for SingleField<'_, T> {
    fn encode(&self, e: &mut Encoder) {
        e.begin_object();
        e.field(self.0, self.1);
        e.end_object();
    }
}

impl<T: Encode> Encode for WithTask<T> {
    fn encode(&self, e: &mut Encoder) {
        e.begin_object();
        e.required_field("task_id", &self.task_id);
        e.required_field("data", &self.data);
        e.end_object();
    }
}

impl<T> Encode for Related<T> {
    fn encode(&self, e: &mut Encoder) {
        if e.refused.is_none() {
            e.refused.clone_from(&self.refused);
        }
        e.raw(&self.json);
    }
}

impl Encode for serde_json::Value {
    fn encode(&self, e: &mut Encoder) {
        let _ = serde_json::to_writer(&mut e.buf, self);
        e.first = false;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_error_paths_name_the_failing_element() {
        let err = decode::<Vec<Vec<i32>>>(br#"[[1],[2,"x"]]"#).unwrap_err();
        assert_eq!(err.path(), "/1/1");
        assert!(err.message().contains("expected an integer"), "{err}");
    }

    #[test]
    fn integers_accept_integral_floats_and_fractions_only_leniently() {
        assert_eq!(decode::<i64>(b"3.0").unwrap(), 3);
        // A fraction is kept as its integer part when decoding leniently, refused strictly.
        assert_eq!(decode::<i64>(b"3.5").unwrap(), 3);
        assert!(decode_strict::<i64>(b"3.5").is_err());
        assert!(decode::<i64>(b"1e300").is_err());
        assert!(decode::<i32>(b"4294967296").is_err());
        assert_eq!(decode::<f64>(b"7").unwrap(), 7.0);
    }

    #[test]
    fn trailing_garbage_is_an_error() {
        assert!(decode::<bool>(b"true false").is_err());
    }

    #[test]
    fn nullable_distinguishes_null_from_value() {
        assert_eq!(decode::<Nullable<i32>>(b"null").unwrap(), Nullable::Null);
        assert_eq!(decode::<Nullable<i32>>(b"5").unwrap(), Nullable::Value(5));
    }

    #[test]
    fn encoder_places_commas_across_nesting() {
        let value = vec![vec![1i64, 2], vec![], vec![3]];
        assert_eq!(encode(&value), b"[[1,2],[],[3]]");
        let strings = vec!["a\"b".to_string(), "\u{1}".to_string()];
        assert_eq!(encode(&strings), br#"["a\"b","\u0001"]"#);
    }

    #[test]
    fn related_filters_keep_their_json() {
        let related = Related::new(vec![1i64, 2]);
        assert_eq!(related.as_json(), b"[1,2]");
        assert_eq!(related.decode().unwrap(), vec![1, 2]);
        let decoded: Vec<Related<Vec<i64>>> = decode(br#"[ [3, 4] , []]"#).unwrap();
        assert_eq!(decoded[0].as_json(), b"[3, 4]");
        assert_eq!(decoded[1].decode().unwrap(), Vec::<i64>::new());
        assert_eq!(encode(&decoded), b"[[3, 4],[]]");
        assert!(decode::<Related<Vec<i64>>>(b"[1,").is_err());
    }

    #[test]
    fn free_form_values_round_trip() {
        let text = r#"{"a":[1,2.5,"x",null,true],"b":{"c":{}}}"#;
        let value: serde_json::Value = decode(text.as_bytes()).unwrap();
        assert_eq!(String::from_utf8(encode(&value)).unwrap(), text);
    }

    #[test]
    fn with_task_decodes_and_reencodes() {
        let text = r#"{"task_id":"t1","data":[1,2],"extra":{"x":1}}"#;
        let value: WithTask<Vec<i32>> = decode(text.as_bytes()).unwrap();
        assert_eq!(value.task_id.as_deref(), Some("t1"));
        assert_eq!(value.data, vec![1, 2]);
        assert_eq!(encode(&value), br#"{"task_id":"t1","data":[1,2]}"#);
        let missing = decode_strict::<WithTask<Vec<i32>>>(br#"{"task_id":null}"#).unwrap_err();
        assert!(missing.message().contains("`data`"), "{missing}");
    }
}
